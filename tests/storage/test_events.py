"""The event outbox: one event per (host, kind), delivered once, written with its state change."""

from __future__ import annotations

import sqlite3

import pytest


@pytest.fixture
def hosts(store, make_launch):
    launch = make_launch()
    return store.hosts.ensure_for_launch(launch.id, ["web-1", "web-2"], "ch-gva-2")


def test_add_is_unique_per_host_and_kind(store, hosts):
    web1 = hosts[0]
    assert store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="ready", detail={})
    assert not store.events.add(
        launch_id=web1.launch_id, host_id=web1.id, kind="ready", detail={"host": "again"}
    )
    (event,) = store.events.undelivered()
    assert event.detail == {}


def test_same_kind_for_another_host_and_another_kind_for_the_same_host_are_added(store, hosts):
    web1, web2 = hosts
    assert store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="ready", detail={})
    assert store.events.add(launch_id=web2.launch_id, host_id=web2.id, kind="ready", detail={})
    assert store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="created", detail={})
    assert len(store.events.undelivered()) == 3


def test_launch_wide_events_are_unique_per_launch_and_kind(store, hosts):
    launch_id = hosts[0].launch_id
    assert store.events.add(launch_id=launch_id, host_id=None, kind="failed", detail={"x": 1})
    assert not store.events.add(launch_id=launch_id, host_id=None, kind="failed", detail={})


def test_event_for_an_unknown_launch_is_refused_not_ignored(store):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.events.add(launch_id="deadbeef", host_id=None, kind="failed", detail={})


def test_undelivered_in_order_with_detail_and_aware_times(store, hosts):
    web1, web2 = hosts
    store.events.add(launch_id=web1.launch_id, host_id=web2.id, kind="created", detail={"n": 2})
    store.events.add(
        launch_id=web1.launch_id, host_id=web1.id, kind="created", detail={"host": "web-1"}
    )
    events = store.events.undelivered()
    assert [(e.host_id, e.detail) for e in events] == [
        (web2.id, {"n": 2}),
        (web1.id, {"host": "web-1"}),
    ]
    assert all(e.created_at.utcoffset().total_seconds() == 0 for e in events)
    assert all(e.delivered_at is None for e in events)


def test_mark_delivered_once_and_then_not_listed(store, hosts):
    web1 = hosts[0]
    store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="ready", detail={})
    (event,) = store.events.undelivered()
    assert store.events.mark_delivered(event.id)
    assert not store.events.mark_delivered(event.id)
    assert store.events.undelivered() == []
    # Still unique after delivery: a rerun job must not announce it again.
    assert not store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="ready", detail={})


def test_mark_delivered_unknown_id_is_false(store):
    assert not store.events.mark_delivered(4242)


def test_event_rolls_back_with_the_state_change_it_belongs_to(store, hosts):
    web1 = hosts[0]
    with pytest.raises(RuntimeError), store.atomic():
        store.hosts.transition(web1.id, from_states=("pending",), to="created")
        store.events.add(launch_id=web1.launch_id, host_id=web1.id, kind="created", detail={})
        raise RuntimeError("Exoscale call failed after the write")
    assert store.hosts.get(web1.id).state == "pending"
    assert store.events.undelivered() == []
