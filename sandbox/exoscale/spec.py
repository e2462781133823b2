"""Exoscale API v2's OpenAPI document: routing request paths and validating request bodies.

The document is the ``openapi.json`` shipped inside the ``exoscale`` package, found through
its installed metadata so the sandbox does not import the client it stands in for::

    spec = ApiSpec.load()
    route = spec.route("POST", "/instance")        # Route("create-instance", {})
    spec.body_errors(route.operation_id, {"name": "x"})
    # ["'disk-size' is a required property", ...]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

__all__ = ["ApiSpec", "MethodNotAllowed", "Route", "default_spec_path"]

_VERBS = ("get", "put", "post", "delete", "patch", "head")


def default_spec_path() -> Path:
    """Where the installed ``exoscale`` distribution keeps its ``openapi.json``."""
    return Path(str(metadata.distribution("exoscale").locate_file("exoscale/openapi.json")))


@dataclass(frozen=True)
class Route:
    """The operation a request path maps to, with its path parameters."""

    operation_id: str
    params: dict[str, str] = field(default_factory=dict)


class MethodNotAllowed(LookupError):
    """The path exists in the API but not with this HTTP method."""


@dataclass
class _Operation:
    operation_id: str
    method: str
    regex: re.Pattern[str]
    body_schema: dict[str, Any] | None
    body_required: bool
    query: dict[str, dict[str, Any]]
    literal_chars: int


class ApiSpec:
    """Routes ``(method, path)`` to Exoscale operations and validates their bodies."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document
        self._components = document.get("components", {})
        self._validators: dict[str, Draft4Validator] = {}
        self._operations: list[_Operation] = []
        self._by_id: dict[str, _Operation] = {}
        for template, item in document["paths"].items():
            regex, literal_chars = _compile(template)
            for verb in _VERBS:
                op = item.get(verb)
                if op is None:
                    continue
                body = op.get("requestBody")
                schema = body["content"]["application/json"]["schema"] if body else None
                query = {
                    p["name"]: p.get("schema", {})
                    for p in op.get("parameters", [])
                    if p.get("in") == "query"
                }
                entry = _Operation(
                    op["operationId"],
                    verb.upper(),
                    regex,
                    schema,
                    bool(body and body.get("required")),
                    query,
                    literal_chars,
                )
                self._operations.append(entry)
                self._by_id[entry.operation_id] = entry
        # A literal segment beats a parameter: "/instance/{id}:start" before "/instance/{id}".
        self._operations.sort(key=lambda o: -o.literal_chars)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ApiSpec:
        """Read the OpenAPI document (default: the one in the installed exoscale package)."""
        with open(path or default_spec_path(), encoding="utf-8") as f:
            return cls(json.load(f))

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones of the API's endpoint template, ``servers[0]``."""
        return tuple(self._document["servers"][0]["variables"]["zone"]["enum"])

    def route(self, method: str, api_path: str) -> Route | None:
        """Return the operation for ``api_path`` (relative to ``/v2``), None for unknown paths."""
        path_known = False
        for op in self._operations:
            match = op.regex.fullmatch(api_path)
            if match is None:
                continue
            path_known = True
            if op.method == method.upper():
                return Route(op.operation_id, match.groupdict())
        if path_known:
            raise MethodNotAllowed(f"{method.upper()} is not allowed on {api_path}")
        return None

    def has_body(self, operation_id: str) -> bool:
        """Whether the operation takes a JSON request body."""
        return self._by_id[operation_id].body_schema is not None

    def body_errors(self, operation_id: str, body: Any) -> list[str]:
        """Every way ``body`` breaks the operation's requestBody schema (empty when valid)."""
        op = self._by_id[operation_id]
        if op.body_schema is None:
            return []
        if body is None:
            return ["a JSON request body is required"] if op.body_required else []
        validator = self._validators.get(operation_id)
        if validator is None:
            # $refs point into #/components, so the components travel with the schema.
            schema = dict(op.body_schema, components=self._components)
            validator = self._validators[operation_id] = Draft4Validator(schema)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [_describe(e) for e in errors]

    def query_errors(self, operation_id: str, query: dict[str, list[str]]) -> list[str]:
        """Problems with the known query arguments (an enum value the API does not accept)."""
        problems = []
        for name, schema in self._by_id[operation_id].query.items():
            for value in query.get(name, ()):
                allowed = schema.get("enum")
                if allowed and value not in allowed:
                    problems.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return problems


def _compile(template: str) -> tuple[re.Pattern[str], int]:
    pattern, literal_chars, pos = "", 0, 0
    for match in re.finditer(r"\{([^}]+)\}", template):
        literal = template[pos : match.start()]
        pattern += re.escape(literal) + f"(?P<{_group(match.group(1))}>[^/]+?)"
        literal_chars += len(literal)
        pos = match.end()
    pattern += re.escape(template[pos:])
    literal_chars += len(template) - pos
    return re.compile(pattern), literal_chars


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
