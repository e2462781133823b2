"""The audit log: appended and read back in order, never updated or deleted."""

from __future__ import annotations

import sqlite3

import pytest


def test_record_returns_the_entry_and_entries_reads_in_order(store):
    first = store.audit.record(actor="U0REQ", action="request", launch_id="1a2b3c4d")
    store.audit.record(actor="U0BOSS", action="approve", launch_id="1a2b3c4d", detail={"n": 2})
    store.audit.record(actor="bot", action="create_instance", launch_id="99999999")
    assert first.actor == "U0REQ" and first.detail == {} and first.at.utcoffset().seconds == 0
    entries = store.audit.entries("1a2b3c4d")
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("U0REQ", "request", {}),
        ("U0BOSS", "approve", {"n": 2}),
    ]
    assert [e.action for e in store.audit.entries()] == ["request", "approve", "create_instance"]


def test_refused_attempt_on_a_launch_that_does_not_exist_is_still_recorded(store):
    entry = store.audit.record(actor="U0X", action="refused:status", launch_id="nothere")
    assert store.audit.entries("nothere") == [entry]


def test_repository_has_no_way_to_change_history(store):
    public = {name for name in dir(store.audit) if not name.startswith("_")}
    assert public == {"record", "entries"}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit SET actor = 'someone else'",
        "UPDATE audit SET detail = '{}' WHERE id = 1",
        "DELETE FROM audit",
        "DELETE FROM audit WHERE id = 1",
    ],
)
def test_sql_update_or_delete_is_refused_by_the_schema(store, sql):
    store.audit.record(actor="U0BOSS", action="approve", detail={"why": "ok"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute(sql)
    (entry,) = store.audit.entries()
    assert (entry.actor, entry.detail) == ("U0BOSS", {"why": "ok"})
