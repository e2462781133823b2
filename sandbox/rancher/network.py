"""Which ports a Rancher host needs open, and which ones a set of Exoscale rules leaves shut.

Written independently of ``commands/ports.py`` on purpose: the sandbox is the oracle the bot is
tested against, so it must not share the bot's own idea of what is right::

    missing_ports(rules, group_ids={"sg-1"}, driver="ipsec")   # -> (NeededPort("udp", 4500, ...),)
    missing_ports_v2(rules, group_ids={"sg-1"}, kind="rke2", roles={"worker"})

Rancher 1.6 hosts need SSH, Docker and their overlay driver's ports. Rancher 2.x nodes need the
node-to-node ports of their cluster's distribution for their roles, read from:

- RKE1: Rancher's "Port Requirements" page, custom nodes table (rancher/rancher-docs
  src/components/PortsCustomNodes.js), default CNI Canal; ports a node only uses towards
  itself, ingress and NodePorts are not what keeps a node connected and are left out.
- RKE2: https://docs.rke2.io/install/requirements#inbound-network-rules (and its Canal tab);
  Rancher runs etcd on etcd nodes only, the API server on control plane nodes only.
- K3s: https://docs.k3s.io/installation/requirements#inbound-rules-for-k3s-nodes
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "DRIVERS",
    "KINDS",
    "ROLES",
    "NeededPort",
    "missing_ports",
    "missing_ports_v2",
    "needed_ports",
    "needed_ports_v2",
]

DRIVERS = ("ipsec", "vxlan")
KINDS = ("rke1", "rke2", "k3s")
ROLES = ("etcd", "controlplane", "worker")
_EVERYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class NeededPort:
    """One ingress port a host needs; ``peer_only`` ports may be opened to the group alone."""

    protocol: str
    number: int
    peer_only: bool

    def __str__(self) -> str:
        return f"{self.protocol.upper()} {self.number}"


def needed_ports(driver: str) -> tuple[NeededPort, ...]:
    """Ports the agent and the given networking driver need: SSH and Docker, then the overlay's."""
    if driver not in DRIVERS:
        raise ValueError(f"unknown networking driver {driver!r}; expected one of {DRIVERS}")
    ports = [NeededPort("tcp", 22, False), NeededPort("tcp", 2376, False)]
    if driver == "ipsec":
        ports += [NeededPort("udp", 500, True), NeededPort("udp", 4500, True)]
    else:
        ports.append(NeededPort("udp", 4789, True))
    return tuple(ports)


# (protocol, port) per kind and role; every one is node-to-node, so the group itself may open it.
_V2: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {
    "rke1": {
        "etcd": (("tcp", 2379), ("tcp", 2380), ("udp", 8472), ("tcp", 10250)),
        "controlplane": (("tcp", 6443), ("udp", 8472), ("tcp", 10250)),
        "worker": (("udp", 8472), ("tcp", 10250)),
    },
    "rke2": {
        "etcd": (
            ("tcp", 9345),
            ("tcp", 2379),
            ("tcp", 2380),
            ("tcp", 2381),
            ("udp", 8472),
            ("tcp", 9099),
            ("tcp", 10250),
        ),
        "controlplane": (
            ("tcp", 9345),
            ("tcp", 6443),
            ("udp", 8472),
            ("tcp", 9099),
            ("tcp", 10250),
        ),
        "worker": (("udp", 8472), ("tcp", 9099), ("tcp", 10250)),
    },
    "k3s": {
        "etcd": (("tcp", 6443), ("tcp", 2379), ("tcp", 2380), ("udp", 8472), ("tcp", 10250)),
        "controlplane": (("tcp", 6443), ("udp", 8472), ("tcp", 10250)),
        "worker": (("udp", 8472), ("tcp", 10250)),
    },
}


def needed_ports_v2(kind: str, roles: Collection[str]) -> tuple[NeededPort, ...]:
    """Ports a Rancher 2.x node of a ``kind`` cluster with ``roles`` needs, by port number."""
    if kind not in _V2:
        raise ValueError(f"unknown cluster kind {kind!r}; expected one of {KINDS}")
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be one or more of {ROLES}, got {sorted(roles)}")
    wanted = {pair for role in roles for pair in _V2[kind][role]}
    return tuple(
        NeededPort(protocol, number, True)
        for protocol, number in sorted(wanted, key=lambda p: (p[1], p[0]))
    )


def missing_ports_v2(
    rules: Iterable[Mapping],
    *,
    group_ids: Collection[str] | None,
    kind: str,
    roles: Collection[str],
) -> tuple[NeededPort, ...]:
    """The ports of ``needed_ports_v2(kind, roles)`` that no ingress rule opens."""
    rules = list(rules)
    return tuple(
        port
        for port in needed_ports_v2(kind, roles)
        if not any(_covers(rule, port, group_ids) for rule in rules)
    )


def _covers(rule: Mapping, port: NeededPort, group_ids: Collection[str] | None) -> bool:
    if rule.get("flow-direction") != "ingress":
        return False
    protocol = rule.get("protocol")
    start, end = rule.get("start-port"), rule.get("end-port")
    if protocol == "all" and start is None and end is None:
        in_range = True
    elif protocol in (port.protocol, "all") and start is not None:
        in_range = int(start) <= port.number <= int(end if end is not None else start)
    else:
        in_range = False
    if not in_range:
        return False
    if rule.get("network") == _EVERYWHERE:
        return True
    source_group = rule.get("security-group")
    if port.peer_only and isinstance(source_group, Mapping):
        # Without the instance's group ids we cannot tell "the group itself" from another one;
        # a group-sourced rule is then taken at its word rather than failing a healthy launch.
        return group_ids is None or source_group.get("id") in group_ids
    return False


def missing_ports(
    rules: Iterable[Mapping], *, group_ids: Collection[str] | None, driver: str
) -> tuple[NeededPort, ...]:
    """The ports of ``needed_ports(driver)`` that no ingress rule opens."""
    rules = list(rules)
    return tuple(
        port
        for port in needed_ports(driver)
        if not any(_covers(rule, port, group_ids) for rule in rules)
    )
