"""Approval: who may approve (button or thread reply), refusals in private, one launch only."""

from __future__ import annotations

import threading
import time

import pytest

from bot import views
from bot.sandboxed import SandboxedBot
from tests.bot.conftest import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    blocks_text,
    button_ids,
    current,
    ephemeral_texts,
    request_launch,
    thread_texts,
)


def audit_actions(world: SandboxedBot, launch_id: str) -> list[str]:
    return [e.action for e in world.bot.store.audit.entries(launch_id)]


def launch_id_of(message: dict) -> str:
    return next(
        e["value"]
        for b in message["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == views.APPROVE
    )


def test_the_requester_is_refused_in_private_and_the_attempt_is_audited(world) -> None:
    request = request_launch(world)

    answer = world.driver.click(request, views.APPROVE, user=ALICE)

    assert answer.status == 200
    refusal = world.driver.wait_for(lambda: ephemeral_texts(world, ALICE))
    assert "someone else has to approve it" in refusal[0] and f"<@{BOB}>" in refusal[0]
    assert button_ids(current(world, request)) == [views.APPROVE, views.DENY_BUTTON]
    assert thread_texts(world, request) == []
    assert "approve.refused" in audit_actions(world, launch_id_of(request))
    assert world.exoscale.instances == []


def test_someone_who_is_not_an_approver_is_refused_in_private(world) -> None:
    request = request_launch(world)

    world.driver.click(request, views.APPROVE, user=CAROL)

    refusal = world.driver.wait_for(lambda: ephemeral_texts(world, CAROL))
    assert refusal == [f"Only approvers can approve launch requests: <@{BOB}>."]
    assert ephemeral_texts(world, ALICE) == [] and ephemeral_texts(world, BOB) == []
    assert "Waiting for approval" in blocks_text(current(world, request)["blocks"])


def test_approve_replied_in_the_thread_approves_and_updates_the_request(world) -> None:
    request = request_launch(world)

    answer = world.driver.message(
        "Approve!", user=BOB, channel=request["channel"], thread_ts=request["ts"]
    )

    assert answer.status == 200
    approved = world.driver.wait_for(
        lambda: (
            "Approved" in blocks_text(current(world, request)["blocks"]) and current(world, request)
        )
    )
    assert f"*Approved* by <@{BOB}>" in blocks_text(approved["blocks"])
    assert button_ids(approved) == []
    assert "launch.approve" in audit_actions(world, launch_id_of(request))


def test_the_requester_replying_approve_is_refused_in_the_thread(world) -> None:
    request = request_launch(world)

    world.driver.message("approve", user=ALICE, channel=request["channel"], thread_ts=request["ts"])

    world.driver.wait_for(lambda: world.slack.ephemerals_for(ALICE))
    (refusal,) = world.slack.ephemerals_for(ALICE)
    assert "someone else has to approve it" in refusal["text"]
    assert world.slack.calls_to("chat.postEphemeral")[-1].args["thread_ts"] == request["ts"]
    assert "Waiting for approval" in blocks_text(current(world, request)["blocks"])


def test_other_thread_replies_and_channel_messages_are_ignored(world) -> None:
    request = request_launch(world)
    calls = len(world.slack.calls)

    for text, thread in (("approve", None), ("I approve of this", request["ts"])):
        answer = world.driver.message(text, user=BOB, channel=request["channel"], thread_ts=thread)
        assert answer.status == 200
    # The listener runs after the ack; give it time to do something it should not.
    time.sleep(0.3)

    assert [c.method for c in world.slack.calls[calls:]] == []
    assert button_ids(current(world, request)) == [views.APPROVE, views.DENY_BUTTON]


def test_a_member_of_an_approver_user_group_may_approve() -> None:
    with SandboxedBot(approvers=("S0OPS",)) as world:
        world.slack.set_usergroup("S0OPS", "ops", [DAVE])
        request = request_launch(world)

        world.driver.click(request, views.APPROVE, user=CAROL)
        world.driver.wait_for(lambda: ephemeral_texts(world, CAROL))
        world.driver.click(request, views.APPROVE, user=DAVE)

        world.driver.wait_for(
            lambda: f"by <@{DAVE}>" in blocks_text(current(world, request)["blocks"])
        )
        assert "<!subteam^S0OPS>" in ephemeral_texts(world, CAROL)[0]
        assert world.slack.calls_to("usergroups.users.list")


@pytest.mark.parametrize("allowed", [False, True])
def test_an_approver_approves_their_own_request_only_when_self_approval_is_on(
    allowed: bool,
) -> None:
    env = {"BOT_ALLOW_SELF_APPROVAL": "true" if allowed else "false"}
    with SandboxedBot(approvers=(ALICE, BOB), env=env) as world:
        request = request_launch(world)

        world.driver.click(request, views.APPROVE, user=ALICE)

        if allowed:
            world.driver.wait_for(
                lambda: f"by <@{ALICE}>" in blocks_text(current(world, request)["blocks"])
            )
            assert ephemeral_texts(world, ALICE) == []
        else:
            refusal = world.driver.wait_for(lambda: ephemeral_texts(world, ALICE))
            assert "someone else has to approve it" in refusal[0]
            assert button_ids(current(world, request)) == [views.APPROVE, views.DENY_BUTTON]


def test_two_approvers_clicking_at_once_make_one_launch() -> None:
    with SandboxedBot(approvers=(BOB, CAROL)) as world:
        request = request_launch(world, text="add count=2 name=web")
        start = threading.Barrier(6)

        def click(user: str) -> None:
            start.wait()
            assert world.driver.click(request, views.APPROVE, user=user).status == 200

        threads = [threading.Thread(target=click, args=(u,)) for u in (BOB, CAROL) * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        world.driver.wait_for(
            lambda: "Done" in blocks_text(current(world, request)["blocks"]), timeout=15
        )
        launch_id = launch_id_of(request)
        assert audit_actions(world, launch_id).count("launch.approve") == 1
        assert len(world.exoscale.instances) == 2
        progress = [t for t in thread_texts(world, request) if t.startswith("Provisioning")]
        assert len(progress) == 1
        told = world.driver.wait_for(
            lambda: (
                len(ephemeral_texts(world, BOB) + ephemeral_texts(world, CAROL)) >= 5
                and ephemeral_texts(world, BOB) + ephemeral_texts(world, CAROL)
            )
        )
        assert len(told) == 5 and all("already approved by" in t for t in told)


def test_deny_asks_for_a_reason_and_posts_it_in_the_thread(world) -> None:
    request = request_launch(world)

    world.driver.click(request, views.DENY_BUTTON, user=BOB)
    modal = world.driver.wait_for_view(user=BOB, callback_id=views.DENY)
    empty = world.driver.submit(modal["id"], user=BOB)
    result = world.driver.submit(modal["id"], {views.REASON: "use the <staging> account"}, user=BOB)

    assert empty.action == "errors" and set(empty.errors) == {views.REASON}
    assert result.action == "close"
    denied = current(world, request)
    assert button_ids(denied) == []
    assert f"*Denied* by <@{BOB}>: use the &lt;staging&gt; account" in blocks_text(denied["blocks"])
    assert thread_texts(world, request) == [
        f":no_entry_sign: <@{BOB}> denied this request: use the &lt;staging&gt; account"
    ]
    world.driver.click(request, views.APPROVE, user=BOB)
    assert "already denied" in world.driver.wait_for(lambda: ephemeral_texts(world, BOB))[0]
    assert world.exoscale.instances == []


def test_someone_who_is_not_an_approver_cannot_open_the_deny_modal(world) -> None:
    request = request_launch(world)

    world.driver.click(request, views.DENY_BUTTON, user=CAROL)

    world.driver.wait_for(lambda: ephemeral_texts(world, CAROL))
    assert "Only approvers can deny" in ephemeral_texts(world, CAROL)[0]
    assert world.slack.last_view(CAROL) is None
