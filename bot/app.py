"""Wiring only: the Slack Web API client and the Bolt app with every listener registered.

client = build_client(settings)
app = build_app(ctx)            # ctx.client is that client
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.context import BotContext
from bot.listeners import register_all
from bot.payloads import MalformedPayload
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def build_client(settings: Settings) -> WebClient:
    """The Web API client: SLACK_API_URL, the bot token, retries on 429 and connection errors."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            # Waits as long as Slack's Retry-After says, then tries again.
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(ctx: BotContext, listener_executor: ThreadPoolExecutor | None = None) -> App:
    """The Bolt app for ``ctx``; calls ``auth.test`` once, so Slack (or the sandbox) must answer.

    Raises SettingsError when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in the environment:
    Bolt then switches to its OAuth install flow by itself, authorizing requests from an
    installation store instead of the bot token. This bot lives in one workspace.
    """
    app = App(
        client=ctx.client,
        # Unused in Socket Mode, where Slack's connection is authenticated instead.
        signing_secret=ctx.settings.slack_signing_secret or "",
        process_before_response=False,
        # Listeners keep running after their ack; the owner of this pool drains it on stop.
        listener_executor=listener_executor
        or ThreadPoolExecutor(
            max_workers=ctx.tuning.listener_threads, thread_name_prefix="bolt-listener"
        ),
        logger=logging.getLogger("slack_bolt"),
    )
    if app.oauth_flow is not None:
        raise SettingsError(
            "SLACK_CLIENT_ID",
            "and SLACK_CLIENT_SECRET are set, which turns on Slack's OAuth install flow; this "
            "bot runs in one workspace with SLACK_BOT_TOKEN: unset both",
        )
    register_all(app, ctx)
    app.error(_on_error)
    return app


def _on_error(
    error: Exception, request: BoltRequest, response: BoltResponse | None
) -> BoltResponse | None:
    """The one error handler: a malformed payload is a 400; anything else is logged (no body)."""
    body = request.body if isinstance(request.body, dict) else {}
    kind = body.get("type") or ("slash command" if "command" in body else "unknown")
    if isinstance(error, MalformedPayload):
        log.warning("refused a malformed %s request: %s", kind, error)
        # Only a listener that has not acked yet can still change the HTTP answer.
        return BoltResponse(status=400, body="malformed payload") if response else None
    # The body is never logged: a step-1 submission holds the typed Exoscale secret.
    log.error("a listener failed on a %s request: %s", kind, error, exc_info=error)
    return None
