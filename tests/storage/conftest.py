"""Fixtures for the storage tests: real SQLite databases, in memory and on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import LaunchRequest, Store, generate_key, open_store, utcnow


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory store."""
    with Store.memory() as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a file-backed store lives in this test (not created yet)."""
    return tmp_path / "bot.db"


@pytest.fixture
def key() -> bytes:
    """A Fernet key shared by every store a test opens on one file."""
    return generate_key()


@pytest.fixture
def file_store(db_path: Path, key: bytes) -> Iterator[Store]:
    """A fresh store backed by a file."""
    with open_store(db_path, key=key) as s:
        yield s


def launch_fields(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments of a typical "add two hosts" request."""
    fields: dict[str, Any] = {
        "kind": "add",
        "requester": "U0REQUEST",
        "channel": "C0OPS",
        "options": {"count": 2, "name": "web", "zone": "ch-gva-2"},
        "zone": "ch-gva-2",
        "credential_id": None,
        "group_id": "4a1c2f3e-0000-4000-8000-000000000001",
        "group_name": "rancher-machine",
        "driver": "ipsec",
        "port_audit": {"missing": [], "covered": ["TCP 22", "TCP 2376"]},
        "expires_at": utcnow() + timedelta(hours=24),
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_launch(store: Store) -> Callable[..., LaunchRequest]:
    """Create a launch request in ``store``, with any fields overridden."""

    def make(target: Store | None = None, **overrides: Any) -> LaunchRequest:
        return (target or store).launches.create(**launch_fields(**overrides))

    return make
