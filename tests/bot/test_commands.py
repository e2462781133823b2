"""The other subcommands: help, list, status and usage errors, all answered in private."""

from __future__ import annotations

from bot import views
from commands.parse import HELP_TEXT
from tests.bot.conftest import ALICE, BOB, CHANNEL, blocks_text, current, request_launch


def private_answers(world, user: str) -> list[dict]:
    return world.slack.ephemerals_for(user)


def test_help_and_an_empty_command_answer_in_private(world) -> None:
    for text in ("help", ""):
        world.driver.slash(text, user=ALICE, channel=CHANNEL)

    answers = world.driver.wait_for(lambda: len(private_answers(world, ALICE)) == 2 or None)
    assert answers
    assert [a["text"] for a in private_answers(world, ALICE)] == [HELP_TEXT, HELP_TEXT]
    assert all(a["source"] == "response_url" for a in private_answers(world, ALICE))
    assert world.slack.channel_messages(CHANNEL) == []


def test_an_unknown_subcommand_gets_a_helpful_usage_error(world) -> None:
    world.driver.slash("ad count=2", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: private_answers(world, ALICE))
    assert "unknown command 'ad' (did you mean 'add'?)" in answer["text"]
    assert world.slack.last_view(ALICE) is None


def test_an_unknown_option_on_add_is_refused_before_any_modal(world) -> None:
    world.driver.slash("add colour=blue", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: private_answers(world, ALICE))
    assert "unknown option 'colour'" in answer["text"]
    assert world.slack.last_view(ALICE) is None


def test_list_shows_recent_requests_with_their_state(world) -> None:
    world.driver.slash("list", user=BOB, channel=CHANNEL)
    (empty,) = world.driver.wait_for(lambda: private_answers(world, BOB))
    assert empty["text"].startswith("No launch requests yet")

    request = request_launch(world, text="add count=2 name=web")
    world.driver.slash("list", user=BOB, channel=CHANNEL)

    answers = world.driver.wait_for(lambda: private_answers(world, BOB)[1:])
    launch_id = request["blocks"][0]["text"]["text"].split("`")[1]
    assert f"• `{launch_id}` add 2 × `web` in ch-gva-2 by <@{ALICE}>" in answers[0]["text"]
    assert "*waiting for approval*" in answers[0]["text"]


def test_status_shows_each_host_of_a_launch(world) -> None:
    request = request_launch(world, text="add count=2 name=web")
    world.driver.click(request, views.APPROVE, user=BOB)
    world.driver.wait_for(
        lambda: "*Done*" in blocks_text(current(world, request)["blocks"]), timeout=15
    )
    launch_id = request["blocks"][0]["text"]["text"].split("`")[1]

    world.driver.slash(f"status {launch_id}", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: private_answers(world, ALICE))
    assert "*done, 2/2 ready*" in answer["text"]
    assert "`web-1` created → running (198.51.100." in answer["text"]
    assert f"Decided by <@{BOB}>." in answer["text"]


def test_status_of_an_unknown_launch_says_how_to_find_one(world) -> None:
    world.driver.slash("status 0badf00d", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: private_answers(world, ALICE))
    assert answer["text"] == ("No launch request `0badf00d`. `/rancher-exoscale list` shows them.")


def test_add_with_an_expired_trigger_is_told_to_try_again(world) -> None:
    world.slack.trigger_ttl = 0.0

    world.driver.slash("add", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: private_answers(world, ALICE))
    assert answer["text"] == (
        ":warning: Slack did not open the form (expired_trigger_id); run the command again."
    )
