"""Bolt listeners by kind; each module has one ``register(app, ctx)``.

register_all(app, ctx)
"""

from __future__ import annotations

from slack_bolt import App

from bot.context import BotContext
from bot.listeners import actions, commands, events, views


def register_all(app: App, ctx: BotContext) -> None:
    """Register every listener of the bot on ``app``."""
    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
