"""The running bot: it says at start which Rancher it talks to, and runs one scheduler."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.sandboxed import RANCHER_SECRET, RANCHER_TOKEN, SandboxedBot
from tests.bot.conftest import BOB


@pytest.mark.parametrize(
    ("rancher", "line", "secret"),
    [
        ("2", "hosts register with Rancher 2.x at {url} (API v3)", RANCHER_TOKEN),
        ("1.6", "hosts register with Rancher 1.6 at {url} project 1a5", RANCHER_SECRET),
    ],
    ids=["rancher 2.x", "rancher 1.6"],
)
def test_the_start_line_names_the_rancher_and_never_its_keys(caplog, rancher, line, secret):
    caplog.set_level(logging.INFO, logger="bot.runtime")

    with SandboxedBot(approvers=(BOB,), rancher=rancher) as world:
        expected = line.format(url=world.rancher_url)

    said = [r.getMessage() for r in caplog.records if r.name == "bot.runtime"]
    assert said.count(expected) == 1
    assert secret not in caplog.text
    assert secret.split(":")[-1] not in caplog.text


def test_the_bot_runs_one_scheduler_for_provisioning_and_housekeeping() -> None:
    before = {t for t in threading.enumerate() if t.name == "APScheduler"}

    with SandboxedBot(approvers=(BOB,)) as world:
        started = {t for t in threading.enumerate() if t.name == "APScheduler"} - before
        jobs = {job.id for job in world.bot.provisioner.scheduler.get_jobs()}

    assert len(started) == 1
    assert {"watch", "housekeeping"} <= jobs
