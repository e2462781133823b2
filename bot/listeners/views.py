"""Modal submissions: the wizard's three steps, its confirmation and the deny reason."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot import payloads, views
from bot.context import BotContext


def register(app: App, ctx: BotContext) -> None:
    @app.view(views.STEP1)
    def step1(ack: Ack, body: dict[str, Any]) -> None:
        # Answered inside: Slack shows key errors beside the field only in the ack itself.
        ctx.wizard.submit_credentials(ack, body)

    @app.view(views.STEP2)
    def step2(ack: Ack, body: dict[str, Any]) -> None:
        ctx.wizard.submit_group(ack, body)

    @app.view(views.STEP3)
    def step3(ack: Ack, body: dict[str, Any]) -> None:
        ctx.wizard.submit_options(ack, body)

    @app.view(views.CONFIRM)
    def confirm(ack: Ack, body: dict[str, Any]) -> None:
        ctx.wizard.confirm_options(ack, body)

    @app.view(views.DENY)
    def deny_reason(ack: Ack, body: dict[str, Any]) -> None:
        user = payloads.user_id(body)
        view = payloads.view_of(body)
        try:
            launch_id = json.loads(view.get("private_metadata") or "")["launch_id"]
        except (ValueError, KeyError, TypeError):
            raise payloads.MalformedPayload("deny metadata is not ours") from None
        reason = payloads.text(payloads.state_values(view), views.REASON).strip()
        if not reason:
            ack(response_action="errors", errors={views.REASON: "Say why, for the requester."})
            return
        problem = ctx.desk.deny(str(launch_id), user, reason)
        if problem:
            ack(response_action="errors", errors={views.REASON: problem})
            return
        ack()
