"""``remove <host>``: a remove request with the same approval, then instance and host are gone."""

from __future__ import annotations

from bot import views
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    blocks_text,
    button_ids,
    current,
    ephemeral_texts,
    request_launch,
    thread_texts,
)


def ready_launch(world) -> dict:
    request = request_launch(world, text="add count=2 name=web")
    world.driver.click(request, views.APPROVE, user=BOB)
    world.driver.wait_for(
        lambda: (
            "*Done*" in blocks_text(current(world, request)["blocks"])
            and len(thread_texts(world, request)) == 3
        ),
        timeout=15,
    )
    return request


def test_remove_asks_for_approval_then_deletes_the_instance_and_the_rancher_host(world) -> None:
    ready_launch(world)
    before = len(world.slack.channel_messages(CHANNEL))

    answer = world.driver.slash("remove web-1", user=ALICE, channel=CHANNEL)

    assert answer.status == 200
    request = world.driver.wait_for(lambda: world.slack.channel_messages(CHANNEL)[before:])[0]
    text = blocks_text(request["blocks"])
    assert f"<@{ALICE}> asks to remove host *web-1*" in text
    assert "Exoscale instance" in text and "Rancher host" in text
    assert button_ids(request) == [views.APPROVE, views.DENY_BUTTON]
    assert len([i for i in world.exoscale.instances if i["state"] == "running"]) == 2

    world.driver.click(request, views.APPROVE, user=ALICE)
    world.driver.wait_for(lambda: ephemeral_texts(world, ALICE))
    world.driver.click(request, views.APPROVE, user=BOB)

    world.driver.wait_for(
        lambda: "*Done*" in blocks_text(current(world, request)["blocks"]), timeout=15
    )
    assert thread_texts(world, request) == [
        ":wastebasket: `web-1` is removed: its Exoscale instance is deleted and its Rancher "
        "host is gone."
    ]
    live = [i["name"] for i in world.exoscale.instances if i["state"] not in ("destroyed",)]
    assert live == ["web-2"]
    # Rancher finishes a removal on its own a moment after the bot asked for it.
    world.driver.wait_for(
        lambda: sorted(h["hostname"] for h in world.rancher.hosts if not h["removed"]) == ["web-2"]
    )


def test_removing_an_unknown_host_is_answered_in_private(world) -> None:
    world.driver.slash("remove web-9", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: ephemeral_texts(world, ALICE))
    assert "No host named `web-9`" in answer
    assert world.slack.channel_messages(CHANNEL) == []


def test_a_second_remove_of_the_same_host_is_refused_while_the_first_waits(world) -> None:
    ready_launch(world)
    world.driver.slash("remove web-2", user=ALICE, channel=CHANNEL)
    world.driver.wait_for(lambda: len(world.slack.channel_messages(CHANNEL)) >= 4)

    world.driver.slash("remove web-2", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: ephemeral_texts(world, ALICE))
    assert "already requested" in answer
