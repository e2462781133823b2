"""Security groups for Rancher 2.x: Standard created with, or audited against, a port list."""

from __future__ import annotations

import pytest

from commands.ports import STANDARD_GROUP, required_ports_v2
from tests.provisioning.conftest import client

ANYWHERE = "0.0.0.0/0"
RKE2_WORKER = required_ports_v2("rke2", ("worker",))
RKE2_ALL = required_ports_v2("rke2", ("etcd", "controlplane", "worker"))


@pytest.fixture
def exo(sandbox):
    return client(sandbox)


def from_group(protocol, port, group):
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": port,
        "end-port": port,
        "security-group": {"name": group},
    }


def shape(rule, group_id):
    source = rule.get("network") or (
        "self" if rule["security-group"]["id"] == group_id else rule["security-group"]["id"]
    )
    return (rule["protocol"], rule.get("start-port"), source)


def test_standard_group_is_created_with_exactly_the_ports_given_and_ping(exo, sandbox):
    result = exo.ensure_standard_group(RKE2_WORKER, driver="rke2")

    assert result.created is True and result.audit.ok
    assert result.audit.driver == "rke2"
    assert result.added == RKE2_WORKER
    [group] = sandbox.security_groups
    assert group["name"] == STANDARD_GROUP
    assert sorted(shape(r, group["id"]) for r in group["rules"]) == [
        ("icmp", None, ANYWHERE),
        ("tcp", 9099, "self"),
        ("tcp", 10250, "self"),
        ("udp", 8472, "self"),
    ]


def test_an_existing_group_is_audited_against_the_ports_and_left_alone(exo, sandbox):
    sandbox.add_security_group(STANDARD_GROUP, [from_group("udp", 8472, STANDARD_GROUP)])

    result = exo.ensure_standard_group(RKE2_WORKER, driver="rke2")

    assert result.created is False and result.added == ()
    assert [str(p) for p in result.audit.missing] == ["TCP 9099", "TCP 10250"]
    assert not any(m == "POST" for m, _, _ in sandbox.calls)


def test_missing_ports_are_opened_when_asked_to_the_group_itself(exo, sandbox):
    group_id = sandbox.add_security_group(STANDARD_GROUP, [from_group("udp", 8472, STANDARD_GROUP)])

    result = exo.ensure_standard_group(RKE2_ALL, add_missing=True, driver="rke2")

    assert result.audit.ok
    assert [str(p) for p in result.added] == [str(p) for p in RKE2_ALL if str(p) != "UDP 8472"]
    sources = {shape(r, group_id)[2] for r in sandbox.security_groups[0]["rules"]}
    assert sources == {"self"}


def test_a_1_6_group_lacks_every_2x_node_port(exo, sandbox):
    exo.ensure_standard_group("ipsec")

    result = exo.audit_group(STANDARD_GROUP, RKE2_WORKER, driver="rke2")

    assert result.audit.driver == "rke2"
    assert result.audit.missing == RKE2_WORKER


def test_a_custom_group_is_audited_against_a_port_list(exo, sandbox):
    sandbox.add_security_group(
        "k8s", [from_group("udp", 8472, "k8s"), from_group("tcp", 10250, "k8s")]
    )

    result = exo.audit_group("k8s", required_ports_v2("k3s", ("worker",)), driver="k3s")

    assert result.audit.ok and result.created is False


def test_the_driver_names_still_work_as_before(exo, sandbox):
    result = exo.ensure_standard_group("vxlan")

    assert result.audit.driver == "vxlan" and result.audit.ok
    assert exo.audit_group(STANDARD_GROUP, "ipsec").audit.ok


def test_anything_but_a_driver_or_ports_is_a_type_error(exo, sandbox):
    sandbox.add_security_group("web")
    with pytest.raises(TypeError, match="sequence of Port"):
        exo.audit_group("web", [8472])
