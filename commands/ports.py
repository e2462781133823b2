"""The ports a Rancher agent needs, and whether a security group's rules open them.

    >>> [str(p) for p in required_ports("vxlan")]
    ['TCP 22', 'TCP 2376', 'UDP 4789']
    >>> audit_rules([], group_id="g", driver="ipsec").ok
    False

Rules are read in the shape Exoscale API v2 returns them (``GET /security-group/{id}``):
``{"flow-direction", "protocol", "start-port", "end-port", "network" | "security-group": {"id"}}``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STANDARD_GROUP = "rancher-machine"
NETWORK_DRIVERS = ("ipsec", "vxlan")
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True, order=True)
class Port:
    """One port the agent needs; ``host_to_host`` ports only carry traffic between hosts."""

    protocol: str  # "tcp" or "udp", as Exoscale spells it
    number: int
    purpose: str
    host_to_host: bool

    def __str__(self) -> str:
        return f"{self.protocol.upper()} {self.number}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of ``Port.from_dict``."""
        return {
            "protocol": self.protocol,
            "number": self.number,
            "purpose": self.purpose,
            "host_to_host": self.host_to_host,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Port:
        """Rebuild a port stored with ``to_dict``."""
        return cls(
            protocol=str(data["protocol"]),
            number=int(data["number"]),
            purpose=str(data["purpose"]),
            host_to_host=bool(data["host_to_host"]),
        )


SSH = Port("tcp", 22, "SSH (Rancher management)", False)
DOCKER = Port("tcp", 2376, "Docker daemon", False)
IPSEC_IKE = Port("udp", 500, "IPsec IKE (Rancher ipsec networking)", True)
IPSEC_NAT_T = Port("udp", 4500, "IPsec NAT traversal (Rancher ipsec networking)", True)
VXLAN = Port("udp", 4789, "VXLAN (Rancher vxlan networking)", True)

_PORTS_BY_DRIVER = {
    "ipsec": (SSH, DOCKER, IPSEC_IKE, IPSEC_NAT_T),
    "vxlan": (SSH, DOCKER, VXLAN),
}


def required_ports(driver: str) -> tuple[Port, ...]:
    """The ports a host needs open for the given Rancher networking driver.

    >>> [str(p) for p in required_ports("ipsec")]
    ['TCP 22', 'TCP 2376', 'UDP 500', 'UDP 4500']
    """
    try:
        return _PORTS_BY_DRIVER[driver]
    except KeyError:
        raise ValueError(
            f"unknown networking driver {driver!r}; expected one of {', '.join(NETWORK_DRIVERS)}"
        ) from None


@dataclass(frozen=True)
class PortAudit:
    """Which required ports a security group opens (``covered``) and which it lacks."""

    driver: str
    covered: tuple[Port, ...]
    missing: tuple[Port, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what storage keeps as ``port_audit``)."""
        return {
            "driver": self.driver,
            "ok": self.ok,
            "covered": [p.to_dict() for p in self.covered],
            "missing": [p.to_dict() for p in self.missing],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortAudit:
        """Rebuild an audit stored with ``to_dict``."""
        return cls(
            driver=str(data["driver"]),
            covered=tuple(Port.from_dict(p) for p in data.get("covered", ())),
            missing=tuple(Port.from_dict(p) for p in data.get("missing", ())),
        )


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_anywhere(network: Any) -> bool:
    # Agents talk over public IPv4 (CATTLE_AGENT_IP), so only the whole IPv4 space counts;
    # "::/0" or a narrower CIDR does not reach the Rancher server or the other hosts.
    if not isinstance(network, str):
        return False
    try:
        return ipaddress.ip_network(network.strip(), strict=False) == ipaddress.ip_network(ANYWHERE)
    except ValueError:
        return False


def rule_covers(rule: Mapping[str, Any], port: Port, *, group_id: str) -> bool:
    """True when one Exoscale rule lets ``port`` in to a host of group ``group_id``."""
    if str(rule.get("flow-direction", "")).lower() != "ingress":
        return False
    protocol = str(rule.get("protocol", "")).lower()
    if protocol not in (port.protocol, "all"):
        return False
    start = _int_or_none(rule.get("start-port"))
    end = _int_or_none(rule.get("end-port"))
    if start is None and end is None:
        # Exoscale only omits ports on protocols without them; a tcp/udp rule without ports is
        # not something we can vouch for, so only "all" counts as every port.
        if protocol != "all":
            return False
    else:
        low = start if start is not None else end
        high = end if end is not None else start
        if not (low <= port.number <= high):
            return False
    if _is_anywhere(rule.get("network")):
        return True
    source = rule.get("security-group")
    if port.host_to_host and isinstance(source, Mapping):
        return source.get("id") == group_id
    return False


def audit_rules(rules: Iterable[Mapping[str, Any]], *, group_id: str, driver: str) -> PortAudit:
    """Check a security group's rules against the ports ``driver`` needs.

    Only ingress rules count. A rule covers a port when its protocol matches (or is ``all``),
    the port lies in ``start-port..end-port`` (``all`` without ports covers every port), and its
    source is 0.0.0.0/0 or, for host-to-host UDP ports, the group ``group_id`` itself.
    """
    needed = required_ports(driver)
    rules = [r for r in rules if isinstance(r, Mapping)]
    covered: list[Port] = []
    missing: list[Port] = []
    for port in needed:
        if any(rule_covers(rule, port, group_id=group_id) for rule in rules):
            covered.append(port)
        else:
            missing.append(port)
    return PortAudit(driver=driver, covered=tuple(covered), missing=tuple(missing))


def rules_for(ports: Iterable[Port], group_id: str) -> list[dict[str, Any]]:
    """``POST /security-group/{id}/rules`` bodies that open exactly ``ports``.

    Host-to-host ports are opened to the group itself, the others to 0.0.0.0/0.
    """
    bodies: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for port in ports:
        if (port.protocol, port.number) in seen:
            continue
        seen.add((port.protocol, port.number))
        body: dict[str, Any] = {
            "flow-direction": "ingress",
            "protocol": port.protocol,
            "start-port": port.number,
            "end-port": port.number,
            "description": port.purpose,
        }
        if port.host_to_host:
            body["security-group"] = {"id": group_id}
        else:
            body["network"] = ANYWHERE
        bodies.append(body)
    return bodies


def standard_group_rules(group_id: str) -> list[dict[str, Any]]:
    """The rule bodies a new Standard ``rancher-machine`` group gets.

    TCP 22 and 2376 from anywhere, UDP 500, 4500 and 4789 from the group itself (both drivers,
    so one group serves either), and ICMP echo from anywhere.
    """
    ports = (SSH, DOCKER, IPSEC_IKE, IPSEC_NAT_T, VXLAN)
    icmp_echo = {
        "flow-direction": "ingress",
        "protocol": "icmp",
        "icmp": {"type": 8, "code": 0},
        "network": ANYWHERE,
        "description": "ICMP echo (ping)",
    }
    return [*rules_for(ports, group_id), icmp_echo]
