"""``store.atomic()``: one transaction across repositories, isolated from other threads."""

from __future__ import annotations

import threading
import time

import pytest

from storage import Store, open_store

from .conftest import launch_fields


class Boom(Exception):
    pass


def write_everything(store: Store) -> str:
    launch = store.launches.create(**launch_fields())
    store.hosts.ensure_for_launch(launch.id, ["web-1"], "ch-gva-2")
    store.audit.record(actor="U0", action="request", launch_id=launch.id)
    store.credentials.save(owner="U0", api_key="EXOk", api_secret="s")
    return launch.id


def counts(store: Store) -> dict[str, int]:
    tables = ("launches", "hosts", "audit", "credentials")
    return {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_an_error_rolls_back_every_repository(store):
    with pytest.raises(Boom), store.atomic():
        write_everything(store)
        raise Boom
    assert counts(store) == {"launches": 0, "hosts": 0, "audit": 0, "credentials": 0}


def test_a_committed_block_is_visible_to_another_store_on_the_file(db_path, key):
    with open_store(db_path, key=key) as writer, open_store(db_path, key=key) as reader:
        with writer.atomic():
            launch_id = write_everything(writer)
            assert reader.launches.get(launch_id) is None  # not committed yet
        assert reader.launches.get(launch_id) is not None
        assert counts(reader) == {"launches": 1, "hosts": 1, "audit": 1, "credentials": 1}


def test_a_nested_block_rolls_back_alone(store):
    with store.atomic():
        kept = store.launches.create(**launch_fields())
        with pytest.raises(Boom), store.atomic():
            store.launches.create(**launch_fields())
            raise Boom
    assert [x.id for x in store.launches.recent()] == [kept.id]


def test_another_thread_waits_for_the_transaction_and_survives_its_rollback(store):
    inside = threading.Event()
    other_done = threading.Event()
    other_ids: list[str] = []

    def other_thread() -> None:
        inside.wait(timeout=10)
        other_ids.append(store.launches.create(**launch_fields(requester="U0OTHER")).id)
        other_done.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with pytest.raises(Boom), store.atomic():
        store.launches.create(**launch_fields(requester="U0ROLLEDBACK"))
        inside.set()
        # Long enough for the other thread to try; it must not get in while we hold the block.
        assert not other_done.wait(timeout=0.3)
        raise Boom
    thread.join(timeout=10)
    assert other_done.is_set()
    assert [x.requester for x in store.launches.recent()] == ["U0OTHER"]
    assert store.launches.get(other_ids[0]) is not None


def test_many_threads_and_two_stores_write_at_once_without_errors(db_path, key):
    per_thread = 15
    errors: list[BaseException] = []
    with open_store(db_path, key=key) as first, open_store(db_path, key=key) as second:
        stores = [first, second] * 3
        barrier = threading.Barrier(len(stores))

        def work(store: Store, n: int) -> None:
            try:
                barrier.wait(timeout=10)
                for i in range(per_thread):
                    with store.atomic():
                        launch = store.launches.create(**launch_fields(requester=f"U{n}"))
                        (host,) = store.hosts.ensure_for_launch(
                            launch.id, [f"h{n}-{i}"], "ch-gva-2"
                        )
                        store.events.add(
                            launch_id=launch.id, host_id=host.id, kind="created", detail={}
                        )
                    store.launches.transition(launch.id, from_states=("pending",), to="approved")
                    store.audit.record(actor=f"U{n}", action="approve", launch_id=launch.id)
                    store.launches.recent(limit=3)
            except BaseException as exc:  # reported below; a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s, n)) for n, s in enumerate(stores)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert time.monotonic() - started < 60
        total = len(stores) * per_thread
        assert counts(first)["launches"] == total
        assert len(first.launches.in_states("approved")) == total
        assert len(second.events.undelivered()) == total
        assert len(second.audit.entries()) == total
