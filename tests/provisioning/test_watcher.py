"""A launch from approval to "ready", through both sandboxes over 127.0.0.1."""

from __future__ import annotations

import time
from collections import Counter

from exoscale.api.v2 import Client as SdkClient

from commands.userdata import HOST_LABEL, LAUNCH_LABEL
from tests.provisioning.stack import EXO_KEY, EXO_SECRET, Stack


def test_three_hosts_go_from_approved_to_ready_with_names_ips_and_labels():
    with Stack() as stack:
        launch = stack.approved_launch(count=3, name="web", labels="tier=frontend")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 3)

        ready = {host: detail for _, host, detail in stack.notifier.of_kind("ready")}
        assert sorted(ready) == ["web-1", "web-2", "web-3"]
        instances = {i["name"]: i for i in stack.exo.instances}
        rancher_hosts = {h["hostname"]: h for h in stack.rancher.hosts}
        for name, detail in ready.items():
            ip = instances[name]["public-ip"]
            assert detail["ip"] == ip
            assert rancher_hosts[name]["agentIpAddress"] == ip
            labels = rancher_hosts[name]["labels"]
            assert labels["tier"] == "frontend"
            assert labels[LAUNCH_LABEL] == launch.id
            assert labels[HOST_LABEL] == f"{launch.id}-{name.rsplit('-', 1)[1]}"
        stack.wait_for(lambda: stack.store.launches.get(launch.id).state == "done")
        kinds = Counter(kind for kind, _, _ in stack.notifier.delivered)
        assert kinds == {"created": 3, "running": 3, "registered": 3, "ready": 3}


def _custom_group(stack: Stack, name: str, ports: list[tuple[str, int]]) -> str:
    """Create a group over the SDK, as a user would have in the Exoscale portal."""
    sdk = SdkClient(EXO_KEY, EXO_SECRET, url=stack.endpoint.format(zone="ch-gva-2"))
    op = sdk.create_security_group(name=name)
    group_id = op["reference"]["id"]
    for protocol, port in ports:
        sdk.add_rule_to_security_group(
            id=group_id,
            flow_direction="ingress",
            protocol=protocol,
            start_port=port,
            end_port=port,
            network="0.0.0.0/0",
        )
    return group_id


def test_group_missing_udp_4500_under_ipsec_gives_unhealthy_with_diagnosis():
    with Stack(driver="ipsec") as stack:
        group_id = _custom_group(stack, "half-open", [("tcp", 22), ("tcp", 2376), ("udp", 500)])
        launch = stack.approved_launch(count=1, name="db", group="half-open", group_id=group_id)
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("unhealthy"))

        [(_, host, detail)] = stack.notifier.of_kind("unhealthy")
        assert host == "db-1"
        assert "half-open lacks UDP 4500 (IPsec)" in detail["diagnosis"]
        assert "UDP 500," not in detail["diagnosis"]
        assert not stack.notifier.of_kind("ready")


def test_host_that_never_registers_times_out_with_a_diagnosis():
    with Stack(wire=False, register_timeout=1.0) as stack:
        launch = stack.approved_launch(count=1, name="lost")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("timed_out"), timeout=10)

        [(_, host, detail)] = stack.notifier.of_kind("timed_out")
        assert host == "lost-1"
        assert "Exoscale says instance lost-1 is running" in detail["diagnosis"]
        assert "the Rancher agent never registered" in detail["diagnosis"]
        stack.wait_for(lambda: stack.store.launches.get(launch.id).state == "failed")


def test_rancher_down_for_two_ticks_delays_but_loses_nothing():
    with Stack(poll_seconds=0.2) as stack:
        launch = stack.approved_launch(count=2, name="api")
        stack.rancher.down(0.5)
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 2)

        kinds = Counter((kind, host) for kind, host, _ in stack.notifier.delivered)
        assert all(count == 1 for count in kinds.values()), kinds
        assert {host for _, host, _ in stack.notifier.of_kind("ready")} == {"api-1", "api-2"}


def test_two_hundred_waiting_hosts_cost_one_rancher_list_per_tick():
    with Stack() as stack:
        launch = stack.approved_launch(count=200, name="fleet")
        hosts = stack.store.hosts.ensure_for_launch(
            launch.id, [f"fleet-{i}" for i in range(1, 201)], "ch-gva-2"
        )
        for host in hosts:
            stack.store.hosts.update(host.id, state="running", instance_id=f"id-{host.index}")
            stack.rancher.add_host(
                host.name,
                state="registering",
                agent_state=None,
                labels={HOST_LABEL: f"{launch.id}-{host.index}"},
            )
        before, exo_before = len(stack.rancher.calls), len(stack.exo.calls)

        for _ in range(3):
            stack.provisioner.watcher.tick()

        assert (
            stack.rancher.calls[before:]
            == [("GET", f"/v2-beta/projects/{stack.rancher_project}/hosts", 200)] * 3
        )
        assert len(stack.exo.calls) == exo_before
        states = {h.state for h in stack.store.hosts.for_launch(launch.id)}
        assert states == {"registered"}


def test_hosts_not_yet_running_cost_one_instance_list_per_zone():
    with Stack() as stack:
        launch = stack.approved_launch(count=50, name="batch")
        hosts = stack.store.hosts.ensure_for_launch(
            launch.id, [f"batch-{i}" for i in range(1, 51)], "ch-gva-2"
        )
        for host in hosts:
            stack.store.hosts.update(host.id, state="created", instance_id=f"id-{host.index}")
        exo_before = len(stack.exo.calls)
        stack.provisioner.watcher.tick()
        listed = [c for c in stack.exo.calls[exo_before:] if c[0] == "GET"]
        assert len(listed) == 1
        assert listed[0][1].split("?")[0].endswith("/instance")


def test_ready_event_follows_activation_within_one_poll_interval():
    with Stack(poll_seconds=0.3) as stack:
        launch = stack.approved_launch(count=1, name="quick")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.rancher.hosts and stack.rancher.hosts[0]["state"] == "active")
        active_at = time.monotonic()
        stack.wait_for(lambda: stack.notifier.of_kind("ready"), interval=0.01)
        assert time.monotonic() - active_at <= 0.3 + 1.0
