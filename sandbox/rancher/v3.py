"""The Rancher 2.x (API v3) side of the Rancher sandbox: clusters, registration tokens, nodes.

``RancherSandbox`` routes ``/v3`` here when it is given bearer tokens and clusters::

    rancher = RancherSandbox(token="token-ab12c:s3cr3t",
                             clusters=[{"id": "c-m-abc12", "name": "prod", "kind": "rke2"}])
    rancher.start()
    exoscale.on_boot(rancher.boot)          # a booted node command registers a node
    rancher.nodes                           # what GET /v3/nodes shows now

The JSON follows Rancher's v3 (norman) shapes: collections with ``data`` and ``pagination``,
clusters with ``driver``/``provider`` and ``rancherKubernetesEngineConfig``/``rke2Config``/
``k3sConfig``, registration tokens whose ``nodeCommand`` is the RKE1 ``rancher-agent`` docker
command or the RKE2/K3s ``system-agent-install.sh`` command, nodes with ``etcd``/
``controlPlane``/``worker`` and Kubernetes ``labels``. State follows the clock, as in 1.6.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .agent import CommandRefused
from .api import ApiError, by_number, collection_json, iso, json_body, only, page_limit
from .network import missing_ports_v2
from .node_agent import INSTALL_SCRIPT, NodeAgentCommand, parse_node_command

if TYPE_CHECKING:
    from .server import RancherSandbox

__all__ = ["CLUSTER_KINDS", "DEFAULT_AGENT_IMAGE_V2", "V3Api"]

DEFAULT_AGENT_IMAGE_V2 = "rancher/rancher-agent:v2.9.2"
# "imported" stands for clusters custom nodes cannot join (hosted, generic imported).
CLUSTER_KINDS = ("rke1", "rke2", "k3s", "imported")
_KUBERNETES_VERSIONS = {
    "rke1": "v1.28.13-rancher1-1",
    "rke2": "v1.30.4+rke2r1",
    "k3s": "v1.30.4+k3s1",
    "imported": "v1.30.4",
}
_ROLE_LABELS = {
    "etcd": "node-role.kubernetes.io/etcd",
    "controlplane": "node-role.kubernetes.io/controlplane",
    "worker": "node-role.kubernetes.io/worker",
}
# Not a real certificate: the checksum only has to be stable and what the commands carry.
_CA_CERT = "-----BEGIN CERTIFICATE-----\nMIIBsandboxRancherCA\n-----END CERTIFICATE-----\n"
CA_CHECKSUM = hashlib.sha256(_CA_CERT.encode()).hexdigest()


@dataclass
class _Cluster:
    id: str
    name: str
    kind: str
    state: str
    created: float


@dataclass
class _Token:
    number: int
    cluster_id: str
    token: str
    created: float
    active_at: float
    state: str = "pending"

    @property
    def id(self) -> str:
        return f"{self.cluster_id}:crt-{self.number:05d}"


@dataclass
class _Node:
    number: int
    cluster_id: str
    hostname: str
    ip: str | None
    labels: dict[str, str]
    roles: tuple[str, ...]
    state: str
    created: float
    instance_id: str | None = None
    gone: bool = False
    # (monotonic time, state) still to come, in order; state None means the node is gone.
    timeline: list[tuple[float, str | None]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.cluster_id}:m-{self.number:05d}"


@dataclass
class _PendingNode:
    visible_at: float
    instance_id: str | None
    cluster_id: str
    hostname: str
    ip: str | None
    labels: dict[str, str]
    roles: tuple[str, ...]
    unhealthy: bool


class V3Api:
    """State and routes of the v3 subset; every method runs under the sandbox's lock."""

    def __init__(
        self,
        sandbox: RancherSandbox,
        *,
        tokens: Iterable[str],
        clusters: Sequence[Mapping[str, Any]],
        agent_image: str = DEFAULT_AGENT_IMAGE_V2,
    ) -> None:
        self._sandbox = sandbox
        self._bearer = tuple(tokens)
        self.agent_image = agent_image
        self._clusters: dict[str, _Cluster] = {}
        for seed in clusters:
            kind = str(seed.get("kind", "rke2"))
            if kind not in CLUSTER_KINDS:
                raise ValueError(f"cluster kind must be one of {CLUSTER_KINDS}, not {kind!r}")
            cluster_id = str(seed["id"])
            self._clusters[cluster_id] = _Cluster(
                id=cluster_id,
                name=str(seed.get("name") or cluster_id),
                kind=kind,
                state=str(seed.get("state") or "active"),
                created=time.time(),
            )
        self._tokens: dict[int, _Token] = {}
        self._nodes: dict[int, _Node] = {}
        self._pending: list[_PendingNode] = []
        self._next = 1

    @property
    def enabled(self) -> bool:
        """True when the sandbox was given a bearer token: then it serves /v3."""
        return bool(self._bearer)

    # -- observation -----------------------------------------------------------------------

    def clusters_json(self) -> list[dict[str, Any]]:
        return [self._cluster_json(c) for c in self._clusters.values()]

    def tokens_json(self) -> list[dict[str, Any]]:
        return [self._token_json(t) for t in sorted(self._tokens.values(), key=by_number)]

    def nodes_json(self) -> list[dict[str, Any]]:
        return [self._node_json(n) for n in self._live_nodes()]

    def add_node(
        self,
        cluster_id: str,
        hostname: str,
        *,
        state: str = "active",
        roles: Sequence[str] = ("worker",),
        ip: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        self._cluster(cluster_id)
        node = _Node(
            number=self._take(),
            cluster_id=cluster_id,
            hostname=hostname,
            ip=ip,
            labels=dict(labels or {}),
            roles=tuple(roles),
            state=state,
            created=time.time(),
        )
        self._nodes[node.number] = node
        return self._node_json(node)

    # -- node registration -----------------------------------------------------------------

    def boot(self, agent_boot: Any) -> None:
        """Register a node from a 2.x node command; CommandRefused says why it would not."""
        command = parse_node_command(tuple(agent_boot.argv))
        self._check_ours(command.server, "--server")
        if command.install_url is not None:
            self._check_ours(command.install_url, "the installer URL")
        token = next((t for t in self._tokens.values() if t.token == command.token), None)
        if token is None:
            raise CommandRefused("the --token was not issued by this server")
        if token.state != "active":
            raise CommandRefused(f"registration token {token.id} is {token.state}")
        if command.ca_checksum is not None and command.ca_checksum != CA_CHECKSUM:
            raise CommandRefused("--ca-checksum does not match this server's CA certificate")
        cluster = self._clusters[token.cluster_id]
        expected = "docker" if cluster.kind == "rke1" else "system-agent"
        if cluster.kind == "imported" or command.shape != expected:
            raise CommandRefused(
                f"a {command.shape} node command cannot join {cluster.kind} cluster {cluster.id}"
            )
        missing = missing_ports_v2(
            getattr(agent_boot, "rules", ()) or (),
            group_ids=_group_ids(agent_boot),
            kind=cluster.kind,
            roles=command.roles,
        )
        instance_id = getattr(agent_boot, "instance_id", None)
        # A rebooted node finds its identity on disk and reconnects instead of registering again.
        if instance_id is not None and (
            any(p.instance_id == instance_id for p in self._pending)
            or any(n.instance_id == instance_id and not n.gone for n in self._nodes.values())
        ):
            return
        self._pending.append(
            _PendingNode(
                visible_at=time.monotonic() + self._sandbox.register_delay,
                instance_id=instance_id,
                cluster_id=cluster.id,
                hostname=agent_boot.name,
                ip=command.address or getattr(agent_boot, "public_ip", None),
                labels=_node_labels(command),
                roles=command.roles,
                unhealthy=bool(missing),
            )
        )

    def _check_ours(self, url: str, what: str) -> None:
        if not self._sandbox._serves(url):
            raise CommandRefused(f"{what} {url!r} points at another server than this Rancher")

    def advance(self) -> None:
        now = time.monotonic()
        for token in self._tokens.values():
            if token.state == "pending" and now >= token.active_at:
                token.state = "active"
        due = sorted((p for p in self._pending if p.visible_at <= now), key=lambda p: p.visible_at)
        step = self._sandbox.activate_delay
        for boot in due:
            self._pending.remove(boot)
            timeline: list[tuple[float, str | None]] = [(boot.visible_at + step, "active")]
            if boot.unhealthy:
                # The agent connects, then the node cannot reach its peers and goes unavailable.
                timeline.append((boot.visible_at + 2 * step, "unavailable"))
            node = _Node(
                number=self._take(),
                cluster_id=boot.cluster_id,
                hostname=boot.hostname,
                ip=boot.ip,
                labels=boot.labels,
                roles=boot.roles,
                state="registering",
                created=time.time(),
                instance_id=boot.instance_id,
                timeline=timeline,
            )
            self._nodes[node.number] = node
        for node in self._nodes.values():
            while node.timeline and node.timeline[0][0] <= now:
                _, state = node.timeline.pop(0)
                if state is None:
                    node.gone = True
                else:
                    node.state = state

    # -- HTTP ------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        raw_body: bytes,
        authorization: str | None,
    ) -> tuple[int, dict[str, Any]]:
        self._check_auth(authorization)
        segments = [unquote(s) for s in path.strip("/").split("/")]
        self.advance()
        if len(segments) == 1:
            only(method, "GET")
            return 200, self._root()
        collection, rest = segments[1], segments[2:]
        if collection == "clusters":
            return self._clusters_route(method, rest, query)
        if collection == "clusterregistrationtokens":
            return self._tokens_route(method, rest, query, raw_body)
        if collection == "nodes":
            return self._nodes_route(method, rest, query)
        raise ApiError(404, "NotFound", f"no collection {collection!r}")

    def install_script(self) -> str:
        return "#!/bin/sh\n# rancher-system-agent installer (sandbox)\nexit 0\n"

    def _check_auth(self, header: str | None) -> None:
        scheme, _, value = (header or "").partition(" ")
        ok = scheme.lower() == "bearer" and any(
            hmac.compare_digest(value.strip().encode(), t.encode()) for t in self._bearer
        )
        if not ok:
            raise ApiError(401, "Unauthorized", "must authenticate")

    def _clusters_route(
        self, method: str, rest: list[str], query: Mapping[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        only(method, "GET")
        if not rest:
            items = [(c.id, self._cluster_json(c)) for c in self._clusters.values()]
            return 200, self._page("cluster", "clusters", items, query, {})
        if len(rest) != 1:
            raise ApiError(404, "NotFound", f"no such resource: clusters/{'/'.join(rest)}")
        return 200, self._cluster_json(self._cluster(rest[0]))

    def _tokens_route(
        self, method: str, rest: list[str], query: Mapping[str, list[str]], raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if not rest:
            if method == "POST":
                body = json_body(raw_body)
                cluster = self._cluster(str(body.get("clusterId") or ""), status=422)
                now = time.time()
                token = _Token(
                    number=self._take(),
                    cluster_id=cluster.id,
                    # Rancher's registration tokens: 54 lowercase letters and digits.
                    token="".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(54)),
                    created=now,
                    active_at=time.monotonic() + self._sandbox.token_delay,
                )
                self._tokens[token.number] = token
                return 201, self._token_json(token)
            only(method, "GET")
            tokens = sorted(self._tokens.values(), key=by_number)
            if "clusterId" in query:
                tokens = [t for t in tokens if t.cluster_id == query["clusterId"][0]]
            data = [self._token_json(t) for t in tokens]
            return 200, collection_json(
                f"{self._api_url()}/clusterregistrationtokens",
                "clusterRegistrationToken",
                data,
                None,
                creatable=True,
            )
        only(method, "GET")
        token = next((t for t in self._tokens.values() if t.id == rest[0]), None)
        if token is None or len(rest) != 1:
            raise ApiError(404, "NotFound", f"no registration token {'/'.join(rest)}")
        return 200, self._token_json(token)

    def _nodes_route(
        self, method: str, rest: list[str], query: Mapping[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if not rest:
            only(method, "GET")
            return 200, self._node_page(query)
        node = next((n for n in self._live_nodes() if n.id == rest[0]), None)
        if node is None or len(rest) != 1:
            raise ApiError(404, "NotFound", f"no node {'/'.join(rest)}")
        if method == "GET":
            return 200, self._node_json(node)
        if method == "DELETE":
            if node.state != "removing":
                node.state = "removing"
                node.timeline = [(time.monotonic() + self._sandbox.activate_delay, None)]
            return 200, self._node_json(node)
        raise ApiError(405, "MethodNotAllowed", f"{method} not allowed on a node")

    def _node_page(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        nodes = self._live_nodes()
        filters: dict[str, str] = {}
        cluster_id = (query.get("clusterId") or [None])[0]
        if cluster_id is not None:
            nodes = [n for n in nodes if n.cluster_id == cluster_id]
            filters["clusterId"] = cluster_id
        items = [(n.id, self._node_json(n)) for n in nodes]
        return self._page("node", "nodes", items, query, filters)

    def _page(
        self,
        resource_type: str,
        plural: str,
        items: list[tuple[str, dict[str, Any]]],
        query: Mapping[str, list[str]],
        filters: Mapping[str, str],
    ) -> dict[str, Any]:
        """One page of ``items`` (id, json) in order, after ``marker``, with a next link."""
        limit = page_limit(query, self._sandbox.page_size)
        start = 0
        if "marker" in query:
            ids = [item_id for item_id, _ in items]
            marker = query["marker"][0]
            if marker not in ids:
                raise ApiError(422, "InvalidFormat", f"marker is not a {resource_type} id")
            start = ids.index(marker) + 1
        page, more = items[start : start + limit], len(items) > start + limit
        base = f"{self._api_url()}/{plural}?limit={limit}"
        for name, value in filters.items():
            base += f"&{name}={quote(value)}"
        pagination = {
            "first": base,
            "previous": None,
            "next": f"{base}&marker={quote(page[-1][0])}" if more else None,
            "limit": limit,
            "total": len(items),
            "partial": more,
        }
        data = [body for _, body in page]
        return collection_json(f"{self._api_url()}/{plural}", resource_type, data, pagination)

    # -- shapes ----------------------------------------------------------------------------

    def _api_url(self) -> str:
        return f"{self._sandbox.public_url}/v3"

    def _root(self) -> dict[str, Any]:
        root = self._api_url()
        return {
            "id": "v3",
            "type": "apiVersion",
            "links": {
                "self": root,
                "clusters": f"{root}/clusters",
                "clusterRegistrationTokens": f"{root}/clusterregistrationtokens",
                "nodes": f"{root}/nodes",
            },
            "actions": {},
        }

    def _cluster(self, cluster_id: str, *, status: int = 404) -> _Cluster:
        cluster = self._clusters.get(cluster_id)
        if cluster is None:
            code = "NotFound" if status == 404 else "InvalidReference"
            message = f'clusters.management.cattle.io "{cluster_id}" not found'
            raise ApiError(status, code, message)
        return cluster

    def _cluster_json(self, cluster: _Cluster) -> dict[str, Any]:
        url = f"{self._api_url()}/clusters/{cluster.id}"
        version = _KUBERNETES_VERSIONS[cluster.kind]
        body: dict[str, Any] = {
            "id": cluster.id,
            "type": "cluster",
            "baseType": "cluster",
            "name": cluster.name,
            "state": cluster.state,
            "links": {
                "self": url,
                "clusterRegistrationTokens": f"{url}/clusterregistrationtokens",
                "nodes": f"{self._api_url()}/nodes?clusterId={cluster.id}",
            },
            "actions": {"generateKubeconfig": f"{url}?action=generateKubeconfig"},
            "annotations": {},
            "labels": {},
            "created": iso(cluster.created),
            "createdTS": int(cluster.created * 1000),
            "internal": False,
            "removed": None,
            "transitioning": "no",
            "transitioningMessage": "",
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, cluster.id)),
            "version": {"gitVersion": version},
            "rancherKubernetesEngineConfig": None,
            "rke2Config": None,
            "k3sConfig": None,
        }
        if cluster.kind == "rke1":
            body.update(
                driver="rancherKubernetesEngine",
                provider="rke",
                rancherKubernetesEngineConfig={
                    "type": "rancherKubernetesEngineConfig",
                    "kubernetesVersion": version,
                    "network": {"plugin": "canal", "type": "networkConfig"},
                    "ignoreDockerVersion": True,
                },
            )
        elif cluster.kind in ("rke2", "k3s"):
            strategy = {"drainServerNodes": False, "drainWorkerNodes": False}
            body.update(driver=cluster.kind, provider=cluster.kind)
            body[f"{cluster.kind}Config"] = {
                "type": f"{cluster.kind}Config",
                "kubernetesVersion": version,
                f"{cluster.kind}upgradeStrategy": strategy,
            }
            body["annotations"] = {"provisioning.cattle.io/administrated": "true"}
        else:
            body.update(driver="imported", provider="")
        return body

    def _node_command(self, token: _Token) -> str | None:
        if token.state != "active":
            return None
        server = self._sandbox.public_url
        kind = self._clusters[token.cluster_id].kind
        if kind == "rke1":
            # rancher/rancher pkg/api/norman/customization/clusterregistrationtokens (RKE1).
            return (
                "sudo docker run -d --privileged --restart=unless-stopped --net=host "
                "-v /etc/kubernetes:/etc/kubernetes -v /var/run:/var/run  "
                f"{self.agent_image} --server {server} --token {token.token} "
                f"--ca-checksum {CA_CHECKSUM}"
            )
        # rancher/rancher pkg/controllers/management/clusterregistrationtoken (provisioning v2).
        return (
            f" curl -fL {server}{INSTALL_SCRIPT} | sudo  sh -s - --server {server} "
            f"--label 'cattle.io/os=linux' --token {token.token} --ca-checksum {CA_CHECKSUM}"
        )

    def _token_json(self, token: _Token) -> dict[str, Any]:
        active = token.state == "active"
        server = self._sandbox.public_url
        manifest = f"{server}/v3/import/{token.token}_{token.cluster_id}.yaml" if active else None
        return {
            "id": token.id,
            "type": "clusterRegistrationToken",
            "baseType": "clusterRegistrationToken",
            "name": f"crt-{token.number:05d}",
            "namespaceId": token.cluster_id,
            "clusterId": token.cluster_id,
            "state": token.state,
            "links": {"self": f"{self._api_url()}/clusterregistrationtokens/{token.id}"},
            "actions": {},
            "created": iso(token.created),
            "createdTS": int(token.created * 1000),
            "removed": None,
            "transitioning": "no" if active else "yes",
            "token": token.token if active else None,
            "manifestUrl": manifest,
            "command": f"kubectl apply -f {manifest}" if active else None,
            "insecureCommand": f"curl --insecure -sfL {manifest} | kubectl apply -f -"
            if active
            else None,
            "nodeCommand": self._node_command(token),
            "windowsNodeCommand": None,
            "uuid": str(uuid.UUID(int=token.number)),
        }

    def _node_json(self, node: _Node) -> dict[str, Any]:
        url = f"{self._api_url()}/nodes/{node.id}"
        return {
            "id": node.id,
            "type": "node",
            "baseType": "node",
            "name": "",
            "clusterId": node.cluster_id,
            "namespaceId": node.cluster_id,
            "state": node.state,
            "transitioning": "yes" if node.state in ("registering", "removing") else "no",
            "links": {"self": url, "nodes": url},
            "actions": {"cordon": f"{url}?action=cordon", "drain": f"{url}?action=drain"},
            "hostname": node.hostname,
            "nodeName": node.hostname if node.state != "registering" else None,
            "requestedHostname": node.hostname,
            "ipAddress": node.ip,
            "externalIpAddress": node.ip,
            "labels": dict(node.labels),
            "annotations": {},
            "etcd": "etcd" in node.roles,
            "controlPlane": "controlplane" in node.roles,
            "worker": "worker" in node.roles,
            "imported": False,
            "customConfig": {"address": node.ip, "label": dict(node.labels)},
            "created": iso(node.created),
            "createdTS": int(node.created * 1000),
            "removed": None,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, node.id)),
        }

    # -- bookkeeping -----------------------------------------------------------------------

    def _take(self) -> int:
        number = self._next
        self._next += 1
        return number

    def _live_nodes(self) -> list[_Node]:
        return [n for n in sorted(self._nodes.values(), key=by_number) if not n.gone]


def _node_labels(command: NodeAgentCommand) -> dict[str, str]:
    labels = {_ROLE_LABELS[role]: "true" for role in command.roles}
    labels.update(command.labels)
    return labels


def _group_ids(agent_boot: Any) -> frozenset[str] | None:
    ids = getattr(agent_boot, "security_group_ids", None)
    return frozenset(ids) if ids is not None else None
