"""Carries an approved launch request out: security group, instances, then the watcher takes over.

    provisioner = Provisioner(store, exoscale_factory=make_client, rancher=rancher,
                              notifier=notifier, timings=Timings(poll_seconds=15))
    provisioner.start()            # scheduler up, unfinished launches resumed
    provisioner.launch("3fa9c2d1")  # returns at once; the work runs in the scheduler

Everything the work needs lives in the database, so the same job run again (after a crash, a
restart or an Exoscale outage) picks up where the last one stopped: hosts already created are
found by their launch label and never created twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from commands.options import HostOptions
from commands.userdata import HOST_LABEL, bot_labels, render_user_data
from provisioning import events
from provisioning.errors import (
    ExoscaleError,
    ExoscaleUnavailable,
    ProvisioningError,
    RancherError,
    RancherUnavailable,
)
from provisioning.events import Notifier
from provisioning.exoscale import ExoscaleClient, InstanceSpec
from provisioning.rancher import RancherClient
from provisioning.rancher2 import Rancher2Client
from provisioning.targets import RancherTarget, as_target
from provisioning.watcher import Watcher
from storage import Host, LaunchRequest, Store

log = logging.getLogger(__name__)

ExoscaleFactory = Callable[[str, str, str], ExoscaleClient]


@dataclass(frozen=True)
class Timings:
    """How often the watcher polls and how long a host may take to register, in seconds."""

    poll_seconds: float = 15.0
    register_timeout: float = 20 * 60.0
    # A host counts as ready once Rancher has shown it healthy on two looks this far apart.
    confirm_seconds: float = 0.5


class Provisioner:
    """Runs launches and removals in one background scheduler and watches hosts until ready."""

    def __init__(
        self,
        store: Store,
        *,
        exoscale_factory: ExoscaleFactory,
        rancher: RancherClient | Rancher2Client | RancherTarget,
        notifier: Notifier,
        timings: Timings = Timings(),
        workspace_credentials: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.rancher = as_target(rancher)
        self.timings = timings
        self.workspace_credentials = workspace_credentials
        self._factory = exoscale_factory
        # Requests whose job is queued, and whose job is running: each runs once at a time.
        self._scheduled: set[str] = set()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._stopping = False
        self.watcher = Watcher(
            store,
            exoscale=self.exoscale,
            rancher=self.rancher,
            notifier=notifier,
            register_timeout=timings.register_timeout,
            confirm_seconds=timings.confirm_seconds,
            request_tick=self._tick_soon,
        )
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- the bot's side ------------------------------------------------------------------------

    def exoscale(self, credential_id: str | None, zone: str) -> ExoscaleClient:
        """A client for the keys a user saved in the wizard, or the workspace's when None."""
        if credential_id is None:
            if self.workspace_credentials is None:
                raise ExoscaleError("no workspace Exoscale credentials are configured")
            key, secret = self.workspace_credentials
        else:
            saved = self.store.credentials.get(credential_id)
            if saved is None:
                raise ExoscaleError("the saved Exoscale credentials are gone: start again")
            key, secret = saved.api_key, saved.api_secret
        return self._factory(key, secret, zone)

    def start(self) -> None:
        """Start the scheduler: the watcher's interval job, and every unfinished launch resumed."""
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.timings.poll_seconds,
            id="watch",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop scheduling, then give a job already running up to ``timeout`` s to finish.

        Not ``shutdown(wait=True)``: apscheduler holds its job-store lock while it waits, and a
        running job that schedules another (a tick does) would wait on that lock for ever.
        """
        with self._busy_lock:
            self._stopping = True
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        while (self._busy or self.watcher.busy) and time.monotonic() < deadline:
            time.sleep(0.01)

    def launch(self, launch_id: str) -> None:
        """Create the instances of an approved add request, in the background."""
        self._schedule(launch_id)

    def remove(self, launch_id: str) -> None:
        """Delete the host named by an approved remove request, in the background."""
        self._schedule(launch_id)

    # -- the scheduler's side ------------------------------------------------------------------

    def tick(self) -> None:
        """One watcher pass, after making sure no approved request is left without its job."""
        for request in self.store.launches.in_states("approved"):
            with self._busy_lock:
                if request.id in self._busy or request.id in self._scheduled:
                    continue
            if request.kind == "remove" or self._has_uncreated_hosts(request):
                self._schedule(request.id)
        self.watcher.tick()

    def run(self, launch_id: str) -> None:
        """Carry out one approved request now, in the calling thread (the job body)."""
        with self._busy_lock:
            self._scheduled.discard(launch_id)
            if launch_id in self._busy:
                return
            self._busy.add(launch_id)
        try:
            request = self.store.launches.get(launch_id)
            if request is None or request.state != "approved":
                return
            if request.kind == "remove":
                self._remove(request)
            else:
                self._create(request)
        finally:
            with self._busy_lock:
                self._busy.discard(launch_id)
            self.watcher.dispatch()

    def _tick_soon(self, delay: float) -> None:
        """An extra look (one more host list) to confirm hosts just seen healthy."""
        if self._stopping:
            return
        self.scheduler.add_job(
            self.watcher.tick,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=delay),
            id="confirm",
            replace_existing=True,
        )

    def _schedule(self, launch_id: str) -> None:
        with self._busy_lock:
            if self._stopping:
                return
            self._scheduled.add(launch_id)
        self.scheduler.add_job(
            self.run,
            args=[launch_id],
            id=f"run:{launch_id}",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )

    def _has_uncreated_hosts(self, request: LaunchRequest) -> bool:
        hosts = self.store.hosts.for_launch(request.id)
        return not hosts or any(h.state == "pending" for h in hosts)

    def _create(self, request: LaunchRequest) -> None:
        options = HostOptions.from_dict(request.options)
        hosts = self.store.hosts.ensure_for_launch(request.id, options.host_names(), request.zone)
        todo = [h for h in hosts if h.state == "pending"]
        if not todo:
            return
        try:
            client = self.exoscale(request.credential_id, request.zone)
            group_id = self._security_group(client, request, options)
            agent = self.rancher.agent_for(options)
            instance_type = client.find_instance_type(options.profile)
            template = client.find_template(options.template)
        except (ExoscaleUnavailable, RancherUnavailable) as exc:
            # Nothing was lost: the next watcher tick schedules this launch again.
            log.warning("launch %s waits: %s", request.id, exc)
            return
        except (ProvisioningError, ValueError) as exc:
            self._fail(request, todo, str(exc))
            return
        specs = {}
        for host in todo:
            try:
                user_data = render_user_data(
                    options, launch_id=request.id, index=host.index, agent=agent
                )
            except ValueError as exc:
                self._fail(request, [host], str(exc))
                continue
            specs[host.name] = (
                host,
                InstanceSpec(
                    name=host.name,
                    instance_type_id=instance_type.id,
                    template_id=template.id,
                    disk_size=options.disk,
                    security_group_id=group_id,
                    user_data=user_data,
                    labels={**dict(options.labels), **bot_labels(request.id, host.index)},
                ),
            )
        results = client.create_instances([spec for _, spec in specs.values()])
        for result in results:
            host, spec = specs[result.name]
            if result.instance_id is None:
                if result.retryable:
                    log.warning("host %s waits: %s", host.name, result.error)
                    continue
                self._fail(request, [host], result.error or "Exoscale did not create it")
                continue
            with self.store.atomic():
                self.store.hosts.update(host.id, state="created", instance_id=result.instance_id)
                self.store.events.add(
                    launch_id=request.id,
                    host_id=host.id,
                    kind=events.CREATED,
                    detail={"host": host.name, "instance_id": result.instance_id},
                )
                if result.created:
                    self.store.audit.record(
                        actor="bot",
                        action="exoscale.instance.create",
                        launch_id=request.id,
                        detail={
                            "host": host.name,
                            "instance_id": result.instance_id,
                            "label": spec.labels[HOST_LABEL],
                        },
                    )

    def _security_group(
        self, client: ExoscaleClient, request: LaunchRequest, options: HostOptions
    ) -> str:
        if options.standard_group:
            add_missing = bool(request.port_audit.get("add_missing", False))
            required, label = self.rancher.required(options)
            audit = client.ensure_standard_group(required, add_missing=add_missing, driver=label)
            if audit.created or audit.added:
                self.store.audit.record(
                    actor="bot",
                    action="exoscale.security_group.create"
                    if audit.created
                    else "exoscale.security_group.add_rules",
                    launch_id=request.id,
                    detail={
                        "group": audit.group.name,
                        "added": [str(p) for p in audit.added],
                    },
                )
            return audit.group.id
        return client.security_group(request.group_id or options.group).id

    def _fail(self, request: LaunchRequest, hosts: list[Host], reason: str) -> None:
        with self.store.atomic():
            for host in hosts:
                self.store.hosts.update(host.id, state="failed", last_error=reason)
                self.store.events.add(
                    launch_id=request.id,
                    host_id=host.id,
                    kind=events.FAILED,
                    detail={"host": host.name, "diagnosis": reason},
                )
        self.watcher.finish_if_settled(request.id)

    def _remove(self, request: LaunchRequest) -> None:
        host = self.store.hosts.by_name(request.target_host)
        if host is None:
            self.store.launches.transition(
                request.id,
                from_states=("approved",),
                to="failed",
                reason=f"no host named {request.target_host}",
            )
            return
        try:
            if host.instance_id:
                client = self.exoscale(request.credential_id, host.zone)
                client.delete_instance(host.instance_id)
            label = f"{host.launch_id}-{host.index}"
            launch = self.store.launches.get(host.launch_id)
            scope = self.rancher.scope(HostOptions.from_dict(launch.options))
            for rancher_host in self.rancher.hosts(scope):
                if rancher_host.labels.get(HOST_LABEL) == label and not rancher_host.removed:
                    self.rancher.remove(rancher_host)
        except (ExoscaleUnavailable, RancherUnavailable) as exc:
            log.warning("removal %s waits: %s", request.id, exc)
            return
        except (ExoscaleError, RancherError) as exc:
            self.store.launches.transition(
                request.id, from_states=("approved",), to="failed", reason=str(exc)
            )
            return
        with self.store.atomic():
            self.store.hosts.update(host.id, state="removed")
            self.store.events.add(
                launch_id=request.id,
                host_id=host.id,
                kind=events.REMOVED,
                detail={"host": host.name},
            )
            self.store.audit.record(
                actor="bot",
                action="host.remove",
                launch_id=request.id,
                detail={"host": host.name, "instance_id": host.instance_id},
            )
            self.store.launches.transition(request.id, from_states=("approved",), to="done")
