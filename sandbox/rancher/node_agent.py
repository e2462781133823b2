"""Reads a Rancher 2.x node command the way the node would run it, word by word.

The Exoscale sandbox hands over the command as cloud-init runs it (the public IP lookup
resolved, the line split into words, so a pipe is the word ``|``). Two shapes exist::

    docker run -d --privileged … rancher/rancher-agent:v2.9.2 --server URL --token T …   (RKE1)
    curl -fL URL/system-agent-install.sh | sh -s - --server URL --token T …         (RKE2/K3s)

followed by role flags (``--etcd --controlplane --worker``), ``--address IP``, ``--label k=v``.
The options are the ones rancher-agent's ``run.sh`` and ``system-agent-install.sh`` accept;
anything else is refused with a reason, as those scripts would stop on it.

    cmd = parse_node_command(argv)
    cmd.shape, cmd.roles, cmd.labels     # "system-agent", ("etcd", "worker"), {"k": "v"}
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .agent import CommandRefused

__all__ = ["NodeAgentCommand", "is_node_command", "parse_node_command"]

INSTALL_SCRIPT = "/system-agent-install.sh"
_AGENT_IMAGE = re.compile(r"^(?:[\w.-]+(?::\d+)?/)*rancher/rancher-agent:[\w][\w.-]*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_ROLE_FLAGS = {"--etcd": "etcd", "--controlplane": "controlplane", "--worker": "worker"}
_VALUED = frozenset(
    {"--server", "--token", "--ca-checksum", "--address", "--internal-address", "--label"}
    | {"--node-name", "--taints", "--taint"}
)
_DOCKER_FLAGS = frozenset({"-d", "--detach", "--privileged", "--net=host", "--network=host"})


@dataclass(frozen=True)
class NodeAgentCommand:
    """What a well-formed 2.x node command asks for."""

    shape: str  # "docker" (RKE1 rancher-agent) or "system-agent" (RKE2/K3s installer)
    server: str
    token: str
    ca_checksum: str | None
    roles: tuple[str, ...]
    address: str | None
    labels: dict[str, str] = field(default_factory=dict)
    install_url: str | None = None
    image: str | None = None


def is_node_command(argv: Sequence[str]) -> bool:
    """True when the words look like a 2.x node command rather than a 1.6 agent command."""
    return any(word.endswith(INSTALL_SCRIPT) for word in argv) or any(
        _AGENT_IMAGE.match(word) for word in argv
    )


def parse_node_command(argv: Sequence[str]) -> NodeAgentCommand:
    """Check a node command word by word; raise CommandRefused naming the first problem."""
    words = list(argv)
    if "|" in words:
        return _system_agent(words)
    return _docker(words)


def _system_agent(words: list[str]) -> NodeAgentCommand:
    if words.count("|") != 1:
        raise CommandRefused("the node command pipes more than once")
    bar = words.index("|")
    fetch = _without_assignments(words[:bar])
    run = words[bar + 1 :]
    if fetch[:1] != ["curl"]:
        raise CommandRefused(f"the installer is not fetched with curl: {' '.join(fetch[:2])!r}")
    options = [w for w in fetch[1:] if w.startswith("-")]
    urls = [w for w in fetch[1:] if not w.startswith("-")]
    if any(o in ("-k", "--insecure") for o in options) or len(urls) != 1:
        raise CommandRefused(f"curl should fetch exactly one URL, securely: {fetch!r}")
    install_url = urls[0]
    if urlsplit(install_url).scheme not in ("http", "https") or not urlsplit(
        install_url
    ).path.endswith(INSTALL_SCRIPT):
        raise CommandRefused(f"{install_url!r} is not a system-agent-install.sh URL")
    if run[:1] == ["sudo"]:
        run = run[1:]
    run = _without_assignments(run)
    if run[:3] != ["sh", "-s", "-"]:
        raise CommandRefused(f"the installer is not piped into 'sh -s -': {run[:3]!r}")
    return _agent_flags(run[3:], shape="system-agent", install_url=install_url, image=None)


def _docker(words: list[str]) -> NodeAgentCommand:
    if words[:1] == ["sudo"]:
        words = words[1:]
    if words[:2] != ["docker", "run"]:
        raise CommandRefused(f"not a 'docker run' node command: {' '.join(words[:3])!r}")
    i = 2
    seen: set[str] = set()
    volumes: list[str] = []
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        if word in _DOCKER_FLAGS or word.startswith("--restart="):
            seen.add(word)
            i += 1
        elif word in ("-v", "-e") and i + 1 < len(words):
            if word == "-v":
                volumes.append(words[i + 1])
            i += 2
        else:
            raise CommandRefused(f"docker run option {word!r} is not one the node command uses")
    if "--privileged" not in seen or not seen & {"--net=host", "--network=host"}:
        raise CommandRefused("the rancher-agent container must run --privileged with --net=host")
    if "/var/run:/var/run" not in volumes:
        raise CommandRefused(
            "the rancher-agent container cannot reach Docker (-v /var/run:/var/run)"
        )
    if i >= len(words) or not _AGENT_IMAGE.match(words[i]):
        found = words[i] if i < len(words) else "no image"
        raise CommandRefused(f"image {found!r} is not rancher/rancher-agent")
    return _agent_flags(words[i + 1 :], shape="docker", install_url=None, image=words[i])


def _without_assignments(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and _ASSIGNMENT.match(words[i]):
        i += 1
    return words[i:]


def _agent_flags(
    words: list[str], *, shape: str, install_url: str | None, image: str | None
) -> NodeAgentCommand:
    values: dict[str, str] = {}
    labels: dict[str, str] = {}
    roles: set[str] = set()
    i = 0
    while i < len(words):
        flag = words[i]
        if flag in _ROLE_FLAGS:
            roles.add(_ROLE_FLAGS[flag])
            i += 1
            continue
        if flag in ("-a", "--all-roles"):
            roles.update(_ROLE_FLAGS.values())
            i += 1
            continue
        if flag not in _VALUED:
            raise CommandRefused(f"the node agent does not take {flag!r}")
        if i + 1 >= len(words):
            raise CommandRefused(f"{flag} has no value")
        value = words[i + 1]
        if flag == "--label":
            key, eq, label_value = value.partition("=")
            if not eq or not key:
                raise CommandRefused(f"--label {value!r} is not key=value")
            labels[key] = label_value
        else:
            values[flag] = value
        i += 2
    for required in ("--server", "--token"):
        if not values.get(required):
            raise CommandRefused(f"the node command has no {required}")
    if not roles:
        raise CommandRefused("the node command gives the node no role (--etcd, --controlplane…)")
    address = values.get("--address")
    if address is not None:
        try:
            ipaddress.ip_address(address)
        except ValueError as exc:
            raise CommandRefused(f"--address {address!r} is not an IP address") from exc
    return NodeAgentCommand(
        shape=shape,
        server=values["--server"],
        token=values["--token"],
        ca_checksum=values.get("--ca-checksum"),
        roles=tuple(r for r in ("etcd", "controlplane", "worker") if r in roles),
        address=address,
        labels=labels,
        install_url=install_url,
        image=image,
    )
