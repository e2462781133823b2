"""Exoscale API v2 for the bot: hosts, security groups, templates, over the official SDK.

One ``ExoscaleClient`` per (API key, zone). Every HTTP call goes through the SDK's requests
session, given a timeout and retries with backoff for calls that are safe to repeat (GET,
DELETE, HEAD on 429, 5xx and connection errors; a POST is never sent twice). SDK and requests
errors are translated here into ``provisioning.errors`` types whose message a person can act
on; the API secret never appears in a message, a repr or a log line::

    client = ExoscaleClient(key, secret, "ch-gva-2")
    client.check_credentials()
    group = client.ensure_standard_group("ipsec").group
    group = client.ensure_standard_group(required_ports_v2("rke2", roles), driver="rke2").group
    results = client.create_instances(specs)     # parallel, idempotent, one CreateResult each

``endpoint`` replaces ``https://api-{zone}.exoscale.com/v2`` (``EXOSCALE_API_ENDPOINT``); a
``{zone}`` in it is filled with the zone, which is how the sandbox serves every zone.
"""

from __future__ import annotations

import difflib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from exoscale.api.exceptions import (
    ExoscaleAPIAuthException,
    ExoscaleAPIClientException,
    ExoscaleAPIException,
    ExoscaleAPIServerException,
)
from exoscale.api.v2 import Client as SdkClient
from exoscale.api.v2 import _poll_interval as official_poll_interval
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from commands.ports import (
    STANDARD_GROUP,
    Port,
    PortAudit,
    audit_ports,
    required_ports,
    rules_for,
    standard_group_rules,
)
from commands.userdata import HOST_LABEL, encode_user_data
from provisioning.errors import (
    ExoscaleAuthError,
    ExoscaleError,
    ExoscaleRefused,
    ExoscaleUnavailable,
    OperationFailed,
    ProvisioningError,
)
from provisioning.http import TimeoutAdapter

__all__ = [
    "DEFAULT_ENDPOINT",
    "CreateResult",
    "ExoscaleClient",
    "GroupAudit",
    "Instance",
    "InstanceSpec",
    "InstanceType",
    "SecurityGroup",
    "Template",
    "official_poll_interval",
]

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://api-{zone}.exoscale.com/v2"
GIB = 2**30
ZONES: tuple[str, ...] = tuple(SdkClient._api_spec["servers"][0]["variables"]["zone"]["enum"])
STANDARD_GROUP_DESCRIPTION = "Rancher hosts (rancher-exoscale-bot): the ports the agent needs"

RETRY_AFTER_MAX = 30.0  # seconds: the longest Retry-After a retry waits for
_IDEMPOTENT_METHODS = frozenset({"GET", "DELETE", "HEAD"})
_RETRY_STATUSES = (429, 500, 502, 503, 504)
# Instances on their way out cannot be reused for a host; a new one is created instead.
_GONE_STATES = frozenset({"destroying", "destroyed", "expunging"})


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceType:
    """An instance type offered in the zone; ``name`` is ``family.size`` (standard.medium)."""

    id: str
    name: str
    cpus: int
    memory_gib: float


@dataclass(frozen=True)
class Template:
    """A public template available in the zone; ``size_gib`` is the smallest disk it fits."""

    id: str
    name: str
    size_gib: int
    default_user: str | None


@dataclass(frozen=True)
class SecurityGroup:
    """A security group with its rules as Exoscale returns them."""

    id: str
    name: str
    description: str
    rules: tuple[dict, ...]


# What a group is checked against: a Rancher 1.6 networking driver ("ipsec", "vxlan") or the
# ports themselves (Rancher 2.x: commands.ports.required_ports_v2(kind, roles)).
Required = str | Sequence[Port]


@dataclass(frozen=True)
class GroupAudit:
    """A group checked against required ports; ``added``: ports this call opened."""

    group: SecurityGroup
    audit: PortAudit
    created: bool
    added: tuple[Port, ...]


@dataclass(frozen=True)
class Instance:
    """A compute instance: state (starting, running, ...), public IPv4 once assigned."""

    id: str
    name: str
    state: str
    public_ip: str | None
    labels: dict = field(hash=False)
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class InstanceSpec:
    """One host to create; ``user_data`` is the cloud-config text (encoded here).

    ``labels`` must carry ``HOST_LABEL``: it is how a retry finds the instance again.
    """

    name: str
    instance_type_id: str
    template_id: str
    disk_size: int
    security_group_id: str
    user_data: str
    labels: dict = field(hash=False)


@dataclass(frozen=True)
class CreateResult:
    """What became of one spec: the instance (new or reused) or why there is none."""

    name: str
    instance_id: str | None
    created: bool
    error: str | None
    # True when a later attempt may succeed (Exoscale busy or unreachable), so the host waits.
    retryable: bool = False


# -- HTTP plumbing -------------------------------------------------------------------------


class _IdempotentRetry(Retry):
    """urllib3's Retry, except that a non-idempotent request is never retried at all.

    urllib3 retries connection errors whatever the method; a POST here is sent at most once,
    the retry of a creation is ``create_instances`` looking the instance up first.
    """

    def increment(self, method=None, url=None, *args, **kwargs):  # type: ignore[override]
        if method is not None and method.upper() not in _IDEMPOTENT_METHODS:
            return Retry(0, raise_on_status=False).increment(method, url, *args, **kwargs)
        return super().increment(method, url, *args, **kwargs)

    def sleep_for_retry(self, response) -> bool:  # type: ignore[override]
        # urllib3 sleeps whatever Retry-After says; a bot thread should not sleep for an hour.
        retry_after = self.get_retry_after(response)
        if retry_after:
            time.sleep(min(retry_after, RETRY_AFTER_MAX))
            return True
        return False


class _Secret:
    """Holds the API secret so that no repr, traceback local or log line can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"


def _server_message(response: requests.Response | None) -> str:
    if response is None:
        return "no details"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    text = (response.text or "").strip()
    return text[:200] if text else f"HTTP {response.status_code}"


# -- the client ----------------------------------------------------------------------------


class ExoscaleClient:
    """Exoscale API v2 in one zone, returning the dataclasses above.

    ``poll_interval(run_time_s) -> s`` paces Operation polling (default: the official
    clients' 3 s for 30 s, then slower up to 60 s); ``operation_timeout`` bounds each wait.
    """

    def __init__(
        self,
        key: str,
        secret: str,
        zone: str,
        *,
        endpoint: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        poll_interval: Callable[[float], float] | None = None,
        max_parallel: int = 8,
        operation_timeout: float = 900.0,
    ) -> None:
        if endpoint is None and zone not in ZONES:
            raise ValueError(f"unknown Exoscale zone {zone!r}; expected one of {', '.join(ZONES)}")
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.zone = zone
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).replace("{zone}", zone).rstrip("/")
        self._key = key
        self._secret = _Secret(secret)
        self._timeout = timeout
        self._retries = retries
        self._poll_interval = poll_interval or official_poll_interval
        self._operation_timeout = operation_timeout
        self._max_parallel = max_parallel
        retry = _IdempotentRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            status_forcelist=_RETRY_STATUSES,
            allowed_methods=_IDEMPOTENT_METHODS,
            respect_retry_after_header=True,
            # The last answer goes back to the SDK, which turns it into an exception with the
            # server's message; urllib3 would otherwise raise a bare RetryError.
            raise_on_status=False,
        )
        # One adapter (one connection pool) shared by every session this client opens.
        self._adapter = TimeoutAdapter(
            timeout, max_retries=retry, pool_connections=1, pool_maxsize=max_parallel
        )
        # requests sessions are not documented as thread-safe: each call borrows its own.
        self._idle: queue.SimpleQueue[SdkClient] = queue.SimpleQueue()
        self._sessions: list[SdkClient] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ExoscaleClient(zone={self.zone!r}, endpoint={self.endpoint!r}, key={self._key!r})"

    def close(self) -> None:
        """Close every HTTP session and connection the client opened."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for sdk in sessions:
            sdk.http_client.close()
        self._adapter.close()

    def __enter__(self) -> ExoscaleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------------

    @contextmanager
    def _sdk(self) -> Iterator[SdkClient]:
        try:
            sdk = self._idle.get_nowait()
        except queue.Empty:
            sdk = SdkClient(self._key, self._secret.reveal(), url=self.endpoint)
            sdk.http_client.mount("https://", self._adapter)
            sdk.http_client.mount("http://", self._adapter)
            with self._sessions_lock:
                self._sessions.append(sdk)
        try:
            yield sdk
        finally:
            self._idle.put(sdk)

    def _call(self, action: str, operation: str, **kwargs: Any) -> Any:
        """Run one SDK operation; ``action`` completes "to ..." in messages."""
        with self._sdk() as sdk:
            try:
                return getattr(sdk, operation)(**kwargs)
            except ExoscaleAPIException as exc:
                raise self._translate(action, exc) from exc
            except requests.RequestException as exc:
                raise self._unavailable(action, exc) from exc
            except ValueError as exc:
                # A 2xx answer whose body is not JSON (a proxy's page, say).
                raise ExoscaleUnavailable(
                    f"its answer could not be read (asked to {action}): not JSON"
                ) from exc

    def _unavailable(self, action: str, exc: requests.RequestException) -> ExoscaleUnavailable:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        # Read timeouts that used up their retries reach us as a ConnectionError; a refused
        # connection is a ConnectTimeoutError to urllib3, which is no answer from a server.
        no_answer = isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError)
        if no_answer and not isinstance(reason, ConnectTimeoutError):
            return ExoscaleUnavailable(
                f"it did not answer within {self._timeout:g} s (asked to {action}); "
                "try again in a few minutes"
            )
        if isinstance(exc, requests.ConnectionError):
            host = urlsplit(self.endpoint).netloc
            return ExoscaleUnavailable(
                f"could not connect to {host} to {action}: check the zone, "
                "EXOSCALE_API_ENDPOINT and the network"
            )
        return ExoscaleUnavailable(
            f"the request to {action} failed ({type(exc).__name__}); try again in a few minutes"
        )

    def _translate(self, action: str, exc: ExoscaleAPIException) -> ExoscaleError:
        response = exc.response
        status = response.status_code if response is not None else None
        detail = _server_message(response)
        if isinstance(exc, ExoscaleAPIAuthException):
            return ExoscaleAuthError(
                "Exoscale refused the API key: check it on the API keys page of the Exoscale "
                f"portal, and that its role may {action} (Exoscale said: {detail})",
                status=status,
            )
        method = response.request.method if response is not None else None
        retried = f" after {self._retries} retries" if method in _IDEMPOTENT_METHODS else ""
        if status == 429:
            return ExoscaleUnavailable(
                f"it is rate-limiting this API key (HTTP 429{retried}, asked to {action}); "
                "wait a minute and try again",
                status=status,
            )
        if isinstance(exc, ExoscaleAPIServerException) or (status and status >= 500):
            return ExoscaleUnavailable(
                f"it failed to {action} (HTTP {status}{retried}): {detail}; "
                "try again in a few minutes",
                status=status,
            )
        if isinstance(exc, ExoscaleAPIClientException):
            return ExoscaleRefused(f"Exoscale refused to {action}: {detail}", status=status)
        return ExoscaleError(f"Exoscale could not {action}: {detail}", status=status)

    def _wait(self, operation: Mapping[str, Any], action: str) -> dict[str, Any]:
        """Poll an Operation until it succeeds; OperationFailed on failure or timeout."""
        op = dict(operation)
        op_id = op.get("id")
        start = time.monotonic()
        while True:
            state = op.get("state")
            if state == "success":
                return op
            if state in ("failure", "timeout"):
                why = op.get("message") or op.get("reason") or "no reason given"
                raise OperationFailed(
                    f"Exoscale could not {action}: the operation ended in {state} ({why})",
                    operation_id=op_id,
                )
            if state != "pending" or not op_id:
                raise OperationFailed(
                    f"Exoscale could not {action}: unexpected operation state {state!r}",
                    operation_id=op_id,
                )
            elapsed = time.monotonic() - start
            remaining = self._operation_timeout - elapsed
            if remaining <= 0:
                raise OperationFailed(
                    f"Exoscale did not finish the operation to {action} within "
                    f"{self._operation_timeout:g} s (operation {op_id} still pending)",
                    operation_id=op_id,
                )
            time.sleep(max(0.0, min(self._poll_interval(elapsed), remaining)))
            op = self._call(f"check on the operation to {action}", "get_operation", id=op_id)

    def _mutate(self, action: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self._wait(self._call(action, operation, **kwargs), action)

    # -- account and catalogue -------------------------------------------------------------

    def check_credentials(self) -> None:
        """Raise ExoscaleAuthError unless the key and secret are accepted in this zone."""
        self._call("list security groups", "list_security_groups")

    def zones(self) -> tuple[str, ...]:
        """The zones Exoscale lists (an unauthenticated call, like the official client's)."""
        action = "list zones"
        with self._sdk() as sdk:
            try:
                # Not sdk.list_zones(): it bypasses the session, so it has no timeout.
                response = sdk.http_client.get(f"{self.endpoint}/zone", auth=lambda r: r)
                if response.status_code == 403:
                    raise ExoscaleAPIAuthException("list zones", response)
                if response.status_code >= 500:
                    raise ExoscaleAPIServerException("list zones", response)
                if response.status_code >= 400:
                    raise ExoscaleAPIClientException("list zones", response)
                return tuple(z["name"] for z in response.json().get("zones", []))
            except ExoscaleAPIException as exc:
                raise self._translate(action, exc) from exc
            except requests.RequestException as exc:
                raise self._unavailable(action, exc) from exc
            except ValueError as exc:
                raise ExoscaleUnavailable(f"could not {action}: the answer is not JSON") from exc

    def _raw_instance_types(self) -> list[dict[str, Any]]:
        return self._call("list instance types", "list_instance_types").get("instance-types", [])

    def instance_types(self) -> list[InstanceType]:
        """Instance types this account may use in the zone, smallest first within a family."""
        found = [
            _instance_type(raw)
            for raw in self._raw_instance_types()
            if raw.get("authorized", True) is not False and self.zone in raw.get("zones", [])
        ]
        return sorted(found, key=lambda t: (t.name.split(".")[0], t.cpus, t.memory_gib))

    def find_instance_type(self, name: str) -> InstanceType:
        """The type named ``family.size`` (or with that id); ExoscaleRefused if not offered."""
        wanted = name.strip().lower()
        raw_types = self._raw_instance_types()
        for raw in raw_types:
            item = _instance_type(raw)
            if wanted not in (item.name.lower(), item.id):
                continue
            if self.zone not in raw.get("zones", []):
                raise ExoscaleRefused(f"instance type {item.name} is not available in {self.zone}")
            if raw.get("authorized", True) is False:
                raise ExoscaleRefused(
                    f"instance type {item.name} needs an authorization from Exoscale support"
                )
            return item
        offered = [t.name for t in self.instance_types()]
        raise ExoscaleRefused(f"there is no instance type {name!r}" + _suggest(name, offered))

    def templates(self) -> list[Template]:
        """Public templates available in the zone, by name."""
        raw = self._call("list templates", "list_templates", visibility="public")
        found = [
            _template(t)
            for t in raw.get("templates", [])
            if "zones" not in t or self.zone in t["zones"]
        ]
        return sorted(found, key=lambda t: t.name)

    def find_template(self, name: str) -> Template:
        """The public template with this exact name (or id) in the zone."""
        templates = self.templates()
        matches = [t for t in templates if name in (t.name, t.id)]
        if not matches:
            offered = sorted({t.name for t in templates})
            raise ExoscaleRefused(
                f"template {name!r} is not available in {self.zone}" + _suggest(name, offered)
            )
        return matches[0]

    # -- security groups -----------------------------------------------------------------

    def security_groups(self) -> list[SecurityGroup]:
        """Every security group of the account, by name."""
        raw = self._call("list security groups", "list_security_groups")
        return sorted(
            (_security_group(g) for g in raw.get("security-groups", [])), key=lambda g: g.name
        )

    def _lookup_group(self, name_or_id: str) -> SecurityGroup | None:
        groups = self.security_groups()
        for group in groups:
            if name_or_id in (group.id, group.name):
                return self._get_group(group.id)
        if name_or_id == "standard":
            # The form's "standard" choice names the group the bot manages.
            return self._lookup_group(STANDARD_GROUP)
        return None

    def _get_group(self, group_id: str) -> SecurityGroup:
        raw = self._call(f"read security group {group_id}", "get_security_group", id=group_id)
        return _security_group(raw)

    def security_group(self, name_or_id: str) -> SecurityGroup:
        """One group, with its rules; ExoscaleRefused naming the groups there are if unknown."""
        group = self._lookup_group(name_or_id)
        if group is None:
            names = [g.name for g in self.security_groups()]
            listing = f"; the groups are: {', '.join(names)}" if names else "; there are none"
            raise ExoscaleRefused(f"there is no security group {name_or_id!r}{listing}")
        return group

    def audit_group(self, name_or_id: str, required: Required, *, driver: str = "") -> GroupAudit:
        """Check a group's rules against ``required``; nothing is changed.

        ``required`` is a Rancher 1.6 driver name or a sequence of ``Port``; ``driver`` labels
        the audit in the second case (a Rancher 2.x cluster kind, say).
        """
        group = self.security_group(name_or_id)
        audit = _audit(group, required, driver)
        return GroupAudit(group=group, audit=audit, created=False, added=())

    def ensure_standard_group(
        self, required: Required, *, add_missing: bool = False, driver: str = ""
    ) -> GroupAudit:
        """Find or create ``rancher-machine`` and audit it against ``required``.

        ``required`` is a Rancher 1.6 driver name or a sequence of ``Port``. A missing group is
        created with every rule the agent needs (``added`` lists the ports it opens): for a
        driver the rules of both 1.6 drivers, for ports exactly those. An existing group is
        never changed unless ``add_missing``: then exactly its missing ports are opened.
        ``audit`` always describes the group as it is afterwards.
        """
        group = self._lookup_group(STANDARD_GROUP)
        if group is None:
            return self._create_standard_group(required, driver)
        audit = _audit(group, required, driver)
        if audit.ok or not add_missing:
            return GroupAudit(group=group, audit=audit, created=False, added=())
        for body in rules_for(audit.missing, group.id):
            self._add_rule(group, body)
        group = self._get_group(group.id)
        after = _audit(group, required, driver)
        opened = tuple(p for p in audit.missing if p in after.covered)
        return GroupAudit(group=group, audit=after, created=False, added=opened)

    def _create_standard_group(self, required: Required, driver: str) -> GroupAudit:
        try:
            op = self._mutate(
                f"create security group {STANDARD_GROUP}",
                "create_security_group",
                name=STANDARD_GROUP,
                description=STANDARD_GROUP_DESCRIPTION,
            )
        except ExoscaleRefused as exc:
            if exc.status != 409:
                raise
            # Another launch created it a moment ago: use theirs, as if it had been there.
            group = self.security_group(STANDARD_GROUP)
            audit = _audit(group, required, driver)
            return GroupAudit(group=group, audit=audit, created=False, added=())
        group_id = op["reference"]["id"]
        group = self._get_group(group_id)
        ports = None if isinstance(required, str) else tuple(required)
        for body in standard_group_rules(group_id, ports):
            self._add_rule(group, body)
        group = self._get_group(group_id)
        audit = _audit(group, required, driver)
        return GroupAudit(group=group, audit=audit, created=True, added=audit.covered)

    def _add_rule(self, group: SecurityGroup, body: Mapping[str, Any]) -> None:
        what = body.get("description") or f"{body.get('protocol')} {body.get('start-port', '')}"
        self._mutate(
            f"add the rule {what} to security group {group.name}",
            "add_rule_to_security_group",
            id=group.id,
            **{key.replace("-", "_"): value for key, value in body.items()},
        )

    # -- instances -------------------------------------------------------------------------

    def instance(self, id: str) -> Instance:
        """One instance of the zone, as it is now."""
        return _instance(self._call(f"read instance {id}", "get_instance", id=id))

    def instances(self, labels: Mapping[str, str] | None = None) -> list[Instance]:
        """Instances of the zone, only those carrying every given label when ``labels``."""
        kwargs: dict[str, Any] = {}
        if labels:
            # The API's filter is "k1=v1 k2=v2"; it is checked again below all the same.
            kwargs["labels"] = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        raw = self._call("list instances", "list_instances", **kwargs)
        found = [_instance(i) for i in raw.get("instances", [])]
        if labels:
            found = [i for i in found if all(i.labels.get(k) == v for k, v in labels.items())]
        return found

    def delete_instance(self, id: str) -> None:
        """Delete an instance and wait until Exoscale has; an unknown id is already gone."""
        try:
            self._mutate(f"delete instance {id}", "delete_instance", id=id)
        except ExoscaleRefused as exc:
            if exc.status != 404:
                raise

    def create_instances(self, specs: Sequence[InstanceSpec]) -> list[CreateResult]:
        """Create the hosts in parallel (at most ``max_parallel`` at once), in spec order.

        Idempotent: an instance already carrying a spec's ``HOST_LABEL`` value is reused
        (``created=False``). One host's failure is its ``error``, never an exception.
        """
        seen: set[str] = set()
        for spec in specs:
            value = spec.labels.get(HOST_LABEL)
            if not value:
                raise ValueError(f"spec {spec.name!r} has no {HOST_LABEL} label")
            if value in seen:
                raise ValueError(f"two specs carry {HOST_LABEL}={value}")
            seen.add(value)
        if not specs:
            return []
        workers = min(self._max_parallel, len(specs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exoscale-create") as pool:
            return list(pool.map(self._create_one, specs))

    def _create_one(self, spec: InstanceSpec) -> CreateResult:
        try:
            existing = self._existing(spec)
            if existing is not None:
                log.info("instance %s already exists as %s", spec.name, existing.id)
                return CreateResult(spec.name, existing.id, created=False, error=None)
            op = self._mutate(
                f"create instance {spec.name}",
                "create_instance",
                name=spec.name,
                instance_type={"id": spec.instance_type_id},
                template={"id": spec.template_id},
                disk_size=spec.disk_size,
                security_groups=[{"id": spec.security_group_id}],
                user_data=encode_user_data(spec.user_data),
                labels=dict(spec.labels),
                public_ip_assignment="inet4",
            )
            instance_id = op["reference"]["id"]
            log.info("created instance %s as %s", spec.name, instance_id)
            return CreateResult(spec.name, instance_id, created=True, error=None)
        except (ProvisioningError, ValueError) as exc:
            # ValueError: user-data over Exoscale's limit, refused before any call.
            message = exc.message if isinstance(exc, ProvisioningError) else str(exc)
            log.warning("instance %s not created: %s", spec.name, message)
            return CreateResult(
                spec.name,
                None,
                created=False,
                error=message,
                retryable=isinstance(exc, ExoscaleUnavailable),
            )
        except Exception as exc:
            # One host's surprise must not take the other hosts' results down with it.
            log.exception("instance %s not created", spec.name)
            return CreateResult(
                spec.name, None, created=False, error=f"unexpected error: {type(exc).__name__}"
            )

    def _existing(self, spec: InstanceSpec) -> Instance | None:
        found = [
            i
            for i in self.instances({HOST_LABEL: spec.labels[HOST_LABEL]})
            if i.state not in _GONE_STATES
        ]
        if len(found) > 1:
            log.warning(
                "%d instances carry %s=%s; reusing %s",
                len(found),
                HOST_LABEL,
                spec.labels[HOST_LABEL],
                found[0].id,
            )
        return found[0] if found else None


# -- parsing -------------------------------------------------------------------------------


def _audit(group: SecurityGroup, required: Required, driver: str) -> PortAudit:
    if isinstance(required, str):
        ports, driver = required_ports(required), required
    else:
        ports = tuple(required)
        if not all(isinstance(p, Port) for p in ports):
            raise TypeError("required must be a Rancher 1.6 driver name or a sequence of Port")
    return audit_ports(group.rules, group_id=group.id, ports=ports, driver=driver)


def _instance_type(raw: Mapping[str, Any]) -> InstanceType:
    return InstanceType(
        id=str(raw["id"]),
        name=f"{raw.get('family', '')}.{raw.get('size', '')}",
        cpus=int(raw.get("cpus") or 0),
        memory_gib=round(int(raw.get("memory") or 0) / GIB, 2),
    )


def _template(raw: Mapping[str, Any]) -> Template:
    size = raw.get("size") or 0
    return Template(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        size_gib=math.ceil(int(size) / GIB),
        default_user=raw.get("default-user"),
    )


def _security_group(raw: Mapping[str, Any]) -> SecurityGroup:
    return SecurityGroup(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        description=str(raw.get("description") or ""),
        rules=tuple(dict(r) for r in raw.get("rules") or ()),
    )


def _instance(raw: Mapping[str, Any]) -> Instance:
    return Instance(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        state=str(raw.get("state", "unknown")),
        public_ip=raw.get("public-ip"),
        labels=dict(raw.get("labels") or {}),
        security_group_ids=tuple(
            str(g["id"]) for g in raw.get("security-groups") or () if g.get("id")
        ),
    )


def _suggest(name: str, offered: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, offered, n=3, cutoff=0.5)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    if offered:
        shown = ", ".join(offered[:8]) + (", ..." if len(offered) > 8 else "")
        return f"; available: {shown}"
    return ""
