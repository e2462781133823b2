"""Creating hosts: parallel, idempotent, and one host's failure reported on that host alone."""

import base64
import time
from functools import partial

import pytest
from exoscale.api.v2 import Client as SdkClient

from commands.userdata import HOST_LABEL, LAUNCH_LABEL
from provisioning.exoscale import InstanceSpec
from tests.provisioning.conftest import KEY, SECRET
from tests.provisioning.conftest import client as quick_client

USER_DATA = (
    "#cloud-config\n"
    "runcmd:\n"
    "- [sh, -c, 'docker run --rm rancher/agent:v1.2.11 http://rancher.test/v1/scripts/T']\n"
)


client = partial(quick_client, retries=2)


def specs(exo, count, *, launch="ab12cd34", name="web", disk=50, user_data=USER_DATA):
    instance_type = exo.find_instance_type("standard.medium")
    template = exo.find_template("Linux Ubuntu 24.04 LTS 64-bit")
    group = exo.ensure_standard_group("ipsec").group
    return [
        InstanceSpec(
            name=f"{name}-{i}",
            instance_type_id=instance_type.id,
            template_id=template.id,
            disk_size=disk,
            security_group_id=group.id,
            user_data=user_data,
            labels={"tier": "web", LAUNCH_LABEL: launch, HOST_LABEL: f"{launch}-{i}"},
        )
        for i in range(1, count + 1)
    ]


def creations(sandbox):
    return [c for c in sandbox.calls if c[0] == "POST" and c[1].endswith("/v2/instance")]


def test_five_instances_are_created_in_parallel_as_specified(sandbox):
    exo = client(sandbox, max_parallel=5)
    wanted = specs(exo, 5)
    sandbox.latency = 0.05
    sandbox.peak_in_flight = 0

    results = exo.create_instances(wanted)

    assert [(r.name, r.created, r.error) for r in results] == [
        (f"web-{i}", True, None) for i in range(1, 6)
    ]
    assert sandbox.peak_in_flight >= 3  # one at a time would never exceed 1
    made = {i["name"]: i for i in sandbox.instances}
    assert sorted(made) == [f"web-{i}" for i in range(1, 6)]
    for spec, result in zip(wanted, results, strict=True):
        instance = made[spec.name]
        assert instance["id"] == result.instance_id
        assert instance["labels"] == spec.labels
        assert instance["instance-type"]["id"] == spec.instance_type_id
        assert instance["template"]["id"] == spec.template_id
        assert instance["disk-size"] == 50
        assert instance["security-groups"] == [{"id": spec.security_group_id}]
        assert instance["public-ip-assignment"] == "inet4"
        assert base64.b64decode(instance["user-data"]).decode() == USER_DATA


def test_parallelism_is_bounded_by_max_parallel(sandbox):
    exo = client(sandbox, max_parallel=2)
    wanted = specs(exo, 6)
    sandbox.latency = 0.05
    sandbox.peak_in_flight = 0

    results = exo.create_instances(wanted)

    assert all(r.created for r in results)
    assert sandbox.peak_in_flight == 2


def test_a_second_launch_with_the_same_labels_creates_nothing(sandbox):
    exo = client(sandbox)
    wanted = specs(exo, 5)
    first = exo.create_instances(wanted)

    second = exo.create_instances(wanted)

    assert [r.created for r in second] == [False] * 5
    assert [r.instance_id for r in second] == [r.instance_id for r in first]
    assert len(creations(sandbox)) == 5
    assert len(sandbox.instances) == 5


def test_only_the_missing_hosts_of_a_partial_launch_are_created(sandbox):
    exo = client(sandbox)
    wanted = specs(exo, 4)
    exo.create_instances(wanted[:2])

    results = exo.create_instances(wanted)

    assert [r.created for r in results] == [False, False, True, True]
    assert sorted(i["name"] for i in sandbox.instances) == ["web-1", "web-2", "web-3", "web-4"]


def test_an_instance_being_destroyed_is_not_reused(sandbox):
    exo = client(sandbox)
    [spec] = specs(exo, 1)
    [old] = exo.create_instances([spec])
    sandbox.operation_delay = 1.0  # keep it in "destroying" while we create again
    sdk = SdkClient(KEY, SECRET, url=sandbox.endpoint.format(zone="ch-gva-2"))
    sdk.delete_instance(id=old.instance_id)  # as someone would in the portal
    sandbox.operation_delay = 0.02

    [new] = exo.create_instances([spec])

    assert new.created is True and new.instance_id != old.instance_id


def test_a_failed_operation_is_that_hosts_error_only(sandbox):
    exo = client(sandbox, max_parallel=1)  # one at a time: the first creation gets the failure
    wanted = specs(exo, 3)
    sandbox.fail_operations(1)

    results = exo.create_instances(wanted)

    assert results[0].instance_id is None and results[0].created is False
    assert results[0].error == (
        "Exoscale could not create instance web-1: the operation ended in failure "
        "(the instance could not be created on the host)"
    )
    assert [(r.created, r.error) for r in results[1:]] == [(True, None), (True, None)]
    assert sorted(i["name"] for i in sandbox.instances) == ["web-2", "web-3"]


def test_a_refused_request_is_that_hosts_error_with_the_reason(sandbox):
    exo = client(sandbox)
    good, bad = specs(exo, 2)
    sandbox.remove_instance_type("ch-gva-2", "standard.medium")

    results = exo.create_instances([good, bad])

    for result in results:
        assert result.instance_id is None
        assert result.error == (
            f"Exoscale refused to create instance {result.name}: "
            "Instance type standard.medium is not available in zone ch-gva-2"
        )


def test_a_body_the_api_refuses_is_reported_not_raised(sandbox):
    exo = client(sandbox)
    [spec] = specs(exo, 1, disk=5)

    [result] = exo.create_instances([spec])

    assert result.error == (
        "Exoscale refused to create instance web-1: "
        "Invalid request: disk-size: 5 is less than the minimum of 10"
    )


def test_user_data_over_the_limit_fails_that_host_before_any_call(sandbox):
    exo = client(sandbox)
    [spec] = specs(exo, 1, user_data="#cloud-config\n" + "x" * 30000)

    [result] = exo.create_instances([spec])

    assert "Exoscale accepts at most 32768" in result.error
    assert creations(sandbox) == []


def test_specs_without_the_host_label_are_a_programming_error(sandbox):
    exo = client(sandbox)
    [spec] = specs(exo, 1)
    unlabelled = InstanceSpec(**{**spec.__dict__, "labels": {"tier": "web"}})

    with pytest.raises(ValueError, match=HOST_LABEL):
        exo.create_instances([unlabelled])
    with pytest.raises(ValueError, match="two specs"):
        exo.create_instances([spec, spec])


def test_instances_come_up_running_with_a_public_ip_and_can_be_deleted(sandbox):
    exo = client(sandbox)
    [result] = exo.create_instances(specs(exo, 1))
    assert exo.instance(result.instance_id).state in ("starting", "running")

    deadline = time.monotonic() + 5
    while exo.instance(result.instance_id).state != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    instance = exo.instance(result.instance_id)

    assert instance.state == "running" and instance.public_ip.startswith("198.51.100.")
    assert exo.instances({LAUNCH_LABEL: "ab12cd34"}) == [instance]
    assert exo.instances({LAUNCH_LABEL: "other"}) == []
    exo.delete_instance(result.instance_id)
    deadline = time.monotonic() + 5
    while sandbox.instances and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.instances == []
    exo.delete_instance(result.instance_id)  # already gone: nothing to do, no error


def test_the_label_filter_is_sent_as_key_equals_value(sandbox):
    exo = client(sandbox)

    exo.instances({HOST_LABEL: "ab12cd34-1", LAUNCH_LABEL: "ab12cd34"})

    method, target, _ = sandbox.calls[-1]
    assert target == (
        "/ch-gva-2/v2/instance?labels=rancher-exoscale-bot.host%3Dab12cd34-1"
        "+rancher-exoscale-bot.launch%3Dab12cd34"
    )
