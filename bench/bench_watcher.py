"""Watcher benchmark: remote calls and time of one tick, and the delay to a "ready" event.

    python bench/bench_watcher.py

For 10, 100 and 1000 waiting hosts (half not yet running on Exoscale, half waiting for their
Rancher agent), one tick is run against the sandboxes and the calls that reached each are
counted, with the memory the tick allocated at its peak (tracemalloc, the sandboxes' share
included since they run in this process). Then one real launch measures the delay from the
host turning active in the Rancher sandbox to its "ready" event; the target is at most one poll
interval plus 1 s.
"""

from __future__ import annotations

import sys
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commands.userdata import HOST_LABEL  # noqa: E402
from tests.provisioning.stack import Stack  # noqa: E402

POLL_SECONDS = 2.0


def one_tick(waiting: int, *, trace: bool = False) -> tuple[int, int, float, int]:
    with Stack() as stack:
        launch = stack.approved_launch(count=waiting, name="h")
        hosts = stack.store.hosts.ensure_for_launch(
            launch.id, [f"h-{i}" for i in range(1, waiting + 1)], "ch-gva-2"
        )
        for host in hosts:
            not_running = host.index % 2 == 0
            stack.store.hosts.update(
                host.id,
                state="created" if not_running else "running",
                instance_id=f"i-{host.index}",
            )
            if not not_running:
                stack.rancher.add_host(
                    host.name,
                    state="registering",
                    agent_state=None,
                    labels={HOST_LABEL: f"{launch.id}-{host.index}"},
                )
        rancher_before, exo_before = len(stack.rancher.calls), len(stack.exo.calls)
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        stack.provisioner.watcher.tick()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        return (
            len(stack.rancher.calls) - rancher_before,
            len(stack.exo.calls) - exo_before,
            elapsed,
            peak,
        )


def ready_delay() -> float:
    with Stack(poll_seconds=POLL_SECONDS) as stack:
        launch = stack.approved_launch(count=1, name="quick")
        active_at: list[float] = []
        stop = threading.Event()

        def watch_sandbox() -> None:
            while not stop.is_set():
                hosts = stack.rancher.hosts
                if hosts and hosts[0]["state"] == "active":
                    active_at.append(time.monotonic())
                    return
                time.sleep(0.005)

        spy = threading.Thread(target=watch_sandbox, daemon=True)
        spy.start()
        stack.provisioner.start()
        stack.provisioner.launch(launch.id)
        stack.wait_for(lambda: stack.notifier.of_kind("ready"), timeout=60, interval=0.005)
        ready_at = time.monotonic()
        stop.set()
        return ready_at - active_at[0]


def main() -> None:
    print("watcher tick: remote calls and time for N waiting hosts")
    print(
        f"{'hosts':>6} {'Rancher calls':>14} {'Exoscale calls':>15} {'tick ms':>9} {'peak MiB':>9}"
    )
    for waiting in (10, 100, 1000):
        rancher_calls, exo_calls, elapsed, _ = one_tick(waiting)
        # Tracing slows Python down several times: memory is measured on a second, traced run.
        peak = one_tick(waiting, trace=True)[3]
        print(
            f"{waiting:>6} {rancher_calls:>14} {exo_calls:>15} {elapsed * 1000:>9.1f}"
            f" {peak / 2**20:>9.1f}"
        )
    delay = ready_delay()
    target = POLL_SECONDS + 1.0
    verdict = "met" if delay <= target else "MISSED"
    print(
        f"active -> ready event: {delay:.2f} s with a {POLL_SECONDS:.0f} s poll interval "
        f"(target <= {target:.1f} s: {verdict})"
    )


if __name__ == "__main__":
    main()
