"""Rancher2Client.registration(): the cluster's node command, a token created and waited for."""

from __future__ import annotations

import time

import pytest

from commands.userdata import NodeCommand, check_node_command
from provisioning.errors import RancherError, RancherRefused, RancherUnavailable
from provisioning.rancher2 import Rancher2Client
from sandbox.rancher import CA_CHECKSUM, RancherSandbox

TOKEN = "token-ab12c:registrationsecret"
TOKENS = "/v3/clusterregistrationtokens"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
    {"id": "c-m-k3sxx", "name": "edge", "kind": "k3s"},
    {"id": "c-eksxx", "name": "hosted", "kind": "imported"},
]


@pytest.fixture
def rancher():
    with RancherSandbox(token=TOKEN, clusters=CLUSTERS, token_delay=0.05) as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox, **kwargs) -> Rancher2Client:
    options = {"timeout": 2.0, "retries": 1, "backoff": 0.01, "token_poll": 0.01}
    options.update(kwargs)
    return Rancher2Client(sandbox.url, TOKEN, **options)


def test_creates_a_token_and_waits_until_it_has_a_node_command(rancher):
    node = client(rancher).registration("c-m-rke2x")

    [token] = rancher.cluster_tokens
    assert token["state"] == "active" and token["clusterId"] == "c-m-rke2x"
    assert node == NodeCommand("rke2", token["nodeCommand"])
    assert rancher.calls_to(TOKENS, "POST") == 1
    # The new token had no node command yet, so the client read it again until it had one.
    assert rancher.calls_to(f"{TOKENS}/{token['id']}", "GET") >= 1


@pytest.mark.parametrize(
    ("cluster_id", "kind", "start"),
    [
        ("c-m-rke2x", "rke2", "curl -fL "),
        ("c-m-k3sxx", "k3s", "curl -fL "),
        ("c-rke1x", "rke1", "sudo docker run -d --privileged "),
    ],
)
def test_the_node_command_fits_the_cluster_kind(rancher, cluster_id, kind, start):
    node = client(rancher).registration(cluster_id)

    assert node.kind == kind
    assert node.command.strip().startswith(start)
    assert f"--server {rancher.url} " in node.command
    assert f"--ca-checksum {CA_CHECKSUM}" in node.command
    assert ("system-agent-install.sh" in node.command) is (kind != "rke1")
    assert ("rancher/rancher-agent:" in node.command) is (kind == "rke1")
    check_node_command(node)


def test_an_active_token_is_reused_without_creating_another(rancher):
    first = client(rancher).registration("c-m-rke2x")
    second = client(rancher).registration("c-m-rke2x")

    assert second == first
    assert rancher.calls_to(TOKENS, "POST") == 1


def test_each_cluster_gets_its_own_token(rancher):
    rke2 = client(rancher).registration("c-m-rke2x")
    k3s = client(rancher).registration("c-m-k3sxx")

    assert rke2.command != k3s.command
    assert sorted(t["clusterId"] for t in rancher.cluster_tokens) == ["c-m-k3sxx", "c-m-rke2x"]


def test_a_token_without_a_node_command_in_time_gives_up_after_token_wait(rancher):
    rancher.token_delay = 60.0
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher, token_wait=0.2, token_poll=0.02).registration("c-m-rke2x")

    assert time.monotonic() - started < 2.0
    assert "no node command after 0.2 s" in caught.value.message
    assert "c-m-rke2x" in caught.value.message


def test_creation_is_not_retried_on_5xx(rancher):
    rancher.fail_next(503, count=5, method="POST")

    with pytest.raises(RancherUnavailable, match="HTTP 503"):
        client(rancher).registration("c-m-rke2x")

    assert rancher.calls_to(TOKENS, "POST") == 1


def test_a_cluster_that_takes_no_custom_nodes_gets_no_token(rancher):
    with pytest.raises(RancherRefused, match="takes no custom nodes"):
        client(rancher).registration("c-eksxx")

    assert rancher.calls_to(TOKENS, "POST") == 0


def test_a_node_command_of_an_unknown_shape_is_a_rancher_error():
    odd = RancherSandbox(token=TOKEN, clusters=CLUSTERS, agent_image_v2="evil/agent:v1")
    odd.start()
    try:
        with pytest.raises(RancherError, match="does not recognise") as caught:
            client(odd).registration("c-rke1x")
    finally:
        odd.stop()

    [token] = odd.cluster_tokens
    assert token["token"] not in caught.value.message
