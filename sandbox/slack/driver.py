"""Sends correctly signed Slack requests to a bot's HTTP endpoint, as Slack would.

The driver plays the people in a workspace: it types slash commands, clicks buttons, fills in and
submits modals and replies in threads. Payloads are built the way Slack builds them; a
view_submission is built from the view the bot last opened or updated, read from the sandbox::

    driver = SlackDriver("http://127.0.0.1:8080/slack/events", "signing-secret", sandbox)
    driver.slash("add count=2", user="U1", channel="C1")
    view = driver.wait_for_view(user="U1", callback_id="add_step1")
    answer = driver.submit(view["id"], {"api_key": "EXO...", "api_secret": "..."}, user="U1")
    answer.errors            # {} or {block_id: message} from response_action=errors

Every request is signed with the v0 HMAC scheme (``X-Slack-Signature`` over
``v0:{timestamp}:{body}``); ``send`` can sign with a wrong secret or an old timestamp to test
the refusals.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.slack.server import SlackSandbox

__all__ = ["DriverResponse", "SlackDriver", "SubmitResult"]

_INPUT_TYPES = (
    "plain_text_input",
    "number_input",
    "static_select",
    "radio_buttons",
    "checkboxes",
    "email_text_input",
    "url_text_input",
)


@dataclass(frozen=True)
class DriverResponse:
    """What the bot's endpoint answered."""

    status: int
    headers: dict[str, str]
    body: str
    elapsed: float

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(frozen=True)
class SubmitResult:
    """The answer to a view_submission: the HTTP response and the response_action it carried."""

    response: DriverResponse
    action: str
    errors: dict[str, str] = field(default_factory=dict)


class SlackDriver:
    """Signed slash commands, block actions, view submissions and message events for one bot."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        *,
        team_id: str | None = None,
        api_app_id: str = "A0SANDBOX",
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.sandbox = sandbox
        self.team_id = team_id or sandbox.team_id
        self.api_app_id = api_app_id
        self.timeout = timeout
        self._event_ids = itertools.count(1)
        # What a person selected in a modal, kept across views.update as Slack does for inputs
        # whose block_id and action_id stay the same.
        self._selected: dict[str, dict[tuple[str, str], Any]] = {}

    # ------------------------------------------------------------------ raw

    def sign(
        self, body: str, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        """The two headers Slack adds: timestamp and v0 signature."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        key = (self.signing_secret if secret is None else secret).encode()
        digest = hmac.new(key, f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def send(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
    ) -> DriverResponse:
        """POST ``body`` to the bot, signed (with another secret or timestamp when given)."""
        all_headers = {"Content-Type": content_type}
        if signed:
            all_headers.update(self.sign(body, timestamp, secret))
        all_headers.update(headers or {})
        request = urllib.request.Request(
            self.url, data=body.encode("utf-8"), headers=all_headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                text = answer.read().decode("utf-8", "replace")
                status = answer.status
                answer_headers = dict(answer.headers.items())
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            status = exc.code
            answer_headers = dict(exc.headers.items())
        return DriverResponse(status, answer_headers, text, time.perf_counter() - started)

    def send_payload(self, payload: Mapping[str, Any], **kwargs: Any) -> DriverResponse:
        """An interactivity request: ``payload=<json>`` form-encoded."""
        return self.send(urlencode({"payload": json.dumps(payload)}), **kwargs)

    # ------------------------------------------------------------------ people's actions

    def slash(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/rancher-exoscale",
        **kwargs: Any,
    ) -> DriverResponse:
        """Type ``/command text`` in ``channel``; an ack text is kept as an ephemeral reply."""
        form = {
            "token": "sandbox-verification-token",
            "team_id": self.team_id,
            "team_domain": "sandbox",
            "channel_id": channel,
            "channel_name": self.sandbox.channel_name(channel),
            "user_id": user,
            "user_name": self.sandbox.user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.sandbox.response_url(channel, user),
            "trigger_id": self.sandbox.issue_trigger(user),
        }
        response = self.send(urlencode(form), **kwargs)
        self._keep_ack_text(response, channel=channel, user=user)
        return response

    def click(
        self, message: Mapping[str, Any], action_id: str, *, user: str, **kwargs: Any
    ) -> DriverResponse:
        """Click the button ``action_id`` in a message (as the sandbox shows it)."""
        block, element = _find_element(message.get("blocks") or [], action_id)
        channel = message["channel"]
        payload = {
            **self._interaction_base(user),
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "channel": {"id": channel, "name": self.sandbox.channel_name(channel)},
            "message": {k: v for k, v in message.items() if k != "channel"},
            "state": {"values": {}},
            "response_url": self.sandbox.response_url(channel, user),
            "actions": [_action_of(block, element)],
        }
        return self.send_payload(payload, **kwargs)

    def select(
        self, view_id: str, action_id: str, value: str, *, user: str, **kwargs: Any
    ) -> DriverResponse:
        """Pick ``value`` in a select or radio group of a modal (sends block_actions)."""
        view = self._current_view(view_id)
        block, element = _find_element(view.get("blocks") or [], action_id)
        option = _option(element, value)
        self._selected.setdefault(view_id, {})[(block["block_id"], action_id)] = option
        action = _action_of(block, element)
        action["selected_option"] = option
        payload = {
            **self._interaction_base(user),
            "container": {"type": "view", "view_id": view_id},
            "view": self._with_state(view, {}),
            "actions": [action],
        }
        return self.send_payload(payload, **kwargs)

    def check(
        self, view_id: str, action_id: str, values: list[str], *, user: str, **kwargs: Any
    ) -> DriverResponse:
        """Leave exactly ``values`` ticked in a checkbox group of a modal (sends block_actions)."""
        view = self._current_view(view_id)
        block, element = _find_element(view.get("blocks") or [], action_id)
        options = [_option(element, value) for value in values]
        self._selected.setdefault(view_id, {})[(block["block_id"], action_id)] = options
        action = _action_of(block, element)
        action["selected_options"] = options
        payload = {
            **self._interaction_base(user),
            "container": {"type": "view", "view_id": view_id},
            "view": self._with_state(view, {}),
            "actions": [action],
        }
        return self.send_payload(payload, **kwargs)

    def submit(
        self,
        view_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        user: str,
        **kwargs: Any,
    ) -> SubmitResult:
        """Submit a modal with ``values`` (action_id -> text or option value; others as shown)."""
        view = self._current_view(view_id)
        payload = {
            **self._interaction_base(user),
            "type": "view_submission",
            "view": self._with_state(view, values or {}),
            "response_urls": [],
        }
        self.sandbox.answer_expected(view_id)
        try:
            response = self.send_payload(payload, **kwargs)
            answer = response.json() if response.status == 200 else None
            action = ""
            errors: dict[str, str] = {}
            if response.status == 200:
                answer = answer if isinstance(answer, dict) else {}
                action = str(answer.get("response_action") or "close")
                errors = dict(answer.get("errors") or {})
                self.sandbox.apply_view_response(view_id, answer)
        finally:
            self.sandbox.answer_applied(view_id)
        return SubmitResult(response, action, errors)

    def close(self, view_id: str, *, user: str, **kwargs: Any) -> DriverResponse | None:
        """Close a modal with its close button (view_closed is sent only when asked for)."""
        view = self._current_view(view_id)
        self.sandbox.close_view(view_id)
        if not view.get("notify_on_close"):
            return None
        payload = {
            **self._interaction_base(user),
            "view": self._with_state(view, {}),
            "is_cleared": False,
        }
        return self.send_payload({**payload, "type": "view_closed"}, **kwargs)

    def message(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> DriverResponse:
        """Post ``text`` as ``user`` (in a thread when given) and send the message event."""
        ts = self.sandbox.post_as_user(channel, user, text, thread_ts)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "group" if channel.startswith("G") else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        envelope = {
            "token": "sandbox-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._event_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.sandbox.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self.send(json.dumps(envelope), "application/json", **kwargs)

    # ------------------------------------------------------------------ waiting

    def wait_for(
        self, probe: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.02
    ) -> Any:
        """Call ``probe`` until it returns something truthy; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing came within {timeout} s")
            time.sleep(interval)

    def wait_for_view(
        self,
        *,
        user: str,
        callback_id: str,
        ready: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The user's open view with ``callback_id`` (and ``ready(view)`` true), once there."""

        def probe() -> dict[str, Any] | None:
            view = self.sandbox.last_view(user)
            if view and view.get("callback_id") == callback_id and (ready is None or ready(view)):
                return view
            return None

        return self.wait_for(probe, timeout=timeout)

    # ------------------------------------------------------------------ internals

    def _interaction_base(self, user: str) -> dict[str, Any]:
        name = self.sandbox.user_name(user)
        return {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "sandbox"},
            "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "sandbox-verification-token",
            "trigger_id": self.sandbox.issue_trigger(user),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _current_view(self, view_id: str) -> dict[str, Any]:
        view = self.sandbox.view(view_id)
        if view is None:
            raise KeyError(f"no view {view_id} in the sandbox")
        return view

    def _with_state(self, view: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        remembered = self._selected.get(view["id"], {})
        state: dict[str, dict[str, Any]] = {}
        used: set[str] = set()
        for block in view.get("blocks") or []:
            for element in _elements(block):
                kind = element.get("type")
                action_id = element.get("action_id")
                if kind not in _INPUT_TYPES or not action_id:
                    continue
                block_id = block["block_id"]
                if action_id in values:
                    used.add(action_id)
                    entry = _typed_value(element, values[action_id])
                elif (block_id, action_id) in remembered:
                    entry = _selected_entry(element, remembered[(block_id, action_id)])
                else:
                    entry = _initial_entry(element)
                state.setdefault(block_id, {})[action_id] = entry
        unknown = set(values) - used
        if unknown:
            raise KeyError(f"no input {sorted(unknown)} in view {view.get('callback_id')}")
        return {**view, "state": {"values": state}}

    def _keep_ack_text(self, response: DriverResponse, *, channel: str, user: str) -> None:
        if response.status != 200 or not response.body:
            return
        answer = response.json()
        if isinstance(answer, dict):
            text, blocks = str(answer.get("text") or ""), answer.get("blocks") or []
        else:
            text, blocks = response.body, []
        if text or blocks:
            self.sandbox.record_ephemeral(
                channel=channel, user=user, text=text, blocks=blocks, source="ack"
            )


def _elements(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    if block.get("type") == "actions":
        return list(block.get("elements") or [])
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    return []


def _find_element(blocks: list[Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        for element in _elements(block):
            if element.get("action_id") == action_id:
                return block, element
    raise KeyError(f"no element with action_id {action_id!r}")


def _action_of(block: Mapping[str, Any], element: Mapping[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": element.get("type"),
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "action_ts": f"{time.time():.6f}",
    }
    if element.get("type") == "button":
        action["text"] = element.get("text")
        action["value"] = element.get("value")
        if element.get("style"):
            action["style"] = element["style"]
    return action


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: Mapping[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return {"text": option["text"], "value": option["value"]}
    raise KeyError(f"{element.get('action_id')} has no option {value!r}")


def _typed_value(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "radio_buttons"):
        option = None if value is None else _option(element, str(value))
        return {"type": kind, "selected_option": option}
    if kind == "checkboxes":
        chosen = [_option(element, str(v)) for v in (value or [])]
        return {"type": kind, "selected_options": chosen}
    return {"type": kind, "value": None if value in (None, "") else str(value)}


def _selected_entry(element: Mapping[str, Any], option: Any) -> dict[str, Any]:
    if element["type"] == "checkboxes":
        return {"type": "checkboxes", "selected_options": list(option)}
    return {"type": element["type"], "selected_option": option}


def _initial_entry(element: Mapping[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "radio_buttons"):
        initial = element.get("initial_option")
        option = {"text": initial["text"], "value": initial["value"]} if initial else None
        return {"type": kind, "selected_option": option}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    initial_value = element.get("initial_value")
    return {"type": kind, "value": initial_value if initial_value not in (None, "") else None}
