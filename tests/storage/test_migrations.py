"""Versioned migrations: recorded in ``migrations``, applied once, safe to re-run."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from storage import SchemaTooNewError, open_store
from storage.connection import Connection
from storage.migrations import MIGRATIONS, Migration, migrate, schema_version


def connection(path) -> Connection:
    return Connection(sqlite3.connect(path, check_same_thread=False, timeout=10))


def add_column(db) -> None:
    db.execute("ALTER TABLE launches ADD COLUMN note TEXT")


def fail_halfway(db) -> None:
    db.execute("CREATE TABLE half_done (x)")
    raise RuntimeError("migration bug")


NEXT = Migration(MIGRATIONS[-1].version + 1, "add launch note", add_column)


def test_new_database_gets_every_migration_recorded(db_path, key):
    with open_store(db_path, key=key) as store:
        rows = store.db.execute("SELECT version, name FROM migrations ORDER BY version").fetchall()
    assert rows == [(m.version, m.name) for m in MIGRATIONS]


def test_reopening_an_existing_file_applies_nothing_and_keeps_data(db_path, key):
    with open_store(db_path, key=key) as store:
        store.audit.record(actor="U0", action="before")
    conn = connection(db_path)
    assert migrate(conn) == []
    conn.close()
    with open_store(db_path, key=key) as store:
        assert [e.action for e in store.audit.entries()] == ["before"]
        assert store.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)


def test_only_the_new_migration_runs_on_an_older_database(db_path, key):
    open_store(db_path, key=key).close()
    conn = connection(db_path)
    assert migrate(conn, [*MIGRATIONS, NEXT]) == [NEXT.version]
    assert migrate(conn, [*MIGRATIONS, NEXT]) == []
    assert "note" in conn.db["launches"].columns_dict
    assert schema_version(conn) == NEXT.version
    conn.close()


def test_a_failing_migration_leaves_no_trace_and_stays_pending(db_path, key):
    open_store(db_path, key=key).close()
    conn = connection(db_path)
    broken = Migration(NEXT.version, "broken", fail_halfway)
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(conn, [*MIGRATIONS, broken])
    assert "half_done" not in conn.db.table_names()
    assert schema_version(conn) == MIGRATIONS[-1].version
    assert migrate(conn, [*MIGRATIONS, NEXT]) == [NEXT.version]
    conn.close()


def test_a_database_from_a_newer_bot_is_refused(db_path, key):
    open_store(db_path, key=key).close()
    conn = connection(db_path)
    migrate(conn, [*MIGRATIONS, NEXT])
    conn.close()
    with pytest.raises(SchemaTooNewError, match=rf"version {NEXT.version}, newer"):
        open_store(db_path, key=key)


def test_duplicate_versions_are_a_programming_error():
    with pytest.raises(ValueError, match="duplicate"):
        migrate(connection(":memory:"), [NEXT, Migration(NEXT.version, "again", add_column)])


def test_stores_opening_a_new_file_at_once_apply_each_migration_once(db_path, key):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    stores = []

    def open_it() -> None:
        try:
            barrier.wait(timeout=10)
            stores.append(open_store(db_path, key=key))
        except BaseException as exc:  # collected so the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert errors == []
        counts = stores[0].db.execute("SELECT count(*) FROM migrations").fetchone()[0]
        assert counts == len(MIGRATIONS)
        assert stores[0].db.execute("SELECT count(*) FROM meta").fetchone()[0] == 1
    finally:
        for s in stores:
            s.close()
