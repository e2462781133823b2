"""Faults: 429/500 retried where safe, timeouts instead of hangs, Operations that never end."""

import time
from functools import partial

import pytest

from commands.userdata import HOST_LABEL
from provisioning.errors import ExoscaleUnavailable, OperationFailed
from provisioning.exoscale import ExoscaleClient, InstanceSpec
from tests.provisioning.conftest import KEY, SECRET
from tests.provisioning.conftest import client as quick_client

# Three retries: these tests answer up to two requests in a row with an error.
client = partial(quick_client, retries=3)


def spec(exo, name="web-1"):
    return InstanceSpec(
        name=name,
        instance_type_id=exo.find_instance_type("standard.small").id,
        template_id=exo.find_template("Linux Ubuntu 22.04 LTS 64-bit").id,
        disk_size=20,
        security_group_id=exo.ensure_standard_group("vxlan").group.id,
        user_data="#cloud-config\nruncmd:\n- [sh, -c, 'docker run agent']\n",
        labels={HOST_LABEL: f"launch-{name}"},
    )


def statuses(sandbox, method, suffix):
    return [s for m, p, s in sandbox.calls if m == method and p.split("?")[0].endswith(suffix)]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_get_answered_with_a_transient_error_is_retried_and_succeeds(sandbox, status):
    sandbox.fail_next(status, count=2, method="GET", path="/instance-type")

    found = client(sandbox).find_instance_type("standard.medium")

    assert found.name == "standard.medium"
    assert statuses(sandbox, "GET", "/instance-type") == [status, status, 200]


def test_retry_after_of_a_429_is_honoured(sandbox):
    sandbox.fail_next(429, method="GET", path="/security-group", retry_after=1)
    started = time.monotonic()

    client(sandbox).check_credentials()

    assert time.monotonic() - started >= 0.9
    assert statuses(sandbox, "GET", "/security-group") == [429, 200]


def test_a_long_retry_after_is_capped(sandbox, monkeypatch):
    monkeypatch.setattr("provisioning.exoscale.RETRY_AFTER_MAX", 0.1)
    sandbox.fail_next(503, method="GET", path="/security-group", retry_after=60)
    started = time.monotonic()

    client(sandbox).check_credentials()

    assert time.monotonic() - started < 5
    assert statuses(sandbox, "GET", "/security-group") == [503, 200]


def test_launch_survives_429_and_500_on_its_lookups_and_polls(sandbox):
    exo = client(sandbox)
    wanted = spec(exo)
    sandbox.fail_next(429, count=1, method="GET", path="/instance")
    sandbox.fail_next(500, count=2, method="GET", path="/operation")

    [result] = exo.create_instances([wanted])

    assert result.created is True and result.error is None
    assert statuses(sandbox, "GET", "/instance") == [429, 200]
    assert statuses(sandbox, "POST", "/instance") == [200]
    assert len(sandbox.instances) == 1


def test_a_post_is_never_retried(sandbox):
    exo = client(sandbox)
    wanted = spec(exo)
    sandbox.fail_next(500, count=1, method="POST", path="/instance")

    [result] = exo.create_instances([wanted])

    assert statuses(sandbox, "POST", "/instance") == [500]
    assert result.instance_id is None
    assert result.error.startswith(ExoscaleUnavailable.prefix)
    assert "failed to create instance web-1 (HTTP 500)" in result.error


def test_retries_run_out_into_a_clear_unavailable_error(sandbox):
    sandbox.fail_next(503, count=10, method="GET")

    with pytest.raises(ExoscaleUnavailable) as caught:
        client(sandbox, retries=2).templates()

    assert caught.value.message == (
        "Exoscale is unavailable: it failed to list templates (HTTP 503 after 2 retries): "
        "Service Unavailable (injected by the sandbox); try again in a few minutes"
    )
    assert len(statuses(sandbox, "GET", "/template")) == 3


def test_a_hung_server_hits_the_timeout_instead_of_hanging(sandbox):
    sandbox.hang_next(5.0, count=5)
    exo = client(sandbox, timeout=0.2, retries=1)
    started = time.monotonic()

    with pytest.raises(ExoscaleUnavailable) as caught:
        exo.check_credentials()

    assert time.monotonic() - started < 2.0
    assert caught.value.message == (
        "Exoscale is unavailable: it did not answer within 0.2 s (asked to list security "
        "groups); try again in a few minutes"
    )


def test_a_get_that_hung_once_is_retried(sandbox):
    sandbox.hang_next(5.0, method="GET")

    client(sandbox, timeout=0.2, retries=1).check_credentials()

    assert statuses(sandbox, "GET", "/security-group") == [200]  # the hung one never answered


def test_a_hung_creation_is_that_hosts_timeout_and_is_not_sent_again(sandbox):
    exo = client(sandbox, timeout=0.2)
    wanted = spec(exo)
    sandbox.hang_next(5.0, method="POST", path="/instance")

    [result] = exo.create_instances([wanted])

    assert result.instance_id is None
    assert result.error == (
        "Exoscale is unavailable: it did not answer within 0.2 s (asked to create instance "
        "web-1); try again in a few minutes"
    )
    # A second POST would have been served (only one hangs): none was sent.
    assert statuses(sandbox, "POST", "/instance") == []
    assert sandbox.in_flight == 1


def test_connection_refused_is_unavailable_with_the_host(sandbox):
    endpoint = sandbox.endpoint
    sandbox.stop()
    exo = ExoscaleClient(KEY, SECRET, "ch-gva-2", endpoint=endpoint, retries=1, backoff=0.01)

    with pytest.raises(ExoscaleUnavailable) as caught:
        exo.check_credentials()

    host = endpoint.split("/")[2]
    assert caught.value.message == (
        f"Exoscale is unavailable: could not connect to {host} to list security groups: "
        "check the zone, EXOSCALE_API_ENDPOINT and the network"
    )


def test_an_operation_that_never_finishes_is_bounded(sandbox):
    exo = client(sandbox, operation_timeout=0.2)
    wanted = spec(exo)
    sandbox.operation_delay = 30.0
    started = time.monotonic()

    [result] = exo.create_instances([wanted])

    assert time.monotonic() - started < 2.0
    assert result.instance_id is None
    assert result.error.startswith(
        "Exoscale did not finish the operation to create instance web-1 within 0.2 s"
    )


def test_the_default_poll_schedule_is_the_official_one():
    from exoscale.api.v2 import _poll_interval

    exo = ExoscaleClient(KEY, SECRET, "ch-gva-2")

    assert exo._poll_interval is _poll_interval
    assert _poll_interval(0) == 3 and _poll_interval(10_000) == 60


def test_a_failed_operation_raises_operation_failed_outside_launches(sandbox):
    exo = client(sandbox)
    sandbox.fail_operations(1)

    with pytest.raises(OperationFailed) as caught:
        exo.ensure_standard_group("ipsec")

    assert caught.value.operation_id
    assert "could not create security group rancher-machine" in caught.value.message
