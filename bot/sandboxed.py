"""The real bot on 127.0.0.1 against the Slack, Exoscale and Rancher sandboxes.

    with SandboxedBot(approvers=("U0BOB",)) as world:
        world.driver.slash("add count=2 name=web", user=world.ALICE, channel=world.CHANNEL)
        view = world.driver.wait_for_view(user=world.ALICE, callback_id="add_step1")
        ...
        world.slack.messages(world.CHANNEL)        # what reached Slack

The bot is built exactly as in production (``Settings.from_env`` then ``Bot``), only the
environment points it at the sandboxes and ``FAST`` shortens its timings. The demo, the bot's
tests and the ack benchmark all start it this way.

``rancher="2"`` serves Rancher 2.x instead of 1.6: the bot gets RANCHER_TOKEN, and the Rancher
sandbox has an RKE2 cluster (``RKE2_CLUSTER``) and an RKE1 cluster (``RKE1_CLUSTER``)::

    with SandboxedBot(rancher="2") as world:
        world.rancher.nodes                     # what GET /v3/nodes shows
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from bot.context import Tuning
from bot.runtime import Bot
from bot.settings import Settings
from sandbox.exoscale import ExoscaleSandbox
from sandbox.rancher import RancherSandbox
from sandbox.slack import SlackDriver, SlackSandbox

BOT_TOKEN = "xoxb-sandbox-bot-token"
SIGNING_SECRET = "sandbox-signing-secret"
EXOSCALE_KEY = "EXO0123456789abcdef01234567"
EXOSCALE_SECRET = "sandbox-exoscale-secret-9f8e7d6c5b4a"
RANCHER_ACCESS = "SANDBOXACCESSKEY"
RANCHER_SECRET = "sandbox-rancher-secret-1a2b3c"
PROJECT = "1a5"
RANCHER_TOKEN = "token-sandbx:sandboxrancher2bearersecret0123456789"
RKE2_CLUSTER = {"id": "c-m-7kq2x9vd", "name": "prod", "kind": "rke2"}
RKE1_CLUSTER = {"id": "c-5hw8t", "name": "legacy", "kind": "rke1"}
RANCHER_VERSIONS = ("1.6", "2")

# Timings for a bot that has to finish a story in seconds.
FAST = Tuning(
    credential_check_timeout=2.5,
    usergroup_cache_seconds=60.0,
    housekeeping_seconds=0.2,
    exoscale_timeout=5.0,
    exoscale_retries=1,
    exoscale_backoff=0.01,
    exoscale_poll=lambda run_time: 0.02,
    rancher_timeout=5.0,
    rancher_retries=1,
    rancher_backoff=0.01,
    rancher_token_poll=0.02,
)


class SandboxedBot:
    """Three sandboxes, the bot serving HTTP on 127.0.0.1, and a driver playing the people."""

    ALICE = "U0ALICE"
    BOB = "U0BOB"
    CAROL = "U0CAROL"
    DAVE = "U0DAVE"
    CHANNEL = "C0OPS"

    def __init__(
        self,
        *,
        approvers: tuple[str, ...] = ("U0BOB",),
        workspace_credentials: bool = False,
        env: Mapping[str, str] | None = None,
        tuning: Tuning = FAST,
        database: str | Path | None = None,
        wire_agents: bool = True,
        boot_delay: float = 0.05,
        rancher: str = "1.6",
    ) -> None:
        if rancher not in RANCHER_VERSIONS:
            raise ValueError(f"rancher must be 1.6 or 2, not {rancher!r}")
        self.rancher_version = rancher
        self.approvers = approvers
        self.workspace_credentials = workspace_credentials
        self.extra_env = dict(env or {})
        self.tuning = tuning
        self._tmp = (
            tempfile.TemporaryDirectory(prefix="rancher-exoscale-bot-")
            if database is None
            else None
        )
        self.database = Path(database) if database is not None else Path(self._tmp.name) / "bot.db"
        self.slack = SlackSandbox(BOT_TOKEN)
        self.exoscale = ExoscaleSandbox(
            {EXOSCALE_KEY: EXOSCALE_SECRET}, operation_delay=0.02, boot_delay=boot_delay
        )
        delays = {"register_delay": 0.05, "activate_delay": 0.05, "token_delay": 0.02}
        if rancher == "2":
            self.rancher = RancherSandbox(
                token=RANCHER_TOKEN, clusters=[RKE2_CLUSTER, RKE1_CLUSTER], **delays
            )
        else:
            self.rancher = RancherSandbox(
                RANCHER_ACCESS, RANCHER_SECRET, project_id=PROJECT, **delays
            )
        if wire_agents:
            self.exoscale.on_boot(self.rancher.boot)
        for user, name in (
            (self.ALICE, "alice"),
            (self.BOB, "bob"),
            (self.CAROL, "carol"),
            (self.DAVE, "dave"),
        ):
            self.slack.add_user(user, name)
        self.slack.add_channel(self.CHANNEL, "ops")
        self.bot: Bot | None = None
        self.driver: SlackDriver | None = None
        self.settings: Settings | None = None

    def environment(self) -> dict[str, str]:
        """The environment the bot is started with (sandbox URLs in place of the real ones)."""
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.base_url,
            "BOT_HTTP_PORT": "0",
            "EXOSCALE_API_ENDPOINT": self.exoscale_endpoint,
            "RANCHER_URL": self.rancher_url,
            "BOT_DATABASE": str(self.database),
            "BOT_APPROVERS": ",".join(self.approvers),
            "BOT_POLL_SECONDS": "0.1",
            "BOT_REGISTER_TIMEOUT_MINUTES": "1",
        }
        if self.rancher_version == "2":
            env["RANCHER_TOKEN"] = RANCHER_TOKEN
        else:
            env["RANCHER_ACCESS_KEY"] = RANCHER_ACCESS
            env["RANCHER_SECRET_KEY"] = RANCHER_SECRET
            env["RANCHER_PROJECT_ID"] = PROJECT
        if self.workspace_credentials:
            env["EXOSCALE_API_KEY"] = EXOSCALE_KEY
            env["EXOSCALE_API_SECRET"] = EXOSCALE_SECRET
        env.update(self.extra_env)
        return env

    def start(self) -> SandboxedBot:
        self.slack.start()
        self.exoscale_endpoint = self.exoscale.start()
        self.rancher_url = self.rancher.start()
        self.settings = Settings.from_env(self.environment())
        self.bot = Bot(self.settings, tuning=self.tuning)
        self.bot.start()
        url = self.bot.serve_http("127.0.0.1", self.settings.http_port)
        self.driver = SlackDriver(url, SIGNING_SECRET, self.slack)
        return self

    def stop(self) -> None:
        if self.bot is not None:
            self.bot.stop()
            self.bot = None
        self.rancher.stop()
        self.exoscale.stop()
        self.slack.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SandboxedBot:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
