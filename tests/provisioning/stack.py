"""The Exoscale and Rancher sandboxes wired together, with a Provisioner over real sockets.

with Stack() as stack:
    launch = stack.approved_launch(count=3)
    stack.provisioner.launch(launch.id)
    stack.wait_for(lambda: len(stack.notifier.of_kind("ready")) == 3)
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from commands.options import parse_host_options
from provisioning.exoscale import ExoscaleClient
from provisioning.launch import Provisioner, Timings
from provisioning.rancher import RancherClient
from provisioning.rancher2 import Rancher2Client
from sandbox.exoscale import ExoscaleSandbox
from sandbox.rancher import RancherSandbox
from storage import Store

EXO_KEY, EXO_SECRET = "EXOsandboxkey0000000000000", "sandbox-secret-never-shown"
RANCHER_ACCESS, RANCHER_SECRET, PROJECT = "RANCHERACCESS", "rancher-secret-never-shown", "1a5"
RANCHER_TOKEN = "token-stack1:rancher2-secret-never-shown"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
]


class RecordingNotifier:
    """Keeps every delivered event, as (kind, host name, detail), in delivery order."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str, dict]] = []
        self._lock = threading.Lock()

    def deliver(self, event, launch, hosts) -> None:
        with self._lock:
            self.delivered.append((event.kind, event.detail.get("host"), event.detail))

    def of_kind(self, kind: str) -> list[tuple[str, str, dict]]:
        with self._lock:
            return [d for d in self.delivered if d[0] == kind]


def exoscale_factory(endpoint: str, max_parallel: int = 8):
    def make(key: str, secret: str, zone: str) -> ExoscaleClient:
        return ExoscaleClient(
            key,
            secret,
            zone,
            endpoint=endpoint,
            timeout=5.0,
            retries=2,
            backoff=0.01,
            poll_interval=lambda run_time: 0.02,
            max_parallel=max_parallel,
        )

    return make


class Stack:
    """Both sandboxes, a store and a provisioner; `wire=False` leaves the agents unheard.

    ``rancher2=True`` serves Rancher 2.x (API v3, the clusters in CLUSTERS) instead of 1.6.
    """

    def __init__(
        self,
        *,
        rancher2: bool = False,
        driver: str = "ipsec",
        wire: bool = True,
        poll_seconds: float = 0.1,
        register_timeout: float = 10.0,
        store: Store | None = None,
    ) -> None:
        self.exo = ExoscaleSandbox({EXO_KEY: EXO_SECRET}, operation_delay=0.02, boot_delay=0.05)
        self.endpoint = self.exo.start()
        self.rancher = RancherSandbox(
            RANCHER_ACCESS,
            RANCHER_SECRET,
            project_id=PROJECT,
            driver=driver,
            token=RANCHER_TOKEN,
            clusters=CLUSTERS,
            token_delay=0.02,
            register_delay=0.05,
            activate_delay=0.05,
        )
        self.rancher_url = self.rancher.start()
        self.rancher_project = PROJECT
        if wire:
            self.exo.on_boot(self.rancher.boot)
        self.store = store or Store.memory()
        self.notifier = RecordingNotifier()
        self.rancher2_client = Rancher2Client(
            self.rancher_url, RANCHER_TOKEN, timeout=5.0, retries=1, backoff=0.01, token_poll=0.02
        )
        self.rancher_client = RancherClient(
            self.rancher_url,
            RANCHER_ACCESS,
            RANCHER_SECRET,
            PROJECT,
            timeout=5.0,
            retries=1,
            backoff=0.01,
            token_poll=0.02,
            state_poll=0.02,
        )
        self.provisioner = Provisioner(
            self.store,
            exoscale_factory=exoscale_factory(self.endpoint),
            rancher=self.rancher2_client if rancher2 else self.rancher_client,
            notifier=self.notifier,
            timings=Timings(
                poll_seconds=poll_seconds, register_timeout=register_timeout, confirm_seconds=0.2
            ),
            workspace_credentials=(EXO_KEY, EXO_SECRET),
        )

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        if self.provisioner.scheduler.running:
            self.provisioner.shutdown()
        self.exo.stop()
        self.rancher.stop()

    def client(self, zone: str = "ch-gva-2") -> ExoscaleClient:
        return self.provisioner.exoscale(None, zone)

    def approved_launch(self, *, group: str = "standard", group_id=None, **values):
        form = {"count": "3", "name": "web", "network": "ipsec", "group": group}
        form.update({k: str(v) for k, v in values.items()})
        options = parse_host_options(form, max_hosts=1000)
        launch = self.store.launches.create(
            kind="add",
            requester="U0REQUEST",
            channel="C0OPS",
            options=options.to_dict(),
            zone=options.zone,
            credential_id=None,
            group_id=group_id,
            group_name="rancher-machine" if group == "standard" else group,
            driver=options.network,
            port_audit={},
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        assert self.store.launches.transition(
            launch.id, from_states=("pending",), to="approved", approver="U0APPROVE"
        )
        return self.store.launches.get(launch.id)

    @staticmethod
    def wait_for(condition, timeout: float = 20.0, interval: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout} s")
