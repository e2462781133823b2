"""Cloud-init user-data that installs Docker and registers the host with Rancher.

    >>> agent = AgentRegistration("rancher/agent:v1.2.11", "https://r.example/v1/scripts/T")
    >>> text = render_user_data(options, launch_id="1a2b3c4d", index=1, agent=agent)
    >>> payload = encode_user_data(text)          # base64, what POST /instance takes

Every value enters as data: YAML for the document, JSON for ``daemon.json``, systemd quoting
for the environment drop-in and ``shlex.quote`` for the two shell lines; nothing is pasted into
a command unquoted. The last ``runcmd`` entry is always the agent, ``["sh", "-c", LINE]``.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from commands.options import EngineOptions, HostOptions

LAUNCH_LABEL = "rancher-exoscale-bot.launch"  # value: launch id
HOST_LABEL = "rancher-exoscale-bot.host"  # value: f"{launch_id}-{index}"
DEFAULT_AGENT_IMAGE = "rancher/agent:v1.2.11"
# 18.09 is the newest Docker the Rancher 1.6 agent supports.
DEFAULT_DOCKER_INSTALL_URL = "https://releases.rancher.com/install-docker/18.09.sh"
PUBLIC_IP_LOOKUP = "$(curl -fsS http://169.254.169.254/latest/meta-data/public-ipv4)"
USER_DATA_LIMIT = 32768  # Exoscale's limit on the base64 user-data, in characters
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
DOCKER_ENV_DROPIN_PATH = "/etc/systemd/system/docker.service.d/50-rancher-exoscale-bot-env.conf"

# Launch ids end up in label values (see options: A-Z a-z 0-9 . _ -, at most 63 with "-N").
_LAUNCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*\Z")
# Room left for a real registration URL when checking options before one is known.
_REGISTRATION_URL_ALLOWANCE = 512


class UserDataTooLarge(ValueError):
    """The encoded user-data is longer than Exoscale accepts."""


@dataclass(frozen=True)
class AgentRegistration:
    """What the Rancher agent needs to register: its image and the registration URL."""

    image: str
    registration_url: str


def bot_labels(launch_id: str, index: int) -> dict[str, str]:
    """The labels that let the bot find its own hosts, in Rancher and on Exoscale."""
    return {LAUNCH_LABEL: launch_id, HOST_LABEL: f"{launch_id}-{index}"}


def host_labels(options: HostOptions, *, launch_id: str, index: int) -> list[tuple[str, str]]:
    """The user's labels followed by the bot's, in order."""
    return [*options.labels, *bot_labels(launch_id, index).items()]


def agent_command(
    options: HostOptions, *, launch_id: str, index: int, agent: AgentRegistration
) -> str:
    """The shell line that runs the Rancher agent (the last runcmd entry's third item)."""
    _check_launch(options, launch_id, index)
    _check_agent(agent)
    labels = urllib.parse.urlencode(host_labels(options, launch_id=launch_id, index=index))
    return " ".join(
        [
            "docker run --rm --privileged",
            f'-e CATTLE_AGENT_IP="{PUBLIC_IP_LOOKUP}"',
            f"-e CATTLE_HOST_LABELS={shlex.quote(labels)}",
            "-v /var/run/docker.sock:/var/run/docker.sock",
            "-v /var/lib/rancher:/var/lib/rancher",
            shlex.quote(agent.image),
            shlex.quote(agent.registration_url),
        ]
    )


def docker_install_command(install_url: str) -> str:
    """The shell line that installs Docker from ``install_url``."""
    return f"curl -fsSL {shlex.quote(install_url)} | sh"


def daemon_json(engine: EngineOptions) -> str:
    """The text of ``/etc/docker/daemon.json`` for these engine options."""
    return json.dumps(engine.daemon_config(), indent=2, sort_keys=True) + "\n"


def systemd_quote(assignment: str) -> str:
    """Quote one ``NAME=value`` for a systemd ``Environment=`` line.

    systemd unescapes ``\\\\`` and ``\\"`` inside double quotes and expands ``%`` specifiers, so
    those are escaped; there is no ``$`` expansion in ``Environment=``.
    """
    escaped = assignment.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def docker_env_dropin(engine: EngineOptions) -> str:
    """The systemd drop-in that gives the Docker service the ``engine_env`` variables."""
    lines = ["[Service]"]
    lines += [f"Environment={systemd_quote(f'{name}={value}')}" for name, value in engine.env]
    return "\n".join(lines) + "\n"


def render_user_data(
    options: HostOptions, *, launch_id: str, index: int, agent: AgentRegistration
) -> str:
    """The ``#cloud-config`` document for host ``index`` (1-based) of launch ``launch_id``."""
    engine = options.engine
    files: list[dict[str, Any]] = [
        {
            "path": DAEMON_JSON_PATH,
            "owner": "root:root",
            "permissions": "0644",
            "content": daemon_json(engine),
        }
    ]
    runcmd: list[list[str]] = [
        ["sh", "-c", docker_install_command(engine.install_url or DEFAULT_DOCKER_INSTALL_URL)]
    ]
    if engine.env:
        files.append(
            {
                "path": DOCKER_ENV_DROPIN_PATH,
                "owner": "root:root",
                "permissions": "0644",
                "content": docker_env_dropin(engine),
            }
        )
        # The drop-in may predate the unit the install created: reload so Docker sees it.
        runcmd += [["systemctl", "daemon-reload"], ["systemctl", "restart", "docker"]]
    runcmd.append(
        ["sh", "-c", agent_command(options, launch_id=launch_id, index=index, agent=agent)]
    )
    document = {"write_files": files, "runcmd": runcmd}
    body = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000
    )
    return "#cloud-config\n" + body


def encode_user_data(text: str) -> str:
    """Base64 of ``text`` as Exoscale's ``user-data`` takes it; refuses what it would refuse."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(encoded) > USER_DATA_LIMIT:
        raise UserDataTooLarge(
            f"the cloud-init user-data is {len(encoded)} characters once base64-encoded; "
            f"Exoscale accepts at most {USER_DATA_LIMIT}. Use fewer or shorter labels and "
            "engine options."
        )
    return encoded


def budget_problem(options: HostOptions) -> str | None:
    """Why these options cannot fit in user-data whatever the registration URL, or None."""
    agent = AgentRegistration(
        DEFAULT_AGENT_IMAGE,
        "https://" + "r" * (_REGISTRATION_URL_ALLOWANCE - len("https://")),
    )
    text = render_user_data(options, launch_id="f" * 8, index=options.count, agent=agent)
    try:
        encode_user_data(text)
    except UserDataTooLarge as exc:
        return str(exc)
    return None


def _check_launch(options: HostOptions, launch_id: str, index: int) -> None:
    if not _LAUNCH_ID.match(launch_id):
        raise ValueError(f"launch id {launch_id!r} must be letters, digits, '.', '_' or '-'")
    if not 1 <= index <= options.count:
        raise ValueError(f"host index {index} is outside 1..{options.count}")


def _check_agent(agent: AgentRegistration) -> None:
    if not _IMAGE.match(agent.image):
        raise ValueError(f"agent image {agent.image!r} is not an image reference")
    url = agent.registration_url
    parts = urllib.parse.urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or not url.isascii()
        or any(ch.isspace() or not ch.isprintable() for ch in url)
    ):
        raise ValueError(f"registration URL {url!r} must be an http(s) URL without spaces")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (the files) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a literal block cannot hold the text.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
