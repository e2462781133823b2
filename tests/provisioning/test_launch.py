"""Carrying out approved requests: faults that wait, faults that fail, and removals."""

from __future__ import annotations

import time

from tests.provisioning.stack import Stack


def approved_removal(stack: Stack, launch, host: str):
    """An approved "remove <host>" request, as the bot records it after approval."""
    removal = stack.store.launches.create(
        kind="remove",
        requester="U0REQUEST",
        channel="C0OPS",
        options=launch.options,
        zone="ch-gva-2",
        credential_id=None,
        group_id=None,
        group_name=None,
        driver="ipsec",
        port_audit={},
        expires_at=launch.expires_at,
        target_host=host,
    )
    assert stack.store.launches.transition(removal.id, from_states=("pending",), to="approved")
    return removal


def test_exoscale_refusing_creation_for_a_while_delays_the_launch_but_loses_no_host():
    with Stack() as stack:
        launch = stack.approved_launch(count=2, name="patient")
        # POSTs are never retried by the client; the hosts wait for the next tick instead.
        stack.exo.fail_next(503, count=4, method="POST", path="/instance")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 2)

        assert sorted(i["name"] for i in stack.exo.instances) == ["patient-1", "patient-2"]
        assert not stack.notifier.of_kind("failed")


def test_instance_type_missing_in_the_zone_fails_every_host_with_the_reason():
    with Stack() as stack:
        stack.exo.remove_instance_type("ch-gva-2", "standard.large")
        launch = stack.approved_launch(count=2, name="big", profile="standard.large")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("failed")) == 2)

        reasons = {detail["diagnosis"] for _, _, detail in stack.notifier.of_kind("failed")}
        assert len(reasons) == 1
        assert "standard.large" in reasons.pop()
        assert stack.exo.instances == []
        stack.wait_for(lambda: stack.store.launches.get(launch.id).state == "failed")


def test_failed_operation_fails_that_host_only():
    with Stack() as stack:
        launch = stack.approved_launch(count=1, name="single")
        stack.exo.fail_operations(1)
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("failed"))

        [(_, host, detail)] = stack.notifier.of_kind("failed")
        assert host == "single-1"
        assert detail["diagnosis"]
        assert stack.store.hosts.for_launch(launch.id)[0].state == "failed"


def test_approved_remove_deletes_the_instance_and_the_rancher_host():
    with Stack() as stack:
        launch = stack.approved_launch(count=2, name="old")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 2)

        removal = approved_removal(stack, launch, "old-1")
        stack.provisioner.remove(removal.id)
        stack.wait_for(lambda: stack.notifier.of_kind("removed"))

        assert [i["name"] for i in stack.exo.instances] == ["old-2"]
        stack.wait_for(
            lambda: [h["hostname"] for h in stack.rancher.hosts if not h["removed"]] == ["old-2"]
        )
        assert stack.store.hosts.by_name("old-1").state == "removed"
        stack.wait_for(lambda: stack.store.launches.get(removal.id).state == "done")
        actions = [e.action for e in stack.store.audit.entries(launch_id=removal.id)]
        assert "host.remove" in actions


def test_remove_of_an_unknown_host_fails_the_request_and_changes_nothing():
    with Stack() as stack:
        launch = stack.approved_launch(count=1, name="keep")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("ready"))
        removal = approved_removal(stack, launch, "nope-9")
        stack.provisioner.remove(removal.id)
        stack.wait_for(lambda: stack.store.launches.get(removal.id).state == "failed")

        assert stack.store.launches.get(removal.id).reason == "no host named nope-9"
        assert [i["name"] for i in stack.exo.instances] == ["keep-1"]


def test_shutdown_during_a_tick_returns_instead_of_hanging():
    with Stack(poll_seconds=0.05) as stack:
        launch = stack.approved_launch(count=1, name="busy")
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("running"))
        stack.rancher.latency = 0.3  # every tick now waits on Rancher
        time.sleep(0.1)

        started = time.monotonic()
        stack.provisioner.shutdown(timeout=5)
        assert time.monotonic() - started < 5
        assert not stack.provisioner.watcher.busy
