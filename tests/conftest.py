"""Helpers the provisioning and sandbox tests share (tests/bot keeps its own conftest)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 2.0, step: float = 0.005) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail after timeout.

    Sandboxes change state on their own clock, so a test waits for what it expects instead of
    sleeping a fixed time::

        [node] = wait_for(lambda: [n for n in rancher.nodes("c-1") if n.healthy], timeout=3.0)
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(step)
