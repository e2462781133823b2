"""The HTTP endpoint: only signed, fresh, well-formed Slack requests get through."""

from __future__ import annotations

import copy
import json
import random
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from bot import views
from bot.sandboxed import SandboxedBot
from bot.settings import SettingsError
from tests.bot.conftest import ALICE, CHANNEL, request_launch, wizard_to_step3


def slash_body(text: str = "add") -> str:
    return urlencode(
        {
            "command": "/rancher-exoscale",
            "text": text,
            "user_id": ALICE,
            "channel_id": CHANNEL,
            "trigger_id": "1.abc",
            "response_url": "http://127.0.0.1:9/none",
        }
    )


def calls_after_start(world) -> list[str]:
    return [c.method for c in world.slack.calls if c.method != "auth.test"]


@pytest.mark.parametrize(
    "how",
    [
        {"secret": "not-the-signing-secret"},
        {"timestamp": int(time.time()) - 6 * 60},
        {"timestamp": int(time.time()) + 6 * 60},
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
    ],
    ids=["wrong-secret", "stale", "future", "forged"],
)
def test_a_bad_or_stale_signature_gets_401_and_changes_nothing(world, how) -> None:
    answer = world.driver.send(slash_body("add count=2"), **how)

    assert answer.status == 401
    time.sleep(0.2)
    assert calls_after_start(world) == []
    assert world.slack.ephemerals == [] and world.slack.last_view(ALICE) is None


def test_a_request_without_signature_headers_gets_401(world) -> None:
    assert world.driver.send(slash_body(), signed=False).status == 401
    bad_timestamp = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    assert world.driver.send(slash_body(), signed=False, headers=bad_timestamp).status == 401


def test_a_forged_approval_changes_nothing(world) -> None:
    request = request_launch(world)
    calls = len(world.slack.calls)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0BOB"},
        "actions": [{"action_id": views.APPROVE, "block_id": "decision", "value": "x"}],
    }

    answer = world.driver.send_payload(payload, secret="guessed")

    assert answer.status == 401
    time.sleep(0.2)
    assert world.slack.calls[calls:] == []
    assert world.exoscale.instances == []
    assert request["blocks"] == world.slack.message(CHANNEL, request["ts"])["blocks"]


MALFORMED = {
    "not-json-payload": ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    "payload-array": ("payload=" + json.dumps([1, 2]), "application/x-www-form-urlencoded"),
    "no-actions": (
        urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})}),
        "application/x-www-form-urlencoded",
    ),
    "user-is-a-number": (
        urlencode({"payload": json.dumps({"type": "view_submission", "user": 5, "view": {}})}),
        "application/x-www-form-urlencoded",
    ),
    "state-not-an-object": (
        urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "view_submission",
                        "user": {"id": "U1"},
                        "view": {"id": "V1", "callback_id": views.STEP1, "state": "x"},
                    }
                )
            }
        ),
        "application/x-www-form-urlencoded",
    ),
    "unknown-interaction": (
        urlencode({"payload": json.dumps({"type": "dance", "user": {"id": "U1"}})}),
        "application/x-www-form-urlencoded",
    ),
    "event-not-an-object": (
        json.dumps({"type": "event_callback", "event": "message"}),
        "application/json",
    ),
    "event-text-a-list": (
        json.dumps({"type": "event_callback", "event": {"type": "message", "text": [1]}}),
        "application/json",
    ),
    "json-array": ("[1, 2, 3]", "application/json"),
    "slash-without-user": (urlencode({"command": "/rancher-exoscale"}), "text/plain"),
    "binary": ("\x00\x01\x02", "application/octet-stream"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_signed_payload_gets_a_4xx_never_a_500(world, name) -> None:
    body, content_type = MALFORMED[name]

    answer = world.driver.send(body, content_type)

    assert 400 <= answer.status < 500, answer.status


def test_a_wizard_submission_with_forged_metadata_gets_400(world) -> None:
    view = wizard_to_step3(world)
    forged = {**view, "private_metadata": '{"not": "ours"}', "state": {"values": {}}}
    payload = {"type": "view_submission", "user": {"id": ALICE}, "view": forged}

    answer = world.driver.send_payload(payload)

    assert answer.status == 400
    assert world.slack.channel_messages(CHANNEL) == []


def test_other_paths_and_methods_are_refused(world) -> None:
    base = world.driver.url.rsplit("/slack/events", 1)[0]

    def status(url: str, method: str = "GET") -> int:
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status(f"{base}/slack/events") == 405
    assert status(f"{base}/slack/install") == 404
    assert status(f"{base}/other", "POST") == 404


def test_an_oversized_body_gets_413(world) -> None:
    answer = world.driver.send("text=" + "x" * (2 << 20))

    assert answer.status == 413


def test_oauth_variables_in_the_environment_stop_the_bot_with_one_clear_line(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234.5678")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "oauth-client-secret")

    with pytest.raises(SettingsError) as refused:
        SandboxedBot().start()

    assert str(refused.value).startswith("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set")
    assert "\n" not in str(refused.value)


def test_without_oauth_variables_requests_are_authorized_with_the_bot_token(world) -> None:
    assert world.bot.app.oauth_flow is None
    world.driver.slash("help", user=ALICE, channel=CHANNEL)

    (answer,) = world.driver.wait_for(lambda: world.slack.ephemerals_for(ALICE))
    assert answer["text"].startswith("*/rancher-exoscale* adds Exoscale hosts")


def _mutated(payload: dict, rnd: random.Random) -> dict:
    """The payload with one value somewhere replaced by another type, or removed."""
    mutated = copy.deepcopy(payload)
    paths: list[list] = []

    def walk(node, path: list) -> None:
        paths.append(path)
        if isinstance(node, dict | list):
            for key, value in node.items() if isinstance(node, dict) else enumerate(node):
                walk(value, [*path, key])

    walk(mutated, [])
    path = rnd.choice(paths[1:])
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    replacement = rnd.choice([None, 5, "x", [], {}, [1], {"a": 1}, True, "<remove>"])
    if replacement == "<remove>":
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return mutated


def test_signed_payloads_with_a_wrong_value_anywhere_never_get_a_500(world) -> None:
    request = request_launch(world)
    step3 = wizard_to_step3(world, text="add name=web")
    driver = world.driver
    click = {
        **driver._interaction_base("U0BOB"),
        "container": {"type": "message", "message_ts": request["ts"], "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "message": request,
        "actions": [{"type": "button", "action_id": views.APPROVE, "block_id": "d", "value": "x"}],
    }
    submission = {
        **driver._interaction_base(ALICE),
        "type": "view_submission",
        "view": driver._with_state(step3, {}),
    }
    event = {
        "type": "event_callback",
        "event": {
            "type": "message",
            "channel": CHANNEL,
            "user": "U0BOB",
            "text": "approve",
            "ts": "1.2",
            "thread_ts": request["ts"],
        },
    }
    rnd = random.Random(5)
    statuses = []
    for _ in range(120):
        base = rnd.choice([click, submission, event])
        mutated = _mutated(base, rnd)
        if base is event:
            answer = driver.send(json.dumps(mutated), "application/json")
        else:
            answer = driver.send_payload(mutated)
        statuses.append(answer.status)

    assert all(status < 500 for status in statuses)
    assert any(400 <= status < 500 for status in statuses)
