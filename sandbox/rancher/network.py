"""Which ports a Rancher 1.6 host needs open, and which ones a set of Exoscale rules leaves shut.

Written independently of ``commands/ports.py`` on purpose: the sandbox is the oracle the bot is
tested against, so it must not share the bot's own idea of what is right::

    missing_ports(rules, group_ids={"sg-1"}, driver="ipsec")   # -> (NeededPort("udp", 4500, ...),)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DRIVERS", "NeededPort", "missing_ports", "needed_ports"]

DRIVERS = ("ipsec", "vxlan")
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
