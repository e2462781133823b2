"""Message events: ``approve`` replied in a launch request's thread approves it."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from bot.context import BotContext

# "approve", "Approve!", "approved.", "<@BOT> approve": the whole reply, nothing else.
_APPROVE = re.compile(r"^(?:<@[A-Z0-9]+>\s*)?approved?[.!]?$", re.IGNORECASE)


def register(app: App, ctx: BotContext) -> None:
    @app.event("message")
    def message(ack: Ack, event: dict[str, Any]) -> None:
        # Every channel message arrives here; all but approvals in a request thread are ignored.
        ack()
        if event.get("subtype") or event.get("bot_id"):
            return
        thread_ts, user, channel = event.get("thread_ts"), event.get("user"), event.get("channel")
        text = event.get("text")
        if not all(isinstance(v, str) and v for v in (thread_ts, user, channel, text)):
            return
        if thread_ts == event.get("ts") or not _APPROVE.match(text.strip()):
            return
        launch = ctx.desk.find_by_thread(channel, thread_ts)
        if launch is not None:
            ctx.desk.approve(launch.id, user, via="thread", thread_ts=thread_ts)
