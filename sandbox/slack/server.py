"""A local stand-in for the Slack Web API that records every call and answers like Slack.

Tests and the demo point the bot's ``WebClient(base_url=...)`` at it::

    sandbox = SlackSandbox("xoxb-test")
    base_url = sandbox.start()            # "http://127.0.0.1:<port>/api/"
    ...                                   # drive the bot
    sandbox.messages("C1")                # what the channel shows now
    sandbox.stop()

It answers ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``views.open``/``update``/``push``, ``usergroups.users.list``, ``users.info`` and
``conversations.info``; it also serves the ``response_url`` of slash commands and actions.
Every call needs the bot token (``Authorization: Bearer`` or a ``token`` field), as on Slack.
Faults on demand: ``fail_next(method, error)`` answers ``ok: false``; ``rate_limit_next(method)``
answers HTTP 429 with ``Retry-After``. Limits Slack enforces on views and messages (title length,
block counts, ``private_metadata`` size, trigger expiry) are enforced here too, so a bot that
passes here does not fail on them in Slack.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..listener import Listener

__all__ = ["SlackApiCall", "SlackSandbox"]

# Fields that Slack's Web API accepts as JSON text inside a form-encoded body.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")

# Slack's documented limits, checked here because a plain dict reaches Slack unchecked.
_MODAL_TEXT_MAX = 24
_MODAL_BLOCKS_MAX = 100
_MESSAGE_BLOCKS_MAX = 50
_METADATA_MAX = 3000
_SECTION_TEXT_MAX = 3000
_SECTION_FIELDS_MAX = 10
_MESSAGE_TEXT_MAX = 40000


@dataclass(frozen=True)
class SlackApiCall:
    """One request that reached the sandbox: method, arguments (token removed), answer."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass
class _View:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None
    closed: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


class _SlackError(Exception):
    """An ``ok: false`` answer."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class SlackSandbox:
    """The Slack Web API on 127.0.0.1 for one workspace and one bot token."""

    def __init__(
        self,
        bot_token: str,
        *,
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        trigger_ttl: float = 3.0,
        latency: float = 0.0,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        # Slack refuses a trigger_id older than about three seconds; tests may shorten it.
        self.trigger_ttl = trigger_ttl
        self.latency = latency
        self._lock = threading.RLock()
        self._calls: list[SlackApiCall] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._message_order: list[tuple[str, str]] = []
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, _View] = {}
        self._view_order: list[str] = []
        self._triggers: dict[str, tuple[float, str, bool]] = {}
        self._faults: dict[str, list[tuple[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._response_urls: dict[str, tuple[str, str]] = {}
        self._answering: dict[str, threading.Event] = {}
        self._ts_base = int(time.time())
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._listener: Listener | None = None
        self.base_url = ""
        self.add_user(bot_user_id, "rancher-exoscale-bot", is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port); return the Web API base URL, ending in ``/api/``."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._listener = Listener(server, name="slack-sandbox", poll_interval=0.05)
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}/api/"
        return self.base_url

    def stop(self) -> None:
        """Stop listening; recorded state stays readable."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> SlackSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ workspace fixtures

    def add_user(
        self, user_id: str, name: str, *, real_name: str = "", is_bot: bool = False
    ) -> None:
        """Make ``users.info`` know a user."""
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": real_name or name,
                "is_bot": is_bot,
                "profile": {"display_name": name, "real_name": real_name or name},
            }

    def user_name(self, user_id: str) -> str:
        """The display name of a known user, else the ID itself."""
        with self._lock:
            user = self._users.get(user_id)
            return user["name"] if user else user_id

    def set_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        """Create or replace a user group and its members (``usergroups.users.list``)."""
        with self._lock:
            self._usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(users)}

    def add_channel(self, channel_id: str, name: str, *, private: bool = False) -> None:
        """Make ``conversations.info`` know a channel (the bot is a member)."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not private,
                "is_group": private,
                "is_private": private,
                "is_member": True,
            }

    def channel_name(self, channel_id: str) -> str:
        with self._lock:
            channel = self._channels.get(channel_id)
            return channel["name"] if channel else channel_id

    def issue_trigger(self, user: str) -> str:
        """A fresh ``trigger_id`` as in an interaction; valid once, for ``trigger_ttl`` s."""
        trigger = f"{next(self._id_counter)}.{secrets.token_hex(8)}"
        with self._lock:
            self._triggers[trigger] = (time.monotonic(), user, False)
        return trigger

    def on_call(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``listener(method, response)`` after every successful call (for transcripts)."""
        with self._lock:
            self._listeners.append(listener)

    # ------------------------------------------------------------------ faults

    def fail_next(self, method: str, error: str = "internal_error", count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer ``{"ok": false, "error": error}``."""
        with self._lock:
            self._faults.setdefault(method, []).extend([("error", error)] * count)

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._faults.setdefault(method, []).extend([("ratelimit", retry_after)] * count)

    # ------------------------------------------------------------------ what reached Slack

    @property
    def calls(self) -> list[SlackApiCall]:
        """Every call so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they look now (after updates), in posting order; thread replies included."""
        with self._lock:
            keys = [k for k in self._message_order if channel is None or k[0] == channel]
            return [json.loads(json.dumps(self._messages[k])) for k in keys]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._messages.get((channel, ts))
            return json.loads(json.dumps(found)) if found else None

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages and thread replies broadcast to the channel."""
        return [
            m
            for m in self.messages(channel)
            if not m.get("thread_ts") or m.get("thread_ts") == m["ts"] or m.get("reply_broadcast")
        ]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies in a thread, oldest first (the parent excluded)."""
        return [
            m
            for m in self.messages(channel)
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Messages only one person saw: chat.postEphemeral, response_url and ack texts."""
        with self._lock:
            return [dict(e) for e in self._ephemerals]

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        return [e for e in self.ephemerals if e.get("user") == user]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The view as it is now (with ``id``, ``hash``, ``state``), or None."""
        with self._lock:
            found = self._views.get(view_id)
            return self._render_view(found) if found else None

    def view_history(self, view_id: str) -> list[dict[str, Any]]:
        """Every version of a view, oldest first."""
        with self._lock:
            found = self._views.get(view_id)
            return [json.loads(json.dumps(v)) for v in found.history] if found else []

    def last_view(
        self, user: str | None = None, *, open_only: bool = True
    ) -> dict[str, Any] | None:
        """The view most recently opened or updated (for ``user``), or None."""
        with self._lock:
            for view_id in reversed(self._view_order):
                found = self._views[view_id]
                if user is not None and found.user != user:
                    continue
                if open_only and found.closed:
                    continue
                return self._render_view(found)
        return None

    def view_user(self, view_id: str) -> str | None:
        """Who the view was opened for."""
        with self._lock:
            found = self._views.get(view_id)
            return found.user if found else None

    def is_open(self, view_id: str) -> bool:
        with self._lock:
            found = self._views.get(view_id)
            return bool(found and not found.closed)

    # ------------------------------------------------------------------ the driver's side

    def record_ephemeral(
        self, *, channel: str, user: str, text: str, blocks: Any, source: str
    ) -> None:
        """Keep a message only ``user`` saw (ack texts and response_url posts arrive here)."""
        with self._lock:
            entry = {
                "channel": channel,
                "user": user,
                "text": text,
                "blocks": blocks or [],
                "source": source,
                "at": time.time(),
            }
            self._ephemerals.append(entry)
        self._notify("ephemeral", entry)

    def post_as_user(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> str:
        """Put a person's message in a channel or thread (the driver then sends the event)."""
        with self._lock:
            if thread_ts and (channel, thread_ts) not in self._messages:
                raise KeyError(thread_ts)
            ts = self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "user": user,
                "text": text,
                "blocks": [],
                "edits": 0,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
                message["reply_broadcast"] = False
            self._messages[(channel, ts)] = message
            self._message_order.append((channel, ts))
        self._notify("user_message", {"message": dict(message)})
        return ts

    def apply_view_response(self, view_id: str, response: Mapping[str, Any]) -> None:
        """Apply a view_submission answer as the Slack client does (update, push, clear, close)."""
        action = response.get("response_action")
        with self._lock:
            current = self._views.get(view_id)
            if current is None:
                raise KeyError(view_id)
            if action == "update":
                self._check_view(response["view"])
                self._replace_view(current, response["view"])
                self._notify("views.update", {"view": self._render_view(current)})
            elif action == "push":
                self._check_view(response["view"])
                pushed = self._new_view(current.user, response["view"], previous=current)
                self._notify("views.push", {"view": self._render_view(pushed)})
            elif action == "clear":
                for item in self._views.values():
                    if item.root_view_id == current.root_view_id:
                        item.closed = True
            elif action == "errors":
                pass
            else:
                current.closed = True

    def answer_expected(self, view_id: str) -> None:
        """A submission of ``view_id`` is on its way to the bot (called by the driver).

        Slack applies the bot's answer to a submission (``response_action``) as it arrives,
        before it handles a later ``views.update`` of the same view; until the driver has
        applied the answer, such an update waits (at most 3 s).
        """
        with self._lock:
            self._answering[view_id] = threading.Event()

    def answer_applied(self, view_id: str) -> None:
        with self._lock:
            event = self._answering.pop(view_id, None)
        if event is not None:
            event.set()

    def close_view(self, view_id: str) -> None:
        with self._lock:
            if view_id in self._views:
                self._views[view_id].closed = True

    # ------------------------------------------------------------------ request handling

    def handle_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one Web API call: (HTTP status, JSON body, extra headers)."""
        if self.latency:
            time.sleep(self.latency)
        public_args = {k: v for k, v in args.items() if k != "token"}
        headers: dict[str, str] = {}
        with self._lock:
            fault = self._faults.get(method, [])
            injected = fault.pop(0) if fault else None
        if injected and injected[0] == "ratelimit":
            status, body = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(injected[1])
        elif token != self.bot_token:
            status, body = (
                200,
                {"ok": False, "error": "not_authed" if not token else "invalid_auth"},
            )
        elif injected:
            status, body = 200, {"ok": False, "error": injected[1]}
        else:
            handler = _METHODS.get(method)
            if handler is None:
                status, body = 200, {"ok": False, "error": "unknown_method"}
            else:
                try:
                    status, body = 200, {"ok": True, **handler(self, public_args)}
                except _SlackError as exc:
                    status, body = 200, {"ok": False, "error": exc.error, **exc.extra}
        with self._lock:
            self._calls.append(SlackApiCall(method, public_args, status, body, time.time()))
        if body.get("ok"):
            self._notify(method, body)
        return status, body, headers

    def handle_response_url(self, token: str, payload: dict[str, Any]) -> tuple[int, str]:
        """A POST to a ``response_url``: an ephemeral reply by default, in-channel on request."""
        with self._lock:
            target = self._response_urls.get(token)
        if target is None:
            return 404, "no_such_response_url"
        channel, user = target
        text = str(payload.get("text", ""))
        blocks = payload.get("blocks") or []
        if payload.get("response_type") == "in_channel":
            self._post(channel, text=text, blocks=blocks, thread_ts=None, broadcast=False)
        else:
            self.record_ephemeral(
                channel=channel, user=user, text=text, blocks=blocks, source="response_url"
            )
        with self._lock:
            self._calls.append(
                SlackApiCall("response_url", dict(payload), 200, {"ok": True}, time.time())
            )
        return 200, "ok"

    def response_url(self, channel: str, user: str) -> str:
        """A ``response_url`` for an interaction by ``user`` in ``channel``."""
        token = secrets.token_hex(12)
        with self._lock:
            self._response_urls[token] = (channel, user)
        return f"{self.base_url.removesuffix('api/')}response/{token}"

    # ------------------------------------------------------------------ internals

    def _notify(self, method: str, body: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(method, body)

    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._ts_counter):06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08X}"

    def _post(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[Any],
        thread_ts: str | None,
        broadcast: bool,
    ) -> dict[str, Any]:
        with self._lock:
            if thread_ts and (channel, thread_ts) not in self._messages:
                raise _SlackError("thread_not_found")
            ts = self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "text": text,
                "blocks": blocks,
                "edits": 0,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
                message["reply_broadcast"] = broadcast
            self._messages[(channel, ts)] = message
            self._message_order.append((channel, ts))
            return json.loads(json.dumps(message))

    def _check_message(self, args: Mapping[str, Any]) -> tuple[str, list[Any]]:
        text = args.get("text") or ""
        blocks = args.get("blocks") or []
        if not isinstance(blocks, list):
            raise _SlackError("invalid_blocks_format")
        if not text and not blocks:
            raise _SlackError("no_text")
        if len(text) > _MESSAGE_TEXT_MAX:
            raise _SlackError("msg_too_long")
        if len(blocks) > _MESSAGE_BLOCKS_MAX:
            raise _SlackError("invalid_blocks", errors=["must be less than 51 items"])
        _check_blocks(blocks)
        return text, blocks

    def _check_view(self, view: Any) -> None:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise _SlackError("invalid_arguments", response_metadata={"messages": ["bad view"]})
        for key in ("title", "submit", "close"):
            text = (view.get(key) or {}).get("text", "")
            if len(text) > _MODAL_TEXT_MAX:
                raise _SlackError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] {key} must be at most 24 chars"]},
                )
        blocks = view.get("blocks") or []
        if len(blocks) > _MODAL_BLOCKS_MAX:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["too many blocks"]}
            )
        if len(view.get("private_metadata") or "") > _METADATA_MAX:
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["private_metadata must be at most 3000 chars"]},
            )
        has_input = any(b.get("type") == "input" for b in blocks if isinstance(b, dict))
        if has_input and not view.get("submit"):
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["a view with input blocks needs a submit button"]},
            )
        _check_blocks(blocks)

    def _new_view(self, user: str, view: dict[str, Any], previous: _View | None) -> _View:
        view_id = self._new_id("V")
        item = _View(
            id=view_id,
            user=user,
            view=json.loads(json.dumps(view)),
            hash=self._hash(),
            root_view_id=previous.root_view_id if previous else view_id,
            previous_view_id=previous.id if previous else None,
        )
        item.history.append(item.view)
        self._views[view_id] = item
        self._view_order.append(view_id)
        return item

    def _replace_view(self, item: _View, view: dict[str, Any]) -> None:
        item.view = json.loads(json.dumps(view))
        item.hash = self._hash()
        item.history.append(item.view)
        self._view_order.remove(item.id)
        self._view_order.append(item.id)

    def _hash(self) -> str:
        return f"{time.time():.6f}.{secrets.token_hex(4)}"

    def _render_view(self, item: _View) -> dict[str, Any]:
        rendered = json.loads(json.dumps(item.view))
        rendered.update(
            {
                "id": item.id,
                "team_id": self.team_id,
                "hash": item.hash,
                "root_view_id": item.root_view_id,
                "previous_view_id": item.previous_view_id,
                "bot_id": self.bot_id,
                "state": {"values": {}},
            }
        )
        rendered.setdefault("private_metadata", "")
        rendered.setdefault("callback_id", "")
        return rendered

    def _use_trigger(self, trigger_id: Any) -> str:
        if not trigger_id:
            raise _SlackError("invalid_arguments")
        with self._lock:
            found = self._triggers.get(str(trigger_id))
            if found is None:
                raise _SlackError("invalid_trigger_id")
            issued, user, used = found
            if used or time.monotonic() - issued > self.trigger_ttl:
                raise _SlackError("expired_trigger_id")
            self._triggers[str(trigger_id)] = (issued, user, True)
            return user

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://sandbox.slack.com/",
            "team": "Sandbox",
            "user": "rancher-exoscale-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel")
        text, blocks = self._check_message(args)
        message = self._post(
            channel,
            text=text,
            blocks=blocks,
            thread_ts=args.get("thread_ts") or None,
            broadcast=_truthy(args.get("reply_broadcast")),
        )
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel")
        ts = _require(args, "ts")
        with self._lock:
            message = self._messages.get((channel, ts))
            if message is None:
                raise _SlackError("message_not_found")
            if message.get("user") != self.bot_user_id:
                raise _SlackError("cant_update_message")
            text, blocks = self._check_message(
                {"text": args.get("text") or message["text"], "blocks": args.get("blocks")}
            )
            message["text"] = text
            if "blocks" in args:
                message["blocks"] = blocks
            message["edits"] += 1
            updated = json.loads(json.dumps(message))
        return {"channel": channel, "ts": ts, "text": text, "message": updated}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel")
        user = _require(args, "user")
        text, blocks = self._check_message(args)
        with self._lock:
            if user not in self._users:
                raise _SlackError("user_not_in_channel")
        self.record_ephemeral(
            channel=channel, user=user, text=text, blocks=blocks, source="chat.postEphemeral"
        )
        return {"message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        self._check_view(view)
        user = self._use_trigger(args.get("trigger_id"))
        with self._lock:
            item = self._new_view(user, view, previous=None)
            return {"view": self._render_view(item)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        self._check_view(view)
        user = self._use_trigger(args.get("trigger_id"))
        with self._lock:
            top = next(
                (
                    self._views[v]
                    for v in reversed(self._view_order)
                    if self._views[v].user == user and not self._views[v].closed
                ),
                None,
            )
            if top is None:
                raise _SlackError("not_found")
            item = self._new_view(user, view, previous=top)
            return {"view": self._render_view(item)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        self._check_view(view)
        with self._lock:
            answering = self._answering.get(str(args.get("view_id")))
        if answering is not None:
            answering.wait(3.0)
        with self._lock:
            item = None
            if args.get("view_id"):
                item = self._views.get(str(args["view_id"]))
            elif args.get("external_id"):
                item = next(
                    (
                        v
                        for v in self._views.values()
                        if v.view.get("external_id") == args["external_id"]
                    ),
                    None,
                )
            else:
                raise _SlackError("invalid_arguments")
            if item is None:
                raise _SlackError("not_found")
            if item.closed:
                raise _SlackError("not_found")
            if args.get("hash") and args["hash"] != item.hash:
                raise _SlackError("hash_conflict")
            self._replace_view(item, view)
            return {"view": self._render_view(item)}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group_id = _require(args, "usergroup")
        with self._lock:
            group = self._usergroups.get(group_id)
            if group is None:
                raise _SlackError("no_such_subteam")
            return {"users": list(group["users"])}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = _require(args, "user")
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                raise _SlackError("user_not_found")
            return {"user": dict(user)}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = _require(args, "channel")
        with self._lock:
            channel = self._channels.get(channel_id)
            if channel is None:
                raise _SlackError("channel_not_found")
            return {"channel": dict(channel)}


_METHODS: dict[str, Callable[[SlackSandbox, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackSandbox._auth_test,
    "chat.postMessage": SlackSandbox._chat_post_message,
    "chat.update": SlackSandbox._chat_update,
    "chat.postEphemeral": SlackSandbox._chat_post_ephemeral,
    "views.open": SlackSandbox._views_open,
    "views.push": SlackSandbox._views_push,
    "views.update": SlackSandbox._views_update,
    "usergroups.users.list": SlackSandbox._usergroups_users_list,
    "users.info": SlackSandbox._users_info,
    "conversations.info": SlackSandbox._conversations_info,
}


def _require(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if not value or not isinstance(value, str):
        raise _SlackError("invalid_arguments" if name != "channel" else "channel_not_found")
    return value


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _check_blocks(blocks: list[Any]) -> None:
    """The block checks Slack answers ``invalid_blocks`` for that matter to this bot."""
    seen: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _SlackError("invalid_blocks", errors=["every block needs a type"])
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise _SlackError("invalid_blocks", errors=[f"duplicate block_id {block_id}"])
            seen.add(block_id)
        text = block.get("text")
        if isinstance(text, dict) and len(text.get("text", "")) > _SECTION_TEXT_MAX:
            raise _SlackError("invalid_blocks", errors=["section text longer than 3000"])
        if len(block.get("fields") or []) > _SECTION_FIELDS_MAX:
            raise _SlackError("invalid_blocks", errors=["more than 10 fields"])


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8")
    if content_type.startswith("application/json"):
        parsed = json.loads(text) if text else {}
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    args: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for name in _JSON_FIELDS:
        if isinstance(args.get(name), str) and args[name]:
            args[name] = json.loads(args[name])
    return args


def _handler_for(sandbox: SlackSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # Quiet: the recorded calls are the log.
            return

        def do_GET(self) -> None:  # noqa: N802
            self.do_POST()

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type") or ""
            if path.startswith("/response/"):
                try:
                    payload = json.loads(raw.decode("utf-8") or "{}")
                except ValueError:
                    self._send(400, b"invalid_payload", "text/plain")
                    return
                status, text = sandbox.handle_response_url(path.rsplit("/", 1)[-1], payload)
                self._send(status, text.encode(), "text/plain")
                return
            if not path.startswith("/api/"):
                self._send(404, b"not found", "text/plain")
                return
            method = path[len("/api/") :]
            try:
                args = _parse_body(content_type, raw)
            except (ValueError, UnicodeDecodeError):
                self._send_json(200, {"ok": False, "error": "invalid_json"}, {})
                return
            query = dict(parse_qsl(urlsplit(self.path).query))
            args = {**query, **args}
            auth = self.headers.get("Authorization") or ""
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else args.get("token")
            status, body, headers = sandbox.handle_api(method, args, token)
            self._send_json(status, body, headers)

        def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self._send(status, data, "application/json; charset=utf-8", headers)

        def _send(
            self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
