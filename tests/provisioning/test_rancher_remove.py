"""RancherClient.remove_host(): deactivate, wait for inactive, delete; safe to call again."""

from __future__ import annotations

import pytest

from provisioning.errors import RancherUnavailable
from provisioning.rancher import RancherClient
from sandbox.rancher import RancherSandbox


@pytest.fixture
def rancher():
    with RancherSandbox("access", "secret", activate_delay=0.03) as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox, **kwargs) -> RancherClient:
    options = {"retries": 1, "backoff": 0.01, "state_poll": 0.01, "state_wait": 2.0}
    options.update(kwargs)
    return RancherClient(sandbox.url, "access", "secret", "1a5", **options)


def test_deactivates_then_deletes(rancher):
    host_id = rancher.add_host("web-1")["id"]
    path = f"/v2-beta/projects/1a5/hosts/{host_id}"

    client(rancher).remove_host(host_id)

    writes = [(m, s) for m, p, s in rancher.calls if p == path and m != "GET"]
    assert writes == [("POST", 202), ("DELETE", 202)]
    assert rancher.hosts[0]["state"] in ("removing", "removed")


def test_removed_host_is_reported_removed_after_a_while(rancher):
    host_id = rancher.add_host("web-1")["id"]
    rancher_client = client(rancher)
    rancher_client.remove_host(host_id)

    import time

    deadline = time.monotonic() + 2.0
    while not rancher_client.host(host_id).removed:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not rancher_client.host(host_id).healthy


def test_unknown_host_is_already_gone(rancher):
    client(rancher).remove_host("1h999")

    assert [m for m, _, _ in rancher.calls] == ["GET"]


def test_second_remove_does_nothing(rancher):
    host_id = rancher.add_host("web-1")["id"]
    rancher_client = client(rancher)
    rancher_client.remove_host(host_id)
    calls = len(rancher.calls)

    rancher_client.remove_host(host_id)

    assert [m for m, _, _ in rancher.calls[calls:]] == ["GET"]


def test_disconnected_host_can_be_removed(rancher):
    host_id = rancher.add_host("web-1", state="disconnected", agent_state="disconnected")["id"]

    client(rancher).remove_host(host_id)

    assert rancher.hosts[0]["state"] in ("removing", "removed")


def test_inactive_host_is_deleted_without_deactivating(rancher):
    host_id = rancher.add_host("web-1", state="inactive", agent_state=None)["id"]

    client(rancher).remove_host(host_id)

    assert [m for m, _, _ in rancher.calls if m != "GET"] == ["DELETE"]


def test_host_that_stays_deactivating_gives_up_after_state_wait(rancher):
    rancher.activate_delay = 60.0
    host_id = rancher.add_host("web-1")["id"]

    with pytest.raises(RancherUnavailable, match="did not deactivate host"):
        client(rancher, state_wait=0.1).remove_host(host_id)

    assert [m for m, _, _ in rancher.calls if m != "GET"] == ["POST"]
