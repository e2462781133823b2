"""manifest.yml: valid against Slack's manifest schema, with the features the bot needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from commands.parse import COMMAND

REPO = Path(__file__).resolve().parents[2]
# Slack's own manifest schema (v1), kept beside the tests so they need nothing outside the repo.
SCHEMA = REPO / "tests" / "reference" / "slack-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))


def test_manifest_validates_against_slacks_schema(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: e.path)
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_would_catch_a_broken_manifest(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = {**manifest, "features": {**manifest["features"], "slash_commands": [{"x": 1}]}}
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_manifest_declares_the_slash_command_with_a_usage_hint(manifest: dict) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert "add" in command["usage_hint"] and "remove" in command["usage_hint"]


def test_manifest_asks_for_the_smallest_set_of_bot_scopes(manifest: dict) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "channels:history",
        "groups:history",
        "usergroups:read",
    }
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_manifest_turns_on_socket_mode_interactivity_and_thread_message_events(
    manifest: dict,
) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",
    }
