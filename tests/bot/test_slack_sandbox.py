"""The Slack stand-in the bot's tests rely on: it answers, and refuses, as Slack does."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackSandbox

TOKEN = "xoxb-test-token"
MODAL = {
    "type": "modal",
    "callback_id": "x",
    "title": {"type": "plain_text", "text": "Title"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


@pytest.fixture
def slack():
    sandbox = SlackSandbox(TOKEN, trigger_ttl=0.5)
    sandbox.add_user("U1", "alice")
    sandbox.start()
    yield sandbox
    sandbox.stop()


def client(slack: SlackSandbox, token: str = TOKEN) -> WebClient:
    # No retry handlers: these tests look at Slack's first answer.
    return WebClient(token=token, base_url=slack.base_url, retry_handlers=[])


def test_a_wrong_token_is_refused_like_slack(slack) -> None:
    with pytest.raises(SlackApiError) as refused:
        client(slack, "xoxb-wrong").chat_postMessage(channel="C1", text="hi")

    assert refused.value.response["error"] == "invalid_auth"
    assert slack.messages() == []


def test_post_keeps_threads_and_update_edits_in_place(slack) -> None:
    web = client(slack)
    parent = web.chat_postMessage(channel="C1", text="parent")
    reply = web.chat_postMessage(
        channel="C1", text="reply", thread_ts=parent["ts"], reply_broadcast=True
    )
    web.chat_update(channel="C1", ts=parent["ts"], text="edited")

    assert [m["text"] for m in slack.channel_messages("C1")] == ["edited", "reply"]
    assert slack.thread("C1", parent["ts"])[0]["ts"] == reply["ts"]
    assert slack.message("C1", parent["ts"])["edits"] == 1
    with pytest.raises(SlackApiError) as missing:
        web.chat_update(channel="C1", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_fail_next_answers_ok_false_once(slack) -> None:
    slack.fail_next("chat.postMessage", "channel_not_found")
    web = client(slack)

    with pytest.raises(SlackApiError) as refused:
        web.chat_postMessage(channel="C1", text="hi")

    assert refused.value.response["error"] == "channel_not_found"
    assert web.chat_postMessage(channel="C1", text="hi")["ok"] is True


def test_rate_limit_next_answers_429_with_retry_after(slack) -> None:
    slack.rate_limit_next("chat.update", retry_after=7)

    with pytest.raises(SlackApiError) as limited:
        client(slack).chat_update(channel="C1", ts="1.1", text="x")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"


def test_views_open_needs_a_fresh_unused_trigger(slack) -> None:
    web = client(slack)
    trigger = slack.issue_trigger("U1")

    opened = web.views_open(trigger_id=trigger, view=MODAL)["view"]
    with pytest.raises(SlackApiError) as reused:
        web.views_open(trigger_id=trigger, view=MODAL)
    stale = slack.issue_trigger("U1")
    time.sleep(0.6)
    with pytest.raises(SlackApiError) as expired:
        web.views_open(trigger_id=stale, view=MODAL)

    assert opened["id"].startswith("V") and opened["hash"]
    assert reused.value.response["error"] == "expired_trigger_id"
    assert expired.value.response["error"] == "expired_trigger_id"


def test_views_update_checks_the_hash_and_slacks_limits(slack) -> None:
    web = client(slack)
    opened = web.views_open(trigger_id=slack.issue_trigger("U1"), view=MODAL)["view"]

    updated = web.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)["view"]
    with pytest.raises(SlackApiError) as conflict:
        web.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    with pytest.raises(SlackApiError) as too_long:
        web.views_update(view_id=opened["id"], view={**MODAL, "private_metadata": "x" * 3001})
    with pytest.raises(SlackApiError) as long_title:
        web.views_update(
            view_id=opened["id"], view={**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
        )

    assert updated["hash"] != opened["hash"]
    assert conflict.value.response["error"] == "hash_conflict"
    assert too_long.value.response["error"] == "invalid_arguments"
    assert long_title.value.response["error"] == "invalid_arguments"
    assert len(slack.view_history(opened["id"])) == 2


def test_usergroups_and_users_are_answered_from_the_workspace(slack) -> None:
    slack.set_usergroup("S1", "ops", ["U1", "U2"])
    web = client(slack)

    assert web.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert web.users_info(user="U1")["user"]["name"] == "alice"
    with pytest.raises(SlackApiError) as unknown:
        web.usergroups_users_list(usergroup="S9")
    assert unknown.value.response["error"] == "no_such_subteam"


def test_a_response_url_post_is_an_ephemeral_for_that_person(slack) -> None:
    url = slack.response_url("C1", "U1")
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": "only you"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.read() == b"ok"

    assert [(e["user"], e["text"]) for e in slack.ephemerals] == [("U1", "only you")]
    assert slack.messages() == []
