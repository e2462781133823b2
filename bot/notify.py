"""Tells Slack what happens to a launch: the request message, its progress, host notices.

    notifier = SlackNotifier(client, store, approvers="<@U2>", ttl_hours=24)
    notifier.post_request(launch)         # the request in the channel, Approve / Deny
    notifier.start_progress(launch)       # the one progress message in its thread
    notifier.deliver(event, launch, hosts)   # provisioning.events.Notifier, from the watcher

``deliver`` keeps one progress message per launch (posted once, then ``chat.update``), announces
each ready host in the thread and in the channel (``reply_broadcast``), and gives an unhealthy,
timed-out or failed host its diagnosis. A Slack error propagates, so the watcher keeps the
event and delivers it again on its next tick; unchanged messages are not updated twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from provisioning import events
from storage import Event, Host, LaunchRequest, Store, utcnow

log = logging.getLogger(__name__)


class SlackNotifier:
    """The provisioning Notifier for Slack, and the owner of every request/progress message."""

    def __init__(
        self, client: WebClient, store: Store, *, approvers: str, ttl_hours: float
    ) -> None:
        self.client = client
        self.store = store
        self.approvers = approvers
        self.ttl_hours = ttl_hours
        self.started_at: datetime = utcnow()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        # What each message last showed, so a redelivered or same-tick event costs no update.
        self._shown: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ the request message

    def post_request(self, launch: LaunchRequest) -> LaunchRequest:
        """Post the request in its channel and remember where; raises SlackApiError."""
        text, blocks = self._request_view(launch, [])
        answer = self.client.chat_postMessage(channel=launch.channel, text=text, blocks=blocks)
        self.store.launches.set_message(
            launch.id, channel=answer["channel"], message_ts=answer["ts"]
        )
        self._shown[(launch.id, "request")] = _fingerprint(text, blocks)
        fresh = self.store.launches.get(launch.id)
        assert fresh is not None
        return fresh

    def refresh_request(self, launch_id: str) -> None:
        """Redraw the request message in place after a state change (buttons go when decided)."""
        with self._lock(launch_id):
            launch = self.store.launches.get(launch_id)
            if launch is None or not launch.message_ts:
                return
            self._refresh_request(launch, self._hosts_of(launch))

    def _refresh_request(self, launch: LaunchRequest, hosts: Sequence[Host]) -> None:
        text, blocks = self._request_view(launch, hosts)
        key = (launch.id, "request")
        shown = _fingerprint(text, blocks)
        if self._shown.get(key) == shown:
            return
        self.client.chat_update(
            channel=launch.channel, ts=launch.message_ts, text=text, blocks=blocks
        )
        self._shown[key] = shown

    def _request_view(self, launch: LaunchRequest, hosts: Sequence[Host]) -> tuple[str, list]:
        return views.request_message(
            launch, hosts, approvers=self.approvers, ttl_hours=self.ttl_hours
        )

    def refresh_finished(self) -> None:
        """Redraw requests that finished since start without an event saying so (housekeeping)."""
        for launch in self.store.launches.recent(limit=50):
            if launch.state in ("done", "failed") and launch.updated_at >= self.started_at:
                # Costs no Slack call when the message already shows this state.
                self.refresh_request(launch.id)

    # ------------------------------------------------------------------ the thread

    def reply(self, launch: LaunchRequest, text: str, *, broadcast: bool = False) -> None:
        """A message in the request's thread (also shown in the channel when ``broadcast``)."""
        if not launch.message_ts:
            log.warning("launch %s has no request message to reply to", launch.id)
            return
        self.client.chat_postMessage(
            channel=launch.channel,
            thread_ts=launch.message_ts,
            text=text,
            reply_broadcast=broadcast or None,
        )

    def start_progress(self, launch_id: str) -> None:
        """Post the progress message in the thread unless there is one already."""
        with self._lock(launch_id):
            launch = self.store.launches.get(launch_id)
            if launch is None or launch.kind != "add" or not launch.message_ts:
                return
            self._progress(launch, self.store.hosts.for_launch(launch.id))

    def _progress(self, launch: LaunchRequest, hosts: Sequence[Host]) -> None:
        text, blocks = views.progress_message(launch, hosts)
        key = (launch.id, "progress")
        shown = _fingerprint(text, blocks)
        if launch.progress_ts is None:
            answer = self.client.chat_postMessage(
                channel=launch.channel, thread_ts=launch.message_ts, text=text, blocks=blocks
            )
            self.store.launches.set_progress_ts(launch.id, answer["ts"])
        elif self._shown.get(key) != shown:
            try:
                self.client.chat_update(
                    channel=launch.channel, ts=launch.progress_ts, text=text, blocks=blocks
                )
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    raise
                # Someone deleted the progress message: start a new one rather than go silent.
                answer = self.client.chat_postMessage(
                    channel=launch.channel, thread_ts=launch.message_ts, text=text, blocks=blocks
                )
                self.store.launches.set_progress_ts(launch.id, answer["ts"])
        self._shown[key] = shown

    # ------------------------------------------------------------------ provisioning events

    def deliver(self, event: Event, launch: LaunchRequest, hosts: list[Host]) -> None:
        """Show one host event: progress, the ready notice or the diagnosis, the request state."""
        with self._lock(launch.id):
            launch = self.store.launches.get(launch.id) or launch
            name = str(event.detail.get("host") or "a host")
            if launch.kind == "remove":
                if event.kind == events.REMOVED:
                    self.reply(
                        launch,
                        f":wastebasket: `{views.escape(name)}` is removed: its Exoscale instance "
                        "is deleted and its Rancher host is gone.",
                    )
                self._refresh_if_posted(launch)
                return
            self._progress(launch, hosts)
            if event.kind == events.READY:
                ip = event.detail.get("ip")
                where = f" at {ip}" if ip else ""
                self.reply(
                    launch,
                    f":white_check_mark: Host `{views.escape(name)}` is ready in Rancher{where} "
                    f"(launch `{launch.id}`).",
                    broadcast=True,
                )
            elif event.kind in (events.UNHEALTHY, events.TIMED_OUT, events.FAILED):
                what = {
                    events.UNHEALTHY: "is unhealthy",
                    events.TIMED_OUT: "did not become ready in time",
                    events.FAILED: "failed",
                }[event.kind]
                diagnosis = str(event.detail.get("diagnosis") or "no diagnosis was possible")
                self.reply(
                    launch,
                    f":warning: Host `{views.escape(name)}` {what}: {views.escape(diagnosis)}",
                )
            self._refresh_if_posted(launch, hosts)

    def _refresh_if_posted(
        self, launch: LaunchRequest, hosts: Sequence[Host] | None = None
    ) -> None:
        if not launch.message_ts:
            return
        try:
            self._refresh_request(launch, hosts if hosts is not None else self._hosts_of(launch))
        except SlackApiError as exc:
            # Not raised: the event's notices are out, and a retry would post them twice.
            # Housekeeping redraws the request once its launch has finished.
            log.warning("request %s not redrawn: %s", launch.id, exc.response.get("error"))

    # ------------------------------------------------------------------ helpers

    def _hosts_of(self, launch: LaunchRequest) -> list[Host]:
        return self.store.hosts.for_launch(launch.id) if launch.kind == "add" else []

    def _lock(self, launch_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(launch_id, threading.Lock())


def _fingerprint(text: str, blocks: Any) -> str:
    # A digest, not the message: one is kept per request and progress message.
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()
