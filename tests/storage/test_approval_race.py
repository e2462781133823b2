"""Two approvers clicking at once: exactly one ``pending -> approved`` wins, however they race.

Each launch is raced separately behind a barrier, so every contender reaches the conditional
update at the same moment; a read-then-write implementation loses this test within a few rounds.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

import pytest

from storage import Store, open_store

from .conftest import launch_fields

ROUNDS = 20


def approve(store: Store, launch_id: str, approver: str) -> bool:
    """What the Approve button does: win the transition, then audit it (outside a transaction,
    so the conditional update alone has to make the race safe)."""
    won = store.launches.transition(
        launch_id, from_states=("pending",), to="approved", approver=approver
    )
    if won:
        store.audit.record(actor=approver, action="approve", launch_id=launch_id)
    return won


def approve_atomically(store: Store, launch_id: str, approver: str) -> bool:
    """The same inside ``store.atomic()``, so the approval and its audit entry commit together."""
    with store.atomic():
        return approve(store, launch_id, approver)


APPROVALS = pytest.mark.parametrize("approval", [approve, approve_atomically])


def race_threads(
    approval, contenders: list[tuple[Store, str]], launch_ids: list[str]
) -> list[tuple]:
    """Run each contender in its own thread; returns (approver, launch_id, won) triples."""
    barrier = threading.Barrier(len(contenders))
    results: list[tuple] = []
    errors: list[BaseException] = []

    def run(store: Store, approver: str) -> None:
        try:
            for launch_id in launch_ids:
                barrier.wait(timeout=10)
                results.append((approver, launch_id, approval(store, launch_id, approver)))
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=c) for c in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert not any(t.is_alive() for t in threads)
    return results


def assert_one_winner_each(store: Store, launch_ids: list[str], results: list[tuple]) -> None:
    wins = Counter(launch_id for _, launch_id, won in results if won)
    assert wins == Counter(launch_ids), "every launch approved exactly once"
    winners = {launch_id: approver for approver, launch_id, won in results if won}
    for launch_id in launch_ids:
        launch = store.launches.get(launch_id)
        assert (launch.state, launch.approver) == ("approved", winners[launch_id])
        approvals = [e for e in store.audit.entries(launch_id) if e.action == "approve"]
        assert [e.actor for e in approvals] == [winners[launch_id]]


@APPROVALS
@pytest.mark.parametrize("backing", ["memory", "file"])
def test_threads_sharing_one_store(approval, backing, db_path, key):
    store = Store.memory(key) if backing == "memory" else open_store(db_path, key=key)
    with store:
        ids = [store.launches.create(**launch_fields()).id for _ in range(ROUNDS)]
        results = race_threads(approval, [(store, f"U0APPROVER{i}") for i in range(8)], ids)
        assert_one_winner_each(store, ids, results)


@APPROVALS
def test_two_stores_on_one_file_like_two_processes(approval, db_path, key):
    with open_store(db_path, key=key) as first, open_store(db_path, key=key) as second:
        ids = [first.launches.create(**launch_fields()).id for _ in range(ROUNDS)]
        contenders = [(first, "U0A1"), (second, "U0B1"), (first, "U0A2"), (second, "U0B2")]
        results = race_threads(approval, contenders, ids)
        assert_one_winner_each(first, ids, results)
        assert_one_winner_each(second, ids, results)


def _approve_in_process(db_path: str, key: bytes, launch_ids, approver, barrier, out) -> None:
    """Body of a child process: open the store itself and race the parent's siblings."""
    with open_store(db_path, key=key) as store:
        for launch_id in launch_ids:
            barrier.wait(timeout=20)
            out.put((approver, launch_id, approve(store, launch_id, approver)))


def test_two_real_processes(db_path: Path, key):
    with open_store(db_path, key=key) as store:
        ids = [store.launches.create(**launch_fields()).id for _ in range(ROUNDS)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_approve_in_process, args=(str(db_path), key, ids, name, barrier, out))
        for name in ("U0PROC1", "U0PROC2")
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in range(2 * ROUNDS)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    with open_store(db_path, key=key) as store:
        assert_one_winner_each(store, ids, results)
