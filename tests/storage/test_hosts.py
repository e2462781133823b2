"""Hosts: idempotent creation per (launch, index), updates, conditional transitions, lookups."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from storage import HOST_STATES, NotFoundError


def test_ensure_for_launch_creates_pending_hosts_by_index(store, make_launch):
    launch = make_launch()
    hosts = store.hosts.ensure_for_launch(launch.id, ["web-1", "web-2"], "ch-gva-2")
    assert [(h.index, h.name, h.zone, h.state) for h in hosts] == [
        (1, "web-1", "ch-gva-2", "pending"),
        (2, "web-2", "ch-gva-2", "pending"),
    ]
    assert all(h.launch_id == launch.id and h.instance_id is None for h in hosts)


def test_ensure_for_launch_is_idempotent_and_keeps_progress(store, make_launch):
    launch = make_launch()
    first = store.hosts.ensure_for_launch(launch.id, ["web-1", "web-2"], "ch-gva-2")
    store.hosts.update(first[0].id, state="created", instance_id="i-1")
    again = store.hosts.ensure_for_launch(launch.id, ["web-1", "web-2"], "ch-gva-2")
    assert [h.id for h in again] == [h.id for h in first]
    assert (again[0].state, again[0].instance_id) == ("created", "i-1")
    assert store.db.execute("SELECT count(*) FROM hosts").fetchone()[0] == 2


def test_ensure_for_launch_adds_only_the_missing_indexes(store, make_launch):
    launch = make_launch()
    store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    hosts = store.hosts.ensure_for_launch(launch.id, ["web-1", "web-2", "web-3"], "ch-gva-2")
    assert [h.index for h in hosts] == [1, 2, 3]


def test_same_index_twice_in_one_launch_is_refused_by_the_schema(store, make_launch):
    launch = make_launch()
    store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.db.execute(
            'INSERT INTO hosts (launch_id, "index", name, zone, created_at, updated_at) '
            "VALUES (?, 1, 'dup', 'ch-gva-2', 'x', 'x')",
            [launch.id],
        )


def test_hosts_of_an_unknown_launch_are_refused(store):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.hosts.ensure_for_launch("deadbeef", ["web-1"], "ch-gva-2")


def test_update_sets_fields_and_converts_datetimes(store, make_launch):
    launch = make_launch()
    (host,) = store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    ready = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    updated = store.hosts.update(
        host.id, state="ready", ip="185.19.28.10", rancher_host_id="1h7", ready_at=ready
    )
    assert (updated.state, updated.ip, updated.rancher_host_id) == ("ready", "185.19.28.10", "1h7")
    assert updated.ready_at == ready
    assert updated.updated_at >= host.updated_at
    assert store.hosts.get(host.id) == updated


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"launch_id": "other"}, TypeError, "cannot update launch_id"),
        ({"index": 5}, TypeError, "cannot update index"),
        ({"created_at": "x"}, TypeError, "cannot update created_at"),
        ({"state": "booting"}, ValueError, "unknown host state 'booting'"),
        ({"ready_at": datetime(2030, 1, 1)}, ValueError, "no timezone"),
    ],
)
def test_update_refuses_bad_fields(store, make_launch, fields, error, message):
    launch = make_launch()
    (host,) = store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    with pytest.raises(error, match=message):
        store.hosts.update(host.id, **fields)
    assert store.hosts.get(host.id) == host


def test_update_of_unknown_host_raises_not_found(store):
    with pytest.raises(NotFoundError):
        store.hosts.update(999, state="failed")


def test_transition_only_from_the_given_states(store, make_launch):
    launch = make_launch()
    (host,) = store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    assert not store.hosts.transition(host.id, from_states=("running",), to="timed_out")
    assert store.hosts.transition(
        host.id, from_states=("pending",), to="failed", last_error="quota exceeded"
    )
    got = store.hosts.get(host.id)
    assert (got.state, got.last_error) == ("failed", "quota exceeded")


def test_get_unknown_host_is_none(store):
    assert store.hosts.get(12345) is None


def test_for_launch_returns_only_that_launch(store, make_launch):
    a, b = make_launch(), make_launch()
    store.hosts.ensure_for_launch(a.id, ["a-1", "a-2"], "ch-gva-2")
    store.hosts.ensure_for_launch(b.id, ["b-1"], "de-fra-1")
    assert [h.name for h in store.hosts.for_launch(b.id)] == ["b-1"]
    assert store.hosts.for_launch("deadbeef") == []


def test_by_name_prefers_a_live_host_over_a_removed_one(store, make_launch):
    old, new = make_launch(), make_launch()
    (first,) = store.hosts.ensure_for_launch(old.id, ["web-1"], "ch-gva-2")
    (second,) = store.hosts.ensure_for_launch(new.id, ["web-1"], "ch-gva-2")
    assert store.hosts.by_name("web-1").id == second.id
    store.hosts.update(second.id, state="removed")
    assert store.hosts.by_name("web-1").id == first.id
    assert store.hosts.by_name("nope") is None


def test_in_states_filters(store, make_launch):
    launch = make_launch()
    h1, h2, h3 = store.hosts.ensure_for_launch(launch.id, ["w-1", "w-2", "w-3"], "ch-gva-2")
    store.hosts.update(h2.id, state="running")
    store.hosts.update(h3.id, state="registered")
    assert [h.id for h in store.hosts.in_states("running", "registered")] == [h2.id, h3.id]
    assert [h.id for h in store.hosts.in_states("pending")] == [h1.id]


def test_every_documented_host_state_is_accepted(store, make_launch):
    launch = make_launch()
    (host,) = store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    for state in HOST_STATES:
        assert store.hosts.update(host.id, state=state).state == state
