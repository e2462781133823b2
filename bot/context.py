"""What every listener needs, in one frozen object handed to each ``register(app, ctx)``.

ctx = BotContext(settings=..., store=..., client=..., provisioner=..., notifier=...,
                 desk=..., wizard=..., tuning=Tuning())
listeners.register_all(app, ctx)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.settings import Settings
from storage import Store

if TYPE_CHECKING:
    from bot.approvals import RequestDesk
    from bot.notify import SlackNotifier
    from bot.wizard import Wizard
    from provisioning.exoscale import ExoscaleClient
    from provisioning.launch import Provisioner


@dataclass(frozen=True)
class Tuning:
    """Timings and sizes that are not configuration, but that tests and the demo shorten."""

    # How long step 1 waits for Exoscale to accept the keys before asking to try again;
    # Slack closes the modal if the answer takes more than 3 s.
    credential_check_timeout: float = 2.5
    # How long a user group's member list is trusted before it is read again.
    usergroup_cache_seconds: float = 60.0
    # How often pending requests are checked for expiry.
    housekeeping_seconds: float = 60.0
    # Exoscale client: HTTP timeout, retries, backoff, Operation poll interval (None: official).
    exoscale_timeout: float = 10.0
    exoscale_retries: int = 3
    exoscale_backoff: float = 0.5
    exoscale_poll: Callable[[float], float] | None = None
    # Rancher client: HTTP timeout, retries, backoff, registration-token poll.
    rancher_timeout: float = 10.0
    rancher_retries: int = 3
    rancher_backoff: float = 0.5
    rancher_token_poll: float = 1.0
    # Threads: the HTTP server's workers and Bolt's listener pool.
    http_threads: int = 32
    listener_threads: int = 32


@dataclass(frozen=True)
class BotContext:
    """The assembled bot: settings, storage, Slack client, provisioner and the bot's helpers."""

    settings: Settings
    store: Store
    client: WebClient
    provisioner: Provisioner
    exoscale_factory: Callable[[str, str, str], ExoscaleClient]
    notifier: SlackNotifier
    desk: RequestDesk
    wizard: Wizard
    tuning: Tuning
