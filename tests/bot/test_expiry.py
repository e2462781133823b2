"""Pending requests expire after BOT_REQUEST_TTL_HOURS: the message says so, the buttons go."""

from __future__ import annotations

from bot import views
from bot.sandboxed import SandboxedBot
from tests.bot.conftest import (
    BOB,
    blocks_text,
    button_ids,
    current,
    ephemeral_texts,
    request_launch,
)

# 0.0005 h is 1.8 s: long enough to walk through the wizard, short enough to wait for.
TTL = {"BOT_REQUEST_TTL_HOURS": "0.0005"}


def test_an_unapproved_request_expires_and_loses_its_buttons() -> None:
    with SandboxedBot(env=TTL) as world:
        request = request_launch(world)
        assert button_ids(request) == [views.APPROVE, views.DENY_BUTTON]

        expired = world.driver.wait_for(
            lambda: (
                "*Expired*" in blocks_text(current(world, request)["blocks"])
                and world.slack.thread(request["channel"], request["ts"])
                and current(world, request)
            ),
            timeout=10,
        )

        assert button_ids(expired) == []
        assert "nobody approved it within 0.0005 h" in blocks_text(expired["blocks"])
        (reply,) = world.slack.thread(request["channel"], request["ts"])
        assert "it has expired" in reply["text"]
        world.driver.click(request, views.APPROVE, user=BOB)
        assert world.driver.wait_for(lambda: ephemeral_texts(world, BOB)) == [
            f"Request `{request['blocks'][0]['text']['text'].split('`')[1]}` is expired."
        ]
        assert world.exoscale.instances == []


def test_a_request_within_its_time_can_still_be_approved() -> None:
    with SandboxedBot(env={"BOT_REQUEST_TTL_HOURS": "1"}) as world:
        request = request_launch(world)

        world.driver.click(request, views.APPROVE, user=BOB)

        world.driver.wait_for(
            lambda: (
                "*Approved*" in blocks_text(current(world, request)["blocks"])
                or "*Done*" in blocks_text(current(world, request)["blocks"])
            )
        )
