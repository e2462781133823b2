"""Hosts of a launch: one row per (launch, index), made idempotently and updated as they progress.

hosts = store.hosts.ensure_for_launch(launch.id, ("web-1", "web-2"), "ch-gva-2")
store.hosts.update(hosts[0].id, state="created", instance_id="7f0c...")
if store.hosts.transition(hosts[0].id, from_states=("running",), to="registered"):
    store.events.add(launch_id=launch.id, host_id=hosts[0].id, kind="registered", detail={})
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .connection import Connection
from .errors import NotFoundError
from .models import HOST_STATES, Host, check_states, host_from_row, time_to_sql, utcnow

__all__ = ["Hosts"]

# What update() may change; id, launch, index, zone and created_at are fixed at creation.
_UPDATABLE = ("name", "instance_id", "ip", "rancher_host_id", "state", "last_error", "ready_at")


class Hosts:
    """The ``hosts`` table."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def ensure_for_launch(self, launch_id: str, names: Sequence[str], zone: str) -> list[Host]:
        """Make sure hosts 1..N of the launch exist (rows already there are left alone).

        Returns every host of the launch, by index. Safe to call again after a crash or a retry.
        """
        now = time_to_sql(utcnow())
        with self._conn.atomic() as db:
            for index, name in enumerate(names, start=1):
                db.execute(
                    """
                    INSERT INTO hosts (launch_id, "index", name, zone, state, created_at,
                                       updated_at)
                    VALUES (?, ?, ?, ?, 'pending', ?, ?)
                    ON CONFLICT (launch_id, "index") DO NOTHING""",
                    [launch_id, index, name, zone, now, now],
                )
            return self.for_launch(launch_id)

    def for_launch(self, launch_id: str) -> list[Host]:
        """The launch's hosts, by index."""
        rows = self._conn.rows(
            'SELECT * FROM hosts WHERE launch_id = ? ORDER BY "index"', [launch_id]
        )
        return [host_from_row(r) for r in rows]

    def get(self, host_id: int) -> Host | None:
        """The host with this id, or None."""
        row = self._conn.row("SELECT * FROM hosts WHERE id = ?", [host_id])
        return host_from_row(row) if row else None

    def by_name(self, name: str) -> Host | None:
        """The host called ``name``: a live one before a removed one, then the newest."""
        row = self._conn.row(
            """
            SELECT * FROM hosts WHERE name = ?
             ORDER BY state = 'removed', created_at DESC, id DESC
             LIMIT 1""",
            [name],
        )
        return host_from_row(row) if row else None

    def in_states(self, *states: str) -> list[Host]:
        """Hosts currently in any of ``states``, oldest first."""
        check_states(states, HOST_STATES, "host")
        placeholders = ", ".join("?" for _ in states)
        rows = self._conn.rows(
            f"SELECT * FROM hosts WHERE state IN ({placeholders}) ORDER BY id", states
        )
        return [host_from_row(r) for r in rows]

    def update(self, host_id: int, **fields: Any) -> Host:
        """Set the given fields unconditionally and return the host as it now is."""
        assignments, params = _assignments(fields)
        with self._conn.atomic():
            changed = self._conn.execute(
                f"UPDATE hosts SET {assignments} WHERE id = ?", [*params, host_id]
            )
            if changed != 1:
                raise NotFoundError(f"no host {host_id!r}")
            host = self.get(host_id)
        assert host is not None
        return host

    def transition(
        self, host_id: int, *, from_states: tuple[str, ...], to: str, **fields: Any
    ) -> bool:
        """Set ``state = to`` (and ``fields``) only if the host is in ``from_states``.

        True only for the caller that made the change, so two threads noticing the same thing
        (say, a timeout and a late registration) cannot both act on it.
        """
        check_states(from_states, HOST_STATES, "host")
        assignments, params = _assignments({**fields, "state": to})
        placeholders = ", ".join("?" for _ in from_states)
        changed = self._conn.execute(
            f"UPDATE hosts SET {assignments} WHERE id = ? AND state IN ({placeholders})",
            [*params, host_id, *from_states],
        )
        return changed == 1


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    unknown = sorted(set(fields) - set(_UPDATABLE))
    if unknown:
        raise TypeError(f"hosts cannot update {', '.join(unknown)}; allowed: {_UPDATABLE}")
    if "state" in fields:
        check_states((fields["state"],), HOST_STATES, "host")
    values = {
        name: time_to_sql(value) if isinstance(value, datetime) else value
        for name, value in fields.items()
    }
    values["updated_at"] = time_to_sql(utcnow())
    return ", ".join(f"{name} = ?" for name in values), list(values.values())
