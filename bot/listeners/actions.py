"""Button clicks and modal choices: Approve, Deny (opens the reason modal), step 2's choices."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot import payloads, views
from bot.context import BotContext


def register(app: App, ctx: BotContext) -> None:
    @app.action(views.APPROVE)
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = payloads.user_id(body)
        launch_id = _launch_id(body)
        ctx.desk.approve(launch_id, user, via="button")

    @app.action(views.DENY_BUTTON)
    def deny(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = payloads.user_id(body)
        launch = ctx.store.launches.get(_launch_id(body))
        if launch is None or ctx.desk.refuse_deny(launch, user) is not None:
            return
        trigger_id = body.get("trigger_id")
        if not isinstance(trigger_id, str) or not trigger_id:
            raise payloads.MalformedPayload("trigger_id is missing")
        metadata = json.dumps({"launch_id": launch.id})
        ctx.client.views_open(
            trigger_id=trigger_id, view=views.deny_view(metadata, launch_id=launch.id)
        )

    @app.action(views.GROUP_MODE)
    @app.action(views.CUSTOM_GROUP)
    @app.action(views.NETWORK)
    @app.action(views.CLUSTER)
    @app.action(views.ROLES)
    def step2_choice(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        ctx.wizard.group_changed(body)


def _launch_id(body: dict[str, Any]) -> str:
    value = payloads.action_of(body).get("value")
    if not isinstance(value, str) or not value:
        raise payloads.MalformedPayload("the button carries no launch id")
    return value
