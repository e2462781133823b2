"""Rancher 1.6 (API v2-beta) client: the agent registration, the project's hosts, host removal.

One requests session with basic auth (an environment or account API key), a timeout on every
request and retries with backoff for the calls that are safe to repeat::

    rancher = RancherClient("https://rancher.example.com", access_key, secret_key, "1a5")
    registration = rancher.registration()    # an active token, created when there is none
    ready = [host for host in rancher.hosts() if host.healthy]

Every failure leaves this module as one of the ``provisioning.errors`` types, with a message a
person can act on and never the secret key::

    RancherAuthError     401/403: the API key was refused
    RancherRefused       other 4xx (no such project, an action the host's state forbids)
    RancherUnavailable   5xx after retries, timeouts, connection errors, a token never active
    RancherError         an answer that is not Rancher's API (a proxy's login page, say)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.errors import RancherError, RancherUnavailable
from provisioning.rancher_http import RancherAPIClient

__all__ = [
    "UNHEALTHY_STATES",
    "RancherClient",
    "RancherHost",
    "Registration",
]

# "unavailable" is how Rancher 2.x (API v3) shows a node whose agent lost its connection.
UNHEALTHY_STATES = frozenset({"reconnecting", "disconnected", "error", "unavailable"})
_GONE_STATES = frozenset({"removing", "removed", "purging", "purged"})


@dataclass(frozen=True)
class Registration:
    """What an agent needs to join the project: image, registration URL, the full command."""

    image: str
    registration_url: str
    command: str
    token: str


@dataclass(frozen=True)
class RancherHost:
    """One host of the project as the v2-beta API lists it."""

    id: str
    hostname: str
    state: str
    agent_state: str | None
    ip: str | None
    labels: dict[str, str] = field(default_factory=dict)
    removed: bool = False

    @property
    def healthy(self) -> bool:
        """Registered and healthy: state active, agent state active or null, not removed."""
        return self.state == "active" and self.agent_state in ("active", None) and not self.removed

    @property
    def unhealthy(self) -> bool:
        """The agent lost its connection or errored (reconnecting, disconnected, error)."""
        return self.state in UNHEALTHY_STATES or self.agent_state in UNHEALTHY_STATES

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RancherHost:
        """Build from a v2-beta host resource."""
        labels = data.get("labels") or {}
        return cls(
            id=str(data["id"]),
            hostname=data.get("hostname") or data.get("name") or "",
            state=data.get("state") or "",
            agent_state=data.get("agentState"),
            ip=data.get("agentIpAddress"),
            labels={str(k): "" if v is None else str(v) for k, v in labels.items()},
            removed=data.get("removed") is not None,
        )


class RancherClient(RancherAPIClient):
    """A Rancher 1.6 project seen through its v2-beta API."""

    _api_path = "/v2-beta"
    # RANCHER_URL is often copied from an API key page that shows .../v2-beta or .../v1.
    _url_suffixes = ("/v2-beta", "/v1")
    _server_kind = "Rancher 1.6"
    _credential = "API key"

    def __init__(
        self,
        url: str,
        access_key: str,
        secret_key: str,
        project_id: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        token_wait: float = 30.0,
        token_poll: float = 1.0,
        page_size: int = 1000,
        state_wait: float = 30.0,
        state_poll: float = 1.0,
    ) -> None:
        super().__init__(
            url,
            (access_key, secret_key),
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            page_size=page_size,
        )
        self._project = f"{self._base}/v2-beta/projects/{project_id}"
        self.project_id = project_id
        self._access_key = access_key
        self._token_wait = token_wait
        self._token_poll = token_poll
        self._state_wait = state_wait
        self._state_poll = state_poll

    def __repr__(self) -> str:
        return f"RancherClient({self._base!r}, project_id={self.project_id!r})"

    # -- public calls ----------------------------------------------------------------------

    def check_credentials(self) -> None:
        """Fail fast when the key is refused or the project does not exist."""
        self._get_json(self._project, what=f"read project {self.project_id}")

    def registration(self) -> Registration:
        """The project's active registration token; create one and wait for it if there is none."""
        what = f"list the registration tokens of project {self.project_id}"
        collection = self._get_json(
            f"{self._project}/registrationtokens", what=what, params={"state": "active"}
        )
        for token in self._data(collection, what):
            if _usable_token(token):
                return _registration_from(token)
        created = self._json(
            self._request(
                "POST",
                f"{self._project}/registrationtokens",
                what=f"create a registration token in project {self.project_id}",
                json={},
            ),
            "create a registration token",
        )
        return self._wait_for_token(created)

    def hosts(self) -> list[RancherHost]:
        """Every host of the project, following ``pagination.next`` across pages."""
        what = f"list the hosts of project {self.project_id}"
        hosts: dict[str, RancherHost] = {}
        for item in self._pages(f"{self._project}/hosts", what=what, params={}):
            if item.get("type", "host") == "host" and item.get("id") is not None:
                host = RancherHost.from_api(item)
                hosts.setdefault(host.id, host)
        return list(hosts.values())

    def host(self, host_id: str) -> RancherHost | None:
        """One host by id, or None when Rancher has no such host."""
        response = self._request(
            "GET",
            f"{self._project}/hosts/{host_id}",
            what=f"read host {host_id}",
            allow=(404,),
        )
        if response.status_code == 404:
            return None
        return RancherHost.from_api(self._json(response, f"read host {host_id}"))

    def remove_host(self, host_id: str) -> None:
        """Deactivate the host, wait until it is inactive, then delete it; gone already is fine."""
        host = self.host(host_id)
        if host is None or host.removed or host.state in _GONE_STATES:
            return
        if host.state not in ("inactive", "deactivating"):
            # 409/422: the state moved under us (another remover, the host went inactive);
            # the wait below reads the state again either way.
            response = self._request(
                "POST",
                f"{self._project}/hosts/{host_id}",
                what=f"deactivate host {host_id} ({host.hostname})",
                params={"action": "deactivate"},
                json={},
                allow=(404, 409, 422),
            )
            if response.status_code == 404:
                return
        if not self._wait_inactive(host_id, host.hostname):
            return
        self._request(
            "DELETE",
            f"{self._project}/hosts/{host_id}",
            what=f"delete host {host_id} ({host.hostname})",
            allow=(404,),
        )

    # -- helpers ---------------------------------------------------------------------------

    def _wait_for_token(self, token: Mapping[str, Any]) -> Registration:
        token_id = token.get("id")
        link = (token.get("links") or {}).get("self")
        url = self._follow(link) if link else f"{self._project}/registrationtokens/{token_id}"
        deadline = time.monotonic() + self._token_wait
        while True:
            if _usable_token(token):
                return _registration_from(token)
            state = token.get("state")
            if state in ("inactive", "error", *_GONE_STATES):
                raise RancherError(
                    f"Rancher's new registration token {token_id} went {state} instead of active;"
                    f" look at project {self.project_id}'s registration tokens in Rancher."
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RancherUnavailable(
                    f"Rancher created registration token {token_id} but it was still {state} "
                    f"after {self._token_wait:g} s; Rancher may be overloaded, try again later."
                )
            time.sleep(min(self._token_poll, remaining))
            token = self._get_json(url, what=f"read registration token {token_id}")

    def _wait_inactive(self, host_id: str, hostname: str) -> bool:
        """Poll until the host is inactive (True) or gone (False), bounded by state_wait."""
        deadline = time.monotonic() + self._state_wait
        while True:
            host = self.host(host_id)
            if host is None or host.removed or host.state in _GONE_STATES:
                return False
            if host.state == "inactive":
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RancherUnavailable(
                    f"Rancher did not deactivate host {host_id} ({hostname}) within "
                    f"{self._state_wait:g} s (it is {host.state}); try removing it again later."
                )
            time.sleep(min(self._state_poll, remaining))

    def _auth_advice(self) -> str:
        return (
            f"Check RANCHER_ACCESS_KEY ({self._access_key}) and RANCHER_SECRET_KEY, and that the "
            f"key is an environment or account key with access to project {self.project_id}."
        )

    def _not_found_advice(self) -> str:
        return f"check RANCHER_URL ({self._base}) and RANCHER_PROJECT_ID ({self.project_id})."

    def _endless_pages(self, page: int, url: str, what: str) -> RancherError:
        return RancherError(
            f"Rancher at {self._base} sent a host list whose pages do not end "
            f"(page {page} at {url}); the server's pagination looks broken."
        )

    @classmethod
    def _bad_url_message(cls, url: str, scheme: str) -> str:
        return f"Rancher URL must be http(s)://host[:port], not {url!r}"


def _usable_token(token: Mapping[str, Any]) -> bool:
    return (
        token.get("state") == "active"
        and token.get("removed") is None
        and bool(token.get("token"))
        and bool(token.get("registrationUrl"))
        and bool(token.get("command"))
    )


def _registration_from(token: Mapping[str, Any]) -> Registration:
    command = token["command"]
    image = token.get("image")
    if not image:
        # Older servers leave image out; the command names it just before the URL.
        words = command.split()
        image = next((w for w in words if w.split(":")[0].endswith("rancher/agent")), "")
    return Registration(
        image=image,
        registration_url=token["registrationUrl"],
        command=command,
        token=token["token"],
    )
