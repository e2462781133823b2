"""Rancher2Client.nodes() and remove_node(): every page, state, address, labels; deletion."""

from __future__ import annotations

import shlex

import pytest
import yaml

from commands.options import parse_host_options
from commands.userdata import HOST_LABEL, PUBLIC_IP_LOOKUP, render_user_data
from provisioning.rancher2 import Rancher2Client
from sandbox.exoscale import AgentBoot
from sandbox.rancher import RancherSandbox
from tests.conftest import wait_for

TOKEN = "token-ab12c:nodestestsecret"
NODES = "/v3/nodes"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-m-other", "name": "other", "kind": "rke2"},
]


@pytest.fixture
def rancher():
    with RancherSandbox(
        token=TOKEN,
        clusters=CLUSTERS,
        token_delay=0.01,
        register_delay=0.02,
        activate_delay=0.03,
    ) as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox, **kwargs) -> Rancher2Client:
    options = {"timeout": 2.0, "retries": 1, "backoff": 0.01, "token_poll": 0.01}
    options.update(kwargs)
    return Rancher2Client(sandbox.url, TOKEN, **options)


def test_every_page_is_followed(rancher):
    for i in range(7):
        rancher.add_node("c-m-rke2x", f"web-{i}", ip=f"198.51.100.{i}")
    rancher.add_node("c-m-other", "elsewhere")

    nodes = client(rancher, page_size=3).nodes("c-m-rke2x")

    assert [n.hostname for n in nodes] == [f"web-{i}" for i in range(7)]
    assert [n.ip for n in nodes] == [f"198.51.100.{i}" for i in range(7)]
    assert rancher.calls_to(NODES, "GET") == 3


def test_healthy_means_active(rancher):
    for state in ("active", "registering", "unavailable", "error"):
        rancher.add_node("c-m-rke2x", state, state=state)

    nodes = {n.hostname: n for n in client(rancher).nodes("c-m-rke2x")}

    assert {h for h, n in nodes.items() if n.healthy} == {"active"}
    assert {h for h, n in nodes.items() if n.unhealthy} == {"unavailable", "error"}


def test_a_booted_node_shows_its_roles_and_labels_once_active(rancher):
    node_command = client(rancher).registration("c-m-rke2x")
    form = {"name": "web", "count": "2", "cluster": "c-m-rke2x", "roles": "etcd,worker"}
    options = parse_host_options({**form, "labels": "tier=web"}, max_hosts=5)
    text = render_user_data(options, launch_id="1a2b3c4d", index=2, agent=node_command)
    line = yaml.safe_load(text)["runcmd"][-1][2].replace(PUBLIC_IP_LOOKUP, "203.0.113.9")
    argv = tuple(shlex.split(line))
    rancher.boot(AgentBoot("i-2", "web-2", "ch-gva-2", "203.0.113.9", argv, (), {}))

    [node] = wait_for(
        lambda: [n for n in client(rancher).nodes("c-m-rke2x") if n.healthy], timeout=3.0
    )

    assert (node.hostname, node.ip, node.state) == ("web-2", "203.0.113.9", "active")
    assert node.labels[HOST_LABEL] == "1a2b3c4d-2"
    assert node.labels["tier"] == "web"
    assert node.labels["node-role.kubernetes.io/etcd"] == "true"
    assert node.labels["node-role.kubernetes.io/worker"] == "true"
    assert "node-role.kubernetes.io/controlplane" not in node.labels
    [raw] = rancher.nodes
    assert (raw["etcd"], raw["controlPlane"], raw["worker"]) == (True, False, True)


def test_remove_node_deletes_it_and_a_second_call_is_fine(rancher):
    node = rancher.add_node("c-m-rke2x", "web-1")
    rancher2 = client(rancher)

    rancher2.remove_node(node["id"])
    wait_for(lambda: not rancher2.nodes("c-m-rke2x"), timeout=3.0)
    rancher2.remove_node(node["id"])

    deletes = [s for m, p, s in rancher.calls if m == "DELETE"]
    assert deletes == [200, 404]
    assert rancher.calls[-1][1] == f"{NODES}/{node['id']}"
