"""A launch survives its process being killed: nothing created twice, nothing forgotten."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storage import open_store
from tests.provisioning.stack import Stack

ROOT = Path(__file__).resolve().parents[2]


def _worker(db: Path, events: Path, stack: Stack, launch_id: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.provisioning.restart_worker",
            str(db),
            str(events),
            stack.endpoint,
            stack.rancher_url,
            launch_id,
            *extra,
        ],
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("rancher", "target"),
    [("1.6", {}), ("2", {"cluster": "c-m-rke2x", "roles": "worker"})],
)
def test_killed_mid_launch_then_restarted_creates_five_and_reports_five_ready(
    tmp_path, rancher, target
):
    db, events = tmp_path / "bot.db", tmp_path / "events.jsonl"
    store = open_store(db)
    extra = ("2",) if rancher == "2" else ()
    with Stack(store=store, rancher2=rancher == "2") as stack:
        # Slow operations make the five sequential creations last long enough to kill mid-way.
        stack.exo.operation_delay = 0.4
        launch = stack.approved_launch(count=5, name="node", **target)

        first = _worker(db, events, stack, launch.id, *extra)
        try:
            stack.wait_for(lambda: len(stack.exo.instances) >= 2, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        created_before_restart = len(stack.exo.instances)
        assert created_before_restart < 5

        stack.exo.operation_delay = 0.02
        second = _worker(db, events, stack, launch.id, *extra)
        try:
            stack.wait_for(
                lambda: (
                    events.exists()
                    and sum(1 for line in events.read_text().splitlines() if '"ready"' in line) >= 5
                ),
                timeout=60,
            )
        finally:
            second.terminate()
            second.wait(timeout=10)

        assert len(stack.exo.instances) == 5
        assert sorted(i["name"] for i in stack.exo.instances) == [f"node-{i}" for i in range(1, 6)]
        delivered = Counter(
            (e["kind"], e["host"]) for e in map(json.loads, events.read_text().splitlines())
        )
        assert [host for (kind, host) in delivered if kind == "ready"] != []
        assert sorted(h for (k, h) in delivered if k == "ready") == [
            f"node-{i}" for i in range(1, 6)
        ]
        assert all(n == 1 for n in delivered.values()), delivered
