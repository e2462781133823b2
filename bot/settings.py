"""The bot's configuration: read once from the environment into one typed, frozen object.

    settings = Settings.from_env(os.environ)       # raises SettingsError on the first bad value
    if not settings.slack_configured:
        print("no SLACK_BOT_TOKEN: starting the local demo")

This is the only module that reads the environment. A missing or malformed value raises
``SettingsError``, whose message is one line that starts with the variable's name, so ``main``
can print it and exit. Blank values count as unset (``FOO=`` in an env file). Secret values are
never echoed in messages or in ``repr``.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from cryptography.fernet import Fernet

from commands.options import ZONES

__all__ = ["Settings", "SettingsError"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_HTTP_PORT = 3000
DEFAULT_ZONE = "ch-gva-2"
DEFAULT_DATABASE = "rancher-exoscale-bot.db"
DEFAULT_MAX_HOSTS = 20
MAX_HOSTS_LIMIT = 100
DEFAULT_POLL_SECONDS = 15.0
DEFAULT_REGISTER_TIMEOUT_MINUTES = 20.0
DEFAULT_REQUEST_TTL_HOURS = 24.0

# Slack IDs: users U…/W… (W for Enterprise Grid), user groups S…; upper-case letters and digits.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
_WHOLE = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d+(\.\d*)?|\.\d+")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration problem; ``str()`` is one line naming the variable, ``.variable`` is it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable} {problem}")


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with; build it with ``Settings.from_env``."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    http_port: int = DEFAULT_HTTP_PORT
    exoscale_api_key: str | None = None
    exoscale_api_secret: str | None = field(default=None, repr=False)
    exoscale_zone: str = DEFAULT_ZONE
    exoscale_api_endpoint: str | None = None
    rancher_url: str | None = None
    rancher_access_key: str | None = None
    rancher_secret_key: str | None = field(default=None, repr=False)
    rancher_project_id: str | None = None
    rancher_token: str | None = field(default=None, repr=False)
    database: str = DEFAULT_DATABASE
    approvers: tuple[str, ...] = ()
    allow_self_approval: bool = False
    max_hosts: int = DEFAULT_MAX_HOSTS
    poll_seconds: float = DEFAULT_POLL_SECONDS
    register_timeout_minutes: float = DEFAULT_REGISTER_TIMEOUT_MINUTES
    request_ttl_hours: float = DEFAULT_REQUEST_TTL_HOURS
    encryption_key: bytes | None = field(default=None, repr=False)

    @property
    def slack_configured(self) -> bool:
        """True when a bot token is set; without one the bot runs the local demo."""
        return self.slack_bot_token is not None

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: connect over Socket Mode, not HTTP."""
        return self.slack_app_token is not None

    @property
    def rancher_configured(self) -> bool:
        """True when RANCHER_URL (and so a token, or keys and a project) is set."""
        return self.rancher_url is not None

    @property
    def rancher_api(self) -> str | None:
        """Which Rancher the bot talks to: "v2" (API v3, a token), "v1.6" (keys), or None."""
        if self.rancher_url is None:
            return None
        return "v2" if self.rancher_token is not None else "v1.6"

    @property
    def workspace_credentials(self) -> tuple[str, str] | None:
        """The workspace's default Exoscale (key, secret), or None when not configured."""
        if self.exoscale_api_key is None or self.exoscale_api_secret is None:
            return None
        return (self.exoscale_api_key, self.exoscale_api_secret)

    @property
    def approver_users(self) -> tuple[str, ...]:
        """The user IDs in BOT_APPROVERS."""
        return tuple(a for a in self.approvers if not a.startswith("S"))

    @property
    def approver_groups(self) -> tuple[str, ...]:
        """The user-group IDs in BOT_APPROVERS (their members may approve)."""
        return tuple(a for a in self.approvers if a.startswith("S"))

    @property
    def register_timeout_seconds(self) -> float:
        """BOT_REGISTER_TIMEOUT_MINUTES in seconds."""
        return self.register_timeout_minutes * 60

    @property
    def request_ttl(self) -> timedelta:
        """How long a pending request waits for an approver before it expires."""
        return timedelta(hours=self.request_ttl_hours)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; ``env`` defaults to the process environment."""
        values = _Reader(os.environ if env is None else env)

        bot_token = values.text("SLACK_BOT_TOKEN", check=_prefix("xoxb-", "a bot token"))
        signing_secret = values.text("SLACK_SIGNING_SECRET")
        app_token = values.text("SLACK_APP_TOKEN", check=_prefix("xapp-", "an app-level token"))
        if bot_token is None:
            for needs_bot in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
                if values.is_set(needs_bot):
                    raise SettingsError(
                        "SLACK_BOT_TOKEN", f"is not set, but {needs_bot} is; set both or neither"
                    )
        elif app_token is None and signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET",
                "is not set; HTTP mode needs it to verify requests "
                "(or set SLACK_APP_TOKEN for Socket Mode)",
            )

        exoscale_key = values.text("EXOSCALE_API_KEY")
        exoscale_secret = values.text("EXOSCALE_API_SECRET")
        _require_pair(values, "EXOSCALE_API_KEY", "EXOSCALE_API_SECRET")

        rancher_url = values.text("RANCHER_URL", check=_url)
        rancher_token = values.text("RANCHER_TOKEN", check=_rancher_token)
        _check_rancher_choice(values, url_set=rancher_url is not None)

        slack_api_url = values.text("SLACK_API_URL", check=_url) or DEFAULT_SLACK_API_URL
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=signing_secret,
            slack_app_token=app_token,
            # The Web API client joins method names onto this, so it must end in exactly one "/".
            slack_api_url=slack_api_url.rstrip("/") + "/",
            # 0 asks the OS for a free port, which is what tests do.
            http_port=values.whole("BOT_HTTP_PORT", default=DEFAULT_HTTP_PORT, low=0, high=65535),
            exoscale_api_key=exoscale_key,
            exoscale_api_secret=exoscale_secret,
            exoscale_zone=values.text("EXOSCALE_ZONE", check=_zone, default=DEFAULT_ZONE),
            exoscale_api_endpoint=values.text("EXOSCALE_API_ENDPOINT", check=_endpoint),
            rancher_url=rancher_url.rstrip("/") if rancher_url else None,
            rancher_access_key=values.text("RANCHER_ACCESS_KEY"),
            rancher_secret_key=values.text("RANCHER_SECRET_KEY"),
            rancher_project_id=values.text("RANCHER_PROJECT_ID", check=_project_id),
            rancher_token=rancher_token,
            # A path may contain spaces, so only surrounding blanks are dropped.
            database=values.raw("BOT_DATABASE") or DEFAULT_DATABASE,
            approvers=values.parsed("BOT_APPROVERS", _approvers, default=()),
            allow_self_approval=values.parsed("BOT_ALLOW_SELF_APPROVAL", _boolean, default=False),
            max_hosts=values.whole(
                "BOT_MAX_HOSTS", default=DEFAULT_MAX_HOSTS, low=1, high=MAX_HOSTS_LIMIT
            ),
            poll_seconds=values.positive("BOT_POLL_SECONDS", default=DEFAULT_POLL_SECONDS),
            register_timeout_minutes=values.positive(
                "BOT_REGISTER_TIMEOUT_MINUTES", default=DEFAULT_REGISTER_TIMEOUT_MINUTES
            ),
            request_ttl_hours=values.positive(
                "BOT_REQUEST_TTL_HOURS", default=DEFAULT_REQUEST_TTL_HOURS
            ),
            encryption_key=values.parsed("BOT_ENCRYPTION_KEY", _fernet_key, default=None),
        )


class _Reader:
    """Reads variables from one mapping, turning every problem into a SettingsError."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return self.raw(name) is not None

    def text(
        self,
        name: str,
        *,
        check: Callable[[str], str | None] | None = None,
        default: str | None = None,
    ) -> str | None:
        value = self.raw(name)
        if value is None:
            return default
        if any(c.isspace() for c in value):
            raise SettingsError(name, "must not contain spaces or line breaks")
        problem = check(value) if check else None
        if problem:
            raise SettingsError(name, problem)
        return value

    def parsed(self, name: str, parse: Callable[[str], T], *, default: T) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            raise SettingsError(name, str(exc)) from None

    def whole(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        # A strict pattern: int() would also take "+5", "1_000" and " 5".
        if not _WHOLE.fullmatch(value) or not low <= int(value) <= high:
            raise SettingsError(
                name, f"must be a whole number from {low} to {high}, got {_show(value)}"
            )
        return int(value)

    def positive(self, name: str, *, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        # A strict pattern: float() would also take "nan", "inf" and "1e400".
        if not _DECIMAL.fullmatch(value) or float(value) <= 0:
            raise SettingsError(
                name, f"must be a number greater than 0, such as 15 or 0.5, got {_show(value)}"
            )
        return float(value)


def _show(value: str) -> str:
    """A short, single-line quotation of a (non-secret) value for an error message."""
    text = value if len(value) <= 40 else value[:37] + "..."
    return repr(text)


def _require_pair(values: _Reader, first: str, second: str) -> None:
    if values.is_set(first) and not values.is_set(second):
        raise SettingsError(second, f"is not set, but {first} is; set both or neither")
    if values.is_set(second) and not values.is_set(first):
        raise SettingsError(first, f"is not set, but {second} is; set both or neither")


_RANCHER_16_VARS = ("RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY", "RANCHER_PROJECT_ID")


def _check_rancher_choice(values: _Reader, *, url_set: bool) -> None:
    """RANCHER_URL + RANCHER_TOKEN is Rancher 2.x; + keys and project is 1.6; nothing else."""
    token = values.is_set("RANCHER_TOKEN")
    keys = [name for name in ("RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY") if values.is_set(name)]
    if token and keys:
        raise SettingsError(
            "RANCHER_TOKEN",
            f"is set together with {' and '.join(keys)}; set RANCHER_TOKEN for Rancher 2.x or "
            "RANCHER_ACCESS_KEY, RANCHER_SECRET_KEY and RANCHER_PROJECT_ID for Rancher 1.6, "
            "not both",
        )
    if token and values.is_set("RANCHER_PROJECT_ID"):
        raise SettingsError(
            "RANCHER_PROJECT_ID",
            "is a Rancher 1.6 setting, but RANCHER_TOKEN (Rancher 2.x) is set; unset "
            "RANCHER_PROJECT_ID (with Rancher 2.x the cluster is chosen per request)",
        )
    if not url_set:
        for name in ("RANCHER_TOKEN", *_RANCHER_16_VARS):
            if values.is_set(name):
                raise SettingsError("RANCHER_URL", f"is not set, but {name} is")
        return
    if token:
        return
    if not any(values.is_set(name) for name in _RANCHER_16_VARS):
        raise SettingsError(
            "RANCHER_TOKEN",
            "is not set; RANCHER_URL needs RANCHER_TOKEN (Rancher 2.x) or RANCHER_ACCESS_KEY, "
            "RANCHER_SECRET_KEY and RANCHER_PROJECT_ID (Rancher 1.6)",
        )
    for name in _RANCHER_16_VARS:
        if not values.is_set(name):
            raise SettingsError(
                name, "is not set; RANCHER_URL needs it (or set only RANCHER_TOKEN for Rancher 2.x)"
            )


def _rancher_token(value: str) -> str | None:
    name, sep, secret = value.partition(":")
    if sep and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name) and re.fullmatch(r"[A-Za-z0-9]+", secret):
        return None
    # Never echo it: even a malformed token is most of a secret.
    return (
        "must be a Rancher API token of the form token-xxxxx:secret "
        "(the Bearer Token Rancher shows once when the API key is created)"
    )


def _prefix(prefix: str, what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value.startswith(prefix) and len(value) > len(prefix):
            return None
        # Do not echo the value: it is a secret, maybe pasted into the wrong variable.
        return f"must be {what} starting with {prefix!r}"

    return check


def _url(value: str) -> str | None:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"must be an http:// or https:// URL, got {_show(value)}"
    try:
        parsed.port  # noqa: B018 - accessing it validates the port number
    except ValueError:
        return f"has an invalid port, got {_show(value)}"
    return None


def _endpoint(value: str) -> str | None:
    # "{zone}" is substituted per zone by the client; check the URL with a real zone in it.
    if value.count("{") != value.count("}") or re.search(r"\{(?!zone\})", value):
        return f"may only contain the placeholder {{zone}}, got {_show(value)}"
    return _url(value.replace("{zone}", DEFAULT_ZONE))


def _zone(value: str) -> str | None:
    if value in ZONES:
        return None
    return f"must be an Exoscale zone ({', '.join(ZONES)}), got {_show(value)}"


def _project_id(value: str) -> str | None:
    if "/" in value or "?" in value or "#" in value:
        return f"must be a project id such as 1a5, got {_show(value)}"
    return None


def _approvers(value: str) -> tuple[str, ...]:
    found: list[str] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if not (_USER_ID.fullmatch(item) or _GROUP_ID.fullmatch(item)):
            raise ValueError(
                f"must list Slack user IDs (U…, W…) or user-group IDs (S…), got {_show(item)}"
            )
        if item not in found:
            found.append(item)
    return tuple(found)


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"must be true/false, yes/no or 1/0, got {_show(value)}")


def _fernet_key(value: str) -> bytes:
    key = value.encode("ascii", "replace")
    try:
        Fernet(key)
    except (ValueError, TypeError):
        # Never echo it: a near-miss key is still most of a secret.
        raise ValueError(
            "must be a Fernet key (32 random bytes, URL-safe base64, 44 characters); "
            'make one with python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        ) from None
    return key
