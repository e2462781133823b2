"""Required ports per networking driver and the security-group rule audit."""

import importlib.resources
import json
import uuid

import jsonschema
import pytest

from commands.ports import (
    NETWORK_DRIVERS,
    Port,
    PortAudit,
    audit_rules,
    required_ports,
    rule_covers,
    rules_for,
    standard_group_rules,
)

GROUP = "3f5a2b9e-1c4d-4e8f-9a0b-7c6d5e4f3a21"
OTHER_GROUP = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def rule(protocol, start=None, end=None, *, network=None, group=None, direction="ingress"):
    """One rule as GET /security-group/{id} returns it."""
    body = {"id": str(uuid.uuid4()), "flow-direction": direction, "protocol": protocol}
    if start is not None:
        body["start-port"] = start
        body["end-port"] = start if end is None else end
    if network is not None:
        body["network"] = network
    if group is not None:
        body["security-group"] = {"id": group, "name": "some-group", "visibility": "private"}
    return body


def names(ports):
    return [str(p) for p in ports]


@pytest.mark.parametrize(
    "driver, expected",
    [
        ("ipsec", ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"]),
        ("vxlan", ["TCP 22", "TCP 2376", "UDP 4789"]),
    ],
)
def test_required_ports_per_driver(driver, expected):
    assert names(required_ports(driver)) == expected


def test_only_udp_ports_are_host_to_host():
    for driver in NETWORK_DRIVERS:
        for port in required_ports(driver):
            assert port.host_to_host == (port.protocol == "udp"), port


def test_unknown_driver_is_refused():
    with pytest.raises(ValueError, match="unknown networking driver 'flannel'"):
        required_ports("flannel")


def test_port_prints_as_protocol_and_number_and_sorts_by_them():
    ports = [
        Port("udp", 4500, "x", True),
        Port("tcp", 2376, "x", False),
        Port("tcp", 22, "x", False),
    ]
    assert str(ports[0]) == "UDP 4500"
    assert names(sorted(ports)) == ["TCP 22", "TCP 2376", "UDP 4500"]


RANCHER_1X_UI_GROUP = [
    rule("tcp", 22, network="0.0.0.0/0"),
    rule("tcp", 2376, network="0.0.0.0/0"),
    rule("udp", 500, network="0.0.0.0/0"),
    rule("udp", 4500, network="0.0.0.0/0"),
    {**rule("icmp", network="0.0.0.0/0"), "icmp": {"type": 8, "code": 0}},
]


@pytest.mark.parametrize(
    "rules, driver, missing",
    [
        pytest.param([], "ipsec", ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"], id="no-rules"),
        pytest.param(RANCHER_1X_UI_GROUP, "ipsec", [], id="rancher-1x-ui-group-ipsec"),
        pytest.param(RANCHER_1X_UI_GROUP, "vxlan", ["UDP 4789"], id="rancher-1x-ui-group-vxlan"),
        pytest.param(
            [rule("tcp", 1, 65535, network="0.0.0.0/0"), rule("udp", 500, 4500, group=GROUP)],
            "ipsec",
            [],
            id="ranges-cover-everything-inside",
        ),
        pytest.param(
            [rule("tcp", 23, 2375, network="0.0.0.0/0"), rule("udp", 501, 4499, group=GROUP)],
            "ipsec",
            ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"],
            id="ranges-just-outside-each-port",
        ),
        pytest.param(
            [rule("tcp", 22, 2376, network="0.0.0.0/0"), rule("udp", 500, 500, group=GROUP)],
            "ipsec",
            ["UDP 4500"],
            id="range-ends-are-inclusive",
        ),
        pytest.param([rule("all", network="0.0.0.0/0")], "vxlan", [], id="all-from-anywhere"),
        pytest.param(
            [rule("all", group=GROUP)],
            "ipsec",
            ["TCP 22", "TCP 2376"],
            id="all-from-own-group-covers-only-host-to-host",
        ),
        pytest.param(
            [rule("all", 4789, 4789, network="0.0.0.0/0")],
            "vxlan",
            ["TCP 22", "TCP 2376"],
            id="all-with-ports-keeps-its-range",
        ),
        pytest.param(
            [
                rule("tcp", 22, network="0.0.0.0/0"),
                rule("tcp", 2376, network="0.0.0.0/0"),
                rule("udp", 4789, group=OTHER_GROUP),
            ],
            "vxlan",
            ["UDP 4789"],
            id="another-groups-id-does-not-count",
        ),
        pytest.param(
            [rule("tcp", 22, group=GROUP), rule("tcp", 2376, group=GROUP)],
            "vxlan",
            ["TCP 22", "TCP 2376", "UDP 4789"],
            id="own-group-does-not-open-management-ports",
        ),
        pytest.param(
            [rule("all", network="0.0.0.0/0", direction="egress")],
            "ipsec",
            ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"],
            id="egress-never-counts",
        ),
        pytest.param(
            [
                rule("tcp", 22, network="0.0.0.0/0", direction="egress"),
                rule("tcp", 22, network="0.0.0.0/0"),
                rule("udp", 4789, group=GROUP, direction="egress"),
            ],
            "vxlan",
            ["TCP 2376", "UDP 4789"],
            id="egress-beside-ingress",
        ),
        pytest.param(
            [rule("tcp", 22, network="10.0.0.0/8"), rule("udp", 4789, network="192.168.0.0/16")],
            "vxlan",
            ["TCP 22", "TCP 2376", "UDP 4789"],
            id="narrow-networks-do-not-count",
        ),
        pytest.param(
            [rule("all", network="::/0")],
            "ipsec",
            ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"],
            id="ipv6-anywhere-does-not-reach-ipv4-agents",
        ),
        pytest.param(
            [rule("tcp", 4789, network="0.0.0.0/0"), rule("udp", 22, 2376, network="0.0.0.0/0")],
            "vxlan",
            ["TCP 22", "TCP 2376", "UDP 4789"],
            id="protocol-must-match",
        ),
        pytest.param(
            [rule("icmp", network="0.0.0.0/0"), rule("esp", network="0.0.0.0/0")],
            "ipsec",
            ["TCP 22", "TCP 2376", "UDP 500", "UDP 4500"],
            id="icmp-and-esp-open-no-ports",
        ),
        pytest.param(
            [rule("tcp", network="0.0.0.0/0")],
            "vxlan",
            ["TCP 22", "TCP 2376", "UDP 4789"],
            id="tcp-without-ports-is-not-vouched-for",
        ),
        pytest.param(
            [
                rule("udp", 500, network="0.0.0.0/0"),
                rule("udp", 4500, group=GROUP),
                rule("tcp", 2376, network="0.0.0.0/0"),
            ],
            "ipsec",
            ["TCP 22"],
            id="world-or-own-group-both-fine-for-udp",
        ),
        pytest.param(
            [{"flow-direction": "ingress", "protocol": "udp", "start-port": "x"}, "junk", {}],
            "vxlan",
            ["TCP 22", "TCP 2376", "UDP 4789"],
            id="malformed-rules-cover-nothing",
        ),
    ],
)
def test_audit_against_realistic_rule_sets(rules, driver, missing):
    audit = audit_rules(rules, group_id=GROUP, driver=driver)
    assert names(audit.missing) == missing
    expected_covered = [p for p in names(required_ports(driver)) if p not in missing]
    assert names(audit.covered) == expected_covered
    assert audit.ok == (not missing)
    assert audit.driver == driver


def test_a_security_group_rule_from_the_group_itself_needs_the_exact_id():
    port = required_ports("vxlan")[-1]
    assert rule_covers(rule("udp", 4789, group=GROUP), port, group_id=GROUP)
    assert not rule_covers(rule("udp", 4789, group=GROUP), port, group_id=OTHER_GROUP)


def test_standard_group_rules_are_exactly_the_seed_ports():
    bodies = standard_group_rules(GROUP)
    assert bodies == [
        {
            "flow-direction": "ingress",
            "protocol": "tcp",
            "start-port": 22,
            "end-port": 22,
            "description": "SSH (Rancher management)",
            "network": "0.0.0.0/0",
        },
        {
            "flow-direction": "ingress",
            "protocol": "tcp",
            "start-port": 2376,
            "end-port": 2376,
            "description": "Docker daemon",
            "network": "0.0.0.0/0",
        },
        {
            "flow-direction": "ingress",
            "protocol": "udp",
            "start-port": 500,
            "end-port": 500,
            "description": "IPsec IKE (Rancher ipsec networking)",
            "security-group": {"id": GROUP},
        },
        {
            "flow-direction": "ingress",
            "protocol": "udp",
            "start-port": 4500,
            "end-port": 4500,
            "description": "IPsec NAT traversal (Rancher ipsec networking)",
            "security-group": {"id": GROUP},
        },
        {
            "flow-direction": "ingress",
            "protocol": "udp",
            "start-port": 4789,
            "end-port": 4789,
            "description": "VXLAN (Rancher vxlan networking)",
            "security-group": {"id": GROUP},
        },
        {
            "flow-direction": "ingress",
            "protocol": "icmp",
            "icmp": {"type": 8, "code": 0},
            "network": "0.0.0.0/0",
            "description": "ICMP echo (ping)",
        },
    ]


@pytest.mark.parametrize("driver", NETWORK_DRIVERS)
def test_a_standard_group_passes_its_own_audit_for_either_driver(driver):
    # As Exoscale returns them: the bodies plus an id each.
    stored = [{**body, "id": str(uuid.uuid4())} for body in standard_group_rules(GROUP)]
    assert audit_rules(stored, group_id=GROUP, driver=driver).ok


def _rule_body_schema():
    spec = json.loads(importlib.resources.files("exoscale").joinpath("openapi.json").read_text())
    post = spec["paths"]["/security-group/{id}/rules"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}, set(schema["properties"])


def test_rule_bodies_match_exoscales_published_request_schema():
    schema, allowed = _rule_body_schema()
    # OpenAPI 3.0 schemas use draft-4 keywords (boolean exclusiveMinimum).
    validator = jsonschema.Draft4Validator(schema)
    bodies = standard_group_rules(GROUP) + rules_for(required_ports("vxlan"), GROUP)
    for body in bodies:
        validator.validate(body)
        assert set(body) <= allowed, body


@pytest.mark.parametrize("driver", NETWORK_DRIVERS)
def test_rules_for_the_missing_ports_make_the_audit_pass(driver):
    existing = [rule("tcp", 22, network="0.0.0.0/0"), rule("udp", 4789, group=OTHER_GROUP)]
    audit = audit_rules(existing, group_id=GROUP, driver=driver)
    assert not audit.ok
    added = rules_for(audit.missing, GROUP)
    assert len(added) == len(audit.missing)
    assert audit_rules(existing + added, group_id=GROUP, driver=driver).ok


def test_rules_for_opens_each_port_once():
    ports = required_ports("ipsec")
    assert len(rules_for(ports + ports, GROUP)) == len(ports)


def test_port_audit_round_trips_through_json():
    audit = audit_rules(RANCHER_1X_UI_GROUP, group_id=GROUP, driver="vxlan")
    data = json.loads(json.dumps(audit.to_dict()))
    assert data["ok"] is False
    assert [p["number"] for p in data["missing"]] == [4789]
    assert PortAudit.from_dict(data) == audit
