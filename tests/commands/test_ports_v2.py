"""Rancher 2.x node ports per cluster kind and role, and auditing any port list against rules."""

from __future__ import annotations

import pytest

from commands.ports import (
    CLUSTER_KINDS,
    NODE_ROLES,
    PortAudit,
    audit_ports,
    audit_rules,
    required_ports,
    required_ports_v2,
    rules_for,
    standard_group_rules,
)

GROUP = "sg-1"


def names(ports) -> list[str]:
    return [str(p) for p in ports]


def peer(protocol, start, end=None, group=GROUP):
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": start,
        "end-port": end if end is not None else start,
        "security-group": {"id": group},
    }


@pytest.mark.parametrize(
    ("kind", "roles", "expected"),
    [
        ("rke1", ("etcd",), ["TCP 2379", "TCP 2380", "UDP 8472", "TCP 10250"]),
        ("rke1", ("controlplane",), ["TCP 6443", "UDP 8472", "TCP 10250"]),
        ("rke1", ("worker",), ["UDP 8472", "TCP 10250"]),
        (
            "rke2",
            ("etcd",),
            ["TCP 2379", "TCP 2380", "TCP 2381", "UDP 8472", "TCP 9099", "TCP 9345", "TCP 10250"],
        ),
        ("rke2", ("controlplane",), ["TCP 6443", "UDP 8472", "TCP 9099", "TCP 9345", "TCP 10250"]),
        ("rke2", ("worker",), ["UDP 8472", "TCP 9099", "TCP 10250"]),
        ("k3s", ("etcd",), ["TCP 2379", "TCP 2380", "TCP 6443", "UDP 8472", "TCP 10250"]),
        ("k3s", ("controlplane",), ["TCP 6443", "UDP 8472", "TCP 10250"]),
        ("k3s", ("worker",), ["UDP 8472", "TCP 10250"]),
    ],
)
def test_ports_per_kind_and_role(kind, roles, expected):
    assert names(required_ports_v2(kind, roles)) == expected


def test_roles_combine_without_duplicates_in_port_order():
    ports = required_ports_v2("rke2", ("worker", "etcd", "controlplane"))
    assert names(ports) == [
        "TCP 2379",
        "TCP 2380",
        "TCP 2381",
        "TCP 6443",
        "UDP 8472",
        "TCP 9099",
        "TCP 9345",
        "TCP 10250",
    ]
    assert len({(p.protocol, p.number) for p in ports}) == len(ports)


@pytest.mark.parametrize("kind", CLUSTER_KINDS)
def test_every_2x_port_is_between_nodes_never_from_the_world(kind):
    # The 2.x agents dial out to Rancher; nothing needs opening to 0.0.0.0/0.
    assert all(p.host_to_host for p in required_ports_v2(kind, NODE_ROLES))
    assert all(p.purpose for p in required_ports_v2(kind, NODE_ROLES))


def test_2x_ports_leave_out_ssh_and_docker_that_1_6_needs():
    for kind in CLUSTER_KINDS:
        numbers = {p.number for p in required_ports_v2(kind, NODE_ROLES)}
        assert not numbers & {22, 2376}


@pytest.mark.parametrize(
    ("kind", "roles", "message"),
    [
        ("rke3", ("worker",), "unknown cluster kind 'rke3'"),
        ("rke2", (), "node roles must be one or more"),
        ("rke2", ("master",), "node roles must be one or more"),
    ],
)
def test_unknown_kinds_and_roles_are_errors(kind, roles, message):
    with pytest.raises(ValueError, match=message):
        required_ports_v2(kind, roles)


def test_audit_ports_checks_any_port_list_and_labels_it():
    ports = required_ports_v2("k3s", ("worker",))
    audit = audit_ports([peer("udp", 8472)], group_id=GROUP, ports=ports, driver="k3s")
    assert audit == PortAudit(driver="k3s", covered=ports[:1], missing=ports[1:])
    assert not audit.ok
    assert audit.to_dict()["driver"] == "k3s"
    assert PortAudit.from_dict(audit.to_dict()) == audit


def test_audit_ports_with_a_range_from_the_group_covers_everything_inside():
    ports = required_ports_v2("rke2", NODE_ROLES)
    rules = [peer("tcp", 2379, 10250), peer("udp", 8472)]
    assert audit_ports(rules, group_id=GROUP, ports=ports).ok
    assert not audit_ports(rules, group_id="sg-other", ports=ports).covered


def test_audit_rules_is_audit_ports_over_the_drivers_ports():
    rules = [peer("udp", 500), peer("udp", 4500)]
    expected = audit_ports(rules, group_id=GROUP, ports=required_ports("ipsec"), driver="ipsec")
    assert audit_rules(rules, group_id=GROUP, driver="ipsec") == expected


def test_standard_group_rules_for_a_port_list_open_exactly_those_and_ping():
    ports = required_ports_v2("rke2", ("worker",))
    bodies = standard_group_rules(GROUP, ports)
    assert bodies[:-1] == rules_for(ports, GROUP)
    assert [(b["protocol"], b["start-port"], b["security-group"]) for b in bodies[:-1]] == [
        ("udp", 8472, {"id": GROUP}),
        ("tcp", 9099, {"id": GROUP}),
        ("tcp", 10250, {"id": GROUP}),
    ]
    assert bodies[-1]["protocol"] == "icmp" and bodies[-1]["network"] == "0.0.0.0/0"
    opened = audit_ports(bodies, group_id=GROUP, ports=ports)
    assert opened.ok


def test_standard_group_rules_without_ports_keep_the_1_6_defaults():
    numbers = [b.get("start-port") for b in standard_group_rules(GROUP)]
    assert numbers == [22, 2376, 500, 4500, 4789, None]
