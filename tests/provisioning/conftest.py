"""What the Exoscale adapter tests share: a running sandbox and a client with short timings.

def test_something(sandbox):
    exo = client(sandbox, retries=0)      # from tests.provisioning.conftest import client
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provisioning.exoscale import ExoscaleClient
from sandbox.exoscale import ExoscaleSandbox

# The secret is distinctive so that tests can assert it never shows in messages or logs.
KEY, SECRET = "EXOprovisioningtest", "s3cret-that-must-never-show"


@pytest.fixture
def sandbox() -> Iterator[ExoscaleSandbox]:
    """An Exoscale sandbox that accepts KEY/SECRET; operations and boots settle in tens of ms."""
    with ExoscaleSandbox({KEY: SECRET}, operation_delay=0.02, boot_delay=0.03) as started:
        yield started


def client(
    sandbox: ExoscaleSandbox,
    key: str = KEY,
    secret: str = SECRET,
    zone: str = "ch-gva-2",
    **overrides: Any,
) -> ExoscaleClient:
    """An ExoscaleClient on the sandbox: 2 s timeout, one retry, quick polls, unless overridden."""
    options: dict[str, Any] = {
        "timeout": 2.0,
        "retries": 1,
        "backoff": 0.01,
        "poll_interval": lambda t: 0.01,
    }
    options.update(overrides)
    return ExoscaleClient(key, secret, zone, endpoint=sandbox.endpoint, **options)
