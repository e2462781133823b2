"""Cloud-init user-data: parsed back as YAML, the agent command, labels, daemon.json, quoting."""

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import urllib.parse

import pytest
import yaml

from commands.options import InvalidOptions, parse_host_options
from commands.userdata import (
    DAEMON_JSON_PATH,
    DEFAULT_AGENT_IMAGE,
    DEFAULT_DOCKER_INSTALL_URL,
    DOCKER_ENV_DROPIN_PATH,
    HOST_LABEL,
    LAUNCH_LABEL,
    PUBLIC_IP_LOOKUP,
    USER_DATA_LIMIT,
    AgentRegistration,
    UserDataTooLarge,
    bot_labels,
    encode_user_data,
    render_user_data,
)

LAUNCH = "1a2b3c4d"
IP = "203.0.113.7"
REGISTRATION_URL = "https://rancher.example.com/v1/scripts/3E0A7C1C2F6C:1546214400000:Tqg2LGk8k0"
AGENT = AgentRegistration(DEFAULT_AGENT_IMAGE, REGISTRATION_URL)
HOSTILE = "$(rm -rf /); `reboot` 'single' \"double\" \\ %h & | > #"


def options(**values):
    return parse_host_options({"name": "web", "count": "3", **values}, max_hosts=20)


def render(opts=None, *, index=1, agent=AGENT):
    return render_user_data(opts or options(), launch_id=LAUNCH, index=index, agent=agent)


def load(text):
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def agent_line(document):
    last = document["runcmd"][-1]
    assert last[:2] == ["sh", "-c"] and len(last) == 3
    return last[2]


def agent_argv(document):
    """The agent command as the Exoscale sandbox sees it: lookup replaced, then shlex-split."""
    return shlex.split(agent_line(document).replace(PUBLIC_IP_LOOKUP, IP))


def env_of(argv, name):
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    found = [v.split("=", 1)[1] for v in values if v.split("=", 1)[0] == name]
    assert len(found) == 1, argv
    return found[0]


def systemd_unquote(line):
    """Undo systemd's quoting of one ``Environment="..."`` line, refusing anything unescaped."""
    prefix = 'Environment="'
    assert line.startswith(prefix) and line.endswith('"'), line
    body, out, i = line[len(prefix) : -1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            assert body[i + 1] in '\\"', line
            out.append(body[i + 1])
            i += 2
        elif ch == "%":
            assert body[i + 1] == "%", line
            out.append("%")
            i += 2
        else:
            assert ch != '"', line
            out.append(ch)
            i += 1
    return "".join(out)


def test_agent_command_is_the_last_runcmd_entry_with_every_part_in_place():
    document = load(render(index=2))
    assert f'-e CATTLE_AGENT_IP="{PUBLIC_IP_LOOKUP}"' in agent_line(document)
    labels = env_of(agent_argv(document), "CATTLE_HOST_LABELS")
    assert agent_argv(document) == [
        "docker",
        "run",
        "--rm",
        "--privileged",
        "-e",
        f"CATTLE_AGENT_IP={IP}",
        "-e",
        f"CATTLE_HOST_LABELS={labels}",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        "/var/lib/rancher:/var/lib/rancher",
        DEFAULT_AGENT_IMAGE,
        REGISTRATION_URL,
    ]


def test_host_labels_are_a_query_string_with_the_users_and_the_bots_labels():
    opts = options(labels="role=web,io.rancher.host.external_dns_ip=198.51.100.1,tier=front_end")
    labels = env_of(agent_argv(load(render(opts, index=3))), "CATTLE_HOST_LABELS")
    assert urllib.parse.parse_qsl(labels, strict_parsing=True) == [
        ("role", "web"),
        ("io.rancher.host.external_dns_ip", "198.51.100.1"),
        ("tier", "front_end"),
        (LAUNCH_LABEL, LAUNCH),
        (HOST_LABEL, f"{LAUNCH}-3"),
    ]
    assert urllib.parse.parse_qs(labels)[HOST_LABEL] == ["1a2b3c4d-3"]


def test_bot_labels_name_the_launch_and_the_host():
    assert bot_labels("cafe0123", 7) == {
        "rancher-exoscale-bot.launch": "cafe0123",
        "rancher-exoscale-bot.host": "cafe0123-7",
    }


def test_docker_is_installed_first_from_the_default_script():
    document = load(render())
    first = document["runcmd"][0]
    assert first == ["sh", "-c", f"curl -fsSL {DEFAULT_DOCKER_INSTALL_URL} | sh"]
    assert len(document["runcmd"]) == 2


def test_a_custom_install_url_is_one_quoted_word():
    url = "https://get.example.com/docker.sh?channel=stable&v=$(id)`x`;'q'"
    document = load(render(options(engine_install_url=url)))
    assert shlex.split(document["runcmd"][0][2]) == ["curl", "-fsSL", url, "|", "sh"]


def test_daemon_json_is_written_from_the_engine_options():
    opts = options(
        engine_opt="debug=true\nmax-concurrent-downloads=3\nlog-level=warn\ndns=8.8.8.8,1.1.1.1",
        engine_label="tier=backend",
        engine_insecure_registry="registry.internal:5000",
        engine_registry_mirror="https://mirror.gcr.io",
        engine_storage_driver="overlay2",
    )
    files = {f["path"]: f for f in load(render(opts))["write_files"]}
    assert files[DAEMON_JSON_PATH]["permissions"] == "0644"
    assert json.loads(files[DAEMON_JSON_PATH]["content"]) == {
        "debug": True,
        "max-concurrent-downloads": 3,
        "log-level": "warn",
        "dns": ["8.8.8.8", "1.1.1.1"],
        "labels": ["tier=backend"],
        "insecure-registries": ["registry.internal:5000"],
        "registry-mirrors": ["https://mirror.gcr.io"],
        "storage-driver": "overlay2",
    }
    assert DOCKER_ENV_DROPIN_PATH not in files


def test_without_engine_options_daemon_json_is_an_empty_object():
    files = {f["path"]: f for f in load(render())["write_files"]}
    assert json.loads(files[DAEMON_JSON_PATH]["content"]) == {}


def test_engine_env_goes_into_a_systemd_dropin_and_docker_is_restarted_before_the_agent():
    opts = options(engine_env="HTTP_PROXY=http://proxy:3128\nNO_PROXY=localhost,127.0.0.1")
    document = load(render(opts))
    files = {f["path"]: f for f in document["write_files"]}
    lines = files[DOCKER_ENV_DROPIN_PATH]["content"].splitlines()
    assert lines[0] == "[Service]"
    assert [systemd_unquote(line) for line in lines[1:]] == [
        "HTTP_PROXY=http://proxy:3128",
        "NO_PROXY=localhost,127.0.0.1",
    ]
    assert document["runcmd"][1:3] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "restart", "docker"],
    ]
    assert agent_line(document).startswith("docker run")


@pytest.mark.parametrize(
    "field_key, raw",
    [
        ("labels", f"x={HOSTILE}"),
        ("labels", "x=$(rm${IFS}-rf${IFS}/)"),
        ("labels", "$(id)=x"),
        ("name", "web$(id)"),
        ("engine_env", "$(id)=x"),
        ("engine_opt", "a;b=x"),
        ("engine_opt", "debug=x\n$(id)"),
        ("engine_install_url", "https://example.com/x.sh;reboot now"),
    ],
)
def test_shell_metacharacters_where_they_cannot_be_data_are_refused(field_key, raw):
    with pytest.raises(InvalidOptions) as info:
        options(**{field_key: raw})
    assert field_key in info.value.errors


def test_shell_metacharacters_in_engine_values_stay_literal_data():
    opts = options(
        engine_opt=f"log-level={HOSTILE}",
        engine_label=f"note={HOSTILE}",
        engine_env=f"EVIL={HOSTILE}",
    )
    document = load(render(opts))
    files = {f["path"]: f for f in document["write_files"]}
    config = json.loads(files[DAEMON_JSON_PATH]["content"])
    assert config["log-level"] == HOSTILE
    assert config["labels"] == [f"note={HOSTILE}"]
    dropin = files[DOCKER_ENV_DROPIN_PATH]["content"].splitlines()
    assert systemd_unquote(dropin[1]) == f"EVIL={HOSTILE}"
    # None of it reaches a shell line.
    for entry in document["runcmd"]:
        assert "EVIL" not in " ".join(entry) and "reboot" not in " ".join(entry)


def test_a_hostile_registration_url_is_one_literal_argument():
    url = "https://r.example/v1/scripts/T?a=$(rm${IFS}-rf${IFS}/)&b=`reboot`;x='q'\"w\""
    argv = agent_argv(load(render(agent=AgentRegistration(DEFAULT_AGENT_IMAGE, url))))
    assert argv[-1] == url


FAKE_CURL = """#!/bin/sh
printf '%s\\n' "$@" >> "$RECORD_DIR/curl"
case "$1" in
  -fsSL) echo 'echo docker-installed' ;;
  *) echo 203.0.113.7 ;;
esac
"""
FAKE_DOCKER = """#!/bin/sh
for arg in "$@"; do printf '%s\\0' "$arg"; done > "$RECORD_DIR/docker"
"""


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_running_the_shell_lines_executes_nothing_from_the_values(tmp_path):
    # ${IFS} stands in for spaces, which the URL checks refuse.
    install_url = (
        "https://get.example.com/d.sh?a=$(touch${IFS}pwned1)&b=`touch${IFS}pwned2`"
        ";touch${IFS}pwned3"
    )
    registration = (
        "https://r.example/v1/scripts/T?x=$(touch${IFS}pwned4)`touch${IFS}pwned5`"
        ";touch${IFS}pwned6'\""
    )
    opts = options(engine_install_url=install_url, labels="role=web")
    document = load(render(opts, agent=AgentRegistration(DEFAULT_AGENT_IMAGE, registration)))

    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    for name, body in (("curl", FAKE_CURL), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env["RECORD_DIR"] = str(tmp_path)

    install, agent = document["runcmd"][0], document["runcmd"][-1]
    for argv in (install, agent):
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr

    assert sorted(p.name for p in work.iterdir()) == []
    curl_args = (tmp_path / "curl").read_text().splitlines()
    assert curl_args[:2] == ["-fsSL", install_url]
    docker_argv = (tmp_path / "docker").read_text().split("\0")[:-1]
    assert docker_argv[-1] == registration
    assert f"CATTLE_AGENT_IP={IP}" in docker_argv
    assert docker_argv[:3] == ["run", "--rm", "--privileged"]


@pytest.mark.parametrize(
    "launch_id, index, agent, message",
    [
        ("bad id", 1, AGENT, "launch id 'bad id'"),
        ("$(id)", 1, AGENT, "launch id '$(id)'"),
        (LAUNCH, 0, AGENT, "host index 0 is outside 1..3"),
        (LAUNCH, 4, AGENT, "host index 4 is outside 1..3"),
        (LAUNCH, 1, AgentRegistration("rancher/agent; reboot", REGISTRATION_URL), "agent image"),
        (
            LAUNCH,
            1,
            AgentRegistration(DEFAULT_AGENT_IMAGE, "ftp://r.example/x"),
            "registration URL",
        ),
        (
            LAUNCH,
            1,
            AgentRegistration(DEFAULT_AGENT_IMAGE, "https://r.example/a b"),
            "registration URL",
        ),
    ],
)
def test_render_refuses_bad_launch_ids_indexes_and_agents(launch_id, index, agent, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        render_user_data(options(), launch_id=launch_id, index=index, agent=agent)


def test_encode_is_base64_of_the_text():
    text = render()
    assert base64.b64decode(encode_user_data(text)).decode("utf-8") == text


def test_encode_accepts_exactly_the_limit_and_refuses_one_byte_more():
    # 3 bytes -> 4 base64 characters, so 24576 bytes is exactly 32768 characters.
    assert len(encode_user_data("x" * (USER_DATA_LIMIT // 4 * 3))) == USER_DATA_LIMIT
    with pytest.raises(
        UserDataTooLarge,
        match="32772 characters once base64-encoded; Exoscale accepts at most 32768",
    ):
        encode_user_data("x" * (USER_DATA_LIMIT // 4 * 3 + 1))


def test_a_full_but_valid_request_fits_for_every_host():
    opts = parse_host_options(
        {
            "name": "n" * 60,
            "count": "20",
            "labels": ",".join(f"label{i}={'v' * 50}" for i in range(40)),
            "engine_opt": "\n".join(f"opt-{i}={'o' * 100}" for i in range(20)),
            "engine_env": "\n".join(f"ENV_{i}={'e' * 100}" for i in range(20)),
        },
        max_hosts=20,
    )
    for index in (1, 20):
        encoded = encode_user_data(render(opts, index=index))
        assert len(encoded) <= USER_DATA_LIMIT
