"""The same launch, events and diagnosis against a Rancher 2.x custom cluster."""

from __future__ import annotations

from collections import Counter

import pytest

from commands.userdata import HOST_LABEL, LAUNCH_LABEL
from tests.provisioning.stack import Stack


@pytest.mark.parametrize(
    ("cluster", "roles", "expected_roles"),
    [
        ("c-m-rke2x", "etcd,controlplane,worker", {"etcd", "controlPlane", "worker"}),
        ("c-rke1x", "worker", {"worker"}),
    ],
)
def test_three_nodes_join_the_cluster_with_roles_and_labels(cluster, roles, expected_roles):
    with Stack(rancher2=True) as stack:
        launch = stack.approved_launch(
            count=3, name="k8s", cluster=cluster, roles=roles, labels="tier=edge"
        )
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 3)

        nodes = {n["hostname"]: n for n in stack.rancher.nodes if n["clusterId"] == cluster}
        assert sorted(nodes) == ["k8s-1", "k8s-2", "k8s-3"]
        for name, node in nodes.items():
            assert {role for role in ("etcd", "controlPlane", "worker") if node[role]} == (
                expected_roles
            )
            assert node["labels"]["tier"] == "edge"
            assert node["labels"][LAUNCH_LABEL] == launch.id
            assert node["labels"][HOST_LABEL] == f"{launch.id}-{name.rsplit('-', 1)[1]}"
        kinds = Counter(kind for kind, _, _ in stack.notifier.delivered)
        assert kinds == {"created": 3, "running": 3, "registered": 3, "ready": 3}
        stack.wait_for(lambda: stack.store.launches.get(launch.id).state == "done")


def test_rke2_node_in_a_group_missing_the_supervisor_port_is_diagnosed():
    with Stack(rancher2=True, register_timeout=1.5) as stack:
        group_id = stack.exo.add_security_group(
            "k8s-partial",
            rules=tuple(
                {
                    "flow-direction": "ingress",
                    "protocol": protocol,
                    "start-port": port,
                    "end-port": port,
                    "network": "0.0.0.0/0",
                }
                for protocol, port in [("tcp", 6443), ("tcp", 10250), ("udp", 8472)]
            ),
        )
        launch = stack.approved_launch(
            count=1,
            name="cp",
            cluster="c-m-rke2x",
            roles="etcd,controlplane,worker",
            group="k8s-partial",
            group_id=group_id,
        )
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(
            lambda: stack.notifier.of_kind("unhealthy") or stack.notifier.of_kind("timed_out")
        )

        [(_, host, detail)] = stack.notifier.of_kind("unhealthy") or stack.notifier.of_kind(
            "timed_out"
        )
        assert host == "cp-1"
        assert "k8s-partial lacks" in detail["diagnosis"]
        assert "TCP 9345" in detail["diagnosis"]
        assert "(RKE2)" in detail["diagnosis"]
        assert not stack.notifier.of_kind("ready")


def test_restart_mid_launch_into_a_cluster_creates_nothing_twice():
    with Stack(rancher2=True) as stack:
        launch = stack.approved_launch(count=3, name="again", cluster="c-m-rke2x", roles="worker")
        stack.provisioner.run(launch.id)
        first = sorted(i["id"] for i in stack.exo.instances)
        # A second run (a restart would do the same) finds every host by its launch label.
        for host in stack.store.hosts.for_launch(launch.id):
            stack.store.hosts.update(host.id, state="pending")
        stack.provisioner.run(launch.id)

        assert sorted(i["id"] for i in stack.exo.instances) == first
        assert len(first) == 3
