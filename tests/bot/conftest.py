"""The bot on 127.0.0.1 against the three sandboxes, and the steps people take in Slack.

Tests talk to the bot only through its HTTP endpoint (signed requests from the driver) and
look only at what reached the Slack sandbox (plus the Exoscale sandbox, the database file and
the logs where a test is about them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from bot import views
from bot.sandboxed import EXOSCALE_KEY, EXOSCALE_SECRET, SandboxedBot

CHANNEL = SandboxedBot.CHANNEL
ALICE, BOB, CAROL, DAVE = (
    SandboxedBot.ALICE,
    SandboxedBot.BOB,
    SandboxedBot.CAROL,
    SandboxedBot.DAVE,
)


@pytest.fixture
def world() -> Iterator[SandboxedBot]:
    """Approvers: bob alone; alice asks, carol and dave are bystanders."""
    with SandboxedBot(approvers=(BOB,)) as started:
        yield started


@pytest.fixture
def world2() -> Iterator[SandboxedBot]:
    """As ``world``, with Rancher 2.x: an RKE2 cluster (prod) and an RKE1 cluster (legacy)."""
    with SandboxedBot(approvers=(BOB,), rancher="2") as started:
        yield started


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in a list of blocks, in order (what a person reads)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                parts.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(parts)


def button_ids(message: Mapping[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def wizard_to_step2(
    world: SandboxedBot,
    *,
    user: str = ALICE,
    text: str = "add count=2 name=web",
    step1: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Type the command and pass step 1 with the sandbox's key pair; return step 2's view."""
    driver = world.driver
    answer = driver.slash(text, user=user, channel=CHANNEL)
    assert answer.status == 200
    view = driver.wait_for_view(user=user, callback_id=views.STEP1)
    values = {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}
    values.update(step1 or {})
    result = driver.submit(view["id"], values, user=user)
    assert result.action == "update", result.errors
    return driver.wait_for_view(user=user, callback_id=views.STEP2)


def wizard_to_step3(
    world: SandboxedBot,
    *,
    user: str = ALICE,
    step2: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    view = wizard_to_step2(world, user=user, **kwargs)
    result = world.driver.submit(view["id"], dict(step2 or {}), user=user)
    assert result.action == "update", result.errors
    return world.driver.wait_for_view(user=user, callback_id=views.STEP3)


def request_launch(
    world: SandboxedBot,
    *,
    user: str = ALICE,
    step3: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Go through the three steps and return the launch request message in the channel."""
    before = len(world.slack.channel_messages(CHANNEL))
    view = wizard_to_step3(world, user=user, **kwargs)
    result = world.driver.submit(view["id"], dict(step3 or {}), user=user)
    assert result.action == "close", result.errors
    messages = world.driver.wait_for(lambda: world.slack.channel_messages(CHANNEL)[before:] or None)
    return messages[0]


def current(world: SandboxedBot, message: Mapping[str, Any]) -> dict[str, Any]:
    """The message as the channel shows it now."""
    found = world.slack.message(message["channel"], message["ts"])
    assert found is not None
    return found


def thread_texts(world: SandboxedBot, message: Mapping[str, Any]) -> list[str]:
    return [m["text"] for m in world.slack.thread(message["channel"], message["ts"])]


def ephemeral_texts(world: SandboxedBot, user: str) -> list[str]:
    return [e["text"] for e in world.slack.ephemerals_for(user)]


# Security-group rules as the Exoscale sandbox takes them, for groups made "in the portal".
OPEN_SSH = {
    "flow-direction": "ingress",
    "protocol": "tcp",
    "start-port": 22,
    "end-port": 22,
    "network": "0.0.0.0/0",
}
OPEN_DOCKER = {**OPEN_SSH, "start-port": 2376, "end-port": 2376}


def ike_from_group(group: str) -> dict:
    """UDP 500 open to the members of ``group`` (named, as in the sandbox's direct creation)."""
    return {
        "flow-direction": "ingress",
        "protocol": "udp",
        "start-port": 500,
        "end-port": 500,
        "security-group": {"name": group},
    }
