"""Launch requests: creation, reads, conditional transitions and expiry."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from storage import LAUNCH_STATES, NotFoundError, utcnow

from .conftest import launch_fields


def test_create_returns_a_pending_request_with_an_8_hex_id(store, make_launch):
    launch = make_launch()
    assert re.fullmatch(r"[0-9a-f]{8}", launch.id)
    assert launch.state == "pending"
    assert launch.approver is None and launch.reason is None
    assert launch.options == {"count": 2, "name": "web", "zone": "ch-gva-2"}
    assert launch.port_audit["covered"] == ["TCP 22", "TCP 2376"]
    assert store.launches.get(launch.id) == launch


def test_timestamps_are_aware_utc(make_launch):
    launch = make_launch(expires_at=datetime(2030, 1, 1, 12, tzinfo=UTC) + timedelta(hours=1))
    for value in (launch.created_at, launch.updated_at, launch.expires_at):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert launch.expires_at == datetime(2030, 1, 1, 13, tzinfo=UTC)


def test_expiry_given_in_another_zone_is_stored_as_the_same_instant(make_launch):
    paris = timezone(timedelta(hours=2))
    launch = make_launch(expires_at=datetime(2030, 6, 1, 14, tzinfo=paris))
    assert launch.expires_at == datetime(2030, 6, 1, 12, tzinfo=UTC)
    assert launch.expires_at.tzinfo == UTC


def test_naive_expiry_is_refused(make_launch):
    with pytest.raises(ValueError, match="no timezone"):
        make_launch(expires_at=datetime(2030, 1, 1))


def test_unknown_kind_is_refused(make_launch):
    with pytest.raises(ValueError, match="unknown launch kind 'resize'"):
        make_launch(kind="resize")


def test_remove_request_keeps_its_target_host(make_launch):
    launch = make_launch(kind="remove", target_host="web-2", options={})
    assert (launch.kind, launch.target_host) == ("remove", "web-2")


def test_unknown_credential_id_is_refused_by_the_foreign_key(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.launches.create(**launch_fields(credential_id="nope"))
    assert store.launches.recent() == []


def test_get_unknown_id_is_none(store):
    assert store.launches.get("deadbeef") is None


def test_set_message_and_progress_ts(store, make_launch):
    launch = make_launch()
    store.launches.set_message(launch.id, channel="C0OTHER", message_ts="1700000000.000100")
    store.launches.set_progress_ts(launch.id, "1700000000.000200")
    got = store.launches.get(launch.id)
    assert (got.channel, got.message_ts, got.progress_ts) == (
        "C0OTHER",
        "1700000000.000100",
        "1700000000.000200",
    )
    assert got.updated_at >= launch.updated_at


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.launches.set_message("deadbeef", channel="C1", message_ts="1.2"),
        lambda s: s.launches.set_progress_ts("deadbeef", "1.2"),
    ],
    ids=["set_message", "set_progress_ts"],
)
def test_setters_on_unknown_id_raise_not_found(store, call):
    with pytest.raises(NotFoundError, match="deadbeef"):
        call(store)


def test_transition_wins_once_and_records_approver(store, make_launch):
    launch = make_launch()
    assert store.launches.transition(
        launch.id, from_states=("pending",), to="approved", approver="U0BOSS"
    )
    assert not store.launches.transition(
        launch.id, from_states=("pending",), to="denied", approver="U0OTHER", reason="no"
    )
    got = store.launches.get(launch.id)
    assert (got.state, got.approver, got.reason) == ("approved", "U0BOSS", None)


def test_later_transition_keeps_the_approver_and_adds_a_reason(store, make_launch):
    launch = make_launch()
    store.launches.transition(launch.id, from_states=("pending",), to="approved", approver="U0B")
    assert store.launches.transition(
        launch.id, from_states=("approved",), to="failed", reason="quota exceeded"
    )
    got = store.launches.get(launch.id)
    assert (got.state, got.approver, got.reason) == ("failed", "U0B", "quota exceeded")


def test_transition_from_any_of_several_states(store, make_launch):
    launch = make_launch()
    assert store.launches.transition(launch.id, from_states=("approved", "pending"), to="expired")
    assert store.launches.get(launch.id).state == "expired"


def test_transition_of_unknown_id_is_false(store):
    assert not store.launches.transition("deadbeef", from_states=("pending",), to="approved")


@pytest.mark.parametrize(
    ("from_states", "to", "message"),
    [
        ((), "approved", "at least one launch state"),
        (("pending",), "launched", "unknown launch state 'launched'"),
        (("waiting",), "approved", "unknown launch state 'waiting'"),
    ],
)
def test_transition_refuses_bad_states(store, make_launch, from_states, to, message):
    launch = make_launch()
    with pytest.raises(ValueError, match=message):
        store.launches.transition(launch.id, from_states=from_states, to=to)
    assert store.launches.get(launch.id).state == "pending"


def test_recent_is_newest_first_and_limited(store, make_launch):
    ids = [make_launch().id for _ in range(5)]
    assert [launch.id for launch in store.launches.recent(limit=3)] == ids[::-1][:3]
    assert len(store.launches.recent()) == 5


def test_in_states_filters_oldest_first(store, make_launch):
    a, b, c = make_launch(), make_launch(), make_launch()
    store.launches.transition(b.id, from_states=("pending",), to="approved")
    store.launches.transition(c.id, from_states=("pending",), to="denied")
    assert [x.id for x in store.launches.in_states("pending", "approved")] == [a.id, b.id]
    assert [x.id for x in store.launches.in_states("denied")] == [c.id]
    assert store.launches.in_states("done") == []


def test_in_states_refuses_unknown_state(store):
    with pytest.raises(ValueError, match="unknown launch state"):
        store.launches.in_states("running")


def test_pending_expired_picks_only_pending_requests_past_their_expiry(store, make_launch):
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    old = make_launch(expires_at=now - timedelta(minutes=1))
    exact = make_launch(expires_at=now)
    make_launch(expires_at=now + timedelta(seconds=1))
    approved_old = make_launch(expires_at=now - timedelta(hours=1))
    store.launches.transition(approved_old.id, from_states=("pending",), to="approved")
    assert [x.id for x in store.launches.pending_expired(now)] == [old.id, exact.id]


def test_pending_expired_compares_instants_across_zones(store, make_launch):
    launch = make_launch(expires_at=datetime(2030, 1, 1, 12, tzinfo=UTC))
    tokyo = timezone(timedelta(hours=9))
    assert store.launches.pending_expired(datetime(2030, 1, 1, 20, 59, tzinfo=tokyo)) == []
    assert [
        x.id for x in store.launches.pending_expired(datetime(2030, 1, 1, 21, tzinfo=tokyo))
    ] == [launch.id]


def test_every_documented_state_is_accepted(store, make_launch):
    launch = make_launch()
    previous = "pending"
    for state in LAUNCH_STATES[1:]:
        assert store.launches.transition(launch.id, from_states=(previous,), to=state)
        previous = state
    assert store.launches.get(launch.id).state == LAUNCH_STATES[-1]


def test_dataclass_is_frozen(make_launch):
    launch = make_launch()
    with pytest.raises(AttributeError):
        launch.state = "approved"


def test_created_at_is_close_to_now(make_launch):
    before = utcnow()
    launch = make_launch()
    assert before <= launch.created_at <= utcnow()
