"""Cloud-init user-data that installs Docker and registers the host with Rancher.

    >>> agent = AgentRegistration("rancher/agent:v1.2.11", "https://r.example/v1/scripts/T")
    >>> text = render_user_data(options, launch_id="1a2b3c4d", index=1, agent=agent)
    >>> payload = encode_user_data(text)          # base64, what POST /instance takes

Rancher 2.x gives a node command per cluster instead (``NodeCommand``); the same call renders
it, with the node's roles, its labels and its public address appended::

    >>> node = NodeCommand("rke2", token["nodeCommand"])
    >>> text = render_user_data(options, launch_id="1a2b3c4d", index=1, agent=node)

Every value enters as data: YAML for the document, JSON for ``daemon.json``, systemd quoting
for the environment drop-in and ``shlex.quote`` for the shell lines; nothing is pasted into a
command unquoted, and Rancher's own command is taken apart and rebuilt word by word, so a
command of an unexpected shape is refused rather than run. The last ``runcmd`` entry is always
the agent, ``["sh", "-c", LINE]``. Docker is installed for Rancher 1.6 and RKE1 only: RKE2 and
K3s bring their own container runtime.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import yaml

from commands.ports import CLUSTER_KINDS, NODE_ROLES

if TYPE_CHECKING:
    from commands.options import EngineOptions, HostOptions

LAUNCH_LABEL = "rancher-exoscale-bot.launch"  # value: launch id
HOST_LABEL = "rancher-exoscale-bot.host"  # value: f"{launch_id}-{index}"
DEFAULT_AGENT_IMAGE = "rancher/agent:v1.2.11"
# 18.09 is the newest Docker the Rancher 1.6 agent supports.
DEFAULT_DOCKER_INSTALL_URL = "https://releases.rancher.com/install-docker/18.09.sh"
# RKE1 nodes of Rancher 2.x need a Docker that RKE1 supports and that has packages for today's
# templates (Ubuntu 24.04); Rancher publishes these scripts (rancher/install-docker, dist/).
DEFAULT_RKE1_DOCKER_INSTALL_URL = "https://releases.rancher.com/install-docker/26.1.sh"
PUBLIC_IP_LOOKUP = "$(curl -fsS http://169.254.169.254/latest/meta-data/public-ipv4)"
USER_DATA_LIMIT = 32768  # Exoscale's limit on the base64 user-data, in characters
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
DOCKER_ENV_DROPIN_PATH = "/etc/systemd/system/docker.service.d/50-rancher-exoscale-bot-env.conf"

# Launch ids end up in label values (see options: A-Z a-z 0-9 . _ -, at most 63 with "-N").
_LAUNCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*\Z")
# Room left for a real registration URL when checking options before one is known.
_REGISTRATION_URL_ALLOWANCE = 512
# Rancher 2.x: the node command's flag for each role (rancher-agent's run.sh and
# system-agent-install.sh both take these).
ROLE_FLAGS = {"etcd": "--etcd", "controlplane": "--controlplane", "worker": "--worker"}
SYSTEM_AGENT_INSTALL_PATH = "/system-agent-install.sh"
# Kubernetes label syntax (k8s.io/apimachinery validation): an optional DNS-subdomain prefix
# and "/", then a name of at most 63 characters; values the same as names, or empty.
_K8S_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?\Z")
_K8S_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RANCHER_AGENT_IMAGE = re.compile(
    r"(?:[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?/)*rancher/rancher-agent:[A-Za-z0-9_][A-Za-z0-9_.-]*\Z"
)
_TOKEN = re.compile(r"[A-Za-z0-9]{1,256}\Z")
_CHECKSUM = re.compile(r"[0-9a-f]{64}\Z")
# docker run options Rancher's RKE1 node command uses; anything else could change what runs.
_RKE1_FLAGS = frozenset({"-d", "--detach", "--privileged", "--net=host", "--network=host"})
_RKE1_RESTART = frozenset({"--restart=unless-stopped", "--restart=always"})
_CURL_FLAGS = frozenset({"-fL", "-Lf", "-sfL", "-fsL", "-fsSL", "-sSfL"})


class UserDataTooLarge(ValueError):
    """The encoded user-data is longer than Exoscale accepts."""


@dataclass(frozen=True)
class AgentRegistration:
    """What the Rancher agent needs to register: its image and the registration URL."""

    image: str
    registration_url: str


@dataclass(frozen=True)
class NodeCommand:
    """The node command Rancher 2.x gave for a cluster (a registration token's ``nodeCommand``).

    ``kind`` is the cluster's: ``rke1`` (a ``rancher/rancher-agent`` docker command), ``rke2`` or
    ``k3s`` (``curl …/system-agent-install.sh | sh -s - …``).
    """

    kind: str
    command: str

    @property
    def installs_docker(self) -> bool:
        """True when the node needs Docker first: RKE1 runs Kubernetes in Docker containers."""
        return self.kind == "rke1"

    def __repr__(self) -> str:
        # The command carries the cluster's registration token.
        return f"NodeCommand(kind={self.kind!r}, command='…')"


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


def kubernetes_label_problem(key: str, value: str) -> str | None:
    """Why ``key=value`` is not a valid Kubernetes node label, or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _K8S_PREFIX.match(prefix)):
        return (
            f"label key {key!r}: the part before '/' must be a DNS subdomain "
            "(lowercase letters, digits, '-' and '.')"
        )
    if not _K8S_NAME.match(name):
        return (
            f"label key {key!r} is not a Kubernetes label name: at most 63 characters of "
            "A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit"
        )
    if value and not _K8S_NAME.match(value):
        return (
            f"label {key!r} has value {value!r}, which Kubernetes refuses: at most 63 characters "
            "of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit"
        )
    return None


def check_node_command(node: NodeCommand) -> None:
    """Raise ValueError unless ``node`` has the shape Rancher gives for its cluster kind."""
    if node.kind not in CLUSTER_KINDS:
        raise ValueError(f"cluster kind {node.kind!r} is not one of {', '.join(CLUSTER_KINDS)}")
    if node.kind == "rke1":
        _rke1_words(node.command)
    else:
        _system_agent_words(node.command)


def node_command_line(
    options: HostOptions, *, launch_id: str, index: int, node: NodeCommand
) -> str:
    """The shell line that registers a Rancher 2.x node (the last runcmd entry's third item).

    Rancher's command is checked for its known shape and rebuilt from its parts, then the
    node's roles, ``--address`` (the public IP, looked up on the host) and one ``--label`` per
    user label and bot label are appended. ``ValueError`` when anything does not fit.
    """
    _check_launch(options, launch_id, index)
    if node.kind not in CLUSTER_KINDS:
        raise ValueError(f"cluster kind {node.kind!r} is not one of {', '.join(CLUSTER_KINDS)}")
    roles = options.roles
    if not roles:
        raise ValueError("a Rancher 2.x node needs at least one role (etcd, controlplane, worker)")
    unknown = [r for r in roles if r not in NODE_ROLES]
    if unknown:
        raise ValueError(f"unknown node roles {unknown}; expected {', '.join(NODE_ROLES)}")
    labels = host_labels(options, launch_id=launch_id, index=index)
    for key, value in labels:
        problem = kubernetes_label_problem(key, value)
        if problem:
            raise ValueError(problem)
    if node.kind == "rke1":
        head = _rke1_words(node.command)
    else:
        head = _system_agent_words(node.command)
    tail = [ROLE_FLAGS[role] for role in NODE_ROLES if role in roles]
    tail.append(f'--address "{PUBLIC_IP_LOOKUP}"')
    for key, value in labels:
        tail += ["--label", shlex.quote(f"{key}={value}")]
    return " ".join([head, *tail])


def render_user_data(
    options: HostOptions,
    *,
    launch_id: str,
    index: int,
    agent: AgentRegistration | NodeCommand,
) -> str:
    """The ``#cloud-config`` document for host ``index`` (1-based) of launch ``launch_id``.

    ``agent`` is a Rancher 1.6 ``AgentRegistration`` or a Rancher 2.x ``NodeCommand``.
    """
    if isinstance(agent, NodeCommand):
        line = node_command_line(options, launch_id=launch_id, index=index, node=agent)
        if not agent.installs_docker:
            if _has_engine_options(options.engine):
                raise ValueError(
                    f"engine options configure Docker, which {agent.kind.upper()} nodes do not "
                    "run (they bring containerd); remove them for this cluster"
                )
            return _document({"runcmd": [["sh", "-c", line]]})
        return _docker_document(options.engine, line, DEFAULT_RKE1_DOCKER_INSTALL_URL)
    if options.cluster:
        raise ValueError(
            f"these options target Rancher 2.x cluster {options.cluster!r}; "
            "render them with the cluster's NodeCommand"
        )
    line = agent_command(options, launch_id=launch_id, index=index, agent=agent)
    return _docker_document(options.engine, line, DEFAULT_DOCKER_INSTALL_URL)


def _docker_document(engine: EngineOptions, line: str, default_install_url: str) -> str:
    """Install Docker configured by ``engine``, then run ``line``."""
    files: list[dict[str, Any]] = [
        {
            "path": DAEMON_JSON_PATH,
            "owner": "root:root",
            "permissions": "0644",
            "content": daemon_json(engine),
        }
    ]
    runcmd: list[list[str]] = [
        ["sh", "-c", docker_install_command(engine.install_url or default_install_url)]
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
    runcmd.append(["sh", "-c", line])
    return _document({"write_files": files, "runcmd": runcmd})


def _document(document: dict[str, Any]) -> str:
    body = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000
    )
    return "#cloud-config\n" + body


def _has_engine_options(engine: EngineOptions) -> bool:
    return any(getattr(engine, f.name) for f in fields(engine))


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
    long_url = "https://" + "r" * (_REGISTRATION_URL_ALLOWANCE - len("https://"))
    texts: list[str] = []
    if options.cluster:
        # The cluster's kind is not known here: try the longest command of each shape.
        token, checksum = "t" * 64, "0" * 64
        rke1 = NodeCommand(
            "rke1",
            "sudo docker run -d --privileged --restart=unless-stopped --net=host "
            "-v /etc/kubernetes:/etc/kubernetes -v /var/run:/var/run "
            f"rancher/rancher-agent:v2.99.99 --server {long_url} --token {token} "
            f"--ca-checksum {checksum}",
        )
        rke2 = NodeCommand(
            "rke2",
            f"curl -fL {long_url}{SYSTEM_AGENT_INSTALL_PATH} | sudo sh -s - --server {long_url} "
            f"--label 'cattle.io/os=linux' --token {token} --ca-checksum {checksum}",
        )
        without_docker = replace(options, engine=type(options.engine)())
        for node, opts in ((rke1, options), (rke2, without_docker)):
            try:
                texts.append(
                    render_user_data(opts, launch_id="f" * 8, index=options.count, agent=node)
                )
            except ValueError:
                # Roles or labels that do not fit Kubernetes are the options' own errors.
                continue
    else:
        agent = AgentRegistration(DEFAULT_AGENT_IMAGE, long_url)
        texts.append(render_user_data(options, launch_id="f" * 8, index=options.count, agent=agent))
    for text in texts:
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


def _rke1_words(command: str) -> str:
    """Rancher's RKE1 node command, checked and rebuilt: ``docker run … rancher-agent …``."""
    words = _split_command(command)
    if words[:1] == ["sudo"]:
        # cloud-init runs runcmd as root; sudo would only be one more thing to have installed.
        words = words[1:]
    if words[:2] != ["docker", "run"]:
        raise ValueError("the RKE1 node command is not a 'docker run' of rancher/rancher-agent")
    options: list[str] = []
    i = 2
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        if word in _RKE1_FLAGS or word in _RKE1_RESTART:
            options.append(word)
            i += 1
        elif word in ("-v", "-e") and i + 1 < len(words):
            value = words[i + 1]
            host, _, rest = value.partition(":")
            if word == "-v" and (
                not re.fullmatch(r"/[A-Za-z0-9_./-]+", host) or rest.split(":")[0] != host
            ):
                # Rancher mounts host paths at the same place (/etc/kubernetes, /var/run).
                raise ValueError(f"the RKE1 node command mounts {value!r}, not a host path as is")
            if word == "-e" and not _ENV_NAME.match(value.partition("=")[0]):
                raise ValueError(f"the RKE1 node command sets -e {value!r}, not NAME=VALUE")
            options += [word, value]
            i += 2
        else:
            raise ValueError(f"the RKE1 node command has a docker option {word!r} it never has")
    if "--privileged" not in options or not ({"--net=host", "--network=host"} & set(options)):
        raise ValueError("the RKE1 node command must run the agent --privileged with --net=host")
    if i >= len(words) or not _RANCHER_AGENT_IMAGE.match(words[i]):
        shown = words[i] if i < len(words) else "nothing"
        raise ValueError(f"the RKE1 node command runs {shown!r}, not rancher/rancher-agent:<v>")
    image = words[i]
    agent_args = _agent_args(words[i + 1 :], labels_allowed=False)
    quoted = " ".join(shlex.quote(w) for w in [*options, image, *agent_args])
    return f"docker run {quoted}"


def _system_agent_words(command: str) -> str:
    """Rancher's RKE2/K3s node command, checked and rebuilt: ``curl … | sh -s - …``."""
    words = _split_command(command)
    if words.count("|") != 1:
        raise ValueError("the node command is not 'curl …/system-agent-install.sh | sh -s - …'")
    bar = words.index("|")
    fetch, run = words[:bar], words[bar + 1 :]
    fetch_env, fetch = _assignments(fetch)
    if len(fetch) != 3 or fetch[0] != "curl" or fetch[1] not in _CURL_FLAGS:
        raise ValueError("the node command does not fetch the installer with 'curl -fL URL'")
    script_url = fetch[2]
    script = urllib.parse.urlsplit(script_url)
    if script.scheme not in ("http", "https") or not script.path.endswith(
        SYSTEM_AGENT_INSTALL_PATH
    ):
        raise ValueError(f"the node command fetches {script_url!r}, not system-agent-install.sh")
    if run[:1] == ["sudo"]:
        run = run[1:]
    run_env, run = _assignments(run)
    if run[:3] != ["sh", "-s", "-"]:
        raise ValueError("the node command does not pipe the installer into 'sh -s -'")
    agent_args = _agent_args(run[3:], labels_allowed=True)
    server = urllib.parse.urlsplit(agent_args[agent_args.index("--server") + 1])
    if (server.scheme, server.netloc) != (script.scheme, script.netloc):
        raise ValueError(
            "the node command fetches its installer from another server than --server names"
        )
    fetch_line = " ".join([*fetch_env, "curl", fetch[1], shlex.quote(script_url)])
    run_line = " ".join([*run_env, "sh -s -", *(shlex.quote(w) for w in agent_args)])
    return f"{fetch_line} | {run_line}"


def _split_command(command: str) -> list[str]:
    if not command or any(ch in command for ch in "\n\r\0;&`$<>"):
        raise ValueError(
            "Rancher's node command is empty or holds shell syntax a node command never has"
        )
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"Rancher's node command is not valid shell: {exc}") from None


def _assignments(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """Leading ``NAME=value`` words (Rancher's agent env vars), re-quoted, and the rest."""
    env: list[str] = []
    i = 0
    while i < len(words) and "=" in words[i] and _ENV_NAME.match(words[i].partition("=")[0]):
        name, _, value = words[i].partition("=")
        # NAME= stays unquoted, or the shell would take the word for a command name.
        env.append(f"{name}={shlex.quote(value)}")
        i += 1
    return env, list(words[i:])


def _agent_args(words: Sequence[str], *, labels_allowed: bool) -> list[str]:
    """``--server URL --token T [--ca-checksum C]`` (and ``--label L`` for RKE2/K3s), checked."""
    seen: dict[str, str] = {}
    out: list[str] = []
    valued = {"--server", "--token", "--ca-checksum"} | ({"--label"} if labels_allowed else set())
    i = 0
    while i < len(words):
        flag = words[i]
        if flag not in valued or i + 1 >= len(words):
            raise ValueError(f"Rancher's node command has {flag!r} where it never has one")
        value = words[i + 1]
        if flag != "--label":
            if flag in seen:
                raise ValueError(f"Rancher's node command gives {flag} twice")
            seen[flag] = value
        elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./-]*=[A-Za-z0-9_.-]*", value):
            raise ValueError(f"Rancher's node command has a label {value!r} that is not k=v")
        out += [flag, value]
        i += 2
    server = seen.get("--server", "")
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Rancher's node command has no http(s) --server URL")
    if not _TOKEN.match(seen.get("--token", "")):
        raise ValueError("Rancher's node command has no --token, or not a registration token")
    if "--ca-checksum" in seen and not _CHECKSUM.match(seen["--ca-checksum"]):
        raise ValueError("Rancher's node command has a --ca-checksum that is not a SHA-256")
    return out


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (the files) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a literal block cannot hold the text.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
