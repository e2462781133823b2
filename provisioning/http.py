"""The HTTP plumbing every adapter shares: default timeouts, retries, and reading failures.

One seam for the requests side of ``exoscale.py``, ``rancher.py`` and ``rancher2.py``::

    session = requests.Session()
    adapter = TimeoutAdapter(10.0, max_retries=safe_retry(3, 0.5))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    ...
    except requests.RequestException as exc:
        reason = unreachable_reason(exc, "rancher.example.com")   # None: it timed out

Each adapter still words its own messages; this module only says what happened.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Iterator
from http.client import RemoteDisconnected
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

__all__ = [
    "RETRY_STATUSES",
    "SAFE_METHODS",
    "TimeoutAdapter",
    "causes",
    "safe_retry",
    "server_message",
    "unreachable_reason",
]

RETRY_STATUSES = (500, 502, 503, 504)
# POST is left out: a repeated creation could leave a second resource behind, and actions
# answer 409 when repeated; callers re-read state and call again instead.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class TimeoutAdapter(HTTPAdapter):
    """An HTTPAdapter that gives every request a timeout unless the caller set one.

    requests (and the Exoscale SDK on top of it) sets no timeout by default, so a server that
    accepts the connection and never answers would hold a bot thread forever.
    """

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def safe_retry(
    retries: int,
    backoff: float,
    *,
    statuses: Iterable[int] = RETRY_STATUSES,
    methods: Iterable[str] = SAFE_METHODS,
) -> Retry:
    """urllib3 retries with backoff for the methods that are safe to repeat.

    The last answer is handed back instead of raising, so the caller can read the server's
    message; a server-chosen Retry-After could stretch a watcher tick without bound, so it is
    not obeyed.
    """
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        status_forcelist=tuple(statuses),
        allowed_methods=frozenset(methods),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: urllib3 hides the socket error a few levels down."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__]
        linked += list(current.args)
        stack.extend(item for item in linked if isinstance(item, BaseException))


def unreachable_reason(exc: requests.RequestException, host: str | None) -> str | None:
    """Why a request got no answer, in a few words; None when it timed out waiting for one."""
    found = list(causes(exc))
    if any(isinstance(c, socket.gaierror) for c in found):
        return f"the host name {host} does not resolve"
    if any(isinstance(c, ConnectionRefusedError) for c in found):
        return "connection refused"
    if any(
        isinstance(c, requests.Timeout | TimeoutError)
        or (isinstance(c, Urllib3Timeout) and not isinstance(c, NewConnectionError))
        for c in found
    ):
        return None
    if any(isinstance(c, ssl.SSLError | requests.exceptions.SSLError) for c in found):
        return "the TLS handshake failed; check the server's certificate"
    if any(isinstance(c, ConnectionResetError | RemoteDisconnected | ProtocolError) for c in found):
        return "the connection closed without an answer"
    return type(exc).__name__


def server_message(response: requests.Response) -> str:
    """The server's own words for a failed request: its JSON message or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("message") or body.get("code")):
        return str(body.get("message") or body.get("code"))
    text = " ".join(response.text.split())[:200]
    return text or response.reason or "no detail"
