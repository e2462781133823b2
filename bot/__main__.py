"""``rancher-exoscale-bot``: run the bot, or the local demo when SLACK_BOT_TOKEN is not set.

$ SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… RANCHER_URL=… rancher-exoscale-bot
$ rancher-exoscale-bot          # no Slack token: the demo story against local sandboxes
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.settings import Settings, SettingsError
from storage import StoreError

log = logging.getLogger("bot")


def configure_logging(level: int = logging.INFO) -> None:
    """One line a record on stderr; the scheduler's every-run chatter stays out."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def main() -> int:
    """The console script; returns the exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"rancher-exoscale-bot: {exc}", file=sys.stderr)
        return 2
    if not settings.slack_configured:
        from bot import demo

        print(
            "SLACK_BOT_TOKEN is not set: playing the demo against local sandboxes "
            "(Slack, Exoscale and Rancher on 127.0.0.1).\n",
            file=sys.stderr,
        )
        return demo.run()
    configure_logging()
    return serve(settings)


def serve(settings: Settings) -> int:
    """Run the bot until SIGINT or SIGTERM."""
    from bot.runtime import Bot

    try:
        bot = Bot(settings)
    except (SettingsError, StoreError) as exc:
        print(f"rancher-exoscale-bot: {exc}", file=sys.stderr)
        return 2
    except (BoltError, SlackApiError) as exc:
        print(f"rancher-exoscale-bot: Slack did not accept SLACK_BOT_TOKEN: {exc}", file=sys.stderr)
        return 2
    bot.start()
    try:
        if settings.socket_mode:
            log.info("connecting to Slack over Socket Mode")
            bot.run_socket_mode()
        else:
            server = bot.http_server("0.0.0.0", settings.http_port)

            def stop(signum: int, frame: FrameType | None) -> None:
                log.info("stopping on signal %s", signum)
                server.stop()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            log.info("listening for Slack on %s", server.url)
            server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        bot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
