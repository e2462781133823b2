"""``rancher-exoscale-bot``: run the bot, or the local demo when SLACK_BOT_TOKEN is not set.

$ SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… RANCHER_URL=… rancher-exoscale-bot
$ rancher-exoscale-bot                      # no Slack token: the demo against local sandboxes
$ rancher-exoscale-bot --demo-rancher 2     # the demo against a Rancher 2.x RKE2 cluster

The bot itself is configured by the environment only (``Settings``); the command line only
chooses what the demo plays.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
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


def arguments() -> argparse.ArgumentParser:
    """The console script's command line: only the demo has choices."""
    parser = argparse.ArgumentParser(
        prog="rancher-exoscale-bot",
        description="Slack bot that adds Exoscale hosts to Rancher. Configured by environment "
        "variables (see the README); without SLACK_BOT_TOKEN it plays a demo against local "
        "sandboxes.",
    )
    parser.add_argument(
        "--demo-rancher",
        choices=("1.6", "2"),
        default=None,
        help="the Rancher the demo runs against: 1.6 (the default) or 2 (a Rancher 2.x RKE2 "
        "custom cluster); only without SLACK_BOT_TOKEN",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; ``argv`` defaults to the process's arguments. Returns the status."""
    args = arguments().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"rancher-exoscale-bot: {exc}", file=sys.stderr)
        return 2
    if not settings.slack_configured:
        from bot import demo

        rancher = args.demo_rancher or "1.6"
        print(
            "SLACK_BOT_TOKEN is not set: playing the demo against local sandboxes "
            f"(Slack, Exoscale and Rancher {'2.x' if rancher == '2' else '1.6'} on 127.0.0.1).\n",
            file=sys.stderr,
        )
        return demo.run(rancher=rancher)
    if args.demo_rancher is not None:
        print(
            "rancher-exoscale-bot: --demo-rancher only applies to the demo, and SLACK_BOT_TOKEN "
            "is set; the bot takes its Rancher from RANCHER_URL and RANCHER_TOKEN or the 1.6 keys",
            file=sys.stderr,
        )
        return 2
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
