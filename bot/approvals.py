"""Who may approve a launch request, and what approving, denying and expiring do.

    approvers = Approvers(users=("U2",), groups=("S1",), client=client)
    desk = RequestDesk(store=store, provisioner=provisioner, notifier=notifier,
                       approvers=approvers, settings=settings)
    desk.approve("3fa9c2d1", user="U2", via="button")

Approval needs a second person: an approver (a user listed in BOT_APPROVERS or a member of a
user group listed there) who is not the requester, unless BOT_ALLOW_SELF_APPROVAL. Refusals
are told to that person only (``chat.postEphemeral``) and written to the audit log. The state
change itself is a conditional update in the database, so of two approvers clicking at once
exactly one launches; the other is told who was first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from bot.notify import SlackNotifier
from bot.settings import Settings
from commands.parse import COMMAND
from provisioning.launch import Provisioner
from storage import LaunchRequest, Store, utcnow

log = logging.getLogger(__name__)


class Approvers:
    """Decides whether a user may approve: listed directly, or a member of a listed user group."""

    def __init__(
        self,
        *,
        users: tuple[str, ...],
        groups: tuple[str, ...],
        client: WebClient,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = users
        self.groups = groups
        self.client = client
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def mentions(self) -> str:
        """The approvers as Slack mentions, for messages."""
        return ", ".join(views.mention(a) for a in (*self.users, *self.groups))

    def may_approve(self, user: str) -> bool:
        if user in self.users:
            return True
        return any(user in self._group_members(group) for group in self.groups)

    def _group_members(self, group: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            cached = self._members.get(group)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            answer = self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            # Without the list nobody from that group can approve; say why in the log.
            log.warning("cannot read user group %s: %s", group, exc.response.get("error"))
            return cached[1] if cached else frozenset()
        members = frozenset(answer.get("users") or [])
        with self._lock:
            self._members[group] = (now, members)
        return members


class RequestDesk:
    """Posts requests and carries out approve, deny, expire and remove-requests."""

    def __init__(
        self,
        *,
        store: Store,
        client: WebClient,
        provisioner: Provisioner,
        notifier: SlackNotifier,
        approvers: Approvers,
        settings: Settings,
    ) -> None:
        self.store = store
        self.client = client
        self.provisioner = provisioner
        self.notifier = notifier
        self.approvers = approvers
        self.settings = settings

    # ------------------------------------------------------------------ posting

    def post_request(self, launch: LaunchRequest) -> None:
        """Post a new request in its channel; if Slack refuses, fail it and tell the requester."""
        try:
            self.notifier.post_request(launch)
        except SlackApiError as exc:
            error = exc.response.get("error", "error")
            reason = f"the request could not be posted in the channel ({error})"
            self.store.launches.transition(
                launch.id, from_states=("pending",), to="failed", reason=reason
            )
            self.store.audit.record(
                actor="bot",
                action="launch.post_failed",
                launch_id=launch.id,
                detail={"error": error},
            )
            hint = (
                " Invite me to the channel with `/invite` and try again."
                if error
                in (
                    "not_in_channel",
                    "channel_not_found",
                )
                else ""
            )
            self.tell(
                launch.channel,
                launch.requester,
                f"I could not post launch request `{launch.id}` here: Slack said `{error}`.{hint}",
            )

    def tell(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> None:
        """Say something to one person only (ephemeral); a failure is logged, not raised."""
        try:
            self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.warning("could not tell %s in %s: %s", user, channel, exc.response.get("error"))

    # ------------------------------------------------------------------ deciding

    def refusal(self, launch: LaunchRequest, user: str, *, deny: bool = False) -> str | None:
        """Why ``user`` may not decide on ``launch`` now, or None when they may."""
        if launch.state != "pending":
            return _decided(launch)
        if launch.expires_at <= utcnow():
            return f"Request `{launch.id}` has expired; run `{COMMAND} {launch.kind}` again."
        if deny and user == launch.requester:
            # Withdrawing one's own request is always allowed.
            return None
        if user == launch.requester and not self.settings.allow_self_approval:
            return (
                f"You asked for request `{launch.id}`, so someone else has to approve it "
                f"({self._who()})."
            )
        if not self.approvers.may_approve(user):
            verb = "deny" if deny else "approve"
            return f"Only approvers can {verb} launch requests: {self._who()}."
        return None

    def approve(self, launch_id: str, user: str, *, via: str, thread_ts: str | None = None) -> None:
        """Approve and launch, or tell ``user`` alone why not; two clicks make one launch."""
        launch = self.store.launches.get(launch_id)
        if launch is None:
            log.warning("approval for unknown launch %s", launch_id)
            return
        self._expire_if_due(launch)
        launch = self.store.launches.get(launch_id) or launch
        refusal = self.refusal(launch, user)
        if refusal is None:
            if self.store.launches.transition(
                launch.id, from_states=("pending",), to="approved", approver=user
            ):
                self.store.audit.record(
                    actor=user, action="launch.approve", launch_id=launch.id, detail={"via": via}
                )
                # The work starts first: a Slack hiccup must not hold back an approved launch.
                if launch.kind == "remove":
                    self.provisioner.remove(launch.id)
                else:
                    self.provisioner.launch(launch.id)
                self._show(self.notifier.refresh_request, launch.id)
                if launch.kind == "add":
                    self._show(self.notifier.start_progress, launch.id)
                return
            refusal = _decided(self.store.launches.get(launch.id) or launch)
        self._refuse(launch, user, refusal, action="approve", via=via, thread_ts=thread_ts)

    def deny(self, launch_id: str, user: str, reason: str) -> str | None:
        """Deny with a reason; returns why not (for the modal) or None when it is denied."""
        launch = self.store.launches.get(launch_id)
        if launch is None:
            return "This request does not exist any more."
        self._expire_if_due(launch)
        launch = self.store.launches.get(launch_id) or launch
        refusal = self.refusal(launch, user, deny=True)
        if refusal is None:
            if self.store.launches.transition(
                launch.id, from_states=("pending",), to="denied", approver=user, reason=reason
            ):
                self.store.audit.record(
                    actor=user, action="launch.deny", launch_id=launch.id, detail={"reason": reason}
                )
                self._show(self.notifier.refresh_request, launch.id)
                self._show(
                    self.notifier.reply,
                    launch,
                    f":no_entry_sign: {views.mention(user)} denied this request: "
                    f"{views.escape(reason)}",
                )
                return None
            refusal = _decided(self.store.launches.get(launch.id) or launch)
        self._audit_refusal(launch, user, refusal, action="deny", via="modal")
        return refusal

    def refuse_deny(self, launch: LaunchRequest, user: str) -> str | None:
        """Before opening the reason modal: tell a user who may not deny, and return the refusal."""
        refusal = self.refusal(launch, user, deny=True)
        if refusal is not None:
            self._refuse(launch, user, refusal, action="deny", via="button", thread_ts=None)
        return refusal

    def _refuse(
        self,
        launch: LaunchRequest,
        user: str,
        refusal: str,
        *,
        action: str,
        via: str,
        thread_ts: str | None,
    ) -> None:
        self._audit_refusal(launch, user, refusal, action=action, via=via)
        self.tell(launch.channel, user, refusal, thread_ts=thread_ts)

    def _audit_refusal(
        self, launch: LaunchRequest, user: str, refusal: str, *, action: str, via: str
    ) -> None:
        self.store.audit.record(
            actor=user,
            action=f"{action}.refused",
            launch_id=launch.id,
            detail={"via": via, "why": refusal},
        )

    def _who(self) -> str:
        return self.approvers.mentions() or "no approvers are configured (BOT_APPROVERS)"

    # ------------------------------------------------------------------ expiry

    def expire_due(self) -> int:
        """Expire every pending request past its time; returns how many (housekeeping job)."""
        expired = 0
        for launch in self.store.launches.pending_expired(utcnow()):
            expired += self._expire(launch)
        return expired

    def _expire_if_due(self, launch: LaunchRequest) -> None:
        if launch.state == "pending" and launch.expires_at <= utcnow():
            self._expire(launch)

    def _expire(self, launch: LaunchRequest) -> int:
        if not self.store.launches.transition(launch.id, from_states=("pending",), to="expired"):
            return 0
        self.store.audit.record(actor="bot", action="launch.expire", launch_id=launch.id)
        self._show(self.notifier.refresh_request, launch.id)
        self._show(
            self.notifier.reply,
            launch,
            f":hourglass: Nobody approved this within {self.settings.request_ttl_hours:g} h, so "
            "it has expired.",
        )
        return 1

    def _show(self, update: Callable[..., None], *args: Any) -> None:
        """Tell Slack about a decision already recorded; a refusal is logged, not raised."""
        try:
            update(*args)
        except SlackApiError as exc:
            # The database holds the decision; the request message is redrawn on the next
            # event or by housekeeping.
            log.warning("Slack did not take an update: %s", exc.response.get("error"))

    # ------------------------------------------------------------------ threads

    def find_by_thread(self, channel: str, thread_ts: str) -> LaunchRequest | None:
        """The request whose message starts the thread ``thread_ts`` in ``channel``."""
        for launch in self.store.launches.in_states("pending"):
            if launch.channel == channel and launch.message_ts == thread_ts:
                return launch
        # Decided requests are looked for among the recent ones only: old threads go quiet.
        for launch in self.store.launches.recent(limit=100):
            if launch.channel == channel and launch.message_ts == thread_ts:
                return launch
        return None

    # ------------------------------------------------------------------ remove

    def request_remove(self, *, user: str, channel: str, host_name: str) -> str | None:
        """Post a remove request for a host; returns a message for the user when it cannot."""
        host = self.store.hosts.by_name(host_name)
        if host is None:
            return (
                f"No host named `{views.escape(host_name)}` was created by this bot. "
                f"`{COMMAND} list` shows the launches."
            )
        if host.state == "removed":
            return f"`{host.name}` is already removed."
        if host.state == "pending":
            return f"`{host.name}` has not been created yet; its launch is still running."
        for other in self.store.launches.in_states("pending", "approved"):
            if other.kind == "remove" and other.target_host == host.name:
                return f"Removing `{host.name}` is already requested: request `{other.id}`."
        parent = self.store.launches.get(host.launch_id)
        target = {
            "launch_id": host.launch_id,
            "instance_id": host.instance_id,
            "ip": host.ip,
            "rancher_host_id": host.rancher_host_id,
        }
        launch = self.store.launches.create(
            kind="remove",
            requester=user,
            channel=channel,
            options={"target": target},
            zone=host.zone,
            credential_id=parent.credential_id if parent else None,
            group_id=parent.group_id if parent else None,
            group_name=parent.group_name if parent else None,
            driver=parent.driver if parent else None,
            port_audit={},
            expires_at=utcnow() + self.settings.request_ttl,
            target_host=host.name,
        )
        self.store.audit.record(
            actor=user, action="remove.request", launch_id=launch.id, detail={"host": host.name}
        )
        self.post_request(launch)
        return None


def _decided(launch: LaunchRequest) -> str:
    who = f" by {views.mention(launch.approver)}" if launch.approver else ""
    words = {
        "approved": f"already approved{who}",
        "done": f"already approved{who} and done",
        "failed": f"already approved{who}; it failed",
        "denied": f"already denied{who}",
        "expired": "expired",
    }
    return f"Request `{launch.id}` is {words.get(launch.state, launch.state)}."
