"""Secrets never leave the bot: not in anything that reached Slack, the logs or the database."""

from __future__ import annotations

import json
import logging

from bot import views
from bot.sandboxed import (
    BOT_TOKEN,
    EXOSCALE_KEY,
    EXOSCALE_SECRET,
    RANCHER_SECRET,
    SIGNING_SECRET,
    SandboxedBot,
)
from tests.bot.conftest import ALICE, BOB, CHANNEL, blocks_text, current

WRONG_SECRET = "typo-in-the-secret-7c1f0e"


def test_no_secret_reaches_slack_the_logs_or_the_database_file(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with SandboxedBot(approvers=(BOB,)) as world:
        driver = world.driver
        driver.slash("add count=2 name=web", user=ALICE, channel=CHANNEL)
        view = driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
        refused = driver.submit(
            view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: WRONG_SECRET}, user=ALICE
        )
        assert refused.action == "errors"
        accepted = driver.submit(
            view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}, user=ALICE
        )
        assert accepted.action == "update"
        step2 = driver.wait_for_view(user=ALICE, callback_id=views.STEP2)
        assert driver.submit(step2["id"], user=ALICE).action == "update"
        step3 = driver.wait_for_view(user=ALICE, callback_id=views.STEP3)
        assert driver.submit(step3["id"], user=ALICE).action == "close"
        request = driver.wait_for(lambda: world.slack.channel_messages(CHANNEL))[0]
        driver.click(request, views.APPROVE, user=ALICE)
        driver.message("approve", user=BOB, channel=CHANNEL, thread_ts=request["ts"])
        driver.wait_for(
            lambda: "*Done*" in blocks_text(current(world, request)["blocks"]), timeout=15
        )
        driver.slash(
            "status " + request["blocks"][0]["text"]["text"].split("`")[1],
            user=BOB,
            channel=CHANNEL,
        )
        driver.wait_for(lambda: world.slack.ephemerals_for(BOB))

        reached_slack = json.dumps(
            [[call.method, call.args, call.response] for call in world.slack.calls]
            + [world.slack.view_history(v["id"]) for v in (view, step2, step3)]
            + world.slack.ephemerals
            + world.slack.messages()
        )
        database = b"".join(
            path.read_bytes()
            for path in world.database.parent.iterdir()
            if path.name.startswith(world.database.name) and not path.name.endswith(".key")
        )
        metadata = [
            version.get("private_metadata", "") for version in world.slack.view_history(view["id"])
        ]
    logs = "\n".join(record.getMessage() + (caplog_text(record)) for record in caplog.records)

    assert "credential_id" in "".join(metadata)
    assert len(database) > 0 and b"launches" in database
    assert len(caplog.records) > 50
    for secret in (EXOSCALE_KEY, EXOSCALE_SECRET, WRONG_SECRET):
        assert secret not in reached_slack, "an Exoscale key reached Slack"
        assert secret not in logs, "an Exoscale key was logged"
        assert secret.encode() not in database, "an Exoscale key is readable in the database"
    for secret in (RANCHER_SECRET, SIGNING_SECRET, BOT_TOKEN):
        assert secret not in logs
        assert secret not in reached_slack


def caplog_text(record: logging.LogRecord) -> str:
    """The traceback text of a record, if it has one (where a repr would show locals)."""
    if record.exc_info:
        return "\n" + logging.Formatter().formatException(record.exc_info)
    return ""
