"""The no-token demo: one whole story against local sandboxes, told as people see it in Slack.

    $ rancher-exoscale-bot                      # with SLACK_BOT_TOKEN unset: Rancher 1.6
    $ rancher-exoscale-bot --demo-rancher 2     # Rancher 2.x: an RKE2 custom cluster
    $ python -m bot.demo

The Slack, Exoscale and Rancher sandboxes and the real bot start on 127.0.0.1. alice adds two
hosts through the three steps (mistyping her secret once), tries to approve her own request and
is refused, bob approves in the thread, and the progress message follows both hosts until they
are ready in Rancher. Against Rancher 2.x she also picks the RKE2 cluster and the node roles in
step 2. Everything that reached the Slack sandbox is printed as a transcript.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from bot import views
from bot.sandboxed import EXOSCALE_KEY, EXOSCALE_SECRET, RKE2_CLUSTER, SandboxedBot

_EMOJI = {
    ":rocket:": "🚀",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":hourglass_flowing_sand:": "⏳",
    ":hourglass:": "⌛",
    ":warning:": "⚠️",
    ":tada:": "🎉",
    ":gear:": "⚙️",
    ":wastebasket:": "🗑",
    ":no_entry_sign:": "⛔",
    ":information_source:": "ℹ️",
    ":grey_question:": "?",
}


class Transcript:
    """Prints what each person sees, in the order Slack shows it."""

    def __init__(self, world: SandboxedBot, out: TextIO) -> None:
        self.world = world
        self.out = out
        self._lock = threading.Lock()
        self._progress: set[str] = set()
        self._requests: set[str] = set()

    # -- people ------------------------------------------------------------------------------

    def person(self, user: str, action: str) -> None:
        self._print(f"\n{self._name(user)} {action}")

    def note(self, text: str) -> None:
        self._print(f"\n── {text}")

    # -- what reached Slack --------------------------------------------------------------------

    def on_call(self, method: str, body: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            self._posted(body["message"])
        elif method == "chat.update":
            self._edited(body["message"])
        elif method == "ephemeral":
            user = self._name(body["user"])
            self._print(f"  (only {user} sees) bot: {self._text(body['text'])}")
        elif method in ("views.open", "views.update", "views.push"):
            self._view(body["view"])

    def _posted(self, message: dict[str, Any]) -> None:
        where = f"#{self.world.slack.channel_name(message['channel'])}"
        if message.get("thread_ts"):
            also = f" (also sent to {where})" if message.get("reply_broadcast") else ""
            where = f"the request's thread{also}"
        if message.get("blocks") and message["text"].startswith("Provisioning"):
            self._progress.add(message["ts"])
        elif message.get("blocks"):
            self._requests.add(message["ts"])
        body = self._blocks(message.get("blocks")) or self._text(message["text"])
        self._print(f"  bot in {where}:\n{_indent(body, 4)}")

    def _edited(self, message: dict[str, Any]) -> None:
        if message["ts"] in self._progress:
            progress = self._blocks(message["blocks"], skip_context=True)
            self._print(f"  bot updates its progress message:\n{_indent(progress, 4)}")
        else:
            state = next(
                (b for b in message.get("blocks", []) if b.get("block_id") == "state"), None
            )
            text = self._text(state["text"]["text"]) if state else self._text(message["text"])
            buttons = "" if _buttons(message.get("blocks", [])) else " (buttons removed)"
            self._print(f"  bot edits the request message{buttons}: {text}")

    def _view(self, view: dict[str, Any]) -> None:
        title = view["title"]["text"]
        submit = f" [{view['submit']['text']}]" if view.get("submit") else ""
        owner = self.world.slack.view_user(view["id"]) or "someone"
        self._print(f"  modal for {self._name(owner)} · {title}{submit}")
        for block in view.get("blocks", []):
            kind = block.get("type")
            if kind == "input":
                element = block["element"]
                label = block["label"]["text"]
                initial = element.get("initial_option") or {}
                value = (
                    initial.get("text", {}).get("text")
                    or element.get("initial_value")
                    or ("…" if element.get("options") else "")
                )
                if element.get("type") == "radio_buttons":
                    choices = " / ".join(o["text"]["text"] for o in element["options"])
                    value = f"({choices}) → {initial.get('text', {}).get('text', '')}"
                elif element.get("type") == "checkboxes" and block["block_id"] != "add_missing":
                    ticked = {o["value"] for o in element.get("initial_options") or []}
                    value = " ".join(
                        f"[{'x' if o['value'] in ticked else ' '}] {o['text']['text']}"
                        for o in element["options"]
                    )
                shown = f": {value}" if value else ""
                self._print(f"    ▸ {label}{shown}")
            elif kind == "section":
                self._print(_indent(self._text(block["text"]["text"]), 4))
            elif kind == "header":
                self._print(f"    ── {block['text']['text']}")

    # -- rendering -----------------------------------------------------------------------------

    def _blocks(self, blocks: list[dict[str, Any]] | None, *, skip_context: bool = False) -> str:
        lines: list[str] = []
        for block in blocks or []:
            kind = block.get("type")
            if kind == "section":
                if block.get("text"):
                    lines.append(self._text(block["text"]["text"]))
                if block.get("fields"):
                    fields = [self._text(f["text"]).replace("\n", ": ", 1) for f in block["fields"]]
                    lines.append(" | ".join(fields))
            elif kind == "context" and not skip_context:
                lines.append(" ".join(self._text(e.get("text", "")) for e in block["elements"]))
            elif kind == "actions":
                lines.append(" ".join(f"[{e['text']['text']}]" for e in block["elements"]))
        return "\n".join(lines)

    def _text(self, text: str) -> str:
        text = re.sub(r"<@([A-Z0-9]+)>", lambda m: "@" + self._name(m.group(1)), text)
        text = re.sub(r"<!subteam\^([A-Z0-9]+)>", r"@\1", text)
        text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
        for code, emoji in _EMOJI.items():
            text = text.replace(code, emoji)
        text = text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">")
        return text.replace("&amp;", "&")

    def _name(self, user: str) -> str:
        return self.world.slack.user_name(user)

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)


def _indent(text: str, width: int) -> str:
    return "\n".join(" " * width + line for line in text.splitlines())


def _buttons(blocks: list[dict[str, Any]]) -> bool:
    return any(b.get("type") == "actions" for b in blocks)


def _wait(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo waited {timeout:g} s for {what}")
        time.sleep(0.02)


def play(world: SandboxedBot, story: Transcript, *, timeout: float = 20.0) -> None:
    """The story: request, refused self-approval, approval in thread, both hosts ready."""
    driver, slack = world.driver, world.slack
    alice, bob, channel = world.ALICE, world.BOB, world.CHANNEL
    rancher2 = world.rancher_version == "2"
    if rancher2:
        command = "add count=2 name=edge labels=tier=edge description='edge workers'"
    else:
        command = "add count=2 name=web labels=role=web description='web tier'"

    story.note("Step 1 · credentials")
    story.person(alice, f"types in #ops:  /rancher-exoscale {command}")
    driver.slash(command, user=alice, channel=channel)
    step1 = driver.wait_for_view(user=alice, callback_id=views.STEP1, timeout=timeout)
    story.person(alice, "pastes her API key, mistypes the secret and presses [Authenticate]")
    typo = driver.submit(
        step1["id"],
        {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET[:-3] + "xyz"},
        user=alice,
    )
    for block_id, message in typo.errors.items():
        story._print(f"  beside the field {block_id!r}: {message}")
    story.person(alice, "fixes the secret and presses [Authenticate] again")
    driver.submit(
        step1["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}, user=alice
    )

    story.note("Step 2 · cluster and security group" if rancher2 else "Step 2 · security group")
    step2 = driver.wait_for_view(user=alice, callback_id=views.STEP2, timeout=timeout)
    if rancher2:
        _choose_cluster_and_roles(world, story, step2, timeout=timeout)
        story.person(alice, "keeps Standard, presses [Next]")
    else:
        story.person(alice, "keeps Standard and IPsec, presses [Next]")
    driver.submit(step2["id"], user=alice)

    story.note("Step 3 · instance options")
    step3 = driver.wait_for_view(user=alice, callback_id=views.STEP3, timeout=timeout)
    story.person(alice, "checks the prefilled options and presses [Create]")
    driver.submit(step3["id"], user=alice)
    request = _wait(lambda: slack.channel_messages(channel), timeout, "the launch request")[0]

    story.note("Approval")
    story.person(alice, "clicks [Approve] on her own request")
    driver.click(request, views.APPROVE, user=alice)
    _wait(lambda: slack.ephemerals_for(alice), timeout, "the refusal")
    story.person(bob, "replies in the request's thread:  approve")
    driver.message("approve", user=bob, channel=channel, thread_ts=request["ts"])

    story.note("Provisioning")

    def finished() -> bool:
        message = slack.message(channel, request["ts"]) or {}
        state = next((b for b in message.get("blocks", []) if b.get("block_id") == "state"), {})
        ready = [m for m in slack.thread(channel, request["ts"]) if "is ready" in m["text"]]
        return "Done" in state.get("text", {}).get("text", "") and len(ready) == 2

    _wait(finished, timeout, "both hosts to be ready")


def _choose_cluster_and_roles(
    world: SandboxedBot, story: Transcript, step2: dict[str, Any], *, timeout: float
) -> None:
    """Rancher 2.x's part of step 2: the RKE2 cluster, then the worker role alone."""
    driver, alice = world.driver, world.ALICE

    def audit(view: dict[str, Any]) -> str:
        block = next((b for b in view["blocks"] if b.get("block_id") == "audit"), None)
        return block["text"]["text"] if block else ""

    name = f"{RKE2_CLUSTER['name']} (RKE2)"
    story.person(alice, f"picks the cluster {name}")
    driver.select(step2["id"], views.CLUSTER, RKE2_CLUSTER["id"], user=alice)
    driver.wait_for_view(
        user=alice, callback_id=views.STEP2, ready=lambda v: "RKE2" in audit(v), timeout=timeout
    )
    story.person(alice, "keeps only the Worker role: these hosts run workloads")
    driver.check(step2["id"], views.ROLES, ["worker"], user=alice)
    driver.wait_for_view(
        user=alice,
        callback_id=views.STEP2,
        ready=lambda v: "RKE2 worker nodes" in audit(v),
        timeout=timeout,
    )


def run(out: TextIO | None = None, *, timeout: float = 20.0, rancher: str = "1.6") -> int:
    """Play the story against Rancher ``rancher`` ("1.6" or "2") and print it (to stdout).

    Returns 0 when both hosts became ready, 1 otherwise.
    """
    # Looked up at call time: a default bound at import would outlive a replaced sys.stdout.
    out = out or sys.stdout
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.monotonic()
    with SandboxedBot(approvers=(SandboxedBot.BOB,), rancher=rancher) as world:
        story = Transcript(world, out)
        world.slack.on_call(story.on_call)
        which = (
            f"Rancher 2.x {world.rancher_url} (API v3)"
            if rancher == "2"
            else (f"Rancher 1.6 {world.rancher_url}")
        )
        print(
            f"rancher-exoscale-bot demo · #ops in a sandbox workspace · approvers: @bob\n"
            f"(Slack API {world.slack.base_url}, Exoscale {world.exoscale_endpoint}, {which})",
            file=out,
        )
        try:
            play(world, story, timeout=timeout)
        except TimeoutError as exc:
            print(f"\nThe demo did not finish: {exc}", file=out)
            return 1
        if rancher == "2":
            nodes = sorted(
                (n for n in world.rancher.nodes if n["clusterId"] == RKE2_CLUSTER["id"]),
                key=lambda n: n["hostname"],
            )
            names = ", ".join(f"{n['hostname']} ({n['state']}, {_roles(n)})" for n in nodes)
            listing = f"Cluster {RKE2_CLUSTER['name']} (RKE2) now has the nodes: {names}."
        else:
            hosts = sorted(
                (h for h in world.rancher.hosts if not h["removed"]), key=lambda h: h["hostname"]
            )
            names = ", ".join(f"{h['hostname']} ({h['state']})" for h in hosts)
            listing = f"Rancher now lists: {names}."
    print(f"\nDone in {time.monotonic() - started:.1f} s. {listing}", file=out)
    return 0


def _roles(node: dict[str, Any]) -> str:
    flags = (("etcd", "etcd"), ("controlPlane", "control plane"), ("worker", "worker"))
    return ", ".join(name for key, name in flags if node.get(key)) or "no role"


if __name__ == "__main__":
    sys.exit(run())
