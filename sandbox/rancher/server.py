"""A local Rancher server speaking the subsets the bot uses, with faults on demand.

Rancher 1.6 (v2-beta, HTTP basic auth): registration tokens, paginated hosts (with Rancher's
collection shape), host deactivate/delete, and agent registration driven by the Exoscale
sandbox's boot callback::

    rancher = RancherSandbox("ak", "sk", driver="ipsec")
    url = rancher.start()                 # http://127.0.0.1:<port>, API at /v2-beta
    exoscale.on_boot(rancher.boot)        # instances that reach running start the agent
    rancher.fail_next(503, count=2); rancher.down(1.5)
    rancher.stop()

Rancher 2.x (v3, bearer tokens) when given ``token=``/``tokens=`` and ``clusters=``: clusters,
cluster registration tokens, paginated nodes; ``boot`` then also registers nodes from 2.x node
commands (see ``v3.py``). Faults, latency and downtime apply to both APIs alike.

State changes follow the clock: every read first applies the transitions that are due, so the
server needs no timers for them and a test sees the same sequence whatever its thread timing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..listener import Listener
from .agent import CommandRefused, parse_agent_command
from .api import (
    MAX_PAGE_SIZE,
    ApiError,
    by_number,
    collection_json,
    error_json,
    iso,
    json_body,
    only,
    page_limit,
)
from .network import DRIVERS, NeededPort, missing_ports
from .node_agent import INSTALL_SCRIPT, is_node_command
from .v3 import DEFAULT_AGENT_IMAGE_V2, V3Api

__all__ = ["DEFAULT_AGENT_IMAGE", "RancherSandbox", "Refusal"]

DEFAULT_AGENT_IMAGE = "rancher/agent:v1.2.11"
_HOST_ID = re.compile(r"^1h(\d+)$")
_TOKEN_ID = re.compile(r"^1c(\d+)$")
_SCRIPT_PATH = re.compile(r"^/v1/scripts/([^/]+)$")
_NOT_DEACTIVATABLE = ("inactive", "deactivating", "removing", "removed")
_AUTH_REALM = 'Basic realm="Enter API access key and secret key as username and password"'


@dataclass(frozen=True)
class Refusal:
    """A boot whose agent command would not have registered a host, and why."""

    instance_id: str | None
    name: str
    reason: str


@dataclass
class _Token:
    number: int
    token: str
    created: float
    active_at: float
    state: str = "registering"


@dataclass
class _Host:
    number: int
    hostname: str
    ip: str | None
    labels: dict[str, str]
    state: str
    agent_state: str | None
    created: float
    instance_id: str | None = None
    removed_at: float | None = None
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    # (monotonic time, state, agentState, removed?) still to come, in order.
    timeline: list[tuple[float, str, str | None, bool]] = field(default_factory=list)


@dataclass
class _PendingBoot:
    visible_at: float
    instance_id: str | None
    hostname: str
    ip: str | None
    labels: dict[str, str]
    missing: tuple[NeededPort, ...]


@dataclass
class _Fault:
    status: int
    remaining: int
    method: str | None
    path: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: RancherSandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is a normal event under injected latency.
        return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "RancherSandbox/1.6"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.sandbox._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.sandbox._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.sandbox._handle(self, "DELETE")

    def do_PUT(self) -> None:
        self.server.sandbox._handle(self, "PUT")


class RancherSandbox:
    """A Rancher stand-in on 127.0.0.1, with an agent registration oracle.

    Rancher 1.6: one project, keys ``access_key``/``secret_key`` (without them v2-beta refuses
    every request). Rancher 2.x: ``token``/``tokens`` are the accepted bearer tokens and
    ``clusters`` the seeded clusters, ``{"id": "c-abc12", "name": "prod", "kind": "rke2"}``
    (kind rke1, rke2, k3s, or imported for one that takes no custom nodes).

    ``token_delay``: a new registration token stays ``registering`` (1.6) or ``pending`` without
    a node command (2.x) this long. ``register_delay``: from an accepted boot to the host or node
    showing up (``registering``); ``activate_delay``: each later step (active, then reconnecting
    and disconnected (1.6) or unavailable (2.x) when a needed port is shut; deactivating to
    inactive; removing to removed). ``page_size``: hosts or nodes per page without ``limit``.
    """

    def __init__(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        project_id: str = "1a5",
        *,
        driver: str = "ipsec",
        register_delay: float = 0.1,
        activate_delay: float = 0.1,
        token_delay: float = 0.1,
        page_size: int = 100,
        agent_image: str = DEFAULT_AGENT_IMAGE,
        advertised_url: str | None = None,
        token: str | None = None,
        tokens: Iterable[str] = (),
        clusters: Sequence[Mapping[str, Any]] = (),
        agent_image_v2: str = DEFAULT_AGENT_IMAGE_V2,
    ) -> None:
        if driver not in DRIVERS:
            raise ValueError(f"driver must be one of {DRIVERS}, not {driver!r}")
        self.access_key = access_key
        self._secret_key = secret_key
        self.project_id = project_id
        self.driver = driver
        self.register_delay = register_delay
        self.activate_delay = activate_delay
        self.token_delay = token_delay
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.agent_image = agent_image
        # What Rancher believes its own URL is (its api.host setting): behind a proxy, the links
        # it writes need not match the URL a client used.
        self.advertised_url = advertised_url.rstrip("/") if advertised_url else None
        self.latency = 0.0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._tokens: dict[int, _Token] = {}
        self._hosts: dict[int, _Host] = {}
        self._pending: list[_PendingBoot] = []
        self._refused: list[Refusal] = []
        self._calls: list[tuple[str, str, int]] = []
        self._faults: list[_Fault] = []
        self._next_number = 1
        self._down_until = 0.0
        self._listener: Listener | None = None
        self._relisten_timer: threading.Timer | None = None
        self._port = 0
        bearer = [*tokens, *([token] if token else [])]
        self._v3 = V3Api(self, tokens=bearer, clusters=clusters, agent_image=agent_image_v2)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port) and return the base URL; the API is at /v2-beta."""
        self._stopping.clear()
        self._listen(0)
        return self.url

    def stop(self) -> None:
        """Stop listening and wake any reply held back by ``latency``."""
        self._stopping.set()
        with self._lock:
            timer, self._relisten_timer = self._relisten_timer, None
        if timer is not None:
            timer.cancel()
        self._close_listener()

    def __enter__(self) -> RancherSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def public_url(self) -> str:
        """The base URL written into links and registration URLs."""
        return self.advertised_url or self.url

    def _listen(self, port: int) -> None:
        listener = Listener(_Server(("127.0.0.1", port), self))
        self._port = listener.port
        with self._lock:
            self._listener = listener

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _relisten(self) -> None:
        if self._stopping.is_set() or self._listener is not None:
            return
        # The port was ours a moment ago; SO_REUSEADDR lets us take it back, but allow for a
        # short race with the kernel releasing it.
        for _ in range(50):
            try:
                self._listen(self._port)
            except OSError:
                if self._stopping.wait(0.02):
                    return
                continue
            if self._stopping.is_set():  # stop() ran while we were coming back
                self._close_listener()
            return
        raise RuntimeError(f"sandbox could not listen on port {self._port} again")

    # -- faults and observation ------------------------------------------------------------

    def fail_next(
        self, status: int, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next ``count`` requests (of one method/path, if given) with ``status``."""
        with self._lock:
            self._faults.append(_Fault(status, count, method, path))

    def down(self, seconds: float, *, mode: str = "refuse") -> None:
        """Be unavailable for ``seconds``: connections refused (``"refuse"``) or 503 (``"503"``)."""
        if mode == "503":
            with self._lock:
                self._down_until = time.monotonic() + seconds
            return
        if mode != "refuse":
            raise ValueError("mode must be 'refuse' or '503'")
        self._close_listener()
        timer = threading.Timer(seconds, self._relisten)
        timer.daemon = True
        with self._lock:
            previous, self._relisten_timer = self._relisten_timer, timer
        if previous is not None:
            previous.cancel()
        timer.start()

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        """Every request answered, as (method, path without query, status)."""
        with self._lock:
            return list(self._calls)

    def call_counts(self) -> Counter[tuple[str, str]]:
        """How many requests each (method, path) received."""
        with self._lock:
            return Counter((method, path) for method, path, _ in self._calls)

    def calls_to(self, path: str, method: str | None = None) -> int:
        """How many requests reached ``path`` (trailing slash ignored), of ``method`` if given."""
        path = path.rstrip("/")
        with self._lock:
            return sum(
                1 for m, p, _ in self._calls if p == path and (method is None or m == method)
            )

    @property
    def refused(self) -> list[Refusal]:
        """Boots whose agent command was refused, oldest first."""
        with self._lock:
            return list(self._refused)

    @property
    def hosts(self) -> list[dict[str, Any]]:
        """Every host as the API shows it now (removed ones included), by id."""
        with self._lock:
            self._advance()
            return [self._host_json(h) for h in sorted(self._hosts.values(), key=by_number)]

    @property
    def tokens(self) -> list[dict[str, Any]]:
        """Every registration token as the API shows it now."""
        with self._lock:
            self._advance()
            return [self._token_json(t) for t in sorted(self._tokens.values(), key=by_number)]

    @property
    def clusters(self) -> list[dict[str, Any]]:
        """Every seeded 2.x cluster as GET /v3/clusters shows it."""
        with self._lock:
            return self._v3.clusters_json()

    @property
    def cluster_tokens(self) -> list[dict[str, Any]]:
        """Every 2.x cluster registration token as the API shows it now."""
        with self._lock:
            self._v3.advance()
            return self._v3.tokens_json()

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """Every 2.x node as GET /v3/nodes shows it now (deleted ones gone), by id."""
        with self._lock:
            self._v3.advance()
            return self._v3.nodes_json()

    def add_node(
        self,
        cluster_id: str,
        hostname: str,
        *,
        state: str = "active",
        roles: Sequence[str] = ("worker",),
        ip: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Put a node straight into a 2.x cluster (no agent involved), for listing tests."""
        with self._lock:
            return self._v3.add_node(
                cluster_id, hostname, state=state, roles=roles, ip=ip, labels=labels
            )

    def add_host(
        self,
        hostname: str,
        *,
        state: str = "active",
        agent_state: str | None = "active",
        ip: str | None = None,
        labels: dict[str, str] | None = None,
        removed: bool = False,
    ) -> dict[str, Any]:
        """Put a host straight into the project (no agent involved), for listing tests."""
        with self._lock:
            host = _Host(
                number=self._take_number(),
                hostname=hostname,
                ip=ip,
                labels=dict(labels or {}),
                state=state,
                agent_state=agent_state,
                created=time.time(),
                removed_at=time.time() if removed else None,
            )
            self._hosts[host.number] = host
            return self._host_json(host)

    # -- agent registration ----------------------------------------------------------------

    def boot(self, agent_boot: Any) -> None:
        """Run an instance's agent command: register a host or node, or record why it would not.

        A Rancher 2.x node command (``system-agent-install.sh`` or ``rancher/rancher-agent``)
        registers a node in its token's cluster; anything else is read as a 1.6 agent command.
        """
        instance_id = getattr(agent_boot, "instance_id", None)
        name = agent_boot.name
        if is_node_command(tuple(agent_boot.argv)):
            with self._lock:
                self._v3.advance()
                try:
                    self._v3.boot(agent_boot)
                except CommandRefused as exc:
                    self._refused.append(Refusal(instance_id, name, str(exc)))
            return
        try:
            command = parse_agent_command(tuple(agent_boot.argv))
            self._check_registration_url(command.registration_url)
        except CommandRefused as exc:
            with self._lock:
                self._refused.append(Refusal(instance_id, name, str(exc)))
            return
        missing = missing_ports(
            getattr(agent_boot, "rules", ()) or (),
            group_ids=_group_ids(agent_boot),
            driver=self.driver,
        )
        with self._lock:
            # A rebooted instance's agent finds its identity in /var/lib/rancher and reconnects
            # as the same host instead of registering a second one.
            if instance_id is not None and (
                any(p.instance_id == instance_id for p in self._pending)
                or any(
                    h.instance_id == instance_id and h.removed_at is None
                    for h in self._hosts.values()
                )
            ):
                return
            self._pending.append(
                _PendingBoot(
                    visible_at=time.monotonic() + self.register_delay,
                    instance_id=instance_id,
                    hostname=name,
                    ip=command.agent_ip or getattr(agent_boot, "public_ip", None),
                    labels=command.labels,
                    missing=missing,
                )
            )

    def _serves(self, url: str) -> bool:
        """Whether ``url`` points at this server, by its loopback or its public address."""
        parts = urlsplit(url)
        ours = {("http", f"127.0.0.1:{self._port}"), ("http", f"localhost:{self._port}")}
        public = urlsplit(self.public_url)
        ours.add((public.scheme, public.netloc))
        return (parts.scheme, parts.netloc) in ours

    def _check_registration_url(self, url: str) -> None:
        if not self._serves(url):
            raise CommandRefused(
                f"registration URL {url!r} does not point at this Rancher server "
                f"({self.public_url})"
            )
        match = _SCRIPT_PATH.match(urlsplit(url).path)
        if match is None:
            raise CommandRefused(f"registration URL {url!r} is not a /v1/scripts/<token> URL")
        with self._lock:
            self._advance()
            token = next((t for t in self._tokens.values() if t.token == match.group(1)), None)
        if token is None:
            raise CommandRefused("the registration token in the URL was not issued by this server")
        if token.state != "active":
            raise CommandRefused(f"registration token 1c{token.number} is {token.state}")

    # -- clock-driven state ----------------------------------------------------------------

    def _take_number(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def _advance(self) -> None:
        now = time.monotonic()
        for token in self._tokens.values():
            if token.state == "registering" and now >= token.active_at:
                token.state = "active"
        due = sorted((p for p in self._pending if p.visible_at <= now), key=lambda p: p.visible_at)
        for boot in due:
            self._pending.remove(boot)
            step = self.activate_delay
            timeline = [(boot.visible_at + step, "active", "active", False)]
            if boot.missing:
                # The agent connects, then the overlay network cannot reach its peers.
                timeline += [
                    (boot.visible_at + 2 * step, "reconnecting", "reconnecting", False),
                    (boot.visible_at + 3 * step, "disconnected", "disconnected", False),
                ]
            host = _Host(
                number=self._take_number(),
                hostname=boot.hostname,
                ip=boot.ip,
                labels=boot.labels,
                state="registering",
                agent_state=None,
                created=time.time(),
                instance_id=boot.instance_id,
                timeline=timeline,
            )
            self._hosts[host.number] = host
        for host in self._hosts.values():
            while host.timeline and host.timeline[0][0] <= now:
                _, host.state, host.agent_state, removed = host.timeline.pop(0)
                if removed:
                    host.removed_at = time.time()

    # -- HTTP ------------------------------------------------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        if self.latency > 0 and self._stopping.wait(self.latency):
            return
        headers: dict[str, str] = {}
        try:
            self._check_faults(method, path)
            script = _SCRIPT_PATH.match(path)
            if script is not None:
                status, body = self._script(method, script.group(1))
            elif self._v3.enabled and path == INSTALL_SCRIPT:
                only(method, "GET")
                status, body = 200, self._v3.install_script()
            elif self._v3.enabled and (path == "/v3" or path.startswith("/v3/")):
                with self._lock:
                    status, body = self._v3.handle(
                        method, path, query, raw_body, handler.headers.get("Authorization")
                    )
            else:
                self._check_auth(handler.headers.get("Authorization"), headers)
                status, body = self._route(method, path, query, raw_body)
        except ApiError as exc:
            status, body = exc.status, error_json(exc)
        with self._lock:
            self._calls.append((method, path, status))
        if isinstance(body, str):
            payload, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("X-Api-Schemas", f"{self.public_url}/v2-beta/schemas")
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _check_faults(self, method: str, path: str) -> None:
        with self._lock:
            if time.monotonic() < self._down_until:
                raise ApiError(503, "ServiceUnavailable", "Rancher is starting up")
            for fault in self._faults:
                if (fault.method is None or fault.method == method) and (
                    fault.path is None or fault.path.rstrip("/") == path
                ):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    code = "ServiceUnavailable" if fault.status >= 500 else "InjectedFault"
                    raise ApiError(fault.status, code, f"injected HTTP {fault.status}")

    def _check_auth(self, header: str | None, headers: dict[str, str]) -> None:
        if self.access_key is None or self._secret_key is None:
            # A 2.x-only sandbox has no 1.6 keys; empty ones must not let "Basic Og==" in.
            headers["WWW-Authenticate"] = _AUTH_REALM
            raise ApiError(401, "Unauthorized", "Unauthorized")
        scheme, _, encoded = (header or "").partition(" ")
        user = password = ""
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
        if not (
            hmac.compare_digest(user.encode(), self.access_key.encode())
            and hmac.compare_digest(password.encode(), self._secret_key.encode())
        ):
            headers["WWW-Authenticate"] = _AUTH_REALM
            raise ApiError(401, "Unauthorized", "Unauthorized")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        segments = path.strip("/").split("/")
        if segments[0] != "v2-beta":
            raise ApiError(404, "NotFound", f"no API at {path}")
        if len(segments) == 1:
            only(method, "GET")
            return 200, self._api_root()
        if segments[1] != "projects" or len(segments) < 3 or segments[2] != self.project_id:
            raise ApiError(404, "NotFound", f"no such resource: {path}")
        rest = segments[3:]
        with self._lock:
            self._advance()
            if not rest:
                only(method, "GET")
                return 200, self._project_json()
            if rest[0] == "registrationtokens":
                return self._tokens_route(method, rest[1:], query, raw_body)
            if rest[0] == "hosts":
                return self._hosts_route(method, rest[1:], query)
        raise ApiError(404, "NotFound", f"no such collection: {path}")

    # -- registration tokens ---------------------------------------------------------------

    def _tokens_route(
        self, method: str, rest: list[str], query: dict[str, list[str]], raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if not rest:
            if method == "POST":
                json_body(raw_body)
                now = time.time()
                token = _Token(
                    number=self._take_number(),
                    token=f"{secrets.token_hex(10).upper()}:{int(now * 1000)}:"
                    f"{secrets.token_urlsafe(24)}",
                    created=now,
                    active_at=time.monotonic() + self.token_delay,
                )
                self._tokens[token.number] = token
                return 201, self._token_json(token)
            only(method, "GET")
            tokens = sorted(self._tokens.values(), key=by_number)
            if "state" in query:
                tokens = [t for t in tokens if t.state == query["state"][0]]
            data = [self._token_json(t) for t in tokens]
            return 200, collection_json(
                f"{self._project_url()}/registrationtokens",
                "registrationToken",
                data,
                None,
                creatable=True,
            )
        match = _TOKEN_ID.match(rest[0])
        token = self._tokens.get(int(match.group(1))) if match and len(rest) == 1 else None
        if token is None:
            raise ApiError(404, "NotFound", f"no registration token {'/'.join(rest)}")
        only(method, "GET")
        return 200, self._token_json(token)

    def _token_json(self, token: _Token) -> dict[str, Any]:
        active = token.state == "active"
        registration_url = f"{self.public_url}/v1/scripts/{token.token}" if active else None
        command = (
            "sudo docker run --rm --privileged -v /var/run/docker.sock:/var/run/docker.sock "
            f"-v /var/lib/rancher:/var/lib/rancher {self.agent_image} {registration_url}"
            if active
            else None
        )
        self_link = f"{self._project_url()}/registrationtokens/1c{token.number}"
        return {
            "id": f"1c{token.number}",
            "type": "registrationToken",
            "links": {"self": self_link, "account": self._project_url()},
            "actions": {},
            "baseType": "credential",
            "name": None,
            "state": token.state,
            "accountId": self.project_id,
            "command": command,
            "created": iso(token.created),
            "createdTS": int(token.created * 1000),
            "description": None,
            "image": self.agent_image if active else None,
            "kind": "registrationToken",
            "registrationUrl": registration_url,
            "removed": None,
            "token": token.token if active else None,
            "transitioning": "no" if active else "yes",
            "transitioningMessage": None if active else "In Progress",
            "transitioningProgress": None,
            "uuid": str(uuid.UUID(int=token.number)),
        }

    def _script(self, method: str, value: str) -> tuple[int, str]:
        only(method, "GET")
        with self._lock:
            self._advance()
            ok = any(t.token == value and t.state == "active" for t in self._tokens.values())
        if not ok:
            raise ApiError(404, "NotFound", "unknown or inactive registration token")
        return 200, "#!/bin/sh\n# rancher agent registration (sandbox)\nexit 0\n"

    # -- hosts -----------------------------------------------------------------------------

    def _hosts_route(
        self, method: str, rest: list[str], query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if not rest:
            only(method, "GET")
            return 200, self._host_page(query)
        match = _HOST_ID.match(rest[0])
        host = self._hosts.get(int(match.group(1))) if match and len(rest) == 1 else None
        if host is None:
            raise ApiError(404, "NotFound", f"no host {'/'.join(rest)}")
        if method == "GET":
            return 200, self._host_json(host)
        if method == "POST":
            action = (query.get("action") or [""])[0]
            if action != "deactivate":
                raise ApiError(404, "InvalidAction", f"no action {action!r} on hosts")
            if host.removed_at is not None or host.state in _NOT_DEACTIVATABLE:
                raise ApiError(409, "InvalidState", f"host 1h{host.number} is {host.state}")
            host.state = "deactivating"
            host.timeline = [(time.monotonic() + self.activate_delay, "inactive", None, False)]
            host.agent_state = None
            return 202, self._host_json(host)
        if method == "DELETE":
            if host.state != "inactive":
                raise ApiError(
                    409, "InvalidState", f"host 1h{host.number} is {host.state}; deactivate it"
                )
            host.state = "removing"
            host.timeline = [(time.monotonic() + self.activate_delay, "removed", None, True)]
            return 202, self._host_json(host)
        raise ApiError(405, "MethodNotAllowed", f"{method} not allowed on a host")

    def _host_page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = page_limit(query, self.page_size)
        after = 0
        if "marker" in query:
            match = _HOST_ID.match(query["marker"][0])
            if match is None:
                raise ApiError(422, "InvalidFormat", "marker is not a host id")
            after = int(match.group(1))
        hosts = [h for h in sorted(self._hosts.values(), key=by_number) if h.number > after]
        page = hosts[:limit]
        more = len(hosts) > limit
        base = f"{self._project_url()}/hosts?limit={limit}"
        pagination = {
            "first": base,
            "previous": None,
            "next": f"{base}&marker=1h{page[-1].number}" if more else None,
            "limit": limit,
            "total": None,
            "partial": more,
        }
        data = [self._host_json(h) for h in page]
        return collection_json(f"{self._project_url()}/hosts", "host", data, pagination)

    def _host_json(self, host: _Host) -> dict[str, Any]:
        self_link = f"{self._project_url()}/hosts/1h{host.number}"
        actions: dict[str, str] = {}
        if host.removed_at is None and host.state not in _NOT_DEACTIVATABLE:
            actions["deactivate"] = f"{self_link}/?action=deactivate"
        if host.state == "inactive":
            actions["remove"] = f"{self_link}/?action=remove"
        return {
            "id": f"1h{host.number}",
            "type": "host",
            "links": {
                "self": self_link,
                "account": self._project_url(),
                "instances": f"{self_link}/instances",
                "stats": f"{self_link}/stats",
            },
            "actions": actions,
            "baseType": "host",
            "name": None,
            "state": host.state,
            "accountId": self.project_id,
            "agentIpAddress": host.ip,
            "agentState": host.agent_state,
            "created": iso(host.created),
            "createdTS": int(host.created * 1000),
            "description": None,
            "hostname": host.hostname,
            "kind": "host",
            "labels": dict(host.labels),
            "removed": iso(host.removed_at) if host.removed_at is not None else None,
            "transitioning": "yes" if host.state.endswith("ing") else "no",
            "transitioningMessage": None,
            "transitioningProgress": None,
            "uuid": host.uuid,
        }

    # -- shapes ----------------------------------------------------------------------------

    def _project_url(self) -> str:
        return f"{self.public_url}/v2-beta/projects/{self.project_id}"

    def _api_root(self) -> dict[str, Any]:
        root = f"{self.public_url}/v2-beta"
        return {
            "id": "v2-beta",
            "type": "apiVersion",
            "links": {"self": root, "projects": f"{root}/projects", "schemas": f"{root}/schemas"},
            "actions": {},
        }

    def _project_json(self) -> dict[str, Any]:
        url = self._project_url()
        return {
            "id": self.project_id,
            "type": "project",
            "links": {
                "self": url,
                "hosts": f"{url}/hosts",
                "registrationTokens": f"{url}/registrationtokens",
            },
            "actions": {},
            "baseType": "project",
            "name": "Default",
            "state": "active",
            "kind": "project",
            "removed": None,
        }


def _group_ids(agent_boot: Any) -> frozenset[str] | None:
    ids = getattr(agent_boot, "security_group_ids", None)
    if ids is None:
        single = getattr(agent_boot, "security_group_id", None)
        ids = (single,) if single else None
    return frozenset(ids) if ids is not None else None
