"""Launch requests: created pending, then moved by conditional updates that only one caller wins.

launch = store.launches.create(kind="add", requester="U1", channel="C1", options={...},
                               zone="ch-gva-2", credential_id=None, group_id="g",
                               group_name="rancher-machine", driver="ipsec", port_audit={},
                               expires_at=utcnow() + timedelta(hours=24))
if store.launches.transition(launch.id, from_states=("pending",), to="approved",
                             approver="U2"):
    provisioner.launch(launch.id)      # only the approver whose click won gets here
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .connection import Connection
from .errors import NotFoundError
from .models import (
    LAUNCH_KINDS,
    LAUNCH_STATES,
    LaunchRequest,
    check_states,
    json_to_sql,
    launch_from_row,
    time_to_sql,
    utcnow,
)

__all__ = ["Launches"]

# An 8-hex-char id has 4 billion values; a few retries make a collision practically impossible.
_ID_ATTEMPTS = 5


class Launches:
    """The ``launches`` table."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def create(
        self,
        *,
        kind: str,
        requester: str,
        channel: str,
        options: Mapping[str, Any],
        zone: str,
        credential_id: str | None,
        group_id: str | None,
        group_name: str | None,
        driver: str | None,
        port_audit: Mapping[str, Any],
        expires_at: datetime,
        target_host: str | None = None,
    ) -> LaunchRequest:
        """Record a new pending request with a fresh 8-hex-char id."""
        if kind not in LAUNCH_KINDS:
            raise ValueError(f"unknown launch kind {kind!r}; known: {', '.join(LAUNCH_KINDS)}")
        now = time_to_sql(utcnow())
        row = {
            "kind": kind,
            "requester": requester,
            "channel": channel,
            "options": json_to_sql(dict(options)),
            "zone": zone,
            "credential_id": credential_id,
            "group_id": group_id,
            "group_name": group_name,
            "driver": driver,
            "port_audit": json_to_sql(dict(port_audit)),
            "target_host": target_host,
            "state": "pending",
            "created_at": now,
            "updated_at": now,
            "expires_at": time_to_sql(expires_at),
        }
        for attempt in range(_ID_ATTEMPTS):
            launch_id = secrets.token_hex(4)
            try:
                with self._conn.atomic() as db:
                    db["launches"].insert({"id": launch_id, **row})
            except sqlite3.IntegrityError:
                # Only an id collision is worth retrying; anything else is a real refusal.
                if attempt == _ID_ATTEMPTS - 1 or self.get(launch_id) is None:
                    raise
                continue
            break
        launch = self.get(launch_id)
        assert launch is not None
        return launch

    def get(self, launch_id: str) -> LaunchRequest | None:
        """The request with this id, or None."""
        row = self._conn.row("SELECT * FROM launches WHERE id = ?", [launch_id])
        return launch_from_row(row) if row else None

    def set_message(self, launch_id: str, *, channel: str, message_ts: str) -> None:
        """Remember where the request message was posted (its thread holds the discussion)."""
        self._update(launch_id, channel=channel, message_ts=message_ts)

    def set_progress_ts(self, launch_id: str, ts: str) -> None:
        """Remember the thread message that shows provisioning progress."""
        self._update(launch_id, progress_ts=ts)

    def transition(
        self,
        launch_id: str,
        *,
        from_states: tuple[str, ...],
        to: str,
        approver: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move the request to ``to`` if it is in one of ``from_states``; True only for the winner.

        ``approver`` and ``reason`` are written only when given, so a later transition (say
        approved -> done) keeps who approved it.
        """
        check_states(from_states, LAUNCH_STATES, "launch")
        check_states((to,), LAUNCH_STATES, "launch")
        placeholders = ", ".join("?" for _ in from_states)
        changed = self._conn.execute(
            f"""
            UPDATE launches
               SET state = ?, updated_at = ?,
                   approver = coalesce(?, approver), reason = coalesce(?, reason)
             WHERE id = ? AND state IN ({placeholders})""",
            [to, time_to_sql(utcnow()), approver, reason, launch_id, *from_states],
        )
        return changed == 1

    def recent(self, limit: int = 10) -> list[LaunchRequest]:
        """The newest requests first."""
        rows = self._conn.rows(
            "SELECT * FROM launches ORDER BY created_at DESC, rowid DESC LIMIT ?", [limit]
        )
        return [launch_from_row(r) for r in rows]

    def in_states(self, *states: str) -> list[LaunchRequest]:
        """Requests currently in any of ``states``, oldest first."""
        check_states(states, LAUNCH_STATES, "launch")
        placeholders = ", ".join("?" for _ in states)
        rows = self._conn.rows(
            f"SELECT * FROM launches WHERE state IN ({placeholders}) ORDER BY created_at, rowid",
            states,
        )
        return [launch_from_row(r) for r in rows]

    def pending_expired(self, now: datetime) -> list[LaunchRequest]:
        """Pending requests whose ``expires_at`` is at or before ``now``, oldest first."""
        rows = self._conn.rows(
            """
            SELECT * FROM launches
             WHERE state = 'pending' AND expires_at <= ?
             ORDER BY expires_at, rowid""",
            [time_to_sql(now)],
        )
        return [launch_from_row(r) for r in rows]

    def _update(self, launch_id: str, **fields: str) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        changed = self._conn.execute(
            f"UPDATE launches SET {assignments}, updated_at = ? WHERE id = ?",
            [*fields.values(), time_to_sql(utcnow()), launch_id],
        )
        if changed != 1:
            raise NotFoundError(f"no launch request {launch_id!r}")
