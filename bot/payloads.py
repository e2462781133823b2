"""Reading Slack payloads defensively: a malformed one raises MalformedPayload, answered 400.

    user = user_id(body)
    values = state_values(view_of(body))
    zone = selected(values, "zone")

Slack's payloads are JSON whose shape the bot relies on; anything that does not have that shape
came from a broken or hostile client, and is refused with a 4xx rather than crashing a listener.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MalformedPayload",
    "action_of",
    "channel_of",
    "checked",
    "selected",
    "state_values",
    "text",
    "user_id",
    "view_of",
]


class MalformedPayload(ValueError):
    """The request is signed but its payload lacks what the listener needs."""


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not an object")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} is missing")
    return value


def user_id(body: Mapping[str, Any]) -> str:
    """The acting user's ID, from an interaction (``user.id``) or a slash command (``user_id``)."""
    if "user" in body:
        return _str(_dict(body["user"], "user").get("id"), "user.id")
    return _str(body.get("user_id"), "user_id")


def view_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``view`` of a view_submission or a block_actions payload sent from a modal."""
    view = _dict(body.get("view"), "view")
    _str(view.get("id"), "view.id")
    if not isinstance(view.get("private_metadata", ""), str):
        raise MalformedPayload("view.private_metadata is not text")
    return view


def state_values(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``view.state.values``: block_id -> action_id -> typed value."""
    state = _dict(view.get("state", {}), "view.state")
    values = _dict(state.get("values", {}), "view.state.values")
    for block_id, actions in values.items():
        for action_id, value in _dict(actions, f"state of {block_id}").items():
            _dict(value, f"state of {block_id}.{action_id}")
    return values


def _entry(values: Mapping[str, Any], block_id: str) -> dict[str, Any] | None:
    actions = values.get(block_id)
    if not actions:
        return None
    entry = actions.get(block_id)
    if entry is None:
        # Block and action ids are equal in every view the bot builds; take the only action.
        entry = next(iter(actions.values()))
    return entry


def text(values: Mapping[str, Any], block_id: str) -> str:
    """The text of an input (plain text or number), "" when empty or absent."""
    entry = _entry(values, block_id)
    if entry is None:
        return ""
    value = entry.get("value")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"{block_id} value is not text")
    return value


def selected(values: Mapping[str, Any], block_id: str) -> str | None:
    """The value of the selected option of a select or radio group, or None."""
    entry = _entry(values, block_id)
    if entry is None or entry.get("selected_option") is None:
        return None
    option = _dict(entry["selected_option"], f"{block_id} selected_option")
    return _str(option.get("value"), f"{block_id} option value")


def checked(values: Mapping[str, Any], block_id: str) -> list[str]:
    """The values of the ticked checkboxes."""
    entry = _entry(values, block_id)
    if entry is None:
        return []
    options = entry.get("selected_options") or []
    if not isinstance(options, list):
        raise MalformedPayload(f"{block_id} selected_options is not a list")
    return [_str(_dict(o, "option").get("value"), "option value") for o in options]


def action_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The first (only) action of a block_actions payload."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedPayload("actions is empty")
    action = _dict(actions[0], "action")
    _str(action.get("action_id"), "action_id")
    return action


def channel_of(body: Mapping[str, Any]) -> str:
    """The channel an interaction happened in."""
    channel = body.get("channel")
    if isinstance(channel, dict):
        return _str(channel.get("id"), "channel.id")
    container = _dict(body.get("container", {}), "container")
    return _str(container.get("channel_id") or body.get("channel_id"), "channel")
