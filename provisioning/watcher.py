"""Follows created hosts until their Rancher agent is registered and healthy.

    watcher = Watcher(store, exoscale=provisioner.exoscale, rancher=rancher,
                      notifier=notifier, register_timeout=1200)
    watcher.tick()   # what the scheduler runs every BOT_POLL_SECONDS

A tick costs one Rancher host-list call for the project and at most one instance-list call per
Exoscale account and zone that still has hosts not running, whatever the number of hosts waiting.
Every decision is written to the database with its event in one transaction, then the events are
handed to the notifier.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from commands.options import HostOptions
from commands.ports import STANDARD_GROUP
from commands.userdata import HOST_LABEL
from provisioning import events
from provisioning.errors import ProvisioningError, RancherError
from provisioning.events import Notifier
from provisioning.exoscale import ExoscaleClient, Instance
from provisioning.rancher import RancherHost
from provisioning.targets import RancherTarget
from storage import Host, LaunchRequest, Store

log = logging.getLogger(__name__)

WAITING = ("created", "running", "registered", "unhealthy")
SETTLED = ("ready", "failed", "timed_out", "removed")
BROKEN_INSTANCE_STATES = ("error", "destroyed", "destroying", "expunging", "stopped")


class Watcher:
    """One poll of Exoscale and Rancher for every waiting host, and the events that follow."""

    def __init__(
        self,
        store: Store,
        *,
        exoscale: Callable[[str | None, str], ExoscaleClient],
        rancher: RancherTarget,
        notifier: Notifier,
        register_timeout: float,
        confirm_seconds: float,
        request_tick: Callable[[float], None] = lambda delay: None,
    ) -> None:
        self.store = store
        self.exoscale = exoscale
        self.rancher = rancher
        self.notifier = notifier
        self.register_timeout = timedelta(seconds=register_timeout)
        self.confirm = timedelta(seconds=confirm_seconds)
        self.request_tick = request_tick
        # When each registered host was first seen healthy. An observation, not state: after a
        # restart a host simply gets looked at twice again.
        self._healthy_since: dict[int, datetime] = {}
        self._ticking = threading.Lock()
        self._dispatching = threading.Lock()

    @property
    def busy(self) -> bool:
        """True while a tick or a delivery is under way."""
        return self._ticking.locked() or self._dispatching.locked()

    def tick(self) -> None:
        # The interval job and a confirmation look may fire together: one at a time.
        with self._ticking:
            self._tick()

    def _tick(self) -> None:
        hosts = self.store.hosts.in_states(*WAITING)
        if hosts:
            launches = {i: self.store.launches.get(i) for i in {h.launch_id for h in hosts}}
            instances = self._instances(hosts, launches)
            scopes = {
                launch_id: self.rancher.scope(HostOptions.from_dict(launch.options))
                for launch_id, launch in launches.items()
            }
            registered = {scope: self._registered(scope) for scope in set(scopes.values())}
            now = datetime.now(UTC)
            for host in hosts:
                self._advance(
                    host,
                    launches[host.launch_id],
                    instances.get(host.instance_id),
                    registered[scopes[host.launch_id]],
                    now,
                )
            for launch_id in launches:
                self.finish_if_settled(launch_id)
        self.dispatch()

    def dispatch(self) -> None:
        """Hand every recorded, undelivered event to the notifier, oldest first."""
        with self._dispatching:
            self._dispatch()

    def _dispatch(self) -> None:
        seen: dict[str, tuple[LaunchRequest, list[Host]]] = {}
        for event in self.store.events.undelivered():
            if event.launch_id not in seen:
                seen[event.launch_id] = (
                    self.store.launches.get(event.launch_id),
                    self.store.hosts.for_launch(event.launch_id),
                )
            launch, hosts = seen[event.launch_id]
            if event.kind == events.REMOVED:
                hosts = [self.store.hosts.get(event.host_id)]
            try:
                self.notifier.deliver(event, launch, hosts)
            except Exception:
                log.exception(
                    "delivering %s event %s failed; retrying next tick", event.kind, event.id
                )
                return
            self.store.events.mark_delivered(event.id)

    def finish_if_settled(self, launch_id: str) -> None:
        """Close an approved launch once none of its hosts is still on its way."""
        hosts = self.store.hosts.for_launch(launch_id)
        if not hosts or any(h.state not in SETTLED for h in hosts):
            return
        outcome = "done" if all(h.state == "ready" for h in hosts) else "failed"
        self.store.launches.transition(launch_id, from_states=("approved",), to=outcome)

    def _registered(self, scope: str) -> dict[str, RancherHost] | None:
        """One host list for a Rancher project or cluster, by the bot's host label."""
        try:
            return _by_host_label(self.rancher.hosts(scope))
        except RancherError as exc:
            # The hosts keep waiting; only the timeout can settle them meanwhile.
            log.warning("Rancher host list of %s failed: %s", scope, exc)
            return None

    def _instances(
        self, hosts: list[Host], launches: dict[str, LaunchRequest]
    ) -> dict[str, Instance]:
        """One instance list per (account, zone) that still has hosts not known to be running."""
        wanted = {
            (launches[h.launch_id].credential_id, h.zone) for h in hosts if h.state == "created"
        }
        found: dict[str, Instance] = {}
        for credential_id, zone in wanted:
            try:
                for instance in self.exoscale(credential_id, zone).instances():
                    found[instance.id] = instance
            except ProvisioningError as exc:
                log.warning("Exoscale instance list in %s failed: %s", zone, exc)
        return found

    def _advance(
        self,
        host: Host,
        launch: LaunchRequest,
        instance: Instance | None,
        registered: dict[str, RancherHost] | None,
        now: datetime,
    ) -> None:
        state, ip = host.state, host.ip
        new: list[tuple[str, dict]] = []
        if instance is not None and state == "created":
            if instance.state == "running" and instance.public_ip:
                state, ip = "running", instance.public_ip
                new.append((events.RUNNING, {"ip": ip}))
            elif instance.state in BROKEN_INSTANCE_STATES:
                reason = f"the Exoscale instance is {instance.state}"
                self._settle(host, launch, "failed", events.FAILED, reason)
                return
        agent = None if registered is None else registered.get(f"{host.launch_id}-{host.index}")
        if agent is not None:
            ip = ip or agent.ip
            if state in ("created", "running"):
                if state == "created":
                    new.append((events.RUNNING, {"ip": ip}))
                state = "registered"
                new.append((events.REGISTERED, {"ip": ip, "rancher_host_id": agent.id}))
            if agent.healthy and self._confirmed(host.id, now):
                state = "ready"
                new.append((events.READY, {"ip": ip, "rancher_host_id": agent.id}))
            elif agent.unhealthy:
                self._healthy_since.pop(host.id, None)
                if state != "unhealthy":
                    state = "unhealthy"
                    diagnosis = self.diagnose(host, launch, agent)
                    new.append((events.UNHEALTHY, {"ip": ip, "diagnosis": diagnosis}))
        if state != "ready" and now - host.created_at > self.register_timeout:
            reason = self.diagnose(host, launch, agent)
            self._settle(host, launch, "timed_out", events.TIMED_OUT, reason, ip=ip)
            return
        if state == host.state and ip == host.ip:
            return
        with self.store.atomic():
            fields = {"state": state, "ip": ip}
            if agent is not None:
                fields["rancher_host_id"] = agent.id
            if state == "ready":
                fields["ready_at"] = now
            self.store.hosts.update(host.id, **fields)
            for kind, detail in new:
                self.store.events.add(
                    launch_id=host.launch_id,
                    host_id=host.id,
                    kind=kind,
                    detail={"host": host.name, **detail},
                )

    def _confirmed(self, host_id: int, now: datetime) -> bool:
        """Healthy on two looks at least `confirm` apart: an agent that connects and then drops
        (a port its network driver needs is closed) must not be announced as ready."""
        since = self._healthy_since.setdefault(host_id, now)
        if now - since >= self.confirm:
            del self._healthy_since[host_id]
            return True
        self.request_tick(self.confirm.total_seconds())
        return False

    def _settle(
        self, host: Host, launch: LaunchRequest, state: str, kind: str, reason: str, ip=None
    ) -> None:
        with self.store.atomic():
            self.store.hosts.update(host.id, state=state, last_error=reason, ip=ip or host.ip)
            self.store.events.add(
                launch_id=launch.id,
                host_id=host.id,
                kind=kind,
                detail={"host": host.name, "ip": ip or host.ip, "diagnosis": reason},
            )

    def diagnose(self, host: Host, launch: LaunchRequest, agent: RancherHost | None) -> str:
        """Say, in words a person can act on, why a host is not ready: instance, agent, ports."""
        options = HostOptions.from_dict(launch.options)
        findings = []
        try:
            client = self.exoscale(launch.credential_id, host.zone)
            if host.instance_id:
                instance = client.instance(host.instance_id)
                ip = f" at {instance.public_ip}" if instance.public_ip else ""
                findings.append(f"Exoscale says instance {host.name} is {instance.state}{ip}")
            required, label = self.rancher.required(options)
            group = STANDARD_GROUP if options.standard_group else options.group
            audit = client.audit_group(launch.group_id or group, required, driver=label).audit
            if audit.missing:
                ports = ", ".join(str(p) for p in audit.missing)
                hint = (
                    "add the rule" if options.standard_group else "add the rule, or choose Standard"
                )
                findings.append(f"{group} lacks {ports} ({driver_name(label)}): {hint}")
        except ProvisioningError as exc:
            findings.append(f"Exoscale could not be asked: {exc}")
        if agent is None:
            findings.append("the Rancher agent never registered")
        else:
            findings.append(f"Rancher reports the agent {agent.agent_state or agent.state}")
        return "; ".join(findings)


def driver_name(driver: str) -> str:
    return {"ipsec": "IPsec", "vxlan": "VXLAN"}.get(driver, driver.upper())


def _by_host_label(hosts: list[RancherHost]) -> dict[str, RancherHost]:
    return {h.labels[HOST_LABEL]: h for h in hosts if HOST_LABEL in h.labels and not h.removed}
