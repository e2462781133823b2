"""A local stand-in for Exoscale API v2: real signatures, spec-checked bodies, timed state.

It serves ``/<zone>/v2/...`` for every zone of the API, checks EXO2-HMAC-SHA256 signatures
(403 ``{"message": ...}`` like the real API), validates request bodies against the official
``openapi.json`` (400), answers mutating calls with Operations that stay pending for
``operation_delay`` seconds, and moves instances from starting to running after ``boot_delay``,
when it reads their user-data like cloud-init and hands the agent command to ``on_boot``
callbacks::

    sandbox = ExoscaleSandbox({"EXOkey": "secret"}, operation_delay=0.02, boot_delay=0.05)
    endpoint = sandbox.start()          # "http://127.0.0.1:PORT/{zone}/v2"
    sandbox.on_boot(rancher_sandbox.boot)
    sandbox.fail_next(429, count=2, method="GET", path="/instance")
    ...
    sandbox.stop()
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from ..listener import Listener
from .cloudinit import CloudInitError, agent_argv
from .signature import SignatureError, verify
from .spec import ApiSpec, MethodNotAllowed

__all__ = ["AgentBoot", "ExoscaleSandbox"]

log = logging.getLogger(__name__)

GIB = 2**30
_NAMESPACE = uuid.UUID("6f1c1f7e-4b7e-4a53-9d0c-5a4d1d2f0e11")
_Item = TypeVar("_Item")
# TEST-NET ranges (RFC 5737): addresses that can never reach a real host.
_IP_POOLS = ("198.51.100", "203.0.113", "192.0.2")

# (family, size, cpus, memory GiB, authorized)
_INSTANCE_TYPES = (
    ("standard", "micro", 1, 0.5, True),
    ("standard", "tiny", 1, 1, True),
    ("standard", "small", 2, 2, True),
    ("standard", "medium", 2, 4, True),
    ("standard", "large", 4, 8, True),
    ("standard", "extra-large", 4, 16, True),
    ("standard", "huge", 8, 32, True),
    ("standard", "mega", 12, 64, True),
    ("standard", "titan", 16, 128, True),
    ("standard", "jumbo", 24, 225, True),
    ("cpu", "extra-large", 16, 16, True),
    ("memory", "extra-large", 4, 64, True),
    ("gpu2", "small", 12, 56, False),
)
# (name, default user)
_TEMPLATES = (
    ("Linux Ubuntu 22.04 LTS 64-bit", "ubuntu"),
    ("Linux Ubuntu 24.04 LTS 64-bit", "ubuntu"),
    ("Linux Debian 12 (bookworm) 64-bit", "debian"),
)


@dataclass(frozen=True)
class AgentBoot:
    """What an instance runs when it reaches running, as the host would see it."""

    instance_id: str
    name: str
    zone: str
    public_ip: str | None
    argv: tuple[str, ...]  # the agent command, public IP lookup resolved, shell-split
    rules: tuple[dict, ...]  # every rule of the instance's security groups, as the API shows them
    labels: dict
    security_group_ids: tuple[str, ...] = ()  # to tell "from the group itself" rules apart


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Fault:
    """An injected answer (``status``) or, with ``hang`` set, a delay before serving."""

    status: int
    remaining: int
    method: str | None
    path: str | None
    retry_after: int = 0
    hang: float = 0.0

    def matches(self, method: str, api_path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.path:
            prefix = self.path.rstrip("/")
            return api_path == prefix or api_path.startswith(prefix + "/")
        return True


@dataclass
class _Operation:
    body: dict[str, Any]
    ready_at: float
    final: str  # state once ready_at has passed
    extra: dict[str, Any] = field(default_factory=dict)  # reason and message of a failure


@lru_cache(maxsize=4)
def _spec(path: str | None) -> ApiSpec:
    # Parsing the 1 MB document once per process keeps a test's many sandboxes cheap.
    return ApiSpec.load(path)


def _found(items: Mapping[str, _Item], item_id: str, what: str) -> _Item:
    """The item with this id, or the API's 404 naming what was looked for."""
    item = items.get(item_id)
    if item is None:
        raise _ApiError(404, f"{what} {item_id} not found")
    return item


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ExoscaleSandbox:
    """Exoscale API v2 over HTTP on 127.0.0.1, with faults on demand and a record of calls."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        operation_delay: float = 0.1,
        boot_delay: float = 0.1,
        latency: float = 0.0,
        spec_path: str | None = None,
    ) -> None:
        self._credentials = dict(credentials)
        self.operation_delay = operation_delay
        self.boot_delay = boot_delay
        self.latency = latency
        self._spec = _spec(spec_path)
        self.zones = self._spec.zones
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._listener: Listener | None = None
        self._port: int | None = None
        self._timers: list[threading.Timer] = []
        self._boot_callbacks: list[Callable[[AgentBoot], Any]] = []
        self._faults: list[_Fault] = []
        self._hangs: list[_Fault] = []
        self._failing_operations = 0
        self._ip_counter = 0
        self._instance_types: dict[str, dict[str, Any]] = {}
        self._templates: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._instances: dict[str, dict[str, Any]] = {}
        self._operations: dict[str, _Operation] = {}
        self.calls: list[tuple[str, str, int]] = []  # (method, target with query, status)
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests being served at once: shows client parallelism
        self.boot_failures: list[tuple[str, str]] = []  # (instance name, why no agent ran)
        self.callback_errors: list[tuple[str, BaseException]] = []
        self._seed()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port) and return the endpoint template."""
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._stopping.clear()
        self._listener = Listener(_Server(("127.0.0.1", 0), handler), name="exoscale-sandbox")
        self._port = self._listener.port
        return self.endpoint

    @property
    def endpoint(self) -> str:
        """The endpoint template ``start()`` returned."""
        return f"http://127.0.0.1:{self.port}/{{zone}}/v2"

    @property
    def port(self) -> int:
        """The port it listens on (kept after stop(), for tests of a server gone away)."""
        if self._port is None:
            raise RuntimeError("start() the sandbox first")
        return self._port

    def stop(self) -> None:
        """Stop serving, cancel pending state changes and release hung requests."""
        self._stopping.set()
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> ExoscaleSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observation and faults ------------------------------------------------------------

    def on_boot(self, callback: Callable[[AgentBoot], Any]) -> None:
        """Call ``callback(AgentBoot)`` whenever an instance reaches running."""
        with self._lock:
            self._boot_callbacks.append(callback)

    @property
    def instances(self) -> list[dict[str, Any]]:
        """Every instance of every zone (API shape plus ``zone`` and ``user-data``)."""
        with self._lock:
            return [copy.deepcopy(i) for i in self._instances.values()]

    @property
    def security_groups(self) -> list[dict[str, Any]]:
        """Every security group with its rules, as ``GET /security-group/{id}`` shows it."""
        with self._lock:
            return [copy.deepcopy(g) for g in self._groups.values()]

    def fail_next(
        self,
        status: int,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        *,
        retry_after: int = 0,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` instead of serving them.

        ``path`` matches the API path (``/instance`` also matches ``/instance/<id>``, not
        ``/instance-type``). 429 and 503 answers carry ``Retry-After: retry_after``.
        """
        with self._lock:
            self._faults.append(_Fault(status, count, method, path, retry_after))

    def hang_next(
        self, seconds: float, count: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Hold the next ``count`` matching requests for ``seconds`` before serving them."""
        with self._lock:
            self._hangs.append(_Fault(0, count, method, path, hang=seconds))

    def fail_operations(self, count: int) -> None:
        """Make the next ``count`` Operations end in failure (their change is not made)."""
        with self._lock:
            self._failing_operations += count

    def remove_instance_type(self, zone: str, name: str) -> None:
        """Make instance type ``family.size`` unavailable in ``zone``."""
        with self._lock:
            for item in self._instance_types.values():
                if f"{item['family']}.{item['size']}" == name:
                    if zone in item["zones"]:
                        item["zones"].remove(zone)
                    return
        raise KeyError(f"no instance type {name}")

    def add_security_group(
        self, name: str, rules: tuple[Mapping[str, Any], ...] = (), description: str = ""
    ) -> str:
        """Create a group directly (as if made in the portal) and return its id.

        Rules are ``POST /security-group/{id}/rules`` bodies; a ``security-group`` source
        may name a group (``{"name": name}`` for the group itself).
        """
        with self._lock:
            group_id = self._create_group(name, description)
            for rule in rules:
                self._add_rule(group_id, dict(rule))
            return group_id

    # -- seed ------------------------------------------------------------------------------

    def _seed(self) -> None:
        for family, size, cpus, memory_gib, authorized in _INSTANCE_TYPES:
            type_id = str(uuid.uuid5(_NAMESPACE, f"instance-type/{family}.{size}"))
            self._instance_types[type_id] = {
                "id": type_id,
                "family": family,
                "size": size,
                "cpus": cpus,
                "memory": int(memory_gib * GIB),
                "authorized": authorized,
                "zones": list(self.zones),
            }
        for name, user in _TEMPLATES:
            template_id = str(uuid.uuid5(_NAMESPACE, f"template/{name}"))
            self._templates[template_id] = {
                "id": template_id,
                "name": name,
                "description": name,
                "family": user,
                "default-user": user,
                "size": 10 * GIB,
                "visibility": "public",
                "boot-mode": "legacy",
                "ssh-key-enabled": True,
                "password-enabled": True,
                "created-at": "2025-01-01T00:00:00Z",
                "zones": list(self.zones),
            }

    # -- request handling --------------------------------------------------------------------

    def _serve(
        self, method: str, target: str, body: bytes, authorization: str | None
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        if self.latency:
            time.sleep(self.latency)
        parts = urlsplit(target)
        segments = parts.path.split("/", 3)
        if len(segments) < 3 or segments[1] not in self.zones or segments[2] != "v2":
            return 404, {"message": f"no such endpoint: {parts.path}"}, {}
        zone = segments[1]
        api_path = "/" + (segments[3] if len(segments) > 3 else "")

        hang = self._take(self._hangs, method, api_path)
        if hang is not None:
            # stop() releases the wait, so a hung handler never outlives its sandbox.
            self._stopping.wait(hang.hang)
        fault = self._take(self._faults, method, api_path)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.status in (429, 503) else {}
            phrase = HTTPStatus(fault.status).phrase
            return fault.status, {"message": f"{phrase} (injected by the sandbox)"}, headers

        try:
            route = self._spec.route(method, api_path)
        except MethodNotAllowed as exc:
            return 405, {"message": str(exc)}, {}
        if route is None:
            return 404, {"message": f"no such endpoint: {api_path}"}, {}

        # The zone list is public; a signed request for it is still checked.
        if route.operation_id != "list-zones" or authorization:
            try:
                verify(method, target, body, authorization, self._credentials, time.time())
            except SignatureError as exc:
                return 403, {"message": f"Authentication failed: {exc}"}, {}

        payload: Any = None
        if self._spec.has_body(route.operation_id):
            if body:
                try:
                    payload = json.loads(body)
                except ValueError:
                    return 400, {"message": "the request body is not valid JSON"}, {}
            problems = self._spec.body_errors(route.operation_id, payload)
            if problems:
                return 400, {"message": "Invalid request: " + "; ".join(problems)}, {}
        query = parse_qs(parts.query)
        problems = self._spec.query_errors(route.operation_id, query)
        if problems:
            return 400, {"message": "Invalid request: " + "; ".join(problems)}, {}

        handler = getattr(self, "_op_" + route.operation_id.replace("-", "_"), None)
        if handler is None:
            message = f"the sandbox does not implement {route.operation_id}"
            return 501, {"message": message}, {}
        try:
            with self._lock:
                result = handler(zone=zone, query=query, body=payload, **route.params)
        except _ApiError as exc:
            return exc.status, {"message": exc.message}, {}
        return 200, result, {}

    def _take(self, faults: list[_Fault], method: str, api_path: str) -> _Fault | None:
        with self._lock:
            for fault in faults:
                if fault.remaining > 0 and fault.matches(method, api_path):
                    fault.remaining -= 1
                    return fault
        return None

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.calls.append((method, target, status))

    # -- operations ------------------------------------------------------------------------

    def _operation(
        self,
        command: str,
        ref_id: str,
        link: str,
        *,
        failing: bool,
        message: str = "",
    ) -> dict[str, Any]:
        op_id = str(uuid.uuid4())
        body = {
            "id": op_id,
            "state": "pending",
            "reference": {"id": ref_id, "link": link, "command": command},
        }
        op = _Operation(body, time.monotonic() + self.operation_delay, "success")
        if failing:
            op.final = "failure"
            op.extra = {"reason": "fault", "message": message or f"{command} failed"}
        self._operations[op_id] = op
        if not self.operation_delay:
            self._settle(op)
        return copy.deepcopy(op.body)

    def _take_failure(self) -> bool:
        if self._failing_operations > 0:
            self._failing_operations -= 1
            return True
        return False

    def _settle(self, op: _Operation) -> None:
        # The change itself was made (or refused) when the call came in; only the state waits.
        if op.body["state"] == "pending" and time.monotonic() >= op.ready_at:
            op.body["state"] = op.final
            op.body.update(op.extra)

    def _op_get_operation(self, *, zone, query, body, id):
        op = _found(self._operations, id, "Operation")
        self._settle(op)
        return copy.deepcopy(op.body)

    def _schedule(self, delay: float, action: Callable[[], None]) -> None:
        if self._stopping.is_set():
            return
        timer = threading.Timer(max(delay, 0.0), action)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()]
        self._timers.append(timer)
        timer.start()

    # -- zones, instance types, templates ----------------------------------------------------

    def _op_list_zones(self, *, zone, query, body):
        return {
            "zones": [
                {"name": z, "api-endpoint": f"http://127.0.0.1:{self.port}/{z}/v2"}
                for z in self.zones
            ]
        }

    def _op_list_instance_types(self, *, zone, query, body):
        return {"instance-types": [copy.deepcopy(t) for t in self._instance_types.values()]}

    def _op_get_instance_type(self, *, zone, query, body, id):
        return copy.deepcopy(_found(self._instance_types, id, "Instance type"))

    def _op_list_templates(self, *, zone, query, body):
        visibility = query.get("visibility", ["public"])[0]
        return {
            "templates": [
                copy.deepcopy(t)
                for t in self._templates.values()
                if t["visibility"] == visibility and zone in t["zones"]
            ]
        }

    # -- security groups -------------------------------------------------------------------

    def _create_group(self, name: str, description: str) -> str:
        if any(g["name"] == name for g in self._groups.values()):
            raise _ApiError(409, f"a Security Group named {name} already exists")
        group_id = str(uuid.uuid4())
        self._groups[group_id] = {
            "id": group_id,
            "name": name,
            "description": description,
            "rules": [],
        }
        return group_id

    def _group_ref(self, source: Mapping[str, Any]) -> dict[str, str]:
        wanted = source.get("id") or source.get("name")
        if source.get("id"):
            group = self._groups.get(wanted)
        else:
            group = next((g for g in self._groups.values() if g["name"] == wanted), None)
        if group is None:
            raise _ApiError(404, f"Security Group {wanted} not found")
        return {"id": group["id"], "name": group["name"]}

    def _add_rule(self, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        protocol = body["protocol"]
        has_network, has_group = "network" in body, "security-group" in body
        if has_network == has_group:
            raise _ApiError(400, "a rule needs exactly one of network or security-group")
        rule: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "flow-direction": body["flow-direction"],
            "protocol": protocol,
        }
        if "description" in body:
            rule["description"] = body["description"]
        if protocol in ("tcp", "udp"):
            start, end = body.get("start-port"), body.get("end-port")
            if start is None or end is None:
                raise _ApiError(400, f"a {protocol} rule needs start-port and end-port")
            if start > end:
                raise _ApiError(400, "start-port is greater than end-port")
            rule["start-port"], rule["end-port"] = start, end
        elif "start-port" in body or "end-port" in body:
            raise _ApiError(400, f"a {protocol} rule takes no ports")
        if protocol in ("icmp", "icmpv6"):
            icmp = body.get("icmp") or {}
            rule["icmp"] = {"type": icmp.get("type", -1), "code": icmp.get("code", -1)}
        if has_network:
            try:
                rule["network"] = str(ipaddress.ip_network(body["network"], strict=False))
            except ValueError:
                raise _ApiError(400, f"network {body['network']!r} is not a CIDR") from None
        else:
            rule["security-group"] = self._group_ref(body["security-group"])
        self._groups[group_id]["rules"].append(rule)
        return rule

    def _op_list_security_groups(self, *, zone, query, body):
        return {"security-groups": [copy.deepcopy(g) for g in self._groups.values()]}

    def _op_get_security_group(self, *, zone, query, body, id):
        return copy.deepcopy(_found(self._groups, id, "Security Group"))

    def _op_create_security_group(self, *, zone, query, body):
        failing = self._take_failure()
        if failing:
            group_id = str(uuid.uuid4())
        else:
            group_id = self._create_group(body["name"], body.get("description", ""))
        return self._operation(
            "get-security-group", group_id, f"/v2/security-group/{group_id}", failing=failing
        )

    def _op_add_rule_to_security_group(self, *, zone, query, body, id):
        _found(self._groups, id, "Security Group")
        failing = self._take_failure()
        if not failing:
            self._add_rule(id, body)
        return self._operation(
            "get-security-group", id, f"/v2/security-group/{id}", failing=failing
        )

    # -- instances ---------------------------------------------------------------------------

    def _next_ip(self) -> str:
        index = self._ip_counter
        self._ip_counter += 1
        pool = _IP_POOLS[(index // 254) % len(_IP_POOLS)]
        return f"{pool}.{index % 254 + 1}"

    def _instance_in(self, zone: str, instance_id: str) -> dict[str, Any]:
        instance = self._instances.get(instance_id)
        if instance is None or instance["zone"] != zone:
            raise _ApiError(404, f"Instance {instance_id} not found")
        return instance

    def _public_view(self, instance: dict[str, Any], *, with_user_data: bool) -> dict[str, Any]:
        view = copy.deepcopy(instance)
        view.pop("zone", None)
        if not with_user_data:
            view.pop("user-data", None)
        return view

    def _op_create_instance(self, *, zone, query, body):
        type_id = body["instance-type"].get("id")
        instance_type = _found(self._instance_types, type_id, "Instance type")
        type_name = f"{instance_type['family']}.{instance_type['size']}"
        if zone not in instance_type["zones"]:
            raise _ApiError(400, f"Instance type {type_name} is not available in zone {zone}")
        if not instance_type["authorized"]:
            raise _ApiError(400, f"Instance type {type_name} needs an authorization from support")
        template = self._templates.get(body["template"].get("id"))
        if template is None or zone not in template["zones"]:
            raise _ApiError(404, f"Template {body['template'].get('id')} not found in {zone}")
        minimum = -(-template["size"] // GIB)
        if body["disk-size"] < minimum:
            raise _ApiError(400, f"disk-size must be at least {minimum} GiB for this template")
        groups = [self._group_ref(ref) for ref in body.get("security-groups", [])]
        user_data = body.get("user-data")
        if user_data is not None:
            try:
                base64.b64decode(user_data, validate=True)
            except binascii.Error:
                raise _ApiError(400, "user-data is not valid base64") from None

        instance_id = str(uuid.uuid4())
        failing = self._take_failure()
        if not failing:
            assignment = body.get("public-ip-assignment", "inet4")
            instance = {
                "id": instance_id,
                "name": body.get("name") or f"vm-{instance_id[:8]}",
                "state": "starting",
                "zone": zone,
                "created-at": _now_iso(),
                "instance-type": {"id": type_id},
                "template": {"id": template["id"]},
                "disk-size": body["disk-size"],
                "security-groups": [{"id": g["id"]} for g in groups],
                "labels": dict(body.get("labels") or {}),
                "public-ip-assignment": assignment,
                "public-ip": self._next_ip() if assignment in ("inet4", "dual") else None,
                "ssh-keys": list(body.get("ssh-keys") or []),
            }
            if user_data is not None:
                instance["user-data"] = user_data
            self._instances[instance_id] = instance
            self._schedule(self.boot_delay, lambda: self._boot(instance_id))
        return self._operation(
            "get-instance",
            instance_id,
            f"/v2/instance/{instance_id}",
            failing=failing,
            message="the instance could not be created on the host",
        )

    def _boot(self, instance_id: str) -> None:
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or instance["state"] != "starting":
                return
            instance["state"] = "running"
            callbacks = list(self._boot_callbacks)
            group_ids = tuple(ref["id"] for ref in instance["security-groups"])
            rules = tuple(
                copy.deepcopy(rule)
                for gid in group_ids
                if gid in self._groups
                for rule in self._groups[gid]["rules"]
            )
            name, zone, ip = instance["name"], instance["zone"], instance["public-ip"]
            labels = dict(instance["labels"])
            user_data = instance.get("user-data")
        if user_data is None:
            self._boot_failed(name, "the instance has no user-data")
            return
        try:
            argv = agent_argv(user_data, ip or "")
        except CloudInitError as exc:
            # On a real host cloud-init would log this and the agent would never start.
            self._boot_failed(name, str(exc))
            return
        boot = AgentBoot(instance_id, name, zone, ip, argv, rules, labels, group_ids)
        for callback in callbacks:
            try:
                callback(boot)
            except Exception as exc:  # a failing receiver must not stop the others
                log.exception("on_boot callback failed for %s", name)
                with self._lock:
                    self.callback_errors.append((name, exc))

    def _boot_failed(self, name: str, reason: str) -> None:
        with self._lock:
            self.boot_failures.append((name, reason))

    def _op_list_instances(self, *, zone, query, body):
        wanted: dict[str, str] = {}
        for raw in query.get("labels", []):
            for pair in raw.split():
                key, _, value = pair.partition("=")
                wanted[key] = value
        return {
            "instances": [
                self._public_view(i, with_user_data=False)
                for i in self._instances.values()
                if i["zone"] == zone and all(i["labels"].get(k) == v for k, v in wanted.items())
            ]
        }

    def _op_get_instance(self, *, zone, query, body, id):
        return self._public_view(self._instance_in(zone, id), with_user_data=True)

    def _op_delete_instance(self, *, zone, query, body, id):
        instance = self._instance_in(zone, id)
        failing = self._take_failure()
        if not failing:
            instance["state"] = "destroying"

            def forget() -> None:
                with self._lock:
                    self._instances.pop(id, None)

            self._schedule(self.operation_delay, forget)
        return self._operation("get-instance", id, f"/v2/instance/{id}", failing=failing)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up on a kept-alive connection (a timeout test) is no error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the sandbox and writes its JSON answer."""

    sandbox: ExoscaleSandbox
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each answer would wait for a
    # delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server_version = "ExoscaleSandbox/1"

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.sandbox._enter()
        try:
            status, payload, headers = self.sandbox._serve(
                method, self.path, body, self.headers.get("Authorization")
            )
        except Exception:
            log.exception("sandbox failed on %s %s", method, self.path)
            status, payload, headers = 500, {"message": "sandbox error"}, {}
        finally:
            self.sandbox._leave()
        self.sandbox._record(method, self.path, status)
        data = json.dumps(payload).encode() if payload is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test); nothing is left to tell it.
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("exoscale sandbox: " + format, *args)
