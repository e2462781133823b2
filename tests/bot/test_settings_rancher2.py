"""Settings: RANCHER_TOKEN selects Rancher 2.x, the keys and project 1.6; mixes fail in one line."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError

URL = "https://rancher.example.com"
TOKEN = "token-ab12c:x9secretsecretsecretsecretsecretsecretsecretsecret00"
V2 = {"RANCHER_URL": URL, "RANCHER_TOKEN": TOKEN}
V16 = {
    "RANCHER_URL": URL,
    "RANCHER_ACCESS_KEY": "ABCDEF0123456789",
    "RANCHER_SECRET_KEY": "rancher-secret-value",
    "RANCHER_PROJECT_ID": "1a5",
}


def test_url_and_token_select_rancher_2():
    s = Settings.from_env(V2)
    assert s.rancher_api == "v2"
    assert s.rancher_configured
    assert (s.rancher_url, s.rancher_token) == (URL, TOKEN)
    assert (s.rancher_access_key, s.rancher_secret_key, s.rancher_project_id) == (None,) * 3


def test_url_keys_and_project_stay_rancher_1_6():
    s = Settings.from_env(V16)
    assert s.rancher_api == "v1.6"
    assert s.rancher_token is None


def test_without_rancher_the_api_is_none():
    assert Settings.from_env({}).rancher_api is None


def test_the_token_is_never_in_the_repr():
    assert TOKEN not in repr(Settings.from_env(V2))
    assert "x9secret" not in repr(Settings.from_env(V2))


@pytest.mark.parametrize(
    ("env", "variable", "names"),
    [
        ({**V16, "RANCHER_TOKEN": TOKEN}, "RANCHER_TOKEN", ["RANCHER_ACCESS_KEY"]),
        ({**V2, "RANCHER_ACCESS_KEY": "AK"}, "RANCHER_TOKEN", ["RANCHER_ACCESS_KEY"]),
        ({**V2, "RANCHER_SECRET_KEY": "SK"}, "RANCHER_TOKEN", ["RANCHER_SECRET_KEY"]),
        ({**V2, "RANCHER_PROJECT_ID": "1a5"}, "RANCHER_PROJECT_ID", ["RANCHER_TOKEN"]),
        ({"RANCHER_TOKEN": TOKEN}, "RANCHER_URL", ["RANCHER_TOKEN"]),
        (
            {"RANCHER_URL": URL},
            "RANCHER_TOKEN",
            ["RANCHER_URL", "RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY", "RANCHER_PROJECT_ID"],
        ),
        (
            {"RANCHER_URL": URL, "RANCHER_ACCESS_KEY": "AK"},
            "RANCHER_SECRET_KEY",
            ["RANCHER_URL", "RANCHER_TOKEN"],
        ),
        (
            {"RANCHER_URL": URL, "RANCHER_ACCESS_KEY": "AK", "RANCHER_SECRET_KEY": "SK"},
            "RANCHER_PROJECT_ID",
            ["RANCHER_URL"],
        ),
    ],
    ids=[
        "1.6 keys plus a token",
        "token plus an access key",
        "token plus a secret key",
        "token plus a project id",
        "token without a url",
        "url alone",
        "half of the 1.6 keys",
        "1.6 keys without project",
    ],
)
def test_a_wrong_combination_fails_with_one_line_naming_the_variables(env, variable, names):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert caught.value.variable == variable
    assert text.startswith(f"{variable} ")
    assert "\n" not in text
    for name in names:
        assert name in text
    assert TOKEN not in text


@pytest.mark.parametrize(
    "token",
    [
        "x9secretsecretsecret",  # the secret alone
        "token-ab12c",  # the name alone
        "token-ab12c:",
        ":x9secret",
        "Token-AB12C:x9secret",
        "token-ab12c:x9-secret",
    ],
)
def test_a_malformed_token_is_refused_without_being_echoed(token):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"RANCHER_URL": URL, "RANCHER_TOKEN": token})
    text = str(caught.value)
    assert caught.value.variable == "RANCHER_TOKEN"
    assert "token-xxxxx:secret" in text
    assert token not in text


def test_a_token_with_a_space_is_refused_without_being_echoed():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"RANCHER_URL": URL, "RANCHER_TOKEN": "token-ab12c: x9secret"})
    assert caught.value.variable == "RANCHER_TOKEN"
    assert "x9secret" not in str(caught.value)
