"""Whole launches into Rancher 2.x custom clusters, from the slash command to "ready" notices."""

from __future__ import annotations

import json
import re
import sqlite3

from bot.sandboxed import RANCHER_TOKEN, RKE1_CLUSTER, RKE2_CLUSTER, SandboxedBot
from commands.ports import required_ports_v2
from commands.userdata import HOST_LABEL, LAUNCH_LABEL
from tests.bot.conftest import BOB, blocks_text, current, request_launch

ROLE_FLAGS = ("etcd", "controlPlane", "worker")


def launch_id_of(request: dict) -> str:
    return re.search(r"request `([0-9a-f]{8})`", blocks_text(request["blocks"])).group(1)


def approve_and_wait(world: SandboxedBot, request: dict, ready: int) -> list[dict]:
    """Approve in the thread; return the bot's ready notices once the request says Done."""
    world.driver.message("approve", user=BOB, channel=request["channel"], thread_ts=request["ts"])

    def notices() -> list[dict] | None:
        thread = world.slack.thread(request["channel"], request["ts"])
        found = [m for m in thread if m.get("bot_id") and "is ready" in m["text"]]
        done = "*Done*" in blocks_text(current(world, request)["blocks"])
        return found if done and len(found) == ready else None

    return world.driver.wait_for(notices, timeout=20)


def stored_launch(world: SandboxedBot, launch_id: str) -> sqlite3.Row:
    with sqlite3.connect(world.database) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM launches WHERE id = ?", [launch_id]).fetchone()


def test_three_rke2_hosts_join_prod_with_their_roles_and_labels(world2) -> None:
    cluster = RKE2_CLUSTER["id"]
    request = request_launch(
        world2, text=f"add count=3 name=k8s labels=tier=edge cluster={cluster} description=cp"
    )
    text = blocks_text(request["blocks"])
    assert "asks to add *3 Exoscale hosts* to Rancher cluster *prod*" in text
    assert f"*Cluster*\nprod · RKE2 (`{cluster}`)" in text
    assert "*Roles*\netcd, control plane, worker" in text
    assert "*Networking*" not in text and "etcd_warning" not in json.dumps(request["blocks"])
    launch_id = launch_id_of(request)

    notices = approve_and_wait(world2, request, ready=3)

    assert all(m["reply_broadcast"] for m in notices)
    assert sorted(m["text"].split("`")[1] for m in notices) == ["k8s-1", "k8s-2", "k8s-3"]
    nodes = {n["hostname"]: n for n in world2.rancher.nodes if n["clusterId"] == cluster}
    assert sorted(nodes) == ["k8s-1", "k8s-2", "k8s-3"]
    for name, node in nodes.items():
        assert node["state"] == "active"
        assert all(node[flag] for flag in ROLE_FLAGS)
        assert node["labels"]["tier"] == "edge"
        assert node["labels"][LAUNCH_LABEL] == launch_id
        assert node["labels"][HOST_LABEL] == f"{launch_id}-{name[-1]}"
    # The group was created with exactly the ports the wizard's audit named.
    group = next(g for g in world2.exoscale.security_groups if g["name"] == "rancher-machine")
    opened = {(r["protocol"], r["start-port"]) for r in group["rules"] if r.get("start-port")}
    needed = required_ports_v2("rke2", ("etcd", "controlplane", "worker"))
    assert opened == {(p.protocol, p.number) for p in needed}
    row = stored_launch(world2, launch_id)
    options = json.loads(row["options"])
    assert (options["cluster"], options["roles"]) == (cluster, ["etcd", "controlplane", "worker"])
    assert row["driver"] == "rke2" and json.loads(row["port_audit"])["driver"] == "rke2"
    assert not any(RANCHER_TOKEN in json.dumps(call.args) for call in world2.slack.calls)


def test_an_rke1_worker_with_engine_options_joins_legacy(world2) -> None:
    cluster = RKE1_CLUSTER["id"]
    request = request_launch(
        world2,
        text=f"add count=1 name=old cluster={cluster} roles=worker engine-label=team=ops",
    )
    text = blocks_text(request["blocks"])
    assert f"legacy · RKE1 (`{cluster}`)" in text and "*Roles*\nworker" in text
    assert "`team=ops`" in text and "*Ports (RKE1 worker)*" in text

    [notice] = approve_and_wait(world2, request, ready=1)

    assert "Host `old-1` is ready in Rancher" in notice["text"]
    [node] = [n for n in world2.rancher.nodes if n["clusterId"] == cluster]
    assert node["hostname"] == "old-1" and node["state"] == "active"
    assert [flag for flag in ROLE_FLAGS if node[flag]] == ["worker"]
    assert not world2.rancher.refused
