"""The frozen records the repositories return, their states, and the SQL text codecs.

    launch = store.launches.get("1a2b3c4d")
    if launch and launch.state == PENDING and launch.expires_at <= utcnow():
        ...

Timestamps are timezone-aware UTC ``datetime`` objects here and fixed-width ISO 8601 strings in
SQL (``2024-05-01T12:00:00.000000+00:00``), so string order in SQL is time order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "HOST_STATES",
    "LAUNCH_KINDS",
    "LAUNCH_STATES",
    "AuditEntry",
    "Credentials",
    "Event",
    "Host",
    "LaunchRequest",
    "utcnow",
]

LAUNCH_KINDS = ("add", "remove")
LAUNCH_STATES = ("pending", "approved", "denied", "expired", "done", "failed")
HOST_STATES = (
    "pending",
    "created",
    "running",
    "registered",
    "ready",
    "unhealthy",
    "timed_out",
    "failed",
    "removed",
)


@dataclass(frozen=True)
class LaunchRequest:
    """A request to add hosts (or remove one), from the modal to its final state."""

    id: str
    kind: str
    requester: str
    channel: str
    message_ts: str | None
    progress_ts: str | None
    options: dict[str, Any]
    zone: str
    credential_id: str | None
    group_id: str | None
    group_name: str | None
    driver: str | None
    port_audit: dict[str, Any]
    target_host: str | None
    state: str
    approver: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Host:
    """One Exoscale instance of a launch, from "not yet created" to ready in Rancher."""

    id: int
    launch_id: str
    index: int
    name: str
    zone: str
    instance_id: str | None
    ip: str | None
    rancher_host_id: str | None
    state: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None


@dataclass(frozen=True)
class Event:
    """An outbox entry: something to tell Slack about, delivered once."""

    id: int
    launch_id: str
    host_id: int | None
    kind: str
    detail: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Credentials:
    """A user's Exoscale API key pair, decrypted; the secret stays out of ``repr``."""

    id: str
    owner: str
    api_key: str
    api_secret: str = field(repr=False)


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    launch_id: str | None
    detail: dict[str, Any]


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def time_to_sql(value: datetime) -> str:
    """A fixed-width UTC ISO string; naive datetimes are refused because their zone is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {value!r} has no timezone; pass an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def time_from_sql(value: str | None) -> datetime | None:
    """Parse what ``time_to_sql`` wrote; None stays None."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def json_to_sql(value: dict[str, Any] | None) -> str:
    """Serialise a JSON object column; sorted keys keep equal values byte-identical."""
    return json.dumps(value or {}, sort_keys=True, separators=(",", ":"))


def json_from_sql(value: str | None) -> dict[str, Any]:
    """Parse a JSON object column into a fresh dict."""
    return json.loads(value) if value else {}


def launch_from_row(row: dict[str, Any]) -> LaunchRequest:
    """Build a LaunchRequest from a ``launches`` row."""
    return LaunchRequest(
        id=row["id"],
        kind=row["kind"],
        requester=row["requester"],
        channel=row["channel"],
        message_ts=row["message_ts"],
        progress_ts=row["progress_ts"],
        options=json_from_sql(row["options"]),
        zone=row["zone"],
        credential_id=row["credential_id"],
        group_id=row["group_id"],
        group_name=row["group_name"],
        driver=row["driver"],
        port_audit=json_from_sql(row["port_audit"]),
        target_host=row["target_host"],
        state=row["state"],
        approver=row["approver"],
        reason=row["reason"],
        created_at=time_from_sql(row["created_at"]),
        updated_at=time_from_sql(row["updated_at"]),
        expires_at=time_from_sql(row["expires_at"]),
    )


def host_from_row(row: dict[str, Any]) -> Host:
    """Build a Host from a ``hosts`` row."""
    return Host(
        id=row["id"],
        launch_id=row["launch_id"],
        index=row["index"],
        name=row["name"],
        zone=row["zone"],
        instance_id=row["instance_id"],
        ip=row["ip"],
        rancher_host_id=row["rancher_host_id"],
        state=row["state"],
        last_error=row["last_error"],
        created_at=time_from_sql(row["created_at"]),
        updated_at=time_from_sql(row["updated_at"]),
        ready_at=time_from_sql(row["ready_at"]),
    )


def event_from_row(row: dict[str, Any]) -> Event:
    """Build an Event from an ``events`` row."""
    return Event(
        id=row["id"],
        launch_id=row["launch_id"],
        host_id=row["host_id"],
        kind=row["kind"],
        detail=json_from_sql(row["detail"]),
        created_at=time_from_sql(row["created_at"]),
        delivered_at=time_from_sql(row["delivered_at"]),
    )


def audit_from_row(row: dict[str, Any]) -> AuditEntry:
    """Build an AuditEntry from an ``audit`` row."""
    return AuditEntry(
        id=row["id"],
        at=time_from_sql(row["at"]),
        actor=row["actor"],
        action=row["action"],
        launch_id=row["launch_id"],
        detail=json_from_sql(row["detail"]),
    )


def check_states(states: tuple[str, ...], known: tuple[str, ...], what: str) -> None:
    """Refuse an empty or unknown state list before it reaches SQL, where it would match nothing."""
    if not states:
        raise ValueError(f"give at least one {what} state")
    unknown = [s for s in states if s not in known]
    if unknown:
        raise ValueError(f"unknown {what} state {unknown[0]!r}; known: {', '.join(known)}")
