"""The Rancher sandbox as registration oracle: which agent commands register a host, and how."""

from __future__ import annotations

import time
from functools import partial

import pytest
import requests

from sandbox.rancher import RancherSandbox
from tests.conftest import wait_for
from tests.sandbox.conftest import agent_boot

GROUP = "sg-rancher"
LABELS = "tier=web&rancher-exoscale-bot.launch=ab12cd34&rancher-exoscale-bot.host=ab12cd34-1"


def public(protocol: str, port: int) -> dict:
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": port,
        "end-port": port,
        "network": "0.0.0.0/0",
    }


def peer(protocol: str, port: int, group: str = GROUP) -> dict:
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": port,
        "end-port": port,
        "security-group": {"id": group},
    }


IPSEC_RULES = (public("tcp", 22), public("tcp", 2376), peer("udp", 500), peer("udp", 4500))
VXLAN_RULES = (public("tcp", 22), public("tcp", 2376), peer("udp", 4789))


def agent_argv(url: str, *, labels: str | None = LABELS, ip: str = "198.51.100.7") -> list[str]:
    argv = ["docker", "run", "--rm", "--privileged", "-e", f"CATTLE_AGENT_IP={ip}"]
    if labels is not None:
        argv += ["-e", f"CATTLE_HOST_LABELS={labels}"]
    argv += [
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        "/var/lib/rancher:/var/lib/rancher",
        "rancher/agent:v1.2.11",
        url,
    ]
    return argv


boot = partial(agent_boot, rules=IPSEC_RULES, group=GROUP)


def start(**kwargs) -> RancherSandbox:
    options = {"register_delay": 0.02, "activate_delay": 0.03, "token_delay": 0.01}
    options.update(kwargs)
    sandbox = RancherSandbox("access", "secret", **options)
    sandbox.start()
    return sandbox


def active_registration_url(sandbox: RancherSandbox) -> str:
    requests.post(
        f"{sandbox.url}/v2-beta/projects/1a5/registrationtokens",
        auth=("access", "secret"),
        json={},
        timeout=2,
    ).raise_for_status()
    token = wait_for(lambda: [t for t in sandbox.tokens if t["state"] == "active"])[0]
    return token["registrationUrl"]


@pytest.fixture
def rancher():
    sandbox = start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def url(rancher):
    return active_registration_url(rancher)


def test_good_command_registers_a_host_with_its_labels(rancher, url):
    rancher.boot(boot(agent_argv(url), name="web-1"))

    host = wait_for(lambda: rancher.hosts)[0]
    assert host["hostname"] == "web-1"
    assert host["agentIpAddress"] == "198.51.100.7"
    assert host["labels"] == {
        "tier": "web",
        "rancher-exoscale-bot.launch": "ab12cd34",
        "rancher-exoscale-bot.host": "ab12cd34-1",
    }
    assert rancher.refused == []


def test_host_goes_registering_then_active(rancher, url):
    rancher.boot(boot(agent_argv(url)))

    first = wait_for(lambda: rancher.hosts)[0]
    assert (first["state"], first["agentState"]) == ("registering", None)
    wait_for(lambda: rancher.hosts[0]["state"] == "active")
    assert rancher.hosts[0]["agentState"] == "active"


def test_host_appears_only_after_register_delay():
    sandbox = start(register_delay=0.3)
    try:
        url = active_registration_url(sandbox)
        sandbox.boot(boot(agent_argv(url)))
        assert sandbox.hosts == []
        wait_for(lambda: sandbox.hosts)
    finally:
        sandbox.stop()


def test_encoded_labels_are_decoded(rancher, url):
    rancher.boot(boot(agent_argv(url, labels="role=web+front&path=%2Fsrv&empty=")))

    host = wait_for(lambda: rancher.hosts)[0]
    assert host["labels"] == {"role": "web front", "path": "/srv", "empty": ""}


def test_sudo_prefix_and_inline_option_values_are_accepted(rancher, url):
    argv = [
        "sudo",
        "docker",
        "run",
        "--rm",
        "--privileged",
        f"--env=CATTLE_HOST_LABELS={LABELS}",
        "--volume=/var/run/docker.sock:/var/run/docker.sock",
        "rancher/agent:v1.2.11",
        url,
    ]
    rancher.boot(boot(argv))

    wait_for(lambda: rancher.hosts)
    assert rancher.refused == []


def test_agent_ip_defaults_to_the_public_ip(rancher, url):
    argv = [w for w in agent_argv(url) if not w.startswith("CATTLE_AGENT_IP")]
    argv.remove("-e")  # the -e that preceded CATTLE_AGENT_IP
    rancher.boot(boot(argv))

    assert wait_for(lambda: rancher.hosts)[0]["agentIpAddress"] == "198.51.100.7"


def _replace(argv: list[str], old: str, new: str | None) -> list[str]:
    index = argv.index(old)
    return argv[:index] + ([new] if new is not None else []) + argv[index + 1 :]


MALFORMED = {
    "labels not a query string": (
        lambda url: agent_argv(url, labels="tier=web&oops"),
        "CATTLE_HOST_LABELS",
    ),
    "labels with ';'": (lambda url: agent_argv(url, labels="a=b;c=d"), "';'"),
    "labels with a bad escape": (lambda url: agent_argv(url, labels="a=%zz"), "%-escape"),
    "labels empty": (lambda url: agent_argv(url, labels=""), "empty"),
    "labels missing": (lambda url: agent_argv(url, labels=None), "no CATTLE_HOST_LABELS"),
    "foreign URL": (
        lambda url: agent_argv(url.replace("127.0.0.1", "rancher.example.com")),
        "does not point at this Rancher server",
    ),
    "unknown token": (
        lambda url: agent_argv(url.rsplit("/", 1)[0] + "/ABCDEF:123:forged"),
        "not issued by this server",
    ),
    "not a scripts URL": (
        lambda url: agent_argv(url.replace("/v1/scripts/", "/v1/other/")),
        "/v1/scripts/",
    ),
    "missing --privileged": (
        lambda url: _replace(agent_argv(url), "--privileged", None),
        "--privileged",
    ),
    "missing docker socket": (
        lambda url: _replace(
            agent_argv(url), "/var/run/docker.sock:/var/run/docker.sock", "/tmp:/tmp"
        ),
        "Docker socket",
    ),
    "not the agent image": (
        lambda url: _replace(agent_argv(url), "rancher/agent:v1.2.11", "rancher/server:v1.6.30"),
        "not rancher/agent",
    ),
    "not docker run": (lambda url: ["sh", "-c", "docker run " + url], "docker run"),
    "unknown docker option": (
        lambda url: _replace(agent_argv(url), "--rm", "--memory"),
        "--memory",
    ),
    "agent ip not resolved": (
        lambda url: agent_argv(url, ip="$(curl -fsS http://169.254.169.254/latest/meta-data)"),
        "CATTLE_AGENT_IP",
    ),
    "extra argument": (lambda url: agent_argv(url) + ["--debug"], "exactly one argument"),
    "no registration url": (lambda url: agent_argv(url)[:-1], "exactly one argument"),
}


@pytest.mark.parametrize("make_argv,reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_command_is_refused(rancher, url, make_argv, reason):
    rancher.boot(boot(make_argv(url), name="web-7", instance_id="i-7"))

    time.sleep(rancher.register_delay * 2)
    assert rancher.hosts == []
    (refusal,) = rancher.refused
    assert (refusal.instance_id, refusal.name) == ("i-7", "web-7")
    assert reason in refusal.reason


def test_token_not_yet_active_is_refused():
    sandbox = start(token_delay=60.0)
    try:
        token = requests.post(
            f"{sandbox.url}/v2-beta/projects/1a5/registrationtokens",
            auth=("access", "secret"),
            json={},
            timeout=2,
        ).json()
        assert token["registrationUrl"] is None
        # Forge the URL the token will have once active: the agent would still be turned away.
        with sandbox._lock:
            value = sandbox._tokens[int(token["id"][2:])].token
        sandbox.boot(boot(agent_argv(f"{sandbox.url}/v1/scripts/{value}")))
        assert "is registering" in sandbox.refused[0].reason
    finally:
        sandbox.stop()


def test_rebooted_instance_keeps_one_host(rancher, url):
    rancher.boot(boot(agent_argv(url), instance_id="i-1"))
    rancher.boot(boot(agent_argv(url), instance_id="i-1"))
    wait_for(lambda: rancher.hosts)
    rancher.boot(boot(agent_argv(url), instance_id="i-1"))

    time.sleep(rancher.register_delay * 2)
    assert len(rancher.hosts) == 1


def test_two_instances_make_two_hosts(rancher, url):
    rancher.boot(boot(agent_argv(url), instance_id="i-1", name="web-1"))
    rancher.boot(boot(agent_argv(url), instance_id="i-2", name="web-2"))

    hosts = wait_for(lambda: len(rancher.hosts) == 2 and rancher.hosts)
    assert sorted(h["hostname"] for h in hosts) == ["web-1", "web-2"]


def observed_states(sandbox: RancherSandbox, until: str, timeout: float = 3.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hosts = sandbox.hosts
        if hosts and (not seen or seen[-1] != hosts[0]["state"]):
            seen.append(hosts[0]["state"])
            assert hosts[0]["agentState"] in (None, hosts[0]["state"])
        if seen and seen[-1] == until:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"never reached {until}: {seen}")


@pytest.fixture
def slow():
    # Wider windows so that polling sees every state on the way.
    sandbox = start(activate_delay=0.12)
    yield sandbox
    sandbox.stop()


def test_missing_udp_4500_under_ipsec_goes_reconnecting_then_disconnected(slow):
    url = active_registration_url(slow)
    rules = tuple(r for r in IPSEC_RULES if r.get("start-port") != 4500)

    slow.boot(boot(agent_argv(url), rules=rules))

    states = observed_states(slow, "disconnected")
    assert states == ["registering", "active", "reconnecting", "disconnected"]
    assert slow.hosts[0]["agentState"] == "disconnected"


def test_complete_ipsec_rules_stay_active(slow):
    url = active_registration_url(slow)
    slow.boot(boot(agent_argv(url), rules=IPSEC_RULES))

    wait_for(lambda: slow.hosts and slow.hosts[0]["state"] == "active")
    time.sleep(slow.activate_delay * 3)
    assert (slow.hosts[0]["state"], slow.hosts[0]["agentState"]) == ("active", "active")


@pytest.mark.parametrize(
    "driver,rules,ends",
    [
        ("vxlan", VXLAN_RULES, "active"),
        ("vxlan", IPSEC_RULES, "disconnected"),
        ("ipsec", VXLAN_RULES, "disconnected"),
        (
            "ipsec",
            (
                public("tcp", 22),
                public("tcp", 2376),
                peer("udp", 500),
                peer("udp", 4500, "sg-other"),
            ),
            "disconnected",
        ),
        ("ipsec", (public("tcp", 22), peer("udp", 500), peer("udp", 4500)), "disconnected"),
        (
            "ipsec",
            ({"flow-direction": "ingress", "protocol": "all", "network": "0.0.0.0/0"},),
            "active",
        ),
    ],
    ids=[
        "vxlan-ok",
        "vxlan-no-4789",
        "ipsec-no-500-4500",
        "ipsec-foreign-group",
        "no-2376",
        "all-open",
    ],
)
def test_network_driver_decides_health(driver, rules, ends):
    sandbox = start(driver=driver, activate_delay=0.02)
    try:
        url = active_registration_url(sandbox)
        sandbox.boot(boot(agent_argv(url), rules=rules))
        wait_for(lambda: sandbox.hosts and sandbox.hosts[0]["state"] == "active")
        time.sleep(sandbox.activate_delay * 4)
        assert sandbox.hosts[0]["state"] == ends
    finally:
        sandbox.stop()


def test_registration_url_on_the_advertised_address_is_this_server():
    sandbox = start(advertised_url="https://rancher.example.com/")
    try:
        url = active_registration_url(sandbox)
        assert url.startswith("https://rancher.example.com/v1/scripts/")

        sandbox.boot(boot(agent_argv(url)))

        wait_for(lambda: sandbox.hosts)
        assert sandbox.refused == []
    finally:
        sandbox.stop()
