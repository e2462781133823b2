"""Rancher 2.x (API v3) client: clusters, the node command of a cluster, its nodes, removal.

One requests session with a bearer token (``token-xxxxx:secret``, an API key's Bearer Token),
a timeout on every request and retries with backoff for the calls that are safe to repeat::

    rancher = Rancher2Client("https://rancher.example.com", token)
    cluster = next(c for c in rancher.clusters() if c.name == "prod")    # kind rke1|rke2|k3s
    node_command = rancher.registration(cluster.id)     # commands.userdata.NodeCommand
    ready = [node for node in rancher.nodes(cluster.id) if node.healthy]

Every failure leaves this module as one of the ``provisioning.errors`` types, with a message a
person can act on and never the token::

    RancherAuthError     401/403: the token was refused (expired, revoked, or scoped too narrowly)
    RancherRefused       other 4xx (no such cluster, a cluster that takes no custom nodes)
    RancherUnavailable   5xx after retries, timeouts, connection errors, a token never active
    RancherError         an answer that is not Rancher's API (a proxy's login page, say)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from requests.auth import AuthBase

from commands.ports import CLUSTER_KINDS
from commands.userdata import NodeCommand, check_node_command
from provisioning.errors import RancherError, RancherRefused, RancherUnavailable
from provisioning.rancher import RancherHost
from provisioning.rancher_http import RancherAPIClient

__all__ = ["Cluster", "Rancher2Client", "cluster_kind"]

_GONE_STATES = frozenset({"removing", "removed", "purging", "purged"})
# v3 cluster "driver" values (rancher/rancher pkg/apis/management.cattle.io/v3, ClusterDriver*).
_DRIVER_RKE1 = "rancherKubernetesEngine"
_DISTRO_DRIVERS = ("rke2", "k3s")


@dataclass(frozen=True)
class Cluster:
    """A Rancher 2.x cluster that custom nodes can join; ``kind`` is rke1, rke2 or k3s."""

    id: str
    name: str
    kind: str
    state: str


def cluster_kind(data: Mapping[str, Any]) -> str | None:
    """The Kubernetes distribution of a v3 cluster resource, or None when it is none of ours.

    RKE1 clusters carry ``rancherKubernetesEngineConfig`` and the driver
    ``rancherKubernetesEngine``; RKE2 and K3s clusters have the driver (or, for clusters Rancher
    provisions itself, the detected ``provider``) ``rke2``/``k3s`` and an ``rke2Config`` or
    ``k3sConfig``. Hosted (EKS, AKS, GKE…) and generic imported clusters have none of these.
    """
    if data.get("driver") == _DRIVER_RKE1 or isinstance(
        data.get("rancherKubernetesEngineConfig"), Mapping
    ):
        return "rke1"
    for field in ("driver", "provider"):
        if data.get(field) in _DISTRO_DRIVERS:
            return str(data[field])
    if isinstance(data.get("rke2Config"), Mapping):
        return "rke2"
    if isinstance(data.get("k3sConfig"), Mapping):
        return "k3s"
    return None


class Rancher2Client(RancherAPIClient):
    """A Rancher 2.x server seen through its v3 API, with one bearer token."""

    _api_path = "/v3"
    # RANCHER_URL is often copied from the API keys page, which shows .../v3.
    _url_suffixes = ("/v3",)
    _server_kind = "Rancher 2.x"
    _credential = "API token"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        token_wait: float = 30.0,
        token_poll: float = 1.0,
        page_size: int = 1000,
    ) -> None:
        super().__init__(
            url,
            _Bearer(token),
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            page_size=page_size,
        )
        self._api = f"{self._base}{self._api_path}"
        self._token_wait = token_wait
        self._token_poll = token_poll

    def __repr__(self) -> str:
        return f"Rancher2Client({self._base!r})"

    # -- public calls ----------------------------------------------------------------------

    def check_credentials(self) -> None:
        """Fail fast when the token is refused or RANCHER_URL is not a Rancher 2.x server."""
        page = self._get_json(
            f"{self._api}/clusters", what="list the clusters", params={"limit": 1}
        )
        self._data(page, "list the clusters")

    def clusters(self) -> list[Cluster]:
        """The clusters the token can see that custom nodes can join (RKE1, RKE2, K3s), by name.

        Rancher's own ``local`` cluster and hosted or generic imported clusters are left out:
        a node command cannot add a node to them.
        """
        found = [
            cluster
            for item in self._pages(f"{self._api}/clusters", what="list the clusters", params={})
            if (cluster := _cluster_from(item)) is not None
        ]
        return sorted(found, key=lambda c: (c.name, c.id))

    def cluster(self, cluster_id: str) -> Cluster:
        """One cluster by id; RancherRefused when there is none or custom nodes cannot join it."""
        what = f"read cluster {cluster_id}"
        response = self._request("GET", self._item("clusters", cluster_id), what=what, allow=(404,))
        if response.status_code == 404:
            raise RancherRefused(
                f"Rancher has no cluster {cluster_id} that this token can see; pick one of the "
                "clusters the bot lists, or check the token's access.",
                status=404,
            )
        data = self._json(response, what)
        cluster = _cluster_from(data)
        if cluster is None:
            raise RancherRefused(
                f"Cluster {cluster_id} ({data.get('name') or 'unnamed'}) is not an RKE1, RKE2 or "
                "K3s cluster Rancher manages, so it takes no custom nodes; pick another cluster."
            )
        return cluster

    def registration(self, cluster_id: str) -> NodeCommand:
        """The node command of the cluster's active registration token; created when missing."""
        cluster = self.cluster(cluster_id)
        what = f"list the registration tokens of cluster {cluster_id}"
        page = self._get_json(
            f"{self._api}/clusterregistrationtokens", what=what, params={"clusterId": cluster_id}
        )
        for token in self._data(page, what):
            if token.get("clusterId", cluster_id) == cluster_id and _usable_token(token):
                return self._node_command(cluster, token)
        created = self._json(
            self._request(
                "POST",
                f"{self._api}/clusterregistrationtokens",
                what=f"create a registration token for cluster {cluster_id}",
                json={"type": "clusterRegistrationToken", "clusterId": cluster_id},
            ),
            f"create a registration token for cluster {cluster_id}",
        )
        return self._node_command(cluster, self._wait_for_token(created, cluster_id))

    def nodes(self, cluster_id: str) -> list[RancherHost]:
        """Every node of the cluster, following ``pagination.next`` across pages.

        ``healthy`` on the result means the node is ``active``; ``labels`` are its Kubernetes
        node labels, where the bot finds the labels it gave the node.
        """
        what = f"list the nodes of cluster {cluster_id}"
        nodes: dict[str, RancherHost] = {}
        for item in self._pages(f"{self._api}/nodes", what=what, params={"clusterId": cluster_id}):
            if item.get("id") is None or item.get("clusterId", cluster_id) != cluster_id:
                continue
            node = _host_from(item)
            nodes.setdefault(node.id, node)
        return list(nodes.values())

    def remove_node(self, node_id: str) -> None:
        """Delete the node from its cluster; a node that is gone already is fine."""
        self._request(
            "DELETE", self._item("nodes", node_id), what=f"delete node {node_id}", allow=(404,)
        )

    # -- helpers ---------------------------------------------------------------------------

    def _item(self, collection: str, item_id: str) -> str:
        # Ids such as "c-abc12:m-x7k2p" keep their colon; anything else is escaped.
        return f"{self._api}/{collection}/{quote(item_id, safe=':')}"

    def _node_command(self, cluster: Cluster, token: Mapping[str, Any]) -> NodeCommand:
        node = NodeCommand(cluster.kind, str(token["nodeCommand"]))
        try:
            check_node_command(node)
        except ValueError as exc:
            raise RancherError(
                f"Rancher gave cluster {cluster.id} ({cluster.name}, {cluster.kind}) a node "
                f"command the bot does not recognise ({exc}); look at its registration command in "
                "Rancher, and at the cluster's agent environment variables."
            ) from None
        return node

    def _wait_for_token(self, token: Mapping[str, Any], cluster_id: str) -> Mapping[str, Any]:
        token_id = str(token.get("id") or "")
        link = (token.get("links") or {}).get("self")
        url = self._follow(link) if link else self._item("clusterregistrationtokens", token_id)
        deadline = time.monotonic() + self._token_wait
        while True:
            if _usable_token(token):
                return token
            state = token.get("state")
            if state in ("error", *_GONE_STATES):
                raise RancherError(
                    f"Rancher's new registration token {token_id} for cluster {cluster_id} went "
                    f"{state} instead of active; look at the cluster's registration in Rancher."
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RancherUnavailable(
                    f"Rancher created registration token {token_id} for cluster {cluster_id} but "
                    f"it had no node command after {self._token_wait:g} s (it is "
                    f"{state or 'without a state'}); Rancher may be busy, try again later."
                )
            time.sleep(min(self._token_poll, remaining))
            token = self._get_json(url, what=f"read registration token {token_id}")

    def _auth_advice(self) -> str:
        return (
            "Check RANCHER_TOKEN (token-xxxxx:secret, the Bearer Token of an API key that "
            "has not expired) and that its user may manage the cluster."
        )

    def _not_found_advice(self) -> str:
        return f"check RANCHER_URL ({self._base}) is a Rancher 2.x server."


class _Bearer(AuthBase):
    """Adds ``Authorization: Bearer <token>``; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer('***')"


def _cluster_from(data: Mapping[str, Any]) -> Cluster | None:
    # "local" is the cluster Rancher itself runs in; nodes are never added to it this way.
    if data.get("id") in (None, "local") or data.get("driver") == "local":
        return None
    kind = cluster_kind(data)
    if kind not in CLUSTER_KINDS:
        return None
    return Cluster(
        id=str(data["id"]),
        name=str(data.get("name") or data["id"]),
        kind=str(kind),
        state=str(data.get("state") or ""),
    )


def _usable_token(token: Mapping[str, Any]) -> bool:
    return (
        token.get("state") == "active"
        and token.get("removed") is None
        and bool(token.get("nodeCommand"))
    )


def _host_from(data: Mapping[str, Any]) -> RancherHost:
    labels = data.get("labels") or {}
    return RancherHost(
        id=str(data["id"]),
        hostname=data.get("hostname")
        or data.get("nodeName")
        or data.get("requestedHostname")
        or "",
        state=data.get("state") or "",
        # v3 nodes have no separate agent state: "state" says it (active, unavailable…).
        agent_state=None,
        ip=data.get("externalIpAddress") or data.get("ipAddress"),
        labels={str(k): "" if v is None else str(v) for k, v in labels.items()},
        removed=data.get("removed") is not None,
    )
