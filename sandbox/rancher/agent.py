"""Reads a ``rancher/agent`` registration command the way Docker and the 1.6 agent would.

The Exoscale sandbox hands over the agent command as cloud-init would run it (already split into
words). Anything Docker or the agent would choke on is refused with a reason::

    cmd = parse_agent_command(("docker", "run", "--rm", "--privileged", ..., url))
    cmd.labels        # {"rancher-exoscale-bot.launch": "ab12cd34"}
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

__all__ = ["AgentCommand", "CommandRefused", "parse_agent_command"]

DOCKER_SOCKET_MOUNT = "/var/run/docker.sock:/var/run/docker.sock"
_AGENT_IMAGE = re.compile(r"^(?:(?:docker\.io|index\.docker\.io)/)?rancher/agent(?::[\w][\w.-]*)?$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# docker run options we understand; an option outside these could swallow the next word, so the
# command is refused rather than guessed at.
_FLAGS = frozenset({"--rm", "--privileged", "-d", "--detach", "-i", "-t", "-it", "--init"})
_VALUED = frozenset({"-e", "--env", "-v", "--volume", "--name", "--net", "--network", "-l"})
_VALUED_ALIASES = {"--env": "-e", "--volume": "-v", "--network": "--net"}


class CommandRefused(ValueError):
    """The command would not have registered a host; ``str()`` says why."""


@dataclass(frozen=True)
class AgentCommand:
    """What a well-formed agent command asks for."""

    image: str
    registration_url: str
    agent_ip: str | None
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()


def _parse_labels(raw: str) -> dict[str, str]:
    # The agent decodes CATTLE_HOST_LABELS with Go's url.ParseQuery, which rejects bad %-escapes
    # and ";" separators that Python's parser lets through.
    if not raw:
        raise CommandRefused("CATTLE_HOST_LABELS is empty: the host would carry no labels")
    if ";" in raw:
        raise CommandRefused(f"CATTLE_HOST_LABELS {raw!r} uses ';', which the agent rejects")
    if _BAD_ESCAPE.search(raw):
        raise CommandRefused(f"CATTLE_HOST_LABELS {raw!r} has an invalid %-escape")
    try:
        parsed = parse_qs(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise CommandRefused(f"CATTLE_HOST_LABELS {raw!r} is not a query string ({exc})") from exc
    # Go's Values.Get returns the first value of a repeated key.
    return {key: values[0] for key, values in parsed.items()}


def _split_options(words: Sequence[str]) -> tuple[list[tuple[str, str | None]], int]:
    """docker run options as (name, value) pairs, and the index of the image word."""
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        name, eq, inline = word.partition("=")
        if name in _FLAGS and not eq:
            options.append((name, None))
            i += 1
        elif name in _VALUED:
            if eq:
                value = inline
                i += 1
            elif i + 1 < len(words):
                value = words[i + 1]
                i += 2
            else:
                raise CommandRefused(f"docker run option {name} has no value")
            options.append((_VALUED_ALIASES.get(name, name), value))
        else:
            raise CommandRefused(f"docker run option {word!r} is not one the agent command uses")
    return options, i


def parse_agent_command(argv: Sequence[str]) -> AgentCommand:
    """Check an agent command word by word; raise CommandRefused naming the first problem."""
    words = list(argv)
    if words[:1] == ["sudo"]:
        words = words[1:]
    if words[:2] != ["docker", "run"]:
        raise CommandRefused(f"not a 'docker run' command: {' '.join(argv[:3])!r}")
    options, image_at = _split_options(words[2:])
    rest = words[2 + image_at :]
    if not rest:
        raise CommandRefused("docker run has no image")
    image, args = rest[0], rest[1:]
    if not _AGENT_IMAGE.match(image):
        raise CommandRefused(f"image {image!r} is not rancher/agent")
    if len(args) != 1:
        raise CommandRefused(f"the agent takes exactly one argument, the registration URL: {args}")
    names = [name for name, _ in options]
    if "--privileged" not in names:
        raise CommandRefused("the agent container is not --privileged")
    volumes = tuple(value for name, value in options if name == "-v" and value is not None)
    if DOCKER_SOCKET_MOUNT not in volumes:
        raise CommandRefused(f"the Docker socket is not mounted (-v {DOCKER_SOCKET_MOUNT})")
    env: dict[str, str] = {}
    for name, value in options:
        if name == "-e" and value is not None:
            key, eq, val = value.partition("=")
            if not eq or not key:
                raise CommandRefused(f"-e {value!r} is not NAME=VALUE")
            env[key] = val
    agent_ip = env.get("CATTLE_AGENT_IP")
    if agent_ip is not None:
        try:
            ipaddress.ip_address(agent_ip)
        except ValueError as exc:
            raise CommandRefused(f"CATTLE_AGENT_IP {agent_ip!r} is not an IP address") from exc
    if "CATTLE_HOST_LABELS" not in env:
        raise CommandRefused("no CATTLE_HOST_LABELS: the bot could never find this host")
    labels = _parse_labels(env["CATTLE_HOST_LABELS"])
    url = args[0]
    if urlsplit(url).scheme not in ("http", "https"):
        raise CommandRefused(f"registration URL {url!r} is not an http(s) URL")
    return AgentCommand(
        image=image,
        registration_url=url,
        agent_ip=agent_ip,
        labels=labels,
        env=env,
        volumes=volumes,
    )
