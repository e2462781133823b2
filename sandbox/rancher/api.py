"""Rancher's API conventions, shared by the sandbox's 1.6 (v2-beta) and 2.x (v3) sides.

Both APIs are norman APIs: errors answered as an ``error`` resource, lists as a ``collection``
with ``data`` and ``pagination``, ``limit``/``marker`` paging, JSON object bodies::

    raise ApiError(404, "NotFound", "no host 1h9")         # answered as error_json(exc)
    limit = page_limit(query, default=100)                  # 422 when it is not a number
    return 200, collection_json(url, "node", data, pagination)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "MAX_PAGE_SIZE",
    "ApiError",
    "by_number",
    "collection_json",
    "error_json",
    "iso",
    "json_body",
    "only",
    "page_limit",
]

MAX_PAGE_SIZE = 1000


class ApiError(Exception):
    """An API error answered as Rancher's error JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Numbered(Protocol):
    number: int


def iso(wall: float) -> str:
    """A wall-clock time as Rancher writes it, e.g. ``2026-01-31T12:00:00Z``."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def by_number(resource: _Numbered) -> int:
    """Sort key: resources are listed in the order they were created."""
    return resource.number


def only(method: str, allowed: str) -> None:
    """405 unless the request uses the one method the path allows."""
    if method != allowed:
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")


def page_limit(query: Mapping[str, list[str]], default: int) -> int:
    """The ``limit`` a list request asked for, capped at MAX_PAGE_SIZE."""
    try:
        limit = int((query.get("limit") or [str(default)])[0])
    except ValueError as exc:
        raise ApiError(422, "InvalidFormat", "limit must be a whole number") from exc
    if limit < 1:
        raise ApiError(422, "InvalidFormat", "limit must be at least 1")
    return min(limit, MAX_PAGE_SIZE)


def json_body(raw: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; an empty body is an empty object."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, "InvalidBodyContent", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "InvalidBodyContent", "the body is not a JSON object")
    return body


def collection_json(
    url: str,
    resource_type: str,
    data: list[dict[str, Any]],
    pagination: dict[str, Any] | None,
    *,
    creatable: bool = False,
) -> dict[str, Any]:
    """A norman collection at ``url``; ``creatable`` ones advertise POST in ``createTypes``."""
    return {
        "type": "collection",
        "resourceType": resource_type,
        "links": {"self": url},
        "createTypes": {resource_type: url} if creatable else {},
        "actions": {},
        "data": data,
        "sortLinks": {},
        "pagination": pagination,
        "sort": None,
        "filters": {},
        "createDefaults": {},
    }


def error_json(exc: ApiError) -> dict[str, Any]:
    """The error resource Rancher answers a failed request with."""
    return {
        "id": str(uuid.uuid4()),
        "type": "error",
        "links": {},
        "actions": {},
        "status": exc.status,
        "code": exc.code,
        "message": exc.message,
        "detail": None,
        "baseType": "error",
    }
