"""The whole bot assembled from Settings: storage, Slack, Exoscale, Rancher, the scheduler.

    bot = Bot(Settings.from_env())   # the process environment
    bot.start()                      # the scheduler: provisioning, watcher and housekeeping
    bot.serve_http("0.0.0.0", 3000)  # or bot.run_socket_mode()
    ...
    bot.stop()

``Tuning`` shortens timings for tests and the demo; production uses its defaults. Hosts register
with Rancher 1.6 (RANCHER_ACCESS_KEY, RANCHER_SECRET_KEY, RANCHER_PROJECT_ID) or with Rancher 2.x
custom clusters (RANCHER_TOKEN); ``start`` logs which.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

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
from provisioning.rancher2 import Rancher2Client
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


def rancher_client(settings: Settings, tuning: Tuning) -> RancherClient | Rancher2Client:
    """The client for the Rancher that Settings name: 2.x with RANCHER_TOKEN, else 1.6."""
    if settings.rancher_api == "v2":
        return Rancher2Client(
            settings.rancher_url,
            settings.rancher_token,
            timeout=tuning.rancher_timeout,
            retries=tuning.rancher_retries,
            backoff=tuning.rancher_backoff,
            token_poll=tuning.rancher_token_poll,
        )
    return RancherClient(
        settings.rancher_url,
        settings.rancher_access_key,
        settings.rancher_secret_key,
        settings.rancher_project_id,
        timeout=tuning.rancher_timeout,
        retries=tuning.rancher_retries,
        backoff=tuning.rancher_backoff,
        token_poll=tuning.rancher_token_poll,
    )


def rancher_line(rancher: RancherClient | Rancher2Client) -> str:
    """Which Rancher hosts register with, in words for the log (the URL never has the keys)."""
    if isinstance(rancher, Rancher2Client):
        return f"Rancher 2.x at {rancher.url} (API v3)"
    return f"Rancher 1.6 at {rancher.url} project {rancher.project_id}"


class Bot:
    """Every part of the running bot, built once from ``settings``."""

    def __init__(
        self, settings: Settings, *, tuning: Tuning | None = None, store: Store | None = None
    ) -> None:
        if not settings.slack_configured:
            raise SettingsError("SLACK_BOT_TOKEN", "is not set")
        if not settings.rancher_configured:
            raise SettingsError("RANCHER_URL", "is not set; hosts register with that Rancher")
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
        self.rancher = rancher_client(settings, self.tuning)
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
            rancher2=self.rancher if isinstance(self.rancher, Rancher2Client) else None,
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
        self.http: HttpServer | None = None
        self._started = False
        # Held while housekeeping runs, so stop() can let a run finish before the database closes.
        self._housekeeping = threading.Lock()

    def start(self) -> None:
        """Start the one scheduler: the provisioner's jobs (resuming launches) and housekeeping."""
        log.info("hosts register with %s", rancher_line(self.rancher))
        # One BackgroundScheduler for the whole bot: the provisioner's, started and stopped by it.
        self.provisioner.scheduler.add_job(
            self.housekeep,
            "interval",
            seconds=self.tuning.housekeeping_seconds,
            id="housekeeping",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        self.provisioner.start()
        self._started = True

    def housekeep(self) -> None:
        """Expire pending requests past BOT_REQUEST_TTL_HOURS; redraw finished requests."""
        with self._housekeeping:
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
            self.provisioner.shutdown()
            # A housekeeping run already under way gets as long as the provisioner's jobs do.
            if self._housekeeping.acquire(timeout=10.0):
                self._housekeeping.release()
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
