"""The ports a Rancher agent needs, and whether a security group's rules open them.

    >>> [str(p) for p in required_ports("vxlan")]
    ['TCP 22', 'TCP 2376', 'UDP 4789']
    >>> audit_rules([], group_id="g", driver="ipsec").ok
    False
    >>> [str(p) for p in required_ports_v2("k3s", ("worker",))]
    ['UDP 8472', 'TCP 10250']

Rancher 1.6 hosts need the ports of their networking driver (``required_ports``); Rancher 2.x
nodes need those of their cluster's Kubernetes distribution and their roles
(``required_ports_v2``). ``audit_ports`` checks any such list against a group's rules.

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
# Rancher 2.x custom clusters: the Kubernetes distribution, and the roles a node can take.
CLUSTER_KINDS = ("rke1", "rke2", "k3s")
NODE_ROLES = ("etcd", "controlplane", "worker")
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


# -- Rancher 2.x ------------------------------------------------------------------------------
# Only the ports nodes need between each other are listed, all opened to the group itself:
# 2.x agents dial out to Rancher (443) and Rancher reaches the cluster through that tunnel, so
# nothing needs to be open to the world. Left out on purpose: SSH and Docker's 2376 (only for
# clusters Rancher creates over SSH with a node driver), ingress 80/443 and the NodePort range
# 30000-32767 (workload traffic, opened when workloads publish it; a range is not one Port),
# traffic a node sends to itself, and ports of non-default CNIs and WireGuard.
#
# RKE1 custom nodes: Rancher docs, "Port Requirements", downstream cluster nodes, custom nodes
# https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/installation-requirements/port-requirements
# (the table is rancher/rancher-docs src/components/PortsCustomNodes.js; default CNI Canal).
_RKE1_ETCD_CLIENT = Port("tcp", 2379, "etcd client (RKE1 etcd nodes)", True)
_RKE1_ETCD_PEER = Port("tcp", 2380, "etcd peer (RKE1 etcd nodes)", True)
_RKE1_KUBE_API = Port("tcp", 6443, "Kubernetes API (RKE1 control plane nodes)", True)
_RKE1_VXLAN = Port("udp", 8472, "Canal/Flannel VXLAN overlay (RKE1)", True)
_RKE1_KUBELET = Port("tcp", 10250, "kubelet, reached by the control plane (RKE1)", True)
# RKE2: "Inbound Network Rules" and its Canal (default CNI) tab
# https://docs.rke2.io/install/requirements#inbound-network-rules
# RKE2 says "server nodes" for etcd and API ports; Rancher runs etcd only on etcd-role nodes and
# the API server only on control-plane-role nodes, and the supervisor on both.
_RKE2_SUPERVISOR = Port("tcp", 9345, "RKE2 supervisor API (etcd and control plane nodes)", True)
_RKE2_KUBE_API = Port("tcp", 6443, "Kubernetes API (RKE2 control plane nodes)", True)
_RKE2_ETCD_CLIENT = Port("tcp", 2379, "etcd client (RKE2 etcd nodes)", True)
_RKE2_ETCD_PEER = Port("tcp", 2380, "etcd peer (RKE2 etcd nodes)", True)
_RKE2_ETCD_METRICS = Port("tcp", 2381, "etcd metrics (RKE2 etcd nodes)", True)
_RKE2_VXLAN = Port("udp", 8472, "Canal CNI with VXLAN (RKE2)", True)
_RKE2_CANAL_HEALTH = Port("tcp", 9099, "Canal CNI health checks (RKE2)", True)
_RKE2_KUBELET = Port("tcp", 10250, "kubelet metrics (RKE2)", True)
# K3s: "Inbound Rules for K3s Nodes"
# https://docs.k3s.io/installation/requirements#inbound-rules-for-k3s-nodes
# Rancher's K3s clusters run embedded etcd, so its 2379-2380 apply to the etcd-role nodes.
_K3S_SUPERVISOR = Port(
    "tcp", 6443, "K3s supervisor and Kubernetes API (etcd and control plane)", True
)
_K3S_ETCD_CLIENT = Port("tcp", 2379, "etcd client (K3s etcd nodes)", True)
_K3S_ETCD_PEER = Port("tcp", 2380, "etcd peer (K3s etcd nodes)", True)
_K3S_VXLAN = Port("udp", 8472, "Flannel VXLAN (K3s)", True)
_K3S_KUBELET = Port("tcp", 10250, "kubelet metrics and API (K3s)", True)

_PORTS_BY_KIND_AND_ROLE: dict[str, dict[str, tuple[Port, ...]]] = {
    "rke1": {
        "etcd": (_RKE1_ETCD_CLIENT, _RKE1_ETCD_PEER, _RKE1_VXLAN, _RKE1_KUBELET),
        "controlplane": (_RKE1_KUBE_API, _RKE1_VXLAN, _RKE1_KUBELET),
        "worker": (_RKE1_VXLAN, _RKE1_KUBELET),
    },
    "rke2": {
        "etcd": (
            _RKE2_SUPERVISOR,
            _RKE2_ETCD_CLIENT,
            _RKE2_ETCD_PEER,
            _RKE2_ETCD_METRICS,
            _RKE2_VXLAN,
            _RKE2_CANAL_HEALTH,
            _RKE2_KUBELET,
        ),
        "controlplane": (
            _RKE2_SUPERVISOR,
            _RKE2_KUBE_API,
            _RKE2_VXLAN,
            _RKE2_CANAL_HEALTH,
            _RKE2_KUBELET,
        ),
        "worker": (_RKE2_VXLAN, _RKE2_CANAL_HEALTH, _RKE2_KUBELET),
    },
    "k3s": {
        "etcd": (_K3S_SUPERVISOR, _K3S_ETCD_CLIENT, _K3S_ETCD_PEER, _K3S_VXLAN, _K3S_KUBELET),
        "controlplane": (_K3S_SUPERVISOR, _K3S_VXLAN, _K3S_KUBELET),
        "worker": (_K3S_VXLAN, _K3S_KUBELET),
    },
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


def required_ports_v2(kind: str, roles: Iterable[str]) -> tuple[Port, ...]:
    """The ports a Rancher 2.x node of cluster ``kind`` with ``roles`` needs open, by number.

    >>> [str(p) for p in required_ports_v2("rke2", ("worker",))]
    ['UDP 8472', 'TCP 9099', 'TCP 10250']
    """
    by_role = _PORTS_BY_KIND_AND_ROLE.get(kind)
    if by_role is None:
        raise ValueError(
            f"unknown cluster kind {kind!r}; expected one of {', '.join(CLUSTER_KINDS)}"
        )
    roles = tuple(roles)
    unknown = [r for r in roles if r not in NODE_ROLES]
    if unknown or not roles:
        raise ValueError(
            f"node roles must be one or more of {', '.join(NODE_ROLES)}, got {list(roles)}"
        )
    ports: dict[tuple[str, int], Port] = {}
    for role in NODE_ROLES:
        if role in roles:
            for port in by_role[role]:
                ports.setdefault((port.protocol, port.number), port)
    return tuple(sorted(ports.values(), key=lambda p: (p.number, p.protocol)))


@dataclass(frozen=True)
class PortAudit:
    """Which required ports a security group opens (``covered``) and which it lacks.

    ``driver`` names what the ports were required for: a Rancher 1.6 networking driver
    (ipsec, vxlan) or a Rancher 2.x cluster kind (rke1, rke2, k3s).
    """

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


def audit_ports(
    rules: Iterable[Mapping[str, Any]],
    *,
    group_id: str,
    ports: Iterable[Port],
    driver: str = "",
) -> PortAudit:
    """Check a security group's rules against ``ports``; ``driver`` labels the audit.

    Only ingress rules count. A rule covers a port when its protocol matches (or is ``all``),
    the port lies in ``start-port..end-port`` (``all`` without ports covers every port), and its
    source is 0.0.0.0/0 or, for host-to-host ports, the group ``group_id`` itself.
    """
    rules = [r for r in rules if isinstance(r, Mapping)]
    covered: list[Port] = []
    missing: list[Port] = []
    for port in ports:
        if any(rule_covers(rule, port, group_id=group_id) for rule in rules):
            covered.append(port)
        else:
            missing.append(port)
    return PortAudit(driver=driver, covered=tuple(covered), missing=tuple(missing))


def audit_rules(rules: Iterable[Mapping[str, Any]], *, group_id: str, driver: str) -> PortAudit:
    """Check a security group's rules against the ports the 1.6 networking ``driver`` needs."""
    return audit_ports(rules, group_id=group_id, ports=required_ports(driver), driver=driver)


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


def standard_group_rules(
    group_id: str, ports: Iterable[Port] | None = None
) -> list[dict[str, Any]]:
    """The rule bodies a new Standard ``rancher-machine`` group gets.

    Without ``ports`` (Rancher 1.6): TCP 22 and 2376 from anywhere, UDP 500, 4500 and 4789 from
    the group itself (both drivers, so one group serves either). With ``ports`` (Rancher 2.x):
    exactly those. ICMP echo from anywhere either way, so a host can be pinged.
    """
    if ports is None:
        ports = (SSH, DOCKER, IPSEC_IKE, IPSEC_NAT_T, VXLAN)
    icmp_echo = {
        "flow-direction": "ingress",
        "protocol": "icmp",
        "icmp": {"type": 8, "code": 0},
        "network": ANYWHERE,
        "description": "ICMP echo (ping)",
    }
    return [*rules_for(ports, group_id), icmp_echo]
