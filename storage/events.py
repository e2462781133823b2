"""The event outbox: host events written with the state change, delivered to Slack once.

with store.atomic():
    if store.hosts.transition(host.id, from_states=("registered",), to="ready"):
        store.events.add(launch_id=host.launch_id, host_id=host.id, kind="ready",
                         detail={"host": host.name})
for event in store.events.undelivered():
    notifier.deliver(event, ...)
    store.events.mark_delivered(event.id)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .connection import Connection
from .models import Event, event_from_row, json_to_sql, time_to_sql, utcnow

__all__ = ["Events"]


class Events:
    """The ``events`` table."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def add(
        self,
        *,
        launch_id: str,
        host_id: int | None,
        kind: str,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Queue an event; False when this host (or, with no host, this launch) already has one
        of this kind, so a job that runs twice never announces the same thing twice."""
        # ON CONFLICT DO NOTHING only absorbs uniqueness conflicts; a bad launch id still fails.
        changed = self._conn.execute(
            """
            INSERT INTO events (launch_id, host_id, kind, detail, created_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING""",
            [launch_id, host_id, kind, json_to_sql(dict(detail or {})), time_to_sql(utcnow())],
        )
        return changed == 1

    def undelivered(self) -> list[Event]:
        """Events not yet handed to the notifier, in the order they happened."""
        rows = self._conn.rows("SELECT * FROM events WHERE delivered_at IS NULL ORDER BY id")
        return [event_from_row(r) for r in rows]

    def mark_delivered(self, event_id: int) -> bool:
        """Record the delivery; False when it was already recorded (or there is no such event)."""
        changed = self._conn.execute(
            "UPDATE events SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
            [time_to_sql(utcnow()), event_id],
        )
        return changed == 1
