"""The whole bot assembled from Settings: storage, Slack, Exoscale, Rancher, the scheduler.

    bot = Bot(Settings.from_env())   # the process environment
    bot.start()                      # provisioner and housekeeping jobs
    bot.serve_http("0.0.0.0", 3000)  # or bot.run_socket_mode()
    ...
    bot.stop()

``Tuning`` shortens timings for tests and the demo; production uses its defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.app import build_app, build_client
from bot.approvals import Approvers, RequestDesk
from bot.context import BotContext, Tuning
from bot.http import Answers, HttpServer, SlackEdge, submitted_view_id
from bot.notify import SlackNotifier
from bot.settings import Settings, SettingsError
from bot.wizard import Wizard
from provisioning.exoscale import ExoscaleClient
from provisioning.launch import Provisioner, Timings
from provisioning.rancher import RancherClient
from storage import Store, open_store

log = logging.getLogger(__name__)


def exoscale_factory(
    settings: Settings, tuning: Tuning
) -> Callable[[str, str, str], ExoscaleClient]:
    """Makes an Exoscale client for (key, secret, zone) at EXOSCALE_API_ENDPOINT when set."""

    def make(key: str, secret: str, zone: str) -> ExoscaleClient:
        return ExoscaleClient(
            key,
            secret,
            zone,
            endpoint=settings.exoscale_api_endpoint,
            timeout=tuning.exoscale_timeout,
            retries=tuning.exoscale_retries,
            backoff=tuning.exoscale_backoff,
            poll_interval=tuning.exoscale_poll,
        )

    return make


class Bot:
    """Every part of the running bot, built once from ``settings``."""

    def __init__(
        self, settings: Settings, *, tuning: Tuning | None = None, store: Store | None = None
    ) -> None:
        if not settings.slack_configured:
            raise SettingsError("SLACK_BOT_TOKEN", "is not set")
        if not settings.rancher_configured:
            raise SettingsError("RANCHER_URL", "is not set; hosts register with that Rancher")
        if settings.rancher_api != "v1.6":
            # The launch pipeline registers hosts with Rancher 1.6; 2.x clusters (RANCHER_TOKEN)
            # have their own client but no launch path through the bot yet.
            raise SettingsError(
                "RANCHER_TOKEN",
                "is set, but the bot registers hosts with Rancher 1.6 only: set "
                "RANCHER_ACCESS_KEY, RANCHER_SECRET_KEY and RANCHER_PROJECT_ID instead",
            )
        self.settings = settings
        self.tuning = tuning or Tuning()
        self.store = store or open_store(settings.database, key=settings.encryption_key)
        self.client = build_client(settings)
        self.approvers = Approvers(
            users=settings.approver_users,
            groups=settings.approver_groups,
            client=self.client,
            cache_seconds=self.tuning.usergroup_cache_seconds,
        )
        self.notifier = SlackNotifier(
            self.client,
            self.store,
            approvers=self.approvers.mentions(),
            ttl_hours=settings.request_ttl_hours,
        )
        self.rancher = RancherClient(
            settings.rancher_url,
            settings.rancher_access_key,
            settings.rancher_secret_key,
            settings.rancher_project_id,
            timeout=self.tuning.rancher_timeout,
            retries=self.tuning.rancher_retries,
            backoff=self.tuning.rancher_backoff,
            token_poll=self.tuning.rancher_token_poll,
        )
        self.exoscale_factory = exoscale_factory(settings, self.tuning)
        self.provisioner = Provisioner(
            self.store,
            exoscale_factory=self.exoscale_factory,
            rancher=self.rancher,
            notifier=self.notifier,
            timings=Timings(
                poll_seconds=settings.poll_seconds,
                register_timeout=settings.register_timeout_seconds,
            ),
            workspace_credentials=settings.workspace_credentials,
        )
        self.desk = RequestDesk(
            store=self.store,
            client=self.client,
            provisioner=self.provisioner,
            notifier=self.notifier,
            approvers=self.approvers,
            settings=settings,
        )
        self.answers = Answers()
        self.wizard = Wizard(
            settings=settings,
            store=self.store,
            client=self.client,
            provisioner=self.provisioner,
            exoscale_factory=self.exoscale_factory,
            desk=self.desk,
            answers=self.answers,
            check_timeout=self.tuning.credential_check_timeout,
        )
        self.ctx = BotContext(
            settings=settings,
            store=self.store,
            client=self.client,
            provisioner=self.provisioner,
            exoscale_factory=self.exoscale_factory,
            notifier=self.notifier,
            desk=self.desk,
            wizard=self.wizard,
            tuning=self.tuning,
        )
        self.listeners = ThreadPoolExecutor(
            max_workers=self.tuning.listener_threads, thread_name_prefix="bolt-listener"
        )
        self.app = build_app(self.ctx, self.listeners)
        self.housekeeping = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self.http: HttpServer | None = None
        self._started = False

    def start(self) -> None:
        """Start the provisioner (resuming unfinished launches) and the housekeeping job."""
        self.provisioner.start()
        self.housekeeping.add_job(
            self.housekeep,
            "interval",
            seconds=self.tuning.housekeeping_seconds,
            id="housekeeping",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        self.housekeeping.start()
        self._started = True

    def housekeep(self) -> None:
        """Expire pending requests past BOT_REQUEST_TTL_HOURS; redraw finished requests."""
        try:
            self.desk.expire_due()
            self.notifier.refresh_finished()
        except SlackApiError as exc:
            # The state is in the database; the next run redraws what Slack refused now.
            log.warning("housekeeping could not update Slack: %s", exc.response.get("error"))

    def http_server(self, host: str, port: int) -> HttpServer:
        """The HTTP endpoint (``/slack/events``) for this bot, not yet serving."""
        if not self.settings.slack_signing_secret:
            raise SettingsError("SLACK_SIGNING_SECRET", "is not set; HTTP mode needs it")
        edge = SlackEdge(self.app, self.settings.slack_signing_secret, answers=self.answers)
        self.http = HttpServer(edge, host=host, port=port, threads=self.tuning.http_threads)
        return self.http

    def serve_http(self, host: str, port: int) -> str:
        """Serve HTTP in a background thread; returns the request URL."""
        server = self.http_server(host, port)
        server.start()
        return server.url

    def run_socket_mode(self) -> None:
        """Connect to Slack over Socket Mode (SLACK_APP_TOKEN) and serve until interrupted."""
        _AnsweringSocketModeHandler(
            self.app, self.settings.slack_app_token, answers=self.answers, web_client=self.client
        ).start()

    def stop(self) -> None:
        """Stop serving and scheduling; close the database."""
        if self.http is not None:
            self.http.stop()
            self.http = None
        # Listeners still at work after their ack finish before the database closes.
        self.listeners.shutdown(wait=True, cancel_futures=True)
        if self._started:
            self.housekeeping.shutdown(wait=False)
            self.provisioner.shutdown()
            self._started = False
        self.wizard.close()
        self.store.close()


class _AnsweringSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, telling ``Answers`` when a view submission is answered."""

    def __init__(self, app: App, app_token: str | None, *, answers: Answers, **kwargs) -> None:
        super().__init__(app, app_token, **kwargs)
        self.answers = answers

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        view_id = submitted_view_id(req.payload) if isinstance(req.payload, dict) else None
        sent = self.answers.track(view_id) if view_id else None
        try:
            super().handle(client, req)
        finally:
            if sent is not None:
                sent()
