"""A provisioner in its own process, for the restart test to kill with SIGKILL and start again.

    python -m tests.provisioning.restart_worker DB EVENTS EXO_ENDPOINT RANCHER_URL LAUNCH_ID [2]

With a trailing "2" it registers with Rancher 2.x (API v3) instead of Rancher 1.6.

Delivered events are appended to EVENTS as JSON lines, one per event, flushed at once.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from provisioning.launch import Provisioner, Timings
from provisioning.rancher import RancherClient
from provisioning.rancher2 import Rancher2Client
from storage import open_store
from tests.provisioning.stack import (
    EXO_KEY,
    EXO_SECRET,
    PROJECT,
    RANCHER_ACCESS,
    RANCHER_SECRET,
    RANCHER_TOKEN,
    exoscale_factory,
)


class FileNotifier:
    def __init__(self, path: str) -> None:
        self.path = path

    def deliver(self, event, launch, hosts) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"kind": event.kind, "host": event.detail.get("host")}) + "\n")
            f.flush()
            os.fsync(f.fileno())


def main() -> None:
    db, events, endpoint, rancher_url, launch_id = sys.argv[1:6]
    if sys.argv[6:] == ["2"]:
        rancher = Rancher2Client(rancher_url, RANCHER_TOKEN, timeout=5.0, token_poll=0.02)
    else:
        rancher = RancherClient(
            rancher_url, RANCHER_ACCESS, RANCHER_SECRET, PROJECT, timeout=5.0, token_poll=0.02
        )
    store = open_store(db)
    provisioner = Provisioner(
        store,
        exoscale_factory=exoscale_factory(endpoint, max_parallel=1),
        rancher=rancher,
        notifier=FileNotifier(events),
        timings=Timings(poll_seconds=0.1, register_timeout=60),
        workspace_credentials=(EXO_KEY, EXO_SECRET),
    )
    provisioner.start()
    provisioner.launch(launch_id)
    threading.Event().wait()


if __name__ == "__main__":
    main()
