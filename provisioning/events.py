"""What the watcher tells the outside world, and the interface it tells it through.

    class PrintingNotifier:
        def deliver(self, event, launch, hosts):
            print(event.kind, event.detail.get("host"))

Events are written to the database (an outbox) in the same transaction as the host state change
that caused them, then handed to the notifier; a delivery is recorded only after the notifier
returns, so a restart re-delivers what was not yet handed over and never invents an event twice.
"""

from __future__ import annotations

from typing import Protocol

from storage import Event, Host, LaunchRequest

CREATED = "created"
RUNNING = "running"
REGISTERED = "registered"
READY = "ready"
UNHEALTHY = "unhealthy"
TIMED_OUT = "timed_out"
FAILED = "failed"
REMOVED = "removed"
EVENT_KINDS = (CREATED, RUNNING, REGISTERED, READY, UNHEALTHY, TIMED_OUT, FAILED, REMOVED)


class Notifier(Protocol):
    """Receives each host event once it is recorded; raising leaves it queued for the next tick."""

    def deliver(self, event: Event, launch: LaunchRequest, hosts: list[Host]) -> None: ...
