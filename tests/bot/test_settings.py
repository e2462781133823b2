"""Settings.from_env: names, defaults, parsing, and one clear line for every bad value."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings, SettingsError

KEY = Fernet.generate_key()

FULL_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-secretbot",
    "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "SLACK_APP_TOKEN": "xapp-1-A111-222-secretapp",
    "SLACK_API_URL": "http://127.0.0.1:8080/api/",
    "BOT_HTTP_PORT": "8000",
    "EXOSCALE_API_KEY": "EXO1234567890abcdef",
    "EXOSCALE_API_SECRET": "exo-secret-value",
    "EXOSCALE_ZONE": "de-fra-1",
    "EXOSCALE_API_ENDPOINT": "http://127.0.0.1:9000/{zone}/v2",
    "RANCHER_URL": "https://rancher.example.com/",
    "RANCHER_ACCESS_KEY": "ABCDEF0123456789",
    "RANCHER_SECRET_KEY": "rancher-secret-value",
    "RANCHER_PROJECT_ID": "1a5",
    "BOT_DATABASE": "/var/lib/bot/state.db",
    "BOT_APPROVERS": "U012AB3CD, W0ENTERPRISE,S0OPSTEAM",
    "BOT_ALLOW_SELF_APPROVAL": "yes",
    "BOT_MAX_HOSTS": "50",
    "BOT_POLL_SECONDS": "2.5",
    "BOT_REGISTER_TIMEOUT_MINUTES": "30",
    "BOT_REQUEST_TTL_HOURS": "0.5",
    "BOT_ENCRYPTION_KEY": KEY.decode(),
}
SECRETS = [
    FULL_ENV[name]
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "EXOSCALE_API_SECRET",
        "RANCHER_SECRET_KEY",
        "BOT_ENCRYPTION_KEY",
    )
]


def test_empty_environment_gives_the_documented_defaults():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert (s.http_port, s.exoscale_zone, s.database) == (
        3000,
        "ch-gva-2",
        "rancher-exoscale-bot.db",
    )
    assert (s.approvers, s.allow_self_approval, s.max_hosts) == ((), False, 20)
    assert (s.poll_seconds, s.register_timeout_minutes, s.request_ttl_hours) == (15, 20, 24)
    assert s.encryption_key is None and s.exoscale_api_endpoint is None
    assert not s.slack_configured and not s.socket_mode and not s.rancher_configured
    assert s.workspace_credentials is None


def test_full_environment_is_read_into_typed_fields():
    s = Settings.from_env(FULL_ENV)
    assert s.slack_bot_token == "xoxb-1111-2222-secretbot"
    assert s.slack_signing_secret == "8f14e45fceea167a5a36dedd4bea2543"
    assert s.slack_app_token == "xapp-1-A111-222-secretapp"
    assert s.slack_api_url == "http://127.0.0.1:8080/api/"
    assert s.http_port == 8000
    assert s.workspace_credentials == ("EXO1234567890abcdef", "exo-secret-value")
    assert (s.exoscale_zone, s.exoscale_api_endpoint) == (
        "de-fra-1",
        FULL_ENV["EXOSCALE_API_ENDPOINT"],
    )
    assert s.rancher_url == "https://rancher.example.com"
    assert (s.rancher_access_key, s.rancher_secret_key, s.rancher_project_id) == (
        "ABCDEF0123456789",
        "rancher-secret-value",
        "1a5",
    )
    assert s.database == "/var/lib/bot/state.db"
    assert s.approvers == ("U012AB3CD", "W0ENTERPRISE", "S0OPSTEAM")
    assert s.approver_users == ("U012AB3CD", "W0ENTERPRISE")
    assert s.approver_groups == ("S0OPSTEAM",)
    assert s.allow_self_approval is True
    assert (s.max_hosts, s.poll_seconds) == (50, 2.5)
    assert s.register_timeout_minutes == 30 and s.register_timeout_seconds == 1800
    assert s.request_ttl == timedelta(minutes=30)
    assert s.encryption_key == KEY
    assert s.slack_configured and s.socket_mode and s.rancher_configured


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_hosts = 5


def test_repr_hides_every_secret():
    text = repr(Settings.from_env(FULL_ENV))
    assert "EXO1234567890abcdef" in text  # non-secret fields are shown
    for secret in SECRETS:
        assert secret not in text


def test_without_an_argument_the_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("BOT_MAX_HOSTS", "7")
    monkeypatch.setenv("EXOSCALE_ZONE", "at-vie-1")
    s = Settings.from_env()
    assert (s.max_hosts, s.exoscale_zone) == (7, "at-vie-1")


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"SLACK_API_URL": "http://127.0.0.1:5000/api"}, "slack_api_url",
         "http://127.0.0.1:5000/api/"),
        ({"SLACK_API_URL": "https://slack.com/api//"}, "slack_api_url", "https://slack.com/api/"),
        ({"BOT_HTTP_PORT": "0"}, "http_port", 0),
        ({"BOT_HTTP_PORT": "65535"}, "http_port", 65535),
        ({"BOT_HTTP_PORT": " 8080 "}, "http_port", 8080),
        ({"EXOSCALE_ZONE": "hr-zag-1"}, "exoscale_zone", "hr-zag-1"),
        ({"EXOSCALE_ZONE": ""}, "exoscale_zone", "ch-gva-2"),
        ({"EXOSCALE_API_ENDPOINT": "https://api-{zone}.exoscale.com/v2"}, "exoscale_api_endpoint",
         "https://api-{zone}.exoscale.com/v2"),
        ({"EXOSCALE_API_ENDPOINT": "http://localhost:8080/v2"}, "exoscale_api_endpoint",
         "http://localhost:8080/v2"),
        ({"BOT_DATABASE": "/srv/my bot/state.db"}, "database", "/srv/my bot/state.db"),
        ({"BOT_DATABASE": "   "}, "database", "rancher-exoscale-bot.db"),
        ({"BOT_APPROVERS": "U1AB"}, "approvers", ("U1AB",)),
        ({"BOT_APPROVERS": " U1AB , S2CD ,"}, "approvers", ("U1AB", "S2CD")),
        ({"BOT_APPROVERS": "U1AB,U1AB,W9ZZ"}, "approvers", ("U1AB", "W9ZZ")),
        ({"BOT_APPROVERS": ""}, "approvers", ()),
        ({"BOT_ALLOW_SELF_APPROVAL": "true"}, "allow_self_approval", True),
        ({"BOT_ALLOW_SELF_APPROVAL": "TRUE"}, "allow_self_approval", True),
        ({"BOT_ALLOW_SELF_APPROVAL": "1"}, "allow_self_approval", True),
        ({"BOT_ALLOW_SELF_APPROVAL": "Yes"}, "allow_self_approval", True),
        ({"BOT_ALLOW_SELF_APPROVAL": "false"}, "allow_self_approval", False),
        ({"BOT_ALLOW_SELF_APPROVAL": "0"}, "allow_self_approval", False),
        ({"BOT_ALLOW_SELF_APPROVAL": "no"}, "allow_self_approval", False),
        ({"BOT_MAX_HOSTS": "1"}, "max_hosts", 1),
        ({"BOT_MAX_HOSTS": "100"}, "max_hosts", 100),
        ({"BOT_POLL_SECONDS": "0.05"}, "poll_seconds", 0.05),
        ({"BOT_POLL_SECONDS": ".5"}, "poll_seconds", 0.5),
        ({"BOT_POLL_SECONDS": "60"}, "poll_seconds", 60.0),
        ({"BOT_REGISTER_TIMEOUT_MINUTES": "0.01"}, "register_timeout_minutes", 0.01),
        ({"BOT_REQUEST_TTL_HOURS": "168"}, "request_ttl_hours", 168.0),
        ({"BOT_ENCRYPTION_KEY": f"  {KEY.decode()}\n"}, "encryption_key", KEY),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc"}, "slack_app_token", None),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "slack_signing_secret", None),
        ({"RANCHER_URL": "http://127.0.0.1:8081", "RANCHER_ACCESS_KEY": "a",
          "RANCHER_SECRET_KEY": "b", "RANCHER_PROJECT_ID": "1a7"}, "rancher_project_id", "1a7"),
    ],
)  # fmt: skip
def test_good_values(env, field, expected):
    assert getattr(Settings.from_env(env), field) == expected


def test_http_mode_and_socket_mode():
    http = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert http.slack_configured and not http.socket_mode
    socket = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert socket.slack_configured and socket.socket_mode


SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
RANCHER = {
    "RANCHER_URL": "http://127.0.0.1:8081",
    "RANCHER_ACCESS_KEY": "a",
    "RANCHER_SECRET_KEY": "b",
    "RANCHER_PROJECT_ID": "1a5",
}


def without(env: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != name}


BAD = [
    # Slack
    ({"SLACK_BOT_TOKEN": "xapp-1-swapped"}, "SLACK_BOT_TOKEN", "starting with 'xoxb-'"),
    ({"SLACK_BOT_TOKEN": "xoxb-"}, "SLACK_BOT_TOKEN", "starting with 'xoxb-'"),
    ({"SLACK_BOT_TOKEN": "xoxb-a b"}, "SLACK_BOT_TOKEN", "must not contain spaces"),
    ({**SLACK, "SLACK_APP_TOKEN": "xoxb-swapped"}, "SLACK_APP_TOKEN", "starting with 'xapp-'"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET", "HTTP mode needs it"),
    ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN", "but SLACK_SIGNING_SECRET is"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN", "but SLACK_APP_TOKEN is"),
    ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", "http:// or https:// URL"),
    ({"SLACK_API_URL": "ftp://slack.com/api/"}, "SLACK_API_URL", "http:// or https:// URL"),
    ({"SLACK_API_URL": "http://:80/api/"}, "SLACK_API_URL", "http:// or https:// URL"),
    ({"SLACK_API_URL": "http://127.0.0.1:99999/api/"}, "SLACK_API_URL", "invalid port"),
    ({"BOT_HTTP_PORT": "http"}, "BOT_HTTP_PORT", "whole number from 0 to 65535, got 'http'"),
    ({"BOT_HTTP_PORT": "65536"}, "BOT_HTTP_PORT", "from 0 to 65535"),
    ({"BOT_HTTP_PORT": "-1"}, "BOT_HTTP_PORT", "whole number"),
    ({"BOT_HTTP_PORT": "80.0"}, "BOT_HTTP_PORT", "whole number"),
    # Exoscale
    ({"EXOSCALE_API_KEY": "EXO1"}, "EXOSCALE_API_SECRET", "but EXOSCALE_API_KEY is"),
    ({"EXOSCALE_API_SECRET": "s"}, "EXOSCALE_API_KEY", "but EXOSCALE_API_SECRET is"),
    ({"EXOSCALE_ZONE": "ch-gva-1"}, "EXOSCALE_ZONE", "must be an Exoscale zone"),
    ({"EXOSCALE_ZONE": "CH-GVA-2"}, "EXOSCALE_ZONE", "got 'CH-GVA-2'"),
    ({"EXOSCALE_API_ENDPOINT": "api.exoscale.com"}, "EXOSCALE_API_ENDPOINT", "http:// or"),
    ({"EXOSCALE_API_ENDPOINT": "https://api-{region}.exoscale.com/v2"}, "EXOSCALE_API_ENDPOINT",
     "placeholder {zone}"),
    ({"EXOSCALE_API_ENDPOINT": "https://api-{zone.exoscale.com/v2"}, "EXOSCALE_API_ENDPOINT",
     "placeholder {zone}"),
    # Rancher
    (without(RANCHER, "RANCHER_ACCESS_KEY"), "RANCHER_ACCESS_KEY", "RANCHER_URL needs it"),
    (without(RANCHER, "RANCHER_SECRET_KEY"), "RANCHER_SECRET_KEY", "RANCHER_URL needs it"),
    (without(RANCHER, "RANCHER_PROJECT_ID"), "RANCHER_PROJECT_ID", "RANCHER_URL needs it"),
    (without(RANCHER, "RANCHER_URL"), "RANCHER_URL", "but RANCHER_ACCESS_KEY is"),
    ({"RANCHER_PROJECT_ID": "1a5"}, "RANCHER_URL", "but RANCHER_PROJECT_ID is"),
    ({**RANCHER, "RANCHER_URL": "rancher.example.com"}, "RANCHER_URL", "http:// or https://"),
    ({**RANCHER, "RANCHER_PROJECT_ID": "1a5/hosts"}, "RANCHER_PROJECT_ID", "project id"),
    # Bot
    ({"BOT_APPROVERS": "alice"}, "BOT_APPROVERS", "got 'alice'"),
    ({"BOT_APPROVERS": "U1AB,@bob"}, "BOT_APPROVERS", "got '@bob'"),
    ({"BOT_APPROVERS": "u1ab"}, "BOT_APPROVERS", "user IDs (U…, W…) or user-group IDs (S…)"),
    ({"BOT_APPROVERS": "C0CHANNEL"}, "BOT_APPROVERS", "got 'C0CHANNEL'"),
    ({"BOT_APPROVERS": "U1AB;U2CD"}, "BOT_APPROVERS", "got 'U1AB;U2CD'"),
    ({"BOT_APPROVERS": "U"}, "BOT_APPROVERS", "got 'U'"),
    ({"BOT_ALLOW_SELF_APPROVAL": "maybe"}, "BOT_ALLOW_SELF_APPROVAL", "true/false, yes/no or 1/0"),
    ({"BOT_ALLOW_SELF_APPROVAL": "on"}, "BOT_ALLOW_SELF_APPROVAL", "got 'on'"),
    ({"BOT_MAX_HOSTS": "0"}, "BOT_MAX_HOSTS", "whole number from 1 to 100, got '0'"),
    ({"BOT_MAX_HOSTS": "101"}, "BOT_MAX_HOSTS", "from 1 to 100"),
    ({"BOT_MAX_HOSTS": "ten"}, "BOT_MAX_HOSTS", "got 'ten'"),
    ({"BOT_MAX_HOSTS": "1_0"}, "BOT_MAX_HOSTS", "whole number"),
    ({"BOT_MAX_HOSTS": "+5"}, "BOT_MAX_HOSTS", "whole number"),
    ({"BOT_POLL_SECONDS": "0"}, "BOT_POLL_SECONDS", "greater than 0"),
    ({"BOT_POLL_SECONDS": "-1"}, "BOT_POLL_SECONDS", "greater than 0"),
    ({"BOT_POLL_SECONDS": "nan"}, "BOT_POLL_SECONDS", "got 'nan'"),
    ({"BOT_POLL_SECONDS": "inf"}, "BOT_POLL_SECONDS", "got 'inf'"),
    ({"BOT_POLL_SECONDS": "1e400"}, "BOT_POLL_SECONDS", "got '1e400'"),
    ({"BOT_POLL_SECONDS": "15s"}, "BOT_POLL_SECONDS", "got '15s'"),
    ({"BOT_REGISTER_TIMEOUT_MINUTES": "0.0"}, "BOT_REGISTER_TIMEOUT_MINUTES", "greater than 0"),
    ({"BOT_REGISTER_TIMEOUT_MINUTES": "20m"}, "BOT_REGISTER_TIMEOUT_MINUTES", "got '20m'"),
    ({"BOT_REQUEST_TTL_HOURS": "0"}, "BOT_REQUEST_TTL_HOURS", "greater than 0"),
    ({"BOT_REQUEST_TTL_HOURS": "1 day"}, "BOT_REQUEST_TTL_HOURS", "got '1 day'"),
    ({"BOT_ENCRYPTION_KEY": "not-a-key"}, "BOT_ENCRYPTION_KEY", "must be a Fernet key"),
    ({"BOT_ENCRYPTION_KEY": KEY.decode()[:-2]}, "BOT_ENCRYPTION_KEY", "44 characters"),
    ({"BOT_ENCRYPTION_KEY": "é" * 44}, "BOT_ENCRYPTION_KEY", "must be a Fernet key"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "variable", "message"), BAD)
def test_bad_values_fail_with_one_line_naming_the_variable(env, variable, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert caught.value.variable == variable
    assert text.startswith(f"{variable} "), text
    assert message in text
    assert "\n" not in text and "\r" not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xapp-1-this-is-secret"),
        ("SLACK_APP_TOKEN", "xoxb-this-is-secret"),
        ("BOT_ENCRYPTION_KEY", KEY.decode()[:-1]),
    ],
)
def test_a_malformed_secret_is_not_echoed(name, value):
    env = {**SLACK, name: value} if name == "SLACK_APP_TOKEN" else {name: value}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert value not in str(caught.value)


def test_a_value_with_a_line_break_is_reported_on_one_line():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BOT_APPROVERS": "U1AB\nU2CD"})
    assert "\n" not in str(caught.value)


def test_a_long_bad_value_is_shortened_in_the_message():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BOT_MAX_HOSTS": "9" * 500})
    assert len(str(caught.value)) < 120


def test_only_settings_reads_the_environment():
    root = Path(__file__).resolve().parents[2]
    readers = []
    for package in ("bot", "commands", "provisioning", "storage"):
        for path in (root / package).rglob("*.py"):
            if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text(encoding="utf-8")):
                readers.append(path.relative_to(root).as_posix())
    assert readers == ["bot/settings.py"]
