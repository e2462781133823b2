"""RancherClient.hosts(): every page of the project's hosts, and the healthy/unhealthy verdicts."""

from __future__ import annotations

import socket

import pytest

from provisioning.rancher import RancherClient, RancherHost
from sandbox.rancher import RancherSandbox

HOSTS = "/v2-beta/projects/1a5/hosts"


@pytest.fixture
def rancher():
    with RancherSandbox("access", "secret") as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox, **kwargs) -> RancherClient:
    return RancherClient(sandbox.url, "access", "secret", "1a5", backoff=0.01, **kwargs)


def test_follows_pagination_across_250_hosts(rancher):
    for i in range(250):
        rancher.add_host(f"web-{i}", ip=f"198.51.100.{i % 250}", labels={"n": str(i)})

    hosts = client(rancher, page_size=100).hosts()

    assert [h.hostname for h in hosts] == [f"web-{i}" for i in range(250)]
    assert len({h.id for h in hosts}) == 250
    assert rancher.calls_to(HOSTS, "GET") == 3


def test_default_page_size_lists_250_hosts_in_one_call(rancher):
    for i in range(250):
        rancher.add_host(f"web-{i}")

    hosts = client(rancher).hosts()

    assert len(hosts) == 250
    assert rancher.calls_to(HOSTS, "GET") == 1


def test_server_default_page_size_is_followed_when_the_client_asks_for_more(rancher):
    # A server that pages below the client's limit still yields every host.
    rancher.page_size = 40
    for i in range(90):
        rancher.add_host(f"db-{i}")
    hosts = client(rancher, page_size=40).hosts()

    assert len(hosts) == 90
    assert rancher.calls_to(HOSTS, "GET") == 3


def test_page_links_for_another_address_are_followed_on_the_configured_url():
    # Behind a proxy Rancher writes links with its own idea of its URL (here: a closed port);
    # the client keeps talking to the URL it was given, credentials included.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        elsewhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    sandbox = RancherSandbox("access", "secret", advertised_url=elsewhere)
    sandbox.start()
    try:
        for i in range(5):
            sandbox.add_host(f"web-{i}")

        hosts = client(sandbox, page_size=2, retries=0).hosts()

        assert len(hosts) == 5
        assert sandbox.calls_to(HOSTS) == 3
    finally:
        sandbox.stop()


def test_empty_project_lists_no_hosts(rancher):
    assert client(rancher).hosts() == []


def test_host_fields_come_from_the_api(rancher):
    rancher.add_host(
        "web-1",
        state="active",
        agent_state=None,
        ip="198.51.100.7",
        labels={"rancher-exoscale-bot.launch": "ab12cd34", "tier": "web"},
    )

    (host,) = client(rancher).hosts()

    assert host == RancherHost(
        id=host.id,
        hostname="web-1",
        state="active",
        agent_state=None,
        ip="198.51.100.7",
        labels={"rancher-exoscale-bot.launch": "ab12cd34", "tier": "web"},
        removed=False,
    )
    assert host.healthy


def test_removed_hosts_are_listed_as_removed(rancher):
    rancher.add_host("old", removed=True)

    (host,) = client(rancher).hosts()

    assert host.removed and not host.healthy


# (state, agentState, removed) -> (healthy, unhealthy), as DESIGN.md decides it.
HEALTH_TABLE = [
    ("active", "active", False, True, False),
    ("active", None, False, True, False),
    ("active", "active", True, False, False),
    ("registering", None, False, False, False),
    ("activating", None, False, False, False),
    ("active", "reconnecting", False, False, True),
    ("reconnecting", "reconnecting", False, False, True),
    ("disconnected", "disconnected", False, False, True),
    ("active", "disconnected", False, False, True),
    ("error", None, False, False, True),
    ("active", "error", False, False, True),
    ("inactive", None, False, False, False),
    ("Active", "active", False, False, False),
]


@pytest.mark.parametrize("state,agent_state,removed,healthy,unhealthy", HEALTH_TABLE)
def test_health_verdict(state, agent_state, removed, healthy, unhealthy):
    host = RancherHost("1h1", "web-1", state, agent_state, None, {}, removed)

    assert (host.healthy, host.unhealthy) == (healthy, unhealthy)


@pytest.mark.parametrize("state,agent_state,removed,healthy,unhealthy", HEALTH_TABLE)
def test_health_verdict_over_the_wire(rancher, state, agent_state, removed, healthy, unhealthy):
    rancher.add_host("web-1", state=state, agent_state=agent_state, removed=removed)

    (host,) = client(rancher).hosts()

    assert (host.healthy, host.unhealthy) == (healthy, unhealthy)
