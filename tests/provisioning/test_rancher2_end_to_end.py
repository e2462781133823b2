"""End to end for Rancher 2.x: user-data booted by the Exoscale sandbox registers nodes.

The bot's pieces against both sandboxes over real sockets: the Standard group opened for the
cluster's ports, Rancher's node command fetched and rendered into cloud-init, instances created
on Exoscale, and the nodes seen in the cluster with their roles and labels.
"""

from __future__ import annotations

import pytest

from commands.options import parse_host_options
from commands.ports import required_ports_v2
from commands.userdata import HOST_LABEL, LAUNCH_LABEL, bot_labels, render_user_data
from provisioning.exoscale import ExoscaleClient, InstanceSpec
from provisioning.rancher2 import Rancher2Client
from sandbox.exoscale import ExoscaleSandbox
from sandbox.rancher import RancherSandbox
from tests.conftest import wait_for

KEY, SECRET = "EXOrancher2e2e", "rancher2-e2e-secret"
TOKEN = "token-e2e01:rancher2e2esecret"
LAUNCH = "9f8e7d6c"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
]


@pytest.fixture
def stack():
    exo_sandbox = ExoscaleSandbox({KEY: SECRET}, operation_delay=0.02, boot_delay=0.03)
    rancher_sandbox = RancherSandbox(
        token=TOKEN,
        clusters=CLUSTERS,
        token_delay=0.02,
        register_delay=0.03,
        activate_delay=0.03,
    )
    exo_sandbox.start()
    rancher_sandbox.start()
    exo_sandbox.on_boot(rancher_sandbox.boot)
    exo = ExoscaleClient(
        KEY,
        SECRET,
        "ch-gva-2",
        endpoint=exo_sandbox.endpoint,
        timeout=5.0,
        retries=1,
        backoff=0.01,
        poll_interval=lambda t: 0.01,
    )
    rancher = Rancher2Client(
        rancher_sandbox.url, TOKEN, timeout=5.0, retries=1, backoff=0.01, token_poll=0.01
    )
    yield exo_sandbox, rancher_sandbox, exo, rancher
    exo_sandbox.stop()
    rancher_sandbox.stop()


def launch(exo, rancher, *, cluster_id, count, roles, labels="", group_id=None):
    """What the lead's orchestration will do, in a few lines: group, node command, instances."""
    form = {"name": "node", "count": str(count), "cluster": cluster_id, "roles": roles}
    options = parse_host_options({**form, "labels": labels}, max_hosts=10)
    cluster = rancher.cluster(cluster_id)
    if group_id is None:
        ports = required_ports_v2(cluster.kind, options.roles)
        group_id = exo.ensure_standard_group(ports, driver=cluster.kind).group.id
    node_command = rancher.registration(cluster_id)
    instance_type = exo.find_instance_type(options.profile)
    template = exo.find_template(options.template)
    specs = [
        InstanceSpec(
            name=name,
            instance_type_id=instance_type.id,
            template_id=template.id,
            disk_size=options.disk,
            security_group_id=group_id,
            user_data=render_user_data(options, launch_id=LAUNCH, index=i, agent=node_command),
            labels={**dict(options.labels), **bot_labels(LAUNCH, i)},
        )
        for i, name in enumerate(options.host_names(), start=1)
    ]
    results = exo.create_instances(specs)
    assert [r.error for r in results] == [None] * count
    return options


def ours(rancher, cluster_id):
    return [n for n in rancher.nodes(cluster_id) if n.labels.get(LAUNCH_LABEL) == LAUNCH]


def test_three_rke2_hosts_join_with_their_roles_and_labels(stack):
    exo_sandbox, rancher_sandbox, exo, rancher = stack

    all_roles = "etcd,controlplane,worker"
    launch(exo, rancher, cluster_id="c-m-rke2x", count=3, roles=all_roles, labels="tier=web")

    def three_healthy():
        found = ours(rancher, "c-m-rke2x")
        return found if len(found) == 3 and all(n.healthy for n in found) else None

    nodes = wait_for(three_healthy, timeout=10.0)
    assert rancher_sandbox.refused == [] and exo_sandbox.boot_failures == []
    by_host = {n.labels[HOST_LABEL]: n for n in nodes}
    assert sorted(by_host) == [f"{LAUNCH}-{i}" for i in (1, 2, 3)]
    public_ips = {i["name"]: i["public-ip"] for i in exo_sandbox.instances}
    for i in (1, 2, 3):
        node = by_host[f"{LAUNCH}-{i}"]
        assert node.hostname == f"node-{i}"
        assert node.ip == public_ips[f"node-{i}"]
        assert node.labels["tier"] == "web"
        for role in ("etcd", "controlplane", "worker"):
            assert node.labels[f"node-role.kubernetes.io/{role}"] == "true"
    raw = {n["hostname"]: n for n in rancher_sandbox.nodes}
    assert all(raw[h]["etcd"] and raw[h]["controlPlane"] and raw[h]["worker"] for h in raw)


def test_an_rke1_worker_joins_its_cluster(stack):
    _, rancher_sandbox, exo, rancher = stack

    launch(exo, rancher, cluster_id="c-rke1x", count=1, roles="worker")

    [node] = wait_for(lambda: [n for n in ours(rancher, "c-rke1x") if n.healthy], timeout=10.0)
    assert node.labels["node-role.kubernetes.io/worker"] == "true"
    assert "node-role.kubernetes.io/etcd" not in node.labels
    [raw] = rancher_sandbox.nodes
    assert (raw["clusterId"], raw["worker"], raw["etcd"]) == ("c-rke1x", True, False)


def test_a_group_without_the_node_ports_leaves_the_node_unavailable(stack):
    exo_sandbox, _, exo, rancher = stack
    bare = exo_sandbox.add_security_group("bare")

    launch(exo, rancher, cluster_id="c-m-rke2x", count=1, roles="worker", group_id=bare)

    [node] = wait_for(lambda: [n for n in ours(rancher, "c-m-rke2x") if n.unhealthy], timeout=10.0)
    assert node.state == "unavailable"
    audit = exo.audit_group("bare", required_ports_v2("rke2", ("worker",)), driver="rke2").audit
    assert [str(p) for p in audit.missing] == ["UDP 8472", "TCP 9099", "TCP 10250"]
