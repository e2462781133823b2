"""The audit log: who asked, approved, denied or changed what, append-only.

    store.audit.record(actor="U2", action="approve", launch_id="1a2b3c4d")
    for entry in store.audit.entries("1a2b3c4d"):
        print(entry.at, entry.actor, entry.action)

There is no update or delete here, and triggers in the schema refuse UPDATE and DELETE on the
table, so even a stray SQL statement elsewhere cannot rewrite history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .connection import Connection
from .models import AuditEntry, audit_from_row, json_to_sql, time_to_sql, utcnow

__all__ = ["AuditLog"]


class AuditLog:
    """The ``audit`` table."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def record(
        self,
        *,
        actor: str,
        action: str,
        launch_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry and return it."""
        with self._conn.atomic() as db:
            cursor = db.execute(
                "INSERT INTO audit (at, actor, action, launch_id, detail) VALUES (?, ?, ?, ?, ?)",
                [time_to_sql(utcnow()), actor, action, launch_id, json_to_sql(dict(detail or {}))],
            )
            row = self._conn.row("SELECT * FROM audit WHERE id = ?", [cursor.lastrowid])
        assert row is not None
        return audit_from_row(row)

    def entries(self, launch_id: str | None = None) -> list[AuditEntry]:
        """Every entry in order, or only those about ``launch_id``."""
        if launch_id is None:
            rows = self._conn.rows("SELECT * FROM audit ORDER BY id")
        else:
            rows = self._conn.rows(
                "SELECT * FROM audit WHERE launch_id = ? ORDER BY id", [launch_id]
            )
        return [audit_from_row(r) for r in rows]
