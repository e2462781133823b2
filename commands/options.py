"""Host options for an ``add`` request: raw form text in, one validated typed value out.

    >>> opts = parse_host_options({"name": "web", "count": "2"}, max_hosts=20)
    >>> opts.host_names()
    ('web-1', 'web-2')
    >>> parse_host_options(opts.to_form(), max_hosts=20) == opts
    True

Every problem is reported at once, keyed by field, in ``InvalidOptions.errors``.

Text rules, shared by every field:

- An empty value takes the field's default (``DEFAULTS``); ``name`` has none and is required.
- Control characters and line breaks are refused inside any value.
- List fields (``labels`` and the repeatable ``engine_*``) hold items separated by newlines or
  commas. In ``key=value`` fields a comma-separated piece without ``=`` continues the previous
  value, so ``engine_env=NO_PROXY=localhost,127.0.0.1`` keeps its commas.

Labels go both to Rancher (``CATTLE_HOST_LABELS``) and onto the Exoscale instance, so they
follow a conservative intersection of what both accept: the key starts with a letter or digit
and uses ``A-Z a-z 0-9 . _ -`` (underscore because Rancher's own host labels such as
``io.rancher.host.external_dns_ip`` use it), the value is non-empty and uses the same
characters, each at most 63 characters. Keys under ``rancher-exoscale-bot.`` belong to the bot.
For a Rancher 2.x cluster they become Kubernetes node labels, which must also end with a letter
or digit.

Rancher 2.x: ``cluster`` is the target cluster's id (empty for Rancher 1.6) and ``roles`` the
node roles every host of the launch takes (``etcd``, ``controlplane``, ``worker``; at least one
when a cluster is given, none without one). ``etcd_warning`` says when the launch would add an
even number of etcd nodes.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.ports import NETWORK_DRIVERS, NODE_ROLES
from commands.userdata import budget_problem, kubernetes_label_problem

ZONES = (
    "at-vie-1",
    "at-vie-2",
    "bg-sof-1",
    "ch-dk-2",
    "ch-gva-2",
    "de-fra-1",
    "de-muc-1",
    "hr-zag-1",
)
FIELDS = (
    "count",
    "name",
    "description",
    "zone",
    "profile",
    "template",
    "disk",
    "group",
    "network",
    "labels",
    "engine_opt",
    "engine_label",
    "engine_env",
    "engine_insecure_registry",
    "engine_registry_mirror",
    "engine_storage_driver",
    "engine_install_url",
    "cluster",
    "roles",
)
# Fields that hold several items (newline- or comma-separated).
LIST_FIELDS = (
    "labels",
    "engine_opt",
    "engine_label",
    "engine_env",
    "engine_insecure_registry",
    "engine_registry_mirror",
)
# Every field has an entry, so a form can be prefilled from it; "" means no default.
DEFAULTS: dict[str, str] = {
    "count": "1",
    "name": "",
    "description": "",
    "zone": "ch-gva-2",
    "profile": "standard.medium",
    "template": "Linux Ubuntu 24.04 LTS 64-bit",
    "disk": "50",
    "group": "standard",
    "network": "ipsec",
    "labels": "",
    "engine_opt": "",
    "engine_label": "",
    "engine_env": "",
    "engine_insecure_registry": "",
    "engine_registry_mirror": "",
    "engine_storage_driver": "",
    "engine_install_url": "",
    # Rancher 2.x only; empty means a Rancher 1.6 launch.
    "cluster": "",
    "roles": "",
}
# What a Rancher 2.x form offers before anyone chooses: Rancher's own default for a new node.
DEFAULT_ROLES = NODE_ROLES
STANDARD = "standard"
STORAGE_DRIVERS = ("overlay2", "overlay", "aufs", "btrfs", "devicemapper", "vfs", "zfs")
RESERVED_LABEL_PREFIX = "rancher-exoscale-bot."
DOCKER_RESERVED_LABEL_PREFIXES = ("com.docker.", "io.docker.", "org.dockerproject.")

MAX_NAME = 63
MAX_DESCRIPTION = 255
MAX_TEMPLATE = 255
MAX_GROUP = 255
MIN_DISK = 10
MAX_DISK = 51200
MAX_LABEL = 63
MAX_ENGINE_VALUE = 1024
MAX_URL = 2048
MAX_CLUSTER_ID = 63
# Far above anything that fits in the 32768-char user-data; stops huge pastes early.
MAX_RAW = 32768

_DNS_LABEL = re.compile(r"[a-z][a-z0-9-]*\Z")
_PROFILE = re.compile(r"[a-z0-9]+\.[a-z0-9]+\Z")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9._-]+\Z")
_ENGINE_OPT_KEY = re.compile(r"[a-z][a-z0-9-]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
# Rancher cluster ids are Kubernetes object names: c-abc12, c-m-4fz9x2kd, local.
_CLUSTER_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")
_HOSTNAME_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_REGISTRY = re.compile(rf"({_HOSTNAME_PART}(?:\.{_HOSTNAME_PART})*)(?::([0-9]{{1,5}}))?\Z")

# daemon.json keys whose value is a list of strings; an item may hold several, comma-separated.
DAEMON_LIST_KEYS = frozenset(
    {
        "allow-nondistributable-artifacts",
        "authorization-plugins",
        "dns",
        "dns-opts",
        "dns-search",
        "exec-opts",
        "node-generic-resources",
        "storage-opts",
    }
)
# daemon.json keys whose value is a string-to-string object, given as key=name=value.
DAEMON_MAP_KEYS = frozenset({"log-opts"})
# dockerd flag spellings that docker-machine users write, mapped to their daemon.json key.
DAEMON_KEY_ALIASES = {
    "dns-opt": "dns-opts",
    "exec-opt": "exec-opts",
    "storage-opt": "storage-opts",
    "log-opt": "log-opts",
    "authorization-plugin": "authorization-plugins",
    "allow-nondistributable-artifact": "allow-nondistributable-artifacts",
}
# daemon.json keys another field owns; writing them twice would make dockerd refuse to start.
DAEMON_OWNED_KEYS = {
    "labels": "engine_label",
    "label": "engine_label",
    "insecure-registries": "engine_insecure_registry",
    "insecure-registry": "engine_insecure_registry",
    "registry-mirrors": "engine_registry_mirror",
    "registry-mirror": "engine_registry_mirror",
    "storage-driver": "engine_storage_driver",
}
# daemon.json keys we refuse, and why.
DAEMON_REFUSED_KEYS = {
    "hosts": "the Docker service already passes -H, and dockerd refuses to start when daemon.json "
    "sets hosts too; the agent needs the local socket",
    "host": "the Docker service already passes -H, and dockerd refuses to start when daemon.json "
    "sets hosts too; the agent needs the local socket",
    "default-ulimits": "it takes a nested value that key=value cannot express",
    "default-ulimit": "it takes a nested value that key=value cannot express",
    "runtimes": "it takes a nested value that key=value cannot express",
    "add-runtime": "it takes a nested value that key=value cannot express",
    "default-address-pools": "it takes a nested value that key=value cannot express",
    "features": "it takes a nested value that key=value cannot express",
    "builder": "it takes a nested value that key=value cannot express",
    "proxies": "it takes a nested value that key=value cannot express; use engine_env "
    "HTTP_PROXY=... instead",
}


@dataclass(frozen=True)
class EngineOptions:
    """Docker engine settings (docker-machine's ``--engine-*`` options), validated."""

    opts: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    storage_driver: str = ""
    install_url: str = ""

    def daemon_config(self) -> dict[str, Any]:
        """The ``/etc/docker/daemon.json`` object these options describe.

        ``opts`` values: ``true``/``false`` become booleans, digits integers, the rest strings;
        list keys (``dns``…) collect their items, ``log-opts`` builds an object of strings.
        """
        config: dict[str, Any] = {}
        for key, value in self.opts:
            if key in DAEMON_LIST_KEYS:
                items = [v.strip() for v in value.split(",") if v.strip()]
                config.setdefault(key, []).extend(items)
            elif key in DAEMON_MAP_KEYS:
                name, _, sub = value.partition("=")
                config.setdefault(key, {})[name.strip()] = sub.strip()
            else:
                config[key] = _typed(value)
        if self.labels:
            config["labels"] = [f"{k}={v}" for k, v in self.labels]
        if self.insecure_registries:
            config["insecure-registries"] = list(self.insecure_registries)
        if self.registry_mirrors:
            config["registry-mirrors"] = list(self.registry_mirrors)
        if self.storage_driver:
            config["storage-driver"] = self.storage_driver
        return config

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of ``EngineOptions.from_dict``."""
        return {
            "opts": [list(p) for p in self.opts],
            "labels": [list(p) for p in self.labels],
            "env": [list(p) for p in self.env],
            "insecure_registries": list(self.insecure_registries),
            "registry_mirrors": list(self.registry_mirrors),
            "storage_driver": self.storage_driver,
            "install_url": self.install_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineOptions:
        """Rebuild engine options stored with ``to_dict``."""
        return cls(
            opts=_pairs(data.get("opts", ())),
            labels=_pairs(data.get("labels", ())),
            env=_pairs(data.get("env", ())),
            insecure_registries=tuple(str(v) for v in data.get("insecure_registries", ())),
            registry_mirrors=tuple(str(v) for v in data.get("registry_mirrors", ())),
            storage_driver=str(data.get("storage_driver", "")),
            install_url=str(data.get("install_url", "")),
        )


@dataclass(frozen=True)
class HostOptions:
    """Everything needed to create a batch of hosts, validated by ``parse_host_options``."""

    count: int
    name: str
    description: str
    zone: str
    profile: str
    template: str
    disk: int
    group: str  # "standard" or an existing group's name
    network: str
    labels: tuple[tuple[str, str], ...]
    engine: EngineOptions = field(default_factory=EngineOptions)
    cluster: str = ""  # Rancher 2.x cluster id; "" for Rancher 1.6
    roles: tuple[str, ...] = ()  # Rancher 2.x node roles, in NODE_ROLES order

    @property
    def rancher2(self) -> bool:
        """True when the hosts join a Rancher 2.x cluster rather than a 1.6 environment."""
        return bool(self.cluster)

    @property
    def standard_group(self) -> bool:
        """True when the bot manages the ``rancher-machine`` group itself."""
        return self.group == STANDARD

    def host_names(self) -> tuple[str, ...]:
        """The instance names, ``name-1`` … ``name-N``."""
        return tuple(f"{self.name}-{i}" for i in range(1, self.count + 1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of ``HostOptions.from_dict``."""
        return {
            "count": self.count,
            "name": self.name,
            "description": self.description,
            "zone": self.zone,
            "profile": self.profile,
            "template": self.template,
            "disk": self.disk,
            "group": self.group,
            "network": self.network,
            "labels": [list(p) for p in self.labels],
            "engine": self.engine.to_dict(),
            "cluster": self.cluster,
            "roles": list(self.roles),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostOptions:
        """Rebuild options stored with ``to_dict`` (trusted data: not validated again)."""
        return cls(
            count=int(data["count"]),
            name=str(data["name"]),
            description=str(data.get("description", "")),
            zone=str(data["zone"]),
            profile=str(data["profile"]),
            template=str(data["template"]),
            disk=int(data["disk"]),
            group=str(data["group"]),
            network=str(data["network"]),
            labels=_pairs(data.get("labels", ())),
            engine=EngineOptions.from_dict(data.get("engine", {})),
            # Launches stored before Rancher 2.x support have neither: they are 1.6 launches.
            cluster=str(data.get("cluster") or ""),
            roles=tuple(str(r) for r in data.get("roles") or ()),
        )

    def to_form(self) -> dict[str, str]:
        """Raw text per ``FIELDS`` key, which ``parse_host_options`` turns back into self."""
        engine = self.engine
        return {
            "count": str(self.count),
            "name": self.name,
            "description": self.description,
            "zone": self.zone,
            "profile": self.profile,
            "template": self.template,
            "disk": str(self.disk),
            "group": self.group,
            "network": self.network,
            "labels": _join_pairs(self.labels),
            "engine_opt": _join_pairs(engine.opts),
            "engine_label": _join_pairs(engine.labels),
            "engine_env": _join_pairs(engine.env),
            "engine_insecure_registry": "\n".join(engine.insecure_registries),
            "engine_registry_mirror": "\n".join(engine.registry_mirrors),
            "engine_storage_driver": engine.storage_driver,
            "engine_install_url": engine.install_url,
            "cluster": self.cluster,
            "roles": "\n".join(self.roles),
        }


class InvalidOptions(ValueError):
    """Raised by ``parse_host_options``; ``errors`` maps each bad field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("invalid host options: " + "; ".join(self.errors.values()))


def parse_host_options(
    values: Mapping[str, str | None],
    *,
    max_hosts: int,
    template_size: int | None = None,
) -> HostOptions:
    """Validate raw form text into ``HostOptions``, or raise ``InvalidOptions`` with every problem.

    ``values`` holds raw text per ``FIELDS`` key; missing, ``None`` or blank values take
    ``DEFAULTS``; other keys are ignored. ``template_size`` (GiB), when known, is the least
    ``disk`` can be.
    """
    if max_hosts < 1:
        raise ValueError(f"max_hosts must be at least 1, got {max_hosts}")
    raw: dict[str, str] = {}
    for key in FIELDS:
        value = values.get(key)
        text = "" if value is None else str(value).replace("\r\n", "\n").strip()
        raw[key] = text or DEFAULTS[key]

    errors: dict[str, str] = {}
    for key, text in raw.items():
        if len(text) > MAX_RAW:
            errors[key] = f"{_field_label(key)} is too long (at most {MAX_RAW} characters)"
    checked = {key: text for key, text in raw.items() if key not in errors}

    def run(key: str, check, *args):
        if key not in checked:
            return None
        value, problems = check(checked[key], *args)
        if problems:
            errors[key] = "; ".join(problems)
            return None
        return value

    count = run("count", _check_count, max_hosts)
    name = run("name", _check_name, count if count is not None else 1)
    description = run("description", _check_description)
    zone = run("zone", _check_zone)
    profile = run("profile", _check_profile)
    template = run("template", _check_template)
    disk = run("disk", _check_disk, template_size)
    group = run("group", _check_group)
    network = run("network", _check_network)
    labels = run("labels", _check_labels)
    engine = EngineOptions(
        opts=run("engine_opt", _check_engine_opts) or (),
        labels=run("engine_label", _check_engine_labels) or (),
        env=run("engine_env", _check_engine_env) or (),
        insecure_registries=run("engine_insecure_registry", _check_insecure_registries) or (),
        registry_mirrors=run("engine_registry_mirror", _check_registry_mirrors) or (),
        storage_driver=run("engine_storage_driver", _check_storage_driver) or "",
        install_url=run("engine_install_url", _check_install_url) or "",
    )
    cluster = run("cluster", _check_cluster)
    roles = run("roles", _check_roles)
    if cluster is not None and roles is not None:
        if cluster and not roles:
            errors["roles"] = (
                f"roles: choose at least one of {', '.join(NODE_ROLES)} for the hosts joining "
                f"cluster {cluster}"
            )
        elif roles and not cluster:
            errors["roles"] = (
                "roles apply to Rancher 2.x clusters only; choose a cluster or leave roles empty"
            )
    if cluster and labels:
        problems = [p for k, v in labels if (p := kubernetes_label_problem(k, v))]
        if problems:
            errors["labels"] = "; ".join(problems)
    if errors:
        raise InvalidOptions(errors)
    options = HostOptions(
        count=count,
        name=name,
        description=description,
        zone=zone,
        profile=profile,
        template=template,
        disk=disk,
        group=group,
        network=network,
        labels=labels,
        engine=engine,
        cluster=cluster,
        roles=roles,
    )
    _check_user_data_budget(options, raw)
    return options


def etcd_warning(options: HostOptions) -> str | None:
    """A warning when this launch adds an even number of etcd nodes, else None.

    etcd needs a majority of its members to agree, so 2 nodes tolerate no more failures than 1,
    and 4 no more than 3: the extra node adds load and a way to fail, not safety.
    """
    if "etcd" not in options.roles or options.count % 2:
        return None
    odd = options.count - 1
    return (
        f"This adds {options.count} etcd nodes, an even number: etcd keeps working only while a "
        f"majority of its members is up, so {options.count} etcd nodes tolerate no more failures "
        f"than {odd}. Prefer an odd number of etcd nodes in the cluster (1, 3 or 5)."
    )


# --- helpers -------------------------------------------------------------------------------


def _field_label(key: str) -> str:
    return key.replace("_", " ")


def _show(value: str, limit: int = 40) -> str:
    """The value quoted for a message, cut short so a message stays readable."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return repr(value)


def _bad_char(text: str) -> str | None:
    """Describe the first control character or line break in ``text``, if any."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            return f"U+{ord(ch):04X}"
    return None


def _no_control(what: str, text: str) -> str | None:
    found = _bad_char(text)
    if found:
        return f"{what} must not contain control characters or line breaks (found {found})"
    return None


def _typed(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if _DIGITS.match(value):
        return int(value)
    return value


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(items, Mapping):
        items = items.items()
    return tuple((str(k), str(v)) for k, v in items)


def _join_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{k}={v}" for k, v in pairs)


def split_items(text: str, *, key_value: bool) -> list[str]:
    """Split a list field into items: newlines always, commas as described in the module doc."""
    items: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line_items: list[str] = []
        for piece in line.split(","):
            if not piece.strip():
                continue
            if key_value and line_items and "=" not in piece:
                line_items[-1] = f"{line_items[-1]},{piece}"
            else:
                line_items.append(piece)
        items.extend(item.strip() for item in line_items)
    return items


def _parse_whole(text: str) -> int | None:
    return int(text) if _DIGITS.match(text) and len(text) <= 9 else None


# --- per-field checks: each returns (value, [problems]) -------------------------------------


def _check_count(text: str, max_hosts: int):
    count = _parse_whole(text)
    if count is None:
        return None, [f"count must be a whole number between 1 and {max_hosts}, got {_show(text)}"]
    if not 1 <= count <= max_hosts:
        return None, [f"count must be between 1 and {max_hosts}"]
    return count, []


def _check_name(text: str, count: int):
    if not text:
        return None, ["name is required"]
    if not _DNS_LABEL.match(text):
        return None, [
            f"name {_show(text)} must be a DNS label: a-z, 0-9 and '-', starting with a letter"
        ]
    suffix = f"-{count}"
    if len(text) + len(suffix) > MAX_NAME:
        return None, [
            f"name {_show(text)} is too long: with the suffix '{suffix}' a host name would have "
            f"{len(text) + len(suffix)} characters, at most {MAX_NAME} are allowed"
        ]
    return text, []


def _check_description(text: str):
    problem = _no_control("description", text)
    if problem:
        return None, [problem]
    if len(text) > MAX_DESCRIPTION:
        return None, [
            f"description must be at most {MAX_DESCRIPTION} characters (it has {len(text)})"
        ]
    return text, []


def _check_zone(text: str):
    zone = text.lower()
    if zone not in ZONES:
        return None, [
            f"zone {_show(text)} is not an Exoscale zone; choose one of {', '.join(ZONES)}"
        ]
    return zone, []


def _check_profile(text: str):
    profile = text.lower()
    if not _PROFILE.match(profile):
        return None, [
            f"profile {_show(text)} must be family.size in lowercase letters and digits, "
            "e.g. standard.medium"
        ]
    return profile, []


def _check_template(text: str):
    problem = _no_control("template", text)
    if problem:
        return None, [problem]
    if len(text) > MAX_TEMPLATE:
        return None, [f"template must be at most {MAX_TEMPLATE} characters (it has {len(text)})"]
    return text, []


def _check_disk(text: str, template_size: int | None):
    disk = _parse_whole(text)
    if disk is None:
        return None, [
            f"disk must be a whole number of GiB between {MIN_DISK} and {MAX_DISK}, "
            f"got {_show(text)}"
        ]
    if not MIN_DISK <= disk <= MAX_DISK:
        return None, [f"disk must be between {MIN_DISK} and {MAX_DISK} GiB"]
    if template_size is not None and disk < template_size:
        return None, [f"disk must be at least {template_size} GiB, the size of the template"]
    return disk, []


def _check_group(text: str):
    if text.lower() == STANDARD:
        return STANDARD, []
    problem = _no_control("group", text)
    if problem:
        return None, [problem]
    if len(text) > MAX_GROUP:
        return None, [
            f"group must be 'standard' or a security group name of at most {MAX_GROUP} "
            f"characters (it has {len(text)})"
        ]
    return text, []


def _check_network(text: str):
    network = text.lower()
    if network not in NETWORK_DRIVERS:
        return None, [f"network must be {' or '.join(NETWORK_DRIVERS)}, got {_show(text)}"]
    return network, []


def _key_value_items(text: str, what: str, example: str):
    """Split ``text`` into (key, value) pairs; problems for items that are not key=value."""
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for item in split_items(text, key_value=True):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{what} {_show(item)} must be key=value, e.g. {example}")
            continue
        pairs.append((key.strip(), value.strip()))
    return pairs, problems


def _check_labels(text: str):
    pairs, problems = _key_value_items(text, "label", "role=web")
    seen: set[str] = set()
    result: list[tuple[str, str]] = []
    for key, value in pairs:
        if not _LABEL_KEY.match(key) or len(key) > MAX_LABEL:
            problems.append(
                f"label key {_show(key)} must start with a letter or digit and use only "
                f"A-Z, a-z, 0-9, '.', '_' and '-' (at most {MAX_LABEL} characters)"
            )
            continue
        if key.lower().startswith(RESERVED_LABEL_PREFIX):
            problems.append(
                f"label key {_show(key)} is reserved: keys starting with "
                f"'{RESERVED_LABEL_PREFIX}' are set by the bot"
            )
            continue
        if key in seen:
            problems.append(f"label key {_show(key)} is given twice")
            continue
        seen.add(key)
        if not value:
            problems.append(f"label {_show(key)} needs a value, e.g. {key}=yes")
            continue
        if not _LABEL_VALUE.match(value) or len(value) > MAX_LABEL:
            problems.append(
                f"label {_show(key)} has value {_show(value)}; values may use only "
                f"A-Z, a-z, 0-9, '.', '_' and '-' (at most {MAX_LABEL} characters)"
            )
            continue
        result.append((key, value))
    return tuple(result), problems


def _check_engine_value(what: str, value: str, *, allow_empty: bool = False) -> str | None:
    if not value and not allow_empty:
        return f"{what} needs a value"
    problem = _no_control(what, value)
    if problem:
        return problem
    if len(value) > MAX_ENGINE_VALUE:
        return f"{what} must be at most {MAX_ENGINE_VALUE} characters (it has {len(value)})"
    return None


def _check_engine_opts(text: str):
    pairs, problems = _key_value_items(text, "engine option", "max-concurrent-downloads=3")
    result: list[tuple[str, str]] = []
    scalars: set[str] = set()
    log_opts: set[str] = set()
    for key, value in pairs:
        if not _ENGINE_OPT_KEY.match(key) or len(key) > 64:
            problems.append(
                f"engine option {_show(key)} must be a daemon.json option name: lowercase "
                "letters, digits and '-', starting with a letter"
            )
            continue
        key = DAEMON_KEY_ALIASES.get(key, key)
        if key in DAEMON_OWNED_KEYS:
            problems.append(
                f"engine option {_show(key)} has its own field: use "
                f"{DAEMON_OWNED_KEYS[key].replace('_', '-')} instead"
            )
            continue
        if key in DAEMON_REFUSED_KEYS:
            problems.append(
                f"engine option {_show(key)} is not allowed: {DAEMON_REFUSED_KEYS[key]}"
            )
            continue
        problem = _check_engine_value(f"engine option {_show(key)}", value)
        if problem:
            problems.append(problem)
            continue
        if key in DAEMON_MAP_KEYS:
            name, sep, _ = value.partition("=")
            if not sep or not _ENGINE_OPT_KEY.match(name.strip()):
                problems.append(
                    f"engine option {_show(key)} takes name=value, e.g. {key}=max-size=10m"
                )
                continue
            if name.strip() in log_opts:
                problems.append(f"engine option {_show(key)} sets {_show(name.strip())} twice")
                continue
            log_opts.add(name.strip())
        elif key not in DAEMON_LIST_KEYS:
            if key in scalars:
                problems.append(f"engine option {_show(key)} is given twice")
                continue
            scalars.add(key)
        result.append((key, value))
    return tuple(result), problems


def _check_engine_labels(text: str):
    pairs, problems = _key_value_items(text, "engine label", "tier=backend")
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in pairs:
        if not _LABEL_KEY.match(key) or len(key) > 255:
            problems.append(
                f"engine label key {_show(key)} must start with a letter or digit and use only "
                "A-Z, a-z, 0-9, '.', '_' and '-'"
            )
            continue
        if key.lower().startswith(DOCKER_RESERVED_LABEL_PREFIXES):
            problems.append(
                f"engine label key {_show(key)} uses a prefix Docker reserves "
                f"({', '.join(DOCKER_RESERVED_LABEL_PREFIXES)})"
            )
            continue
        if key in seen:
            problems.append(f"engine label key {_show(key)} is given twice")
            continue
        seen.add(key)
        problem = _check_engine_value(f"engine label {_show(key)}", value)
        if problem:
            problems.append(problem)
            continue
        result.append((key, value))
    return tuple(result), problems


def _check_engine_env(text: str):
    pairs, problems = _key_value_items(text, "engine env", "HTTP_PROXY=http://proxy:3128")
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in pairs:
        if not _ENV_NAME.match(key) or len(key) > 255:
            problems.append(
                f"engine env name {_show(key)} must be a shell variable name: letters, digits "
                "and '_', not starting with a digit"
            )
            continue
        if key in seen:
            problems.append(f"engine env {_show(key)} is given twice")
            continue
        seen.add(key)
        problem = _check_engine_value(f"engine env {_show(key)}", value, allow_empty=True)
        if problem:
            problems.append(problem)
            continue
        result.append((key, value))
    return tuple(result), problems


def _check_insecure_registries(text: str):
    result: list[str] = []
    problems: list[str] = []
    for item in split_items(text, key_value=False):
        problem = _no_control("insecure registry", item)
        if problem:
            problems.append(problem)
            continue
        if "://" in item:
            problems.append(
                f"insecure registry {_show(item)} must be host[:port] without a scheme, "
                "e.g. registry.example.com:5000"
            )
            continue
        if "/" in item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                problems.append(
                    f"insecure registry {_show(item)} must be host[:port] or a CIDR network"
                )
                continue
            result.append(item)
            continue
        match = _REGISTRY.match(item)
        port = match.group(2) if match else None
        if not match or len(match.group(1)) > 253 or (port and not 1 <= int(port) <= 65535):
            problems.append(
                f"insecure registry {_show(item)} must be host[:port], "
                "e.g. registry.example.com:5000"
            )
            continue
        if item in result:
            problems.append(f"insecure registry {_show(item)} is given twice")
            continue
        result.append(item)
    return tuple(result), problems


def _url_problem(what: str, url: str, *, schemes: tuple[str, ...], allow_query: bool) -> str | None:
    """Why ``url`` is not a plain absolute URL with one of ``schemes``, or None."""
    problem = _no_control(what, url)
    if problem:
        return problem
    if len(url) > MAX_URL:
        return f"{what} must be at most {MAX_URL} characters"
    allowed = " or ".join(f"{s}://" for s in schemes)
    if any(ch.isspace() for ch in url) or not url.isascii():
        return f"{what} {_show(url)} must be a URL starting with {allowed}, without spaces"
    parts = urllib.parse.urlsplit(url)
    try:
        _ = parts.port  # urlsplit only checks the port when asked for it
    except ValueError:
        return f"{what} {_show(url)} has an invalid port"
    if parts.scheme.lower() not in schemes or not parts.hostname:
        return f"{what} {_show(url)} must be a URL starting with {allowed}"
    if parts.username is not None or parts.password is not None:
        return f"{what} {_show(url)} must not carry a user name or password"
    if not allow_query and (parts.query or parts.fragment):
        return f"{what} {_show(url)} must not have a query or fragment"
    return None


def _check_registry_mirrors(text: str):
    result: list[str] = []
    problems: list[str] = []
    for item in split_items(text, key_value=False):
        problem = _url_problem(
            "registry mirror", item, schemes=("http", "https"), allow_query=False
        )
        if problem:
            problems.append(problem)
        elif item in result:
            problems.append(f"registry mirror {_show(item)} is given twice")
        else:
            result.append(item)
    return tuple(result), problems


def _check_storage_driver(text: str):
    if not text:
        return "", []
    driver = text.lower()
    if driver not in STORAGE_DRIVERS:
        return None, [
            f"storage driver {_show(text)} is not supported; choose one of "
            f"{', '.join(STORAGE_DRIVERS)}"
        ]
    return driver, []


def _check_install_url(text: str):
    if not text:
        return "", []
    # The script runs as root on every host: plain http would let anyone on the path run code.
    problem = _url_problem("engine install URL", text, schemes=("https",), allow_query=True)
    if problem:
        return None, [problem]
    return text, []


def _check_cluster(text: str):
    if not text:
        return "", []
    if len(text) > MAX_CLUSTER_ID or not _CLUSTER_ID.match(text):
        return None, [
            f"cluster {_show(text)} must be a Rancher cluster id such as c-abc12 or c-m-4fz9x2kd"
        ]
    return text, []


def _check_roles(text: str):
    wanted: set[str] = set()
    problems: list[str] = []
    for item in split_items(text, key_value=False):
        role = item.lower().replace("-", "").replace(" ", "")
        if role not in NODE_ROLES:
            problems.append(f"role {_show(item)} is not one of {', '.join(NODE_ROLES)}")
        elif role in wanted:
            problems.append(f"role {_show(item)} is given twice")
        else:
            wanted.add(role)
    if problems:
        return None, problems
    return tuple(r for r in NODE_ROLES if r in wanted), []


def _check_user_data_budget(options: HostOptions, raw: Mapping[str, str]) -> None:
    """Refuse options whose cloud-init user-data could not fit Exoscale's limit."""
    problem = budget_problem(options)
    if problem is None:
        return
    # Put the message beside the list field that contributes most, so the modal shows it there.
    biggest = max(LIST_FIELDS, key=lambda key: len(raw.get(key, "")))
    raise InvalidOptions({biggest: problem})
