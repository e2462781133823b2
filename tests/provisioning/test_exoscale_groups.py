"""Security groups: Standard created or audited, Custom groups audited for each driver."""

import pytest

from commands.ports import STANDARD_GROUP
from provisioning.errors import ExoscaleRefused
from tests.provisioning.conftest import client

ANYWHERE = "0.0.0.0/0"


@pytest.fixture
def exo(sandbox):
    return client(sandbox)


def tcp(port, **source):
    return _rule("tcp", port, **source)


def udp(port, **source):
    return _rule("udp", port, **source)


def _rule(protocol, port, *, network=None, group=None):
    body = {"flow-direction": "ingress", "protocol": protocol, "start-port": port, "end-port": port}
    if group:
        body["security-group"] = {"name": group}
    else:
        body["network"] = network or ANYWHERE
    return body


def shape(rule, group_id):
    """A rule reduced to what decides access: (protocol, ports, source)."""
    source = rule.get("network") or (
        "self" if rule["security-group"]["id"] == group_id else rule["security-group"]["id"]
    )
    ports = (rule.get("start-port"), rule.get("end-port"))
    return (rule["flow-direction"], rule["protocol"], ports, source, str(rule.get("icmp")))


def test_standard_group_is_created_with_exactly_the_agent_rules(exo, sandbox):
    result = exo.ensure_standard_group("ipsec")

    assert result.created is True
    assert result.audit.ok and result.audit.missing == ()
    assert [str(p) for p in result.added] == ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"]
    [group] = sandbox.security_groups
    assert group["name"] == STANDARD_GROUP and group["id"] == result.group.id
    assert sorted(shape(r, group["id"]) for r in group["rules"]) == sorted(
        [
            ("ingress", "tcp", (22, 22), ANYWHERE, "None"),
            ("ingress", "tcp", (2376, 2376), ANYWHERE, "None"),
            ("ingress", "udp", (500, 500), "self", "None"),
            ("ingress", "udp", (4500, 4500), "self", "None"),
            ("ingress", "udp", (4789, 4789), "self", "None"),
            ("ingress", "icmp", (None, None), ANYWHERE, str({"type": 8, "code": 0})),
        ]
    )
    assert len(result.group.rules) == 6


def test_existing_standard_group_is_reused_not_recreated(exo, sandbox):
    exo.ensure_standard_group("ipsec")
    posts = sum(1 for m, _, _ in sandbox.calls if m == "POST")

    again = exo.ensure_standard_group("vxlan")

    assert again.created is False and again.added == () and again.audit.ok
    assert sum(1 for m, _, _ in sandbox.calls if m == "POST") == posts
    assert len(sandbox.security_groups) == 1


def test_existing_standard_group_missing_a_port_is_reported_by_name_and_left_alone(exo, sandbox):
    sandbox.add_security_group(
        STANDARD_GROUP,
        [tcp(22), tcp(2376), udp(500, group=STANDARD_GROUP)],
    )

    result = exo.ensure_standard_group("ipsec")

    assert result.created is False and result.added == ()
    assert [str(p) for p in result.audit.missing] == ["UDP 4500"]
    assert not any(m == "POST" for m, _, _ in sandbox.calls)
    assert len(sandbox.security_groups[0]["rules"]) == 3


def test_missing_ports_are_opened_only_when_asked(exo, sandbox):
    group_id = sandbox.add_security_group(STANDARD_GROUP, [tcp(22)])

    result = exo.ensure_standard_group("vxlan", add_missing=True)

    assert [str(p) for p in result.added] == ["TCP 2376", "UDP 4789"]
    assert result.audit.ok
    rules = sandbox.security_groups[0]["rules"]
    assert sorted(shape(r, group_id) for r in rules) == sorted(
        [
            ("ingress", "tcp", (22, 22), ANYWHERE, "None"),
            ("ingress", "tcp", (2376, 2376), ANYWHERE, "None"),
            ("ingress", "udp", (4789, 4789), "self", "None"),
        ]
    )


@pytest.mark.parametrize(
    ("driver", "missing"),
    [("ipsec", ["UDP 500", "UDP 4500"]), ("vxlan", [])],
)
def test_custom_group_is_audited_for_the_chosen_driver(exo, sandbox, driver, missing):
    sandbox.add_security_group("web", [tcp(22), tcp(2376), udp(4789, group="web")])

    result = exo.audit_group("web", driver)

    assert result.group.name == "web" and result.created is False
    assert [str(p) for p in result.audit.missing] == missing
    assert result.audit.ok is (not missing)


def test_custom_group_opened_to_another_group_does_not_count_for_host_to_host(exo, sandbox):
    sandbox.add_security_group("other")
    group_id = sandbox.add_security_group(
        "web", [tcp(22), tcp(2376), udp(500, group="other"), udp(4500, network="10.0.0.0/8")]
    )

    result = exo.audit_group(group_id, "ipsec")

    assert [str(p) for p in result.audit.missing] == ["UDP 500", "UDP 4500"]


def test_groups_are_listed_and_an_unknown_one_is_refused_with_the_names(exo, sandbox):
    sandbox.add_security_group("web", [tcp(22)])
    sandbox.add_security_group("db")

    assert [g.name for g in exo.security_groups()] == ["db", "web"]
    assert exo.security_group("web").rules[0]["start-port"] == 22
    with pytest.raises(ExoscaleRefused) as caught:
        exo.security_group("cache")
    assert caught.value.message == "there is no security group 'cache'; the groups are: db, web"


def test_a_group_created_concurrently_is_used_instead_of_failing(exo, sandbox):
    sandbox.add_security_group(STANDARD_GROUP, [tcp(22), tcp(2376)])
    # The first lookup misses the group, as if it was created between our list and our POST.
    listed = exo.security_groups
    calls = []

    def racing_list():
        calls.append(1)
        groups = listed()
        return groups if len(calls) > 1 else [g for g in groups if g.name != STANDARD_GROUP]

    exo.security_groups = racing_list

    result = exo.ensure_standard_group("vxlan")

    assert result.created is False and [str(p) for p in result.audit.missing] == ["UDP 4789"]
    assert ("POST", "/ch-gva-2/v2/security-group", 409) in sandbox.calls
