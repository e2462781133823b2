"""Parse the text of a ``/rancher-exoscale`` slash command into one typed command.

    >>> parse_command("add count=3 name=web labels=role=web")
    Add(values={'count': '3', 'name': 'web', 'labels': 'role=web'})
    >>> parse_command("status 1a2b3c4d")
    Status(launch_id='1a2b3c4d')

Words are split like a shell does (``shlex``), so ``description='two words'`` is one value.
``add`` only collects raw text; ``parse_host_options`` validates it.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from commands.options import DEFAULTS, FIELDS, LIST_FIELDS, STORAGE_DRIVERS, ZONES

COMMAND = "/rancher-exoscale"
SUBCOMMANDS = ("add", "list", "status", "remove", "help")
# Command-line spelling (dashes) -> FIELDS key.
OPTION_KEYS = {key.replace("_", "-"): key for key in FIELDS}

_LAUNCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")
_HOST_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
# Slack wraps links as <https://…> or <https://…|text> when link escaping is on.
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
# Slack clients may turn typed quotes into typographic ones, which shlex would not see.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


@dataclass(frozen=True)
class Add:
    """``add``: open the form, prefilled with ``values`` (FIELDS key -> raw text)."""

    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListLaunches:
    """``list``: the recent launch requests."""


@dataclass(frozen=True)
class Status:
    """``status <launch>``: the progress of one launch."""

    launch_id: str


@dataclass(frozen=True)
class Remove:
    """``remove <host>``: ask to remove one host the bot created."""

    host: str


@dataclass(frozen=True)
class Help:
    """``help`` (or no text at all): what the command can do."""


Command = Add | ListLaunches | Status | Remove | Help


class UsageError(ValueError):
    """The text is not a valid command; ``str()`` says what is wrong and what is valid."""


_OPTION_HELP = {
    "count": "how many hosts, 1 to the bot's limit (BOT_MAX_HOSTS)",
    "name": "host name prefix, a DNS label (a-z, 0-9, '-'); hosts are named NAME-1 … NAME-N",
    "description": "free text, at most 255 characters",
    "zone": f"Exoscale zone: {', '.join(ZONES)}",
    "profile": "instance type as family.size, e.g. standard.medium",
    "template": "template name as Exoscale lists it",
    "disk": "root disk in GiB, 10 to 51200 and not below the template's size",
    "group": "security group: 'standard' (rancher-machine, created with the needed ports when "
    "missing) or an existing group's name",
    "network": "Rancher networking driver: ipsec (UDP 500, 4500) or vxlan (UDP 4789)",
    "labels": "host labels k=v,k2=v2 (letters, digits, '.', '_', '-'), for Rancher and Exoscale",
    "engine_opt": "a Docker daemon.json option, key=value, e.g. max-concurrent-downloads=3",
    "engine_label": "a Docker engine label, key=value",
    "engine_env": "an environment variable for the Docker service, NAME=value",
    "engine_insecure_registry": "a registry Docker may reach without TLS, host[:port]",
    "engine_registry_mirror": "a registry mirror, an http(s) URL",
    "engine_storage_driver": f"Docker storage driver: {', '.join(STORAGE_DRIVERS)}",
    "engine_install_url": "https URL of a Docker install script (default: Rancher's 18.09)",
    "cluster": "Rancher 2.x only: the id of the cluster the hosts join, e.g. c-m-4fz9x2kd",
    "roles": "Rancher 2.x only: node roles, comma-separated: etcd, controlplane, worker",
}


def _help_text() -> str:
    lines = [
        f"*{COMMAND}* adds Exoscale hosts to Rancher once a second person approves.",
        "",
        "*Commands*",
        f"• `{COMMAND} add [key=value …]`: open the add-hosts form, prefilled with the options",
        f"• `{COMMAND} list`: recent launch requests",
        f"• `{COMMAND} status <launch>`: progress of one launch",
        f"• `{COMMAND} remove <host>`: ask to remove a host the bot created",
        f"• `{COMMAND} help`: this message",
        "",
        "*Options for add* (quote values with spaces: description='two words'; "
        "labels and engine options can be repeated)",
    ]
    for key in FIELDS:
        default = f" (default {DEFAULTS[key]})" if DEFAULTS[key] else ""
        lines.append(f"• `{key.replace('_', '-')}`: {_OPTION_HELP[key]}{default}")
    lines += [
        "",
        f"Example: `{COMMAND} add count=3 name=web labels=role=web,tier=front "
        "engine-opt=max-concurrent-downloads=3 description='web tier'`",
    ]
    return "\n".join(lines)


HELP_TEXT = _help_text()

_COMMANDS_LINE = "Valid commands: add [key=value …], list, status <launch>, remove <host>, help."
_KEYS_LINE = "Valid options for add: " + ", ".join(OPTION_KEYS) + "."


def parse_command(text: str | None) -> Command:
    """Turn slash-command text into ``Add``, ``ListLaunches``, ``Status``, ``Remove`` or ``Help``.

    Raises ``UsageError`` (never anything else) for text that is not a valid command.
    """
    words = _split(_from_slack(text or ""))
    if not words:
        return Help()
    name, args = words[0].lower(), words[1:]
    if name == "add":
        return Add(values=_add_values(args))
    if name == "list":
        if args:
            raise UsageError(f"list takes no arguments, got {' '.join(args)!r}.")
        return ListLaunches()
    if name == "status":
        if len(args) != 1 or not _LAUNCH_ID.match(args[0]):
            raise UsageError(
                f"status needs one launch id, e.g. `{COMMAND} status 1a2b3c4d` "
                f"(`{COMMAND} list` shows them)."
            )
        return Status(launch_id=args[0].lower())
    if name == "remove":
        host = args[0].lower() if len(args) == 1 else ""
        if not _HOST_NAME.match(host):
            raise UsageError(f"remove needs one host name, e.g. `{COMMAND} remove web-1`.")
        return Remove(host=host)
    if name == "help":
        return Help()
    raise UsageError(
        f"unknown command {name!r}{_did_you_mean(name, SUBCOMMANDS)}. {_COMMANDS_LINE}"
    )


def _from_slack(text: str) -> str:
    """Undo what Slack does to typed text: link markup, HTML escapes, typographic quotes."""
    text = _SLACK_LINK.sub(r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.translate(_QUOTES)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(
            f"could not read the command: {str(exc).lower()}; check that every quote is closed. "
            f"{_COMMANDS_LINE}"
        ) from None


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _add_values(args: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for arg in args:
        raw_key, sep, value = arg.partition("=")
        option = raw_key.strip().lower().replace("_", "-")
        if not sep or not option:
            raise UsageError(
                f"{arg!r} is not key=value, e.g. name=web or description='two words'. {_KEYS_LINE}"
            )
        key = OPTION_KEYS.get(option)
        if key is None:
            raise UsageError(
                f"unknown option {option!r}{_did_you_mean(option, OPTION_KEYS)}. {_KEYS_LINE}"
            )
        if key in values:
            if key not in LIST_FIELDS:
                raise UsageError(
                    f"{option!r} is given twice; only labels and the engine-opt, engine-label, "
                    "engine-env, engine-insecure-registry and engine-registry-mirror options "
                    "can repeat."
                )
            values[key] = f"{values[key]}\n{value}"
        else:
            values[key] = value
    return values
