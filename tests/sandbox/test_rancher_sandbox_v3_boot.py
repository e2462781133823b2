"""The Rancher sandbox as 2.x registration oracle: which node commands register a node, and how."""

from __future__ import annotations

import time
from functools import partial

import pytest
import requests

from sandbox.rancher import CA_CHECKSUM, RancherSandbox
from tests.conftest import wait_for
from tests.sandbox.conftest import agent_boot

TOKEN = "token-ab12c:v3bootsecret"
GROUP = "sg-k8s"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-m-k3sxx", "name": "edge", "kind": "k3s"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
    {"id": "c-eksxx", "name": "hosted", "kind": "imported"},
]


def peer(protocol: str, start: int, end: int | None = None) -> dict:
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": start,
        "end-port": end or start,
        "security-group": {"id": GROUP},
    }


# Everything between the nodes: what a group opened to itself for Kubernetes looks like.
OPEN = (peer("tcp", 1, 65535), peer("udp", 1, 65535))


@pytest.fixture
def rancher():
    with RancherSandbox(
        "access",
        "secret",
        token=TOKEN,
        clusters=CLUSTERS,
        token_delay=0.01,
        register_delay=0.02,
        activate_delay=0.03,
    ) as sandbox:
        yield sandbox


def registration_token(sandbox: RancherSandbox, cluster_id: str) -> str:
    requests.post(
        f"{sandbox.url}/v3/clusterregistrationtokens",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"type": "clusterRegistrationToken", "clusterId": cluster_id},
        timeout=2,
    ).raise_for_status()
    found = wait_for(
        lambda: [
            t["token"]
            for t in sandbox.cluster_tokens
            if t["clusterId"] == cluster_id and t["state"] == "active"
        ]
    )
    return found[0]


def installer_argv(url, token, *, roles=("--etcd", "--worker"), extra=(), server=None):
    return [
        "curl",
        "-fL",
        f"{url}/system-agent-install.sh",
        "|",
        "sh",
        "-s",
        "-",
        "--server",
        server or url,
        "--label",
        "cattle.io/os=linux",
        "--token",
        token,
        "--ca-checksum",
        CA_CHECKSUM,
        *roles,
        "--address",
        "203.0.113.5",
        "--label",
        "rancher-exoscale-bot.host=ab12cd34-1",
        *extra,
    ]


def docker_argv(url, token, *, roles=("--controlplane",)):
    return [
        "docker",
        "run",
        "-d",
        "--privileged",
        "--restart=unless-stopped",
        "--net=host",
        "-v",
        "/etc/kubernetes:/etc/kubernetes",
        "-v",
        "/var/run:/var/run",
        "rancher/rancher-agent:v2.9.2",
        "--server",
        url,
        "--token",
        token,
        "--ca-checksum",
        CA_CHECKSUM,
        *roles,
        "--label",
        "rancher-exoscale-bot.host=ab12cd34-2",
    ]


boot = partial(agent_boot, rules=OPEN, group=GROUP)


@pytest.mark.parametrize("cluster_id", ["c-m-rke2x", "c-m-k3sxx"])
def test_an_installer_command_registers_a_node_with_its_roles_and_labels(rancher, cluster_id):
    token = registration_token(rancher, cluster_id)
    rancher.boot(boot(installer_argv(rancher.url, token)))

    node = wait_for(lambda: rancher.nodes)[0]
    assert node["state"] == "registering"
    node = wait_for(lambda: [n for n in rancher.nodes if n["state"] == "active"])[0]

    assert rancher.refused == []
    assert (node["clusterId"], node["hostname"], node["ipAddress"]) == (
        cluster_id,
        "web-1",
        "203.0.113.5",
    )
    assert (node["etcd"], node["controlPlane"], node["worker"]) == (True, False, True)
    assert node["labels"]["rancher-exoscale-bot.host"] == "ab12cd34-1"
    assert node["labels"]["cattle.io/os"] == "linux"
    assert node["labels"]["node-role.kubernetes.io/etcd"] == "true"


def test_a_docker_command_registers_an_rke1_node(rancher):
    token = registration_token(rancher, "c-rke1x")
    rancher.boot(boot(["sudo", *docker_argv(rancher.url, token)], name="cp-1"))

    node = wait_for(lambda: [n for n in rancher.nodes if n["state"] == "active"])[0]
    assert (node["clusterId"], node["hostname"], node["controlPlane"]) == ("c-rke1x", "cp-1", True)
    # Without --address the node is known by the instance's public IP.
    assert node["ipAddress"] == "198.51.100.7"


def test_sudo_and_agent_env_vars_around_the_pipe_are_understood(rancher):
    token = registration_token(rancher, "c-m-rke2x")
    argv = installer_argv(rancher.url, token)
    argv = ["HTTPS_PROXY=http://proxy:3128", *argv[:4], "sudo", "HTTPS_PROXY=x", *argv[4:]]
    rancher.boot(boot(argv))

    wait_for(lambda: rancher.nodes)
    assert rancher.refused == []


def test_a_node_whose_group_lacks_its_ports_goes_unavailable(rancher):
    token = registration_token(rancher, "c-m-rke2x")
    rancher.boot(boot(installer_argv(rancher.url, token), rules=(peer("udp", 8472),)))

    wait_for(lambda: [n for n in rancher.nodes if n["state"] == "active"])
    wait_for(lambda: [n for n in rancher.nodes if n["state"] == "unavailable"])


def test_a_worker_needs_fewer_ports_than_an_etcd_node(rancher):
    token = registration_token(rancher, "c-m-k3sxx")
    worker_rules = (peer("udp", 8472), peer("tcp", 10250))
    rancher.boot(boot(installer_argv(rancher.url, token, roles=("--worker",)), rules=worker_rules))
    rancher.boot(
        boot(
            installer_argv(rancher.url, token, roles=("--etcd",)),
            name="etcd-1",
            instance_id="i-2",
            rules=worker_rules,
        )
    )

    wait_for(lambda: [n for n in rancher.nodes if n["state"] == "unavailable"])
    time.sleep(0.1)
    states = {n["hostname"]: n["state"] for n in rancher.nodes}
    assert states == {"web-1": "active", "etcd-1": "unavailable"}


def test_the_same_instance_booting_again_does_not_register_twice(rancher):
    token = registration_token(rancher, "c-m-rke2x")
    rancher.boot(boot(installer_argv(rancher.url, token)))
    wait_for(lambda: rancher.nodes)
    rancher.boot(boot(installer_argv(rancher.url, token)))
    time.sleep(0.05)

    assert len(rancher.nodes) == 1


def test_a_1_6_agent_command_still_registers_a_1_6_host(rancher):
    requests.post(
        f"{rancher.url}/v2-beta/projects/1a5/registrationtokens",
        auth=("access", "secret"),
        json={},
        timeout=2,
    ).raise_for_status()
    url = wait_for(lambda: [t for t in rancher.tokens if t["state"] == "active"])[0]
    argv = [
        "docker",
        "run",
        "--rm",
        "--privileged",
        "-e",
        "CATTLE_HOST_LABELS=a=b",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "rancher/agent:v1.2.11",
        url["registrationUrl"],
    ]
    rancher.boot(boot(argv))

    wait_for(lambda: rancher.hosts)
    assert rancher.nodes == [] and rancher.refused == []


def _refusal(rancher, argv) -> str:
    rancher.boot(boot(argv))
    [refusal] = rancher.refused
    assert rancher.nodes == []
    return refusal.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a, url, t: installer_argv("http://evil.example", t, server=url), "another server"),
        (lambda a, url, t: installer_argv(url, t, server="http://evil.example"), "another server"),
        (lambda a, url, t: installer_argv(url, "x" * 54), "not issued by this server"),
        (lambda a, url, t: installer_argv(url, t, roles=()), "no role"),
        (lambda a, url, t: installer_argv(url, t, extra=("--bogus",)), "does not take '--bogus'"),
        (lambda a, url, t: [w.replace(CA_CHECKSUM, "0" * 64) for w in a], "--ca-checksum"),
        (lambda a, url, t: [w.replace("203.0.113.5", "$(curl") for w in a], "not an IP"),
        (lambda a, url, t: ["curl", "--insecure", *a[1:]], "securely"),
        (lambda a, url, t: a[:4] + ["bash", *a[5:]], "'sh -s -'"),
        (lambda a, url, t: [w for w in a if w not in (t, "--token")], "no --token"),
        (lambda a, url, t: docker_argv(url, t), "cannot join rke2 cluster"),
    ],
    ids=[
        "foreign installer",
        "foreign server",
        "unknown token",
        "no roles",
        "unknown flag",
        "wrong checksum",
        "unresolved address",
        "insecure curl",
        "not sh",
        "no token",
        "rke1 command for rke2 cluster",
    ],
)
def test_malformed_commands_are_refused_with_a_reason(rancher, change, reason):
    token = registration_token(rancher, "c-m-rke2x")
    argv = change(installer_argv(rancher.url, token), rancher.url, token)
    assert reason in _refusal(rancher, argv)


def test_an_installer_command_cannot_join_an_rke1_cluster(rancher):
    token = registration_token(rancher, "c-rke1x")
    assert "cannot join rke1 cluster" in _refusal(rancher, installer_argv(rancher.url, token))


def test_nothing_joins_a_cluster_that_takes_no_custom_nodes(rancher):
    token = registration_token(rancher, "c-eksxx")
    assert "imported cluster" in _refusal(rancher, installer_argv(rancher.url, token))
