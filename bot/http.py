"""The HTTP side: a WSGI edge in front of Bolt, served by waitress.

    edge = SlackEdge(app, signing_secret)            # POST /slack/events only
    server = HttpServer(edge, host="0.0.0.0", port=3000, threads=16)
    server.start()                                   # in a thread; server.url, server.stop()

The edge answers what Bolt would answer badly: a wrong or stale signature gets 401 before Bolt
reads anything (so the body is never logged), an oversized body 413, and a signed body that is
not a Slack payload of a known shape 400, never a 500 from a listener tripping over it. What
passes goes to Bolt, which verifies the signature again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are a few kB; views with every field filled stay far below this.
MAX_BODY = 1 << 20

_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "block_suggestion")
_EVENT_ENVELOPES = ("event_callback", "url_verification", "app_rate_limited")
# Fields Bolt reads from every payload to find team, user and channel: an object or text.
_CONTEXT_FIELDS = ("team", "user", "channel", "enterprise", "container", "view", "message")


def payload_problem(body: str, content_type: str) -> str | None:
    """Why a (signed) request body is not a Slack payload this bot can read, or None."""
    try:
        if content_type.startswith("application/json") or body.startswith("{"):
            payload = json.loads(body)
            if not isinstance(payload, dict):
                return "the JSON body is not an object"
            return _envelope_problem(payload)
        form = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" in form:
            payload = json.loads(form["payload"])
            if not isinstance(payload, dict):
                return "payload is not an object"
            return _interaction_problem(payload)
        if "ssl_check" in form:
            return None
        return _command_problem(form)
    except (ValueError, UnicodeDecodeError):
        return "the body is not valid JSON or form data"


def _context_problem(payload: Mapping[str, Any]) -> str | None:
    for name in _CONTEXT_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, dict | str):
            return f"{name} must be an object"
    if "type" in payload and not isinstance(payload["type"], str):
        return "type must be text"
    return None


def _envelope_problem(payload: Mapping[str, Any]) -> str | None:
    kind = payload.get("type")
    if kind not in _EVENT_ENVELOPES:
        return f"unknown event envelope type {str(kind)[:40]!r}"
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event must be an object with a type"
        for name in ("channel", "user", "text", "ts", "thread_ts", "subtype", "bot_id"):
            if name in event and event[name] is not None and not isinstance(event[name], str):
                return f"event.{name} must be text"
        return _context_problem(payload) or _context_problem(event)
    if kind == "url_verification" and not isinstance(payload.get("challenge"), str):
        return "challenge must be text"
    return None


def _interaction_problem(payload: Mapping[str, Any]) -> str | None:
    kind = payload.get("type")
    if kind not in _INTERACTIONS:
        return f"unknown interaction type {str(kind)[:40]!r}"
    problem = _context_problem(payload)
    if problem:
        return problem
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "user.id is missing"
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "actions must be a non-empty list"
        for action in actions:
            if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
                return "every action needs an action_id"
            if not isinstance(action.get("block_id", ""), str):
                return "block_id must be text"
    if kind in ("view_submission", "view_closed") or "view" in payload:
        view = payload.get("view")
        if kind in ("view_submission", "view_closed") and not isinstance(view, dict):
            return "view must be an object"
        if isinstance(view, dict):
            for name in ("id", "callback_id", "private_metadata", "hash"):
                if name in view and not isinstance(view[name], str):
                    return f"view.{name} must be text"
            state = view.get("state", {})
            if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
                return "view.state.values must be an object"
    return None


def _command_problem(form: Mapping[str, str]) -> str | None:
    for name in ("command", "user_id", "channel_id"):
        if not form.get(name):
            return f"{name} is missing"
    if not form["command"].startswith("/"):
        return "command must start with /"
    return None


class Answers:
    """Lets the wizard run work only once its answer to a view submission is on its way.

    A view_submission answered with ``response_action="update"`` must reach Slack before the
    listener's own ``views.update`` of that view does, or Slack applies them in the wrong order
    and the modal is left on the "looking up…" view::

        ack(response_action="update", view=loading)
        answers.after(view_id, lambda: client.views_update(view_id=view_id, view=full))

    The HTTP edge (and the Socket Mode handler) ``track`` each submission before Bolt sees it
    and mark it sent once the answer has been written.
    """

    def __init__(self, *, wait: float = 3.0) -> None:
        self.wait = wait
        self._pending: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def track(self, view_id: str) -> Callable[[], None]:
        """Note a submission of ``view_id`` being answered; call the result once it is sent."""
        event = threading.Event()
        with self._lock:
            self._pending[view_id] = event

        def sent() -> None:
            with self._lock:
                if self._pending.get(view_id) is event:
                    del self._pending[view_id]
            event.set()

        return sent

    def after(self, view_id: str, work: Callable[[], None]) -> None:
        """Run ``work`` in a thread once the answer about ``view_id`` is sent (at once if it is)."""
        with self._lock:
            event = self._pending.get(view_id)

        def run() -> None:
            if event is not None:
                event.wait(self.wait)
            try:
                work()
            except Exception:
                log.exception("work after answering a view submission failed")

        threading.Thread(target=run, name="after-answer", daemon=True).start()


def submitted_view_id(payload: Mapping[str, Any]) -> str | None:
    """The view id of a view_submission payload, else None."""
    if payload.get("type") != "view_submission":
        return None
    view = payload.get("view")
    view_id = view.get("id") if isinstance(view, dict) else None
    return view_id if isinstance(view_id, str) and view_id else None


def _interaction(body: str) -> dict[str, Any]:
    """The JSON payload of a form-encoded interaction request ({} for anything else)."""
    form = dict(parse_qsl(body, keep_blank_values=True))
    try:
        payload = json.loads(form.get("payload", "{}"))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


class _SentWhenClosed:
    """The WSGI body; the server calls ``close`` once it has written it all."""

    def __init__(self, body: Iterable[bytes], sent: Callable[[], None]) -> None:
        self._body = body
        self._sent = sent

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        closer = getattr(self._body, "close", None)
        try:
            if closer is not None:
                closer()
        finally:
            self._sent()


class SlackEdge:
    """WSGI app: only POST /slack/events, signed and well formed, reaches Bolt."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        *,
        answers: Answers | None = None,
        path: str = EVENTS_PATH,
        max_body: int = MAX_BODY,
    ) -> None:
        self.path = path
        self.max_body = max_body
        self.answers = answers or Answers()
        self._verifier = SignatureVerifier(signing_secret)
        self._bolt = SlackRequestHandler(app, path=path)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path:
            return _plain(start_response, 404, "Not Found")
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(start_response, 405, "Method Not Allowed", [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(start_response, 400, "Bad Request")
        if length > self.max_body:
            return _plain(start_response, 413, "Payload Too Large")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _plain(start_response, 400, "Bad Request")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not self._signed(body, timestamp, signature):
            log.info("refused a request with a bad or stale signature")
            return _plain(start_response, 401, "Unauthorized")
        problem = payload_problem(body, environ.get("CONTENT_TYPE") or "")
        if problem:
            log.warning("refused a malformed request: %s", problem)
            return _plain(start_response, 400, "Bad Request")
        # Bolt reads the body again from wsgi.input.
        environ["wsgi.input"] = _Replay(raw)
        view_id = submitted_view_id(_interaction(body)) if "payload=" in body else None
        if view_id is None:
            return self._bolt(environ, start_response)
        sent = self.answers.track(view_id)
        try:
            return _SentWhenClosed(self._bolt(environ, start_response), sent)
        except BaseException:
            sent()
            raise

    def _signed(self, body: str, timestamp: str, signature: str) -> bool:
        # The verifier raises on a timestamp that is not a number; that is a bad signature too.
        if not timestamp.isascii() or not timestamp.isdigit() or not signature:
            return False
        return self._verifier.is_valid(body, timestamp, signature)


class _Replay:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._offset + size
        chunk = self._data[self._offset : end]
        self._offset += len(chunk)
        return chunk


def _plain(
    start_response: Callable[..., Any],
    status: int,
    text: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = text.encode()
    start_response(
        f"{status} {text}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
        + (headers or []),
    )
    return [data]


class HttpServer:
    """A waitress server for a WSGI app, run in a thread (``start``) or in the caller (``run``)."""

    def __init__(self, wsgi: Callable[..., Any], *, host: str, port: int, threads: int) -> None:
        self._server = waitress.create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="rancher-exoscale-bot",
            # Requests come from Slack straight or via a proxy; never trust forwarded headers.
            clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def url(self) -> str:
        """The Slack request URL of this server (``http://host:port/slack/events``)."""
        return f"http://{self.host}:{self.port}{EVENTS_PATH}"

    def run(self) -> None:
        """Serve until ``stop`` is called (from another thread or a signal handler)."""
        self._running = True
        try:
            self._server.run()
        finally:
            self._running = False

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self.run, name="http-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket and every connection, then let the workers finish."""
        server = self._server

        def close_everything() -> None:
            # Runs in the server's loop, so no socket is closed under a select() using it;
            # with every channel closed the loop has nothing left and returns.
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            server.close()

        try:
            if self._running:
                server.trigger.pull_trigger(close_everything)
            else:
                close_everything()
        except OSError:
            # The loop ended between the check and the pull and closed its trigger already.
            pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        server.task_dispatcher.shutdown(timeout=5)
