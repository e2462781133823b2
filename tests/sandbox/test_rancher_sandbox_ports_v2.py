"""The sandbox's own 2.x port oracle, and that the bot's port lists agree with it."""

from __future__ import annotations

import itertools

import pytest

from commands.ports import CLUSTER_KINDS, NODE_ROLES, required_ports_v2
from sandbox.rancher import KINDS, ROLES, missing_ports_v2, needed_ports_v2

GROUP = "sg-1"


def rule(protocol, start, end=None, *, group=GROUP, network=None):
    body = {"flow-direction": "ingress", "protocol": protocol, "start-port": start}
    body["end-port"] = end if end is not None else start
    if network:
        body["network"] = network
    else:
        body["security-group"] = {"id": group}
    return body


def names(ports) -> list[str]:
    return [str(p) for p in ports]


ROLE_SETS = [
    roles for size in range(1, len(ROLES) + 1) for roles in itertools.combinations(ROLES, size)
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("roles", ROLE_SETS, ids="+".join)
def test_the_bot_asks_for_exactly_the_ports_the_oracle_checks(kind, roles):
    bot = {(p.protocol, p.number) for p in required_ports_v2(kind, roles)}
    oracle = {(p.protocol, p.number) for p in needed_ports_v2(kind, roles)}
    assert bot == oracle


def test_both_sides_know_the_same_kinds_and_roles():
    assert (KINDS, ROLES) == (CLUSTER_KINDS, NODE_ROLES)


def test_a_k3s_worker_needs_vxlan_and_the_kubelet():
    assert names(needed_ports_v2("k3s", {"worker"})) == ["UDP 8472", "TCP 10250"]


@pytest.mark.parametrize(
    ("rules", "missing"),
    [
        ([], ["UDP 8472", "TCP 9099", "TCP 10250"]),
        ([rule("udp", 8472), rule("tcp", 9099), rule("tcp", 10250)], []),
        ([rule("udp", 8472), rule("tcp", 9000, 11000)], []),
        ([rule("udp", 8472, network="0.0.0.0/0"), rule("tcp", 1, 65535)], []),
        ([rule("udp", 8472, group="sg-2"), rule("tcp", 1, 65535)], ["UDP 8472"]),
        ([rule("all", None, None, network="0.0.0.0/0")], []),
        ([rule("tcp", 1, 65535)], ["UDP 8472"]),
    ],
    ids=["nothing", "exact", "range", "vxlan open to all", "other group", "all open", "no udp"],
)
def test_missing_ports_of_an_rke2_worker(rules, missing):
    assert names(missing_ports_v2(rules, group_ids={GROUP}, kind="rke2", roles={"worker"})) == (
        missing
    )


@pytest.mark.parametrize(
    ("kind", "roles", "message"),
    [("rke3", {"worker"}, "cluster kind"), ("rke2", set(), "roles"), ("rke2", {"x"}, "roles")],
)
def test_unknown_kinds_and_roles_are_errors(kind, roles, message):
    with pytest.raises(ValueError, match=message):
        needed_ports_v2(kind, roles)
