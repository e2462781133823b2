"""What the Rancher 1.6 and 2.x clients share: the session, requests, errors, links and pages.

``RancherClient`` (v2-beta) and ``Rancher2Client`` (v3) differ in their resources and in how
they name their credentials, not in how they talk HTTP. Each subclass says which API it speaks
and words its own advice::

    class Rancher2Client(RancherAPIClient):
        _api_path = "/v3"
        _server_kind = "Rancher 2.x"
        _credential = "API token"

        def _auth_advice(self) -> str: ...
        def _not_found_advice(self) -> str: ...

Failures leave as ``provisioning.errors`` types whose messages never carry a credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

import requests

from provisioning.errors import (
    RancherAuthError,
    RancherError,
    RancherRefused,
    RancherUnavailable,
)
from provisioning.http import (
    SAFE_METHODS,
    TimeoutAdapter,
    safe_retry,
    server_message,
    unreachable_reason,
)

__all__ = ["RancherAPIClient"]

_MAX_PAGES = 1000


class RancherAPIClient:
    """One requests session on a Rancher server's API: timeouts, retries, translated errors."""

    # The API's path below the server, e.g. "/v3"; links are re-rooted at it.
    _api_path: ClassVar[str]
    # What a RANCHER_URL copied from Rancher's pages may end with, stripped in this order.
    _url_suffixes: ClassVar[tuple[str, ...]]
    _server_kind: ClassVar[str]
    _credential: ClassVar[str]

    def __init__(
        self,
        url: str,
        auth: Any,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        page_size: int,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(self._bad_url_message(url, parts.scheme))
        path = parts.path.rstrip("/")
        for suffix in self._url_suffixes:
            if path.endswith(suffix):
                path = path[: -len(suffix)]
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = host + (f":{parts.port}" if parts.port else "")
        # Credentials never ride in the URL: they would end up in messages and logs.
        self._base = urlunsplit((parts.scheme, netloc, path, "", ""))
        self._timeout = timeout
        self._retries = retries
        self._page_size = page_size
        # Logged under the subclass's module, where operators look for it.
        self._log = logging.getLogger(type(self).__module__)
        self._session = requests.Session()
        self._session.auth = auth
        self._session.headers["Accept"] = "application/json"
        adapter = TimeoutAdapter(timeout, max_retries=safe_retry(retries, backoff))
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @property
    def url(self) -> str:
        """The Rancher server's base URL (without credentials or API version)."""
        return self._base

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what subclasses word for themselves -----------------------------------------------

    @classmethod
    def _bad_url_message(cls, url: str, scheme: str) -> str:
        return f"Rancher URL must be http(s)://host[:port], not {scheme}://…"

    def _auth_advice(self) -> str:
        """Which settings to check when the credentials are refused (401/403)."""
        raise NotImplementedError

    def _not_found_advice(self) -> str:
        """Which settings to check when a path is not found (404)."""
        raise NotImplementedError

    def _endless_pages(self, page: int, url: str, what: str) -> RancherError:
        return RancherError(
            f"Rancher at {self._base} sent a list whose pages do not end (page "
            f"{page} of '{what}'); the server's pagination looks broken."
        )

    # -- shared plumbing -------------------------------------------------------------------

    def _pages(self, url: str, *, what: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every item of a collection, following ``pagination.next`` page after page."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        query: dict[str, Any] | None = {**params, "limit": self._page_size}
        seen: set[str] = set()
        while next_url is not None:
            key = f"{next_url}?{sorted((query or {}).items())}"
            if key in seen or len(seen) >= _MAX_PAGES:
                raise self._endless_pages(len(seen) + 1, next_url, what)
            seen.add(key)
            page = self._get_json(next_url, what=what, params=query)
            items += self._data(page, what)
            link = (page.get("pagination") or {}).get("next")
            next_url = self._follow(link) if link else None
            query = None
        return items

    def _data(self, collection: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        """The items of a collection answer; an answer without a ``data`` list is not ours."""
        data = collection.get("data")
        if not isinstance(data, list):
            raise RancherError(
                f"Rancher's answer to '{what}' has no 'data' list; "
                f"is RANCHER_URL a {self._server_kind} server?"
            )
        return [item for item in data if isinstance(item, dict)]

    def _follow(self, link: str) -> str:
        """A link from a Rancher answer, re-rooted on our base URL.

        Behind a TLS-terminating proxy Rancher often writes http:// links, and a link to another
        host must never receive our credentials; only the API path is taken from the link.
        """
        parts = urlsplit(link)
        at = parts.path.find(f"{self._api_path}/")
        if at < 0:
            shown = parts.path
            raise RancherError(
                f"Rancher at {self._base} sent a link outside its API ({shown}); "
                "check that RANCHER_URL is the Rancher server itself."
            )
        query = f"?{parts.query}" if parts.query else ""
        return f"{self._base}{parts.path[at:]}{query}"

    def _get_json(
        self, url: str, *, what: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._json(self._request("GET", url, what=what, params=params), what)

    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: tuple[int, ...] = (),
    ) -> requests.Response:
        started = time.monotonic()
        path = urlsplit(url).path
        try:
            response = self._session.request(method, url, params=params, json=json)
        except requests.RequestException as exc:
            self._log.debug("Rancher %s %s failed: %s", method, path, type(exc).__name__)
            raise self._transport_error(exc, what) from exc
        self._log.debug(
            "Rancher %s %s -> %s in %.2f s",
            method,
            path,
            response.status_code,
            time.monotonic() - started,
        )
        if response.status_code in allow or response.status_code < 300:
            return response
        raise self._status_error(response, method, what)

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            content_type = response.headers.get("Content-Type", "no content type")
            raise RancherError(
                f"Rancher at {self._base} answered '{what}' with something that is not its API "
                f"(HTTP {response.status_code}, {content_type}); check that RANCHER_URL is the "
                "Rancher server itself and not a proxy or login page."
            )
        return body

    def _status_error(self, response: requests.Response, method: str, what: str) -> RancherError:
        status = response.status_code
        detail = server_message(response)
        if status in (401, 403):
            return RancherAuthError(
                f"Rancher refused the {self._credential}: HTTP {status} ({detail}) when trying to "
                f"{what}. {self._auth_advice()}",
                status=status,
            )
        if status == 404:
            return RancherRefused(
                f"Rancher has no {urlsplit(response.url).path} (HTTP 404) when trying to {what}; "
                f"{self._not_found_advice()}",
                status=status,
            )
        if 400 <= status < 500:
            return RancherRefused(
                f"Rancher refused to {what}: HTTP {status} ({detail}).", status=status
            )
        if status >= 500:
            retried = (
                f" after {self._retries} retries"
                if method in SAFE_METHODS and self._retries
                else ""
            )
            return RancherUnavailable(
                f"Rancher at {self._base} failed to {what}: HTTP {status} ({detail}){retried}; "
                "try again later, and look at the Rancher server's logs if it persists.",
                status=status,
            )
        return RancherError(
            f"Rancher at {self._base} answered '{what}' with an unexpected HTTP {status}; "
            "check that RANCHER_URL is the Rancher server itself.",
            status=status,
        )

    def _transport_error(self, exc: requests.RequestException, what: str) -> RancherUnavailable:
        reason = unreachable_reason(exc, urlsplit(self._base).hostname)
        if reason is None:
            return RancherUnavailable(
                f"Rancher at {self._base} did not answer within {self._timeout:g} s when trying "
                f"to {what}; check that it is running and reachable from the bot."
            )
        return RancherUnavailable(
            f"Rancher at {self._base} could not be reached ({reason}) when trying to {what}; "
            "check RANCHER_URL and that the server is running."
        )
