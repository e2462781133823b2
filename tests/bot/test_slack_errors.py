"""Slack saying no: 429s are waited out and retried; a refused post fails the request visibly."""

from __future__ import annotations

from bot import views
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    blocks_text,
    current,
    request_launch,
    wizard_to_step3,
)


def test_a_rate_limited_post_is_sent_again_after_retry_after(world) -> None:
    view = wizard_to_step3(world)
    world.slack.rate_limit_next("chat.postMessage", retry_after=1)

    assert world.driver.submit(view["id"], user=ALICE).action == "close"

    request = world.driver.wait_for(lambda: world.slack.channel_messages(CHANNEL), timeout=10)[0]
    posts = world.slack.calls_to("chat.postMessage")
    assert [c.status for c in posts[:2]] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0
    assert "Waiting for approval" in blocks_text(request["blocks"])


def test_a_request_slack_refuses_to_post_fails_and_the_requester_is_told(world) -> None:
    view = wizard_to_step3(world)
    world.slack.fail_next("chat.postMessage", "not_in_channel")

    world.driver.submit(view["id"], user=ALICE)

    (told,) = world.driver.wait_for(lambda: world.slack.ephemerals_for(ALICE))
    assert "Slack said `not_in_channel`" in told["text"] and "/invite" in told["text"]
    world.driver.slash("list", user=ALICE, channel=CHANNEL)
    listed = world.driver.wait_for(lambda: world.slack.ephemerals_for(ALICE)[1:])[0]
    assert "*failed*" in listed["text"]


def test_slack_refusing_updates_during_provisioning_delays_but_loses_nothing(world) -> None:
    request = request_launch(world, text="add count=1 name=web")
    world.slack.fail_next("chat.update", "internal_error", count=3)

    world.driver.click(request, views.APPROVE, user=BOB)

    world.driver.wait_for(
        lambda: "*Done*" in blocks_text(current(world, request)["blocks"]), timeout=15
    )
    thread = world.slack.thread(CHANNEL, request["ts"])
    assert [m["text"] for m in thread if "is ready" in m["text"]] == [
        ":white_check_mark: Host `web-1` is ready in Rancher at 198.51.100.1 "
        f"(launch `{request['blocks'][0]['text']['text'].split('`')[1]}`)."
    ]
    (progress,) = [m for m in thread if m["text"].startswith("Provisioning")]
    assert progress["text"] == "Provisioning 1 host(s): 1/1 ready"
    failed = [c for c in world.slack.calls_to("chat.update") if not c.ok]
    assert len(failed) == 3
