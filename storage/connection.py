"""One SQLite connection shared by every thread of the process, serialised by a re-entrant lock.

    conn = Connection(sqlite3.connect(path, check_same_thread=False, isolation_level=None))
    with conn.atomic():
        conn.execute("UPDATE launches SET state = ? WHERE id = ?", ["approved", "1a2b3c4d"])
    rows = conn.rows("SELECT * FROM launches WHERE state = ?", ["pending"])

Bolt listener threads and apscheduler threads use the store at once. A single connection guarded
by an ``RLock`` makes ``atomic()`` a real transaction for the thread that holds it: another
thread's statements wait for the lock instead of slipping into (or being rolled back with) a
transaction that is not theirs. Other processes on the same file are kept apart by SQLite's own
locking; ``BEGIN IMMEDIATE`` takes the write lock up front so two writers queue on the busy
timeout instead of failing with a stale read snapshot.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

__all__ = ["Connection"]


class Connection:
    """A sqlite-utils Database plus the lock every statement goes through."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        # Autocommit at the driver level: every transaction here is an explicit BEGIN, so the
        # driver never opens one behind our back on some other thread's behalf.
        conn.isolation_level = None
        self.db = Database(conn)
        self.lock = threading.RLock()
        self.db.execute("PRAGMA foreign_keys = ON")

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """Hold the lock and one write transaction; nested blocks become savepoints."""
        with self.lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query under the lock and return every row as a dict (fetched before unlocking)."""
        with self.lock:
            cursor = self.db.execute(sql, list(params))
            columns = [c[0] for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        found = self.rows(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement in its own transaction (or the caller's); return rowcount."""
        with self.atomic() as db:
            return db.execute(sql, list(params)).rowcount

    def close(self) -> None:
        """Close the underlying connection once no thread is using it."""
        with self.lock:
            self.db.close()
