"""The console script: with no Slack token it plays the demo story and exits 0."""

from __future__ import annotations

import time

import pytest

from bot.__main__ import main

SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")


@pytest.fixture
def no_slack(monkeypatch):
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def assert_in_order(transcript: str, lines: list[str]) -> None:
    """Each line appears in the transcript, after the one before it."""
    position = 0
    for line in lines:
        found = transcript.find(line, position)
        assert found >= 0, f"{line!r} missing or out of order"
        position = found


def test_without_a_slack_token_the_demo_tells_the_whole_story(no_slack, capsys) -> None:
    started = time.monotonic()

    status = main([])

    transcript = capsys.readouterr().out
    assert status == 0
    assert time.monotonic() - started < 30
    story = [
        "alice types in #ops:  /rancher-exoscale add count=2 name=web",
        "modal for alice · Add hosts · 1/3 [Authenticate]",
        "beside the field 'api_key': Exoscale refused the API key",
        "modal for alice · Add hosts · 2/3 [Next]",
        "rancher-machine` does not exist yet",
        "modal for alice · Add hosts · 3/3 [Create]",
        "🚀 @alice asks to add 2 Exoscale hosts to Rancher",
        "[Approve] [Deny]",
        "(only alice sees) bot: You asked for request",
        "bob replies in the request's thread:  approve",
        "bot edits the request message (buttons removed): ✅ Approved by @bob",
        "⚙️ Provisioning 2 hosts · 0/2 ready",
        "⚙️ Provisioning 2 hosts · 2/2 ready",
        "🎉 Done: approved by @bob, 2/2 ready.",
        "Rancher now lists: web-1 (active), web-2 (active).",
    ]
    assert_in_order(transcript, story)
    assert transcript.count("bot in the request's thread (also sent to #ops):") == 2


def test_a_bad_setting_stops_the_bot_with_one_line_naming_it(monkeypatch, capsys) -> None:
    monkeypatch.setenv("BOT_MAX_HOSTS", "lots")

    status = main([])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("rancher-exoscale-bot: BOT_MAX_HOSTS must be a whole number")
    assert error.count("\n") == 1


def test_the_demo_flag_plays_the_story_against_a_rancher_2_rke2_cluster(no_slack, capsys) -> None:
    status = main(["--demo-rancher", "2"])

    transcript = capsys.readouterr().out
    assert status == 0
    story = [
        "Rancher 2.x http://127.0.0.1:",
        "modal for alice · Add hosts · 2/3 [Next]",
        "▸ Node roles: [x] etcd [x] Control plane [x] Worker",
        "alice picks the cluster prod (RKE2)",
        "alice keeps only the Worker role",
        "▸ Node roles: [ ] etcd [ ] Control plane [x] Worker",
        "Ports for RKE2 worker nodes",
        "🚀 @alice asks to add 2 Exoscale hosts to Rancher cluster prod",
        "Cluster: prod · RKE2",
        "Roles: worker",
        "🎉 Done: approved by @bob, 2/2 ready.",
        "Cluster prod (RKE2) now has the nodes: edge-1 (active, worker), edge-2 (active, worker).",
    ]
    assert_in_order(transcript, story)
    assert transcript.count("bot in the request's thread (also sent to #ops):") == 2


def test_the_demo_flag_is_refused_when_the_bot_would_connect_to_slack(monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real-looking-token")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-real-looking-token")

    status = main(["--demo-rancher", "2"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("rancher-exoscale-bot: --demo-rancher only applies to the demo")
    assert error.count("\n") == 1
