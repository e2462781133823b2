"""The sandbox's own port oracle: which Exoscale rules open what a networking driver needs."""

from __future__ import annotations

import pytest

from sandbox.rancher import missing_ports, needed_ports

GROUP = "sg-1"


def rule(protocol, start=None, end=None, *, network=None, group=None, direction="ingress"):
    body = {"flow-direction": direction, "protocol": protocol}
    if start is not None:
        body["start-port"], body["end-port"] = start, end if end is not None else start
    if network:
        body["network"] = network
    if group:
        body["security-group"] = {"id": group}
    return body


BASE = [rule("tcp", 22, network="0.0.0.0/0"), rule("tcp", 2376, network="0.0.0.0/0")]


def names(ports) -> list[str]:
    return [str(p) for p in ports]


def test_needed_ports_per_driver():
    assert names(needed_ports("ipsec")) == ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"]
    assert names(needed_ports("vxlan")) == ["TCP 22", "TCP 2376", "UDP 4789"]


def test_unknown_driver_is_an_error():
    with pytest.raises(ValueError, match="networking driver"):
        needed_ports("flannel")


@pytest.mark.parametrize(
    "rules,missing",
    [
        ([], ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"]),
        (BASE + [rule("udp", 500, group=GROUP), rule("udp", 4500, group=GROUP)], []),
        (BASE + [rule("udp", 500, 4500, network="0.0.0.0/0")], []),
        (BASE + [rule("udp", 500, 4499, network="0.0.0.0/0")], ["UDP 4500"]),
        (BASE + [rule("udp", 500, group=GROUP)], ["UDP 4500"]),
        (BASE + [rule("udp", 500, 4500, group="sg-2")], ["UDP 500", "UDP 4500"]),
        (BASE + [rule("udp", 500, 4500, network="10.0.0.0/8")], ["UDP 500", "UDP 4500"]),
        (BASE + [rule("tcp", 500, 4500, network="0.0.0.0/0")], ["UDP 500", "UDP 4500"]),
        (BASE + [rule("udp", 500, 4500, group=GROUP, direction="egress")], ["UDP 500", "UDP 4500"]),
        ([rule("all", network="0.0.0.0/0")], []),
        ([rule("all", group=GROUP)], ["TCP 22", "TCP 2376"]),
        (
            [rule("tcp", 22, group=GROUP), rule("tcp", 2376, group=GROUP)],
            ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"],
        ),
    ],
    ids=[
        "nothing",
        "standard group",
        "udp range open to all",
        "range one short",
        "4500 missing",
        "another group",
        "private network only",
        "tcp instead of udp",
        "egress only",
        "everything open",
        "all from the group: public ports still shut",
        "management ports from the group only",
    ],
)
def test_missing_ports_under_ipsec(rules, missing):
    assert names(missing_ports(rules, group_ids={GROUP}, driver="ipsec")) == missing


def test_group_rules_taken_at_their_word_when_group_ids_are_unknown():
    rules = BASE + [rule("udp", 4789, group="sg-anything")]

    assert missing_ports(rules, group_ids=None, driver="vxlan") == ()
    assert names(missing_ports(rules, group_ids=set(), driver="vxlan")) == ["UDP 4789"]
