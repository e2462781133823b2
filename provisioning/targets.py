"""Where hosts register: a Rancher 1.6 environment or a Rancher 2.x custom cluster.

    target = as_target(RancherClient(url, access, secret, "1a5"))   # or Rancher2Client(url, token)
    agent = target.agent_for(options)           # what cloud-init runs on each host
    scope = target.scope(options)               # "1a5", or the launch's cluster id
    hosts = target.hosts(scope)                 # ONE list call, matched on HOST_LABEL by the caller

The launch and the watcher speak only this interface, so both Rancher versions get the same
events, notices and diagnosis.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from commands.options import HostOptions
from commands.ports import Port, required_ports, required_ports_v2
from commands.userdata import AgentRegistration, NodeCommand
from provisioning.rancher import RancherClient, RancherHost
from provisioning.rancher2 import Rancher2Client


class RancherTarget(Protocol):
    """What the launch and the watcher need from a Rancher, whatever its version."""

    def agent_for(self, options: HostOptions) -> AgentRegistration | NodeCommand: ...

    def scope(self, options: HostOptions) -> str: ...

    def hosts(self, scope: str) -> list[RancherHost]: ...

    def remove(self, host: RancherHost) -> None: ...

    def required(self, options: HostOptions) -> tuple[Sequence[Port] | str, str]:
        """The ports a host needs (or a 1.6 driver name) and the name that labels the audit."""
        ...


class Rancher16Target:
    """A Rancher 1.6 environment (project): every launch registers into the same one."""

    def __init__(self, client: RancherClient) -> None:
        self.client = client

    def agent_for(self, options: HostOptions) -> AgentRegistration:
        registration = self.client.registration()
        return AgentRegistration(
            image=registration.image, registration_url=registration.registration_url
        )

    def scope(self, options: HostOptions) -> str:
        return self.client.project_id

    def hosts(self, scope: str) -> list[RancherHost]:
        return self.client.hosts()

    def remove(self, host: RancherHost) -> None:
        self.client.remove_host(host.id)

    def required(self, options: HostOptions) -> tuple[str, str]:
        return options.network, options.network


class Rancher2Target:
    """Rancher 2.x: each launch names its custom cluster; ports follow the cluster's kind."""

    def __init__(self, client: Rancher2Client) -> None:
        self.client = client
        self._kinds: dict[str, str] = {}
        self._lock = threading.Lock()

    def kind(self, cluster_id: str) -> str:
        """The cluster's kind (rke1, rke2, k3s); it never changes, so it is asked once."""
        with self._lock:
            known = self._kinds.get(cluster_id)
        if known is None:
            known = self.client.cluster(cluster_id).kind
            with self._lock:
                self._kinds[cluster_id] = known
        return known

    def agent_for(self, options: HostOptions) -> NodeCommand:
        return self.client.registration(options.cluster)

    def scope(self, options: HostOptions) -> str:
        return options.cluster

    def hosts(self, scope: str) -> list[RancherHost]:
        return self.client.nodes(scope)

    def remove(self, host: RancherHost) -> None:
        self.client.remove_node(host.id)

    def required(self, options: HostOptions) -> tuple[tuple[Port, ...], str]:
        kind = self.kind(options.cluster)
        return required_ports_v2(kind, options.roles), kind


def as_target(rancher: RancherClient | Rancher2Client | RancherTarget) -> RancherTarget:
    """Wrap a Rancher client in the target for its version; a target passes through."""
    if isinstance(rancher, RancherClient):
        return Rancher16Target(rancher)
    if isinstance(rancher, Rancher2Client):
        return Rancher2Target(rancher)
    return rancher


def ports_of(required: Sequence[Port] | str) -> tuple[Port, ...]:
    """The ports behind ``required``: a 1.6 driver name's, or the list itself."""
    return required_ports(required) if isinstance(required, str) else tuple(required)
