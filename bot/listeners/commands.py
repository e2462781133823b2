"""The ``/rancher-exoscale`` slash command: add (the wizard), list, status, remove, help.

Every answer to the person who typed it is ephemeral (``respond``); ``add`` opens the modal
straight after the ack, because the trigger id expires within 3 seconds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot import views
from bot.context import BotContext
from bot.wizard import MetadataTooLong
from commands.parse import (
    COMMAND,
    HELP_TEXT,
    Add,
    Help,
    ListLaunches,
    Remove,
    Status,
    UsageError,
    parse_command,
)


def register(app: App, ctx: BotContext) -> None:
    @app.command(COMMAND)
    def rancher_exoscale(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        user = command.get("user_id", "")
        channel = command.get("channel_id", "")
        try:
            parsed = parse_command(command.get("text", ""))
        except UsageError as exc:
            respond(text=f":warning: {exc}", response_type="ephemeral")
            return
        if isinstance(parsed, Add):
            try:
                ctx.wizard.open(
                    trigger_id=command.get("trigger_id", ""),
                    user=user,
                    channel=channel,
                    prefill=parsed.values,
                )
            except MetadataTooLong:
                respond(
                    text=":warning: These options are too long to carry through the form; "
                    "give fewer on the command line and fill the rest in the form.",
                    response_type="ephemeral",
                )
            except SlackApiError as exc:
                # Most often an expired trigger: Slack took longer than 3 s to reach the bot.
                respond(
                    text=f":warning: Slack did not open the form "
                    f"({exc.response.get('error')}); run the command again.",
                    response_type="ephemeral",
                )
        elif isinstance(parsed, ListLaunches):
            launches = ctx.store.launches.recent(limit=10)
            hosts = {launch.id: ctx.store.hosts.for_launch(launch.id) for launch in launches}
            respond(text=views.list_text(launches, hosts), response_type="ephemeral")
        elif isinstance(parsed, Status):
            launch = ctx.store.launches.get(parsed.launch_id)
            if launch is None:
                text = f"No launch request `{parsed.launch_id}`. `{COMMAND} list` shows them."
            else:
                text = views.status_text(launch, ctx.store.hosts.for_launch(launch.id))
            respond(text=text, response_type="ephemeral")
        elif isinstance(parsed, Remove):
            problem = ctx.desk.request_remove(user=user, channel=channel, host_name=parsed.host)
            if problem:
                respond(text=f":warning: {problem}", response_type="ephemeral")
        elif isinstance(parsed, Help):
            respond(text=HELP_TEXT, response_type="ephemeral")
