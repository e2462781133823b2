"""After approval: one progress message kept current, ready hosts announced, diagnoses given."""

from __future__ import annotations

import json

from bot.sandboxed import SandboxedBot
from tests.bot.conftest import (
    ALICE,
    BOB,
    OPEN_DOCKER,
    OPEN_SSH,
    blocks_text,
    current,
    ike_from_group,
    request_launch,
    wizard_to_step2,
)

IKE_FROM_GROUP = ike_from_group("web-sg")


def custom_launch(world: SandboxedBot, group_id: str) -> dict:
    """A one-host request through the wizard with the existing group ``group_id``."""
    view = wizard_to_step2(world, text="add count=1 name=web")
    world.driver.select(view["id"], "group_mode", "custom", user=ALICE)
    view = world.driver.wait_for_view(
        user=ALICE,
        callback_id="add_step2",
        ready=lambda v: any(b.get("block_id") == "custom_group" for b in v["blocks"]),
    )
    world.driver.select(view["id"], "custom_group", group_id, user=ALICE)
    world.driver.wait_for_view(
        user=ALICE, callback_id="add_step2", ready=lambda v: "web-sg" in blocks_text(v["blocks"])
    )
    assert world.driver.submit(view["id"], user=ALICE).action == "update"
    step3 = world.driver.wait_for_view(user=ALICE, callback_id="add_step3")
    assert world.driver.submit(step3["id"], user=ALICE).action == "close"
    return world.driver.wait_for(lambda: world.slack.channel_messages("C0OPS"))[0]


def approve_in_thread(world: SandboxedBot, request: dict) -> None:
    world.driver.message("approve", user=BOB, channel=request["channel"], thread_ts=request["ts"])


def bot_thread(world: SandboxedBot, request: dict) -> list[dict]:
    return [m for m in world.slack.thread(request["channel"], request["ts"]) if m.get("bot_id")]


def progress_of(world: SandboxedBot, request: dict) -> dict:
    (progress,) = [m for m in bot_thread(world, request) if m["text"].startswith("Provisioning")]
    return progress


def test_progress_is_one_message_updated_until_every_host_is_ready(world) -> None:
    request = request_launch(world, text="add count=3 name=web")
    approve_in_thread(world, request)

    world.driver.wait_for(
        lambda: "Done" in blocks_text(current(world, request)["blocks"]), timeout=15
    )

    progress = progress_of(world, request)
    updates = [
        c.args
        for c in world.slack.calls_to("chat.update")
        if c.ok and c.args["ts"] == progress["ts"]
    ]
    shown = [u["text"] for u in updates]
    assert shown[0] == "Provisioning 3 host(s): 0/3 ready"
    assert shown[-1] == "Provisioning 3 host(s): 3/3 ready"
    assert progress["edits"] == len(updates) >= 2
    drawn = [json.dumps(u["blocks"], sort_keys=True) for u in updates]
    assert len(set(drawn)) == len(drawn), "an unchanged progress message was updated again"
    final = blocks_text(progress["blocks"])
    for name in ("web-1", "web-2", "web-3"):
        assert f"`{name}` created → running (198.51.100." in final
    assert final.count("registered → *ready*") == 3


def test_each_ready_host_is_announced_in_the_thread_and_the_channel(world) -> None:
    request = request_launch(world, text="add count=2 name=web")
    approve_in_thread(world, request)

    world.driver.wait_for(
        lambda: (
            sum("is ready" in m["text"] for m in bot_thread(world, request)) == 2
            and "*Done*" in blocks_text(current(world, request)["blocks"])
        ),
        timeout=15,
    )

    notices = [m for m in bot_thread(world, request) if "is ready" in m["text"]]
    assert all(m["reply_broadcast"] for m in notices)
    assert sorted(m["text"].split("`")[1] for m in notices) == ["web-1", "web-2"]
    in_channel = world.slack.channel_messages(request["channel"])
    assert [m["ts"] for m in in_channel[1:]] == [m["ts"] for m in notices]
    done = blocks_text(current(world, request)["blocks"])
    assert f":tada: *Done*: approved by <@{BOB}>, 2/2 ready." in done


def test_a_host_that_never_registers_gets_a_diagnosis_a_person_can_act_on() -> None:
    env = {"BOT_REGISTER_TIMEOUT_MINUTES": "0.02"}
    with SandboxedBot(wire_agents=False, env=env) as world:
        group = world.exoscale.add_security_group("web-sg", (OPEN_SSH,))
        request = custom_launch(world, group)
        assert "missing TCP 2376, UDP 500, UDP 4500" in blocks_text(request["blocks"])

        approve_in_thread(world, request)

        warning = world.driver.wait_for(
            lambda: [m for m in bot_thread(world, request) if m["text"].startswith(":warning:")],
            timeout=15,
        )[0]["text"]
        assert "Host `web-1` did not become ready in time" in warning
        assert (
            "web-sg lacks TCP 2376, UDP 500, UDP 4500 (IPsec): add the rule, or choose Standard"
            in warning
        )
        assert "the Rancher agent never registered" in warning
        world.driver.wait_for(
            lambda: "*Failed*" in blocks_text(current(world, request)["blocks"]), timeout=5
        )
        assert "not ready in time" in blocks_text(progress_of(world, request)["blocks"])


def test_a_host_that_turns_unhealthy_gets_the_missing_port_named(world) -> None:
    group = world.exoscale.add_security_group("web-sg", (OPEN_SSH, OPEN_DOCKER, IKE_FROM_GROUP))
    request = custom_launch(world, group)
    assert ":x: missing UDP 4500: *will stay closed*" in blocks_text(request["blocks"])

    approve_in_thread(world, request)

    warning = world.driver.wait_for(
        lambda: [m for m in bot_thread(world, request) if m["text"].startswith(":warning:")],
        timeout=15,
    )[0]["text"]
    assert warning.startswith(":warning: Host `web-1` is unhealthy: ")
    assert "web-sg lacks UDP 4500 (IPsec): add the rule, or choose Standard" in warning
    world.driver.wait_for(
        lambda: ":warning: unhealthy" in blocks_text(progress_of(world, request)["blocks"])
    )
