"""The add wizard against Rancher 2.x: the cluster and node roles, their audit, engine options."""

from __future__ import annotations

import pytest

from bot import views
from bot.sandboxed import RKE1_CLUSTER, RKE2_CLUSTER
from tests.bot.conftest import (
    ALICE,
    CHANNEL,
    blocks_text,
    wizard_to_step2,
    wizard_to_step3,
)

RKE2, RKE1 = RKE2_CLUSTER["id"], RKE1_CLUSTER["id"]


def rule(protocol: str, port: int) -> dict:
    """An ingress rule opening one port to the members of rancher-machine itself."""
    return {
        "flow-direction": "ingress",
        "protocol": protocol,
        "start-port": port,
        "end-port": port,
        "security-group": {"name": "rancher-machine"},
    }


def block(view: dict, block_id: str) -> dict | None:
    return next((b for b in view["blocks"] if b.get("block_id") == block_id), None)


def audit_of(view: dict) -> str:
    return block(view, "audit")["text"]["text"]


def ticked_roles(view: dict) -> list[str]:
    element = block(view, views.ROLES)["element"]
    return [o["value"] for o in element.get("initial_options") or []]


def test_step2_offers_the_clusters_and_all_three_roles_instead_of_the_driver(world2) -> None:
    view = wizard_to_step2(world2)

    select = block(view, views.CLUSTER)["element"]
    assert [o["text"]["text"] for o in select["options"]] == ["legacy (RKE1)", "prod (RKE2)"]
    assert [o["value"] for o in select["options"]] == [RKE1, RKE2]
    assert select.get("initial_option") is None
    assert ticked_roles(view) == ["etcd", "controlplane", "worker"]
    assert block(view, views.NETWORK) is None
    assert "Choose a cluster" in audit_of(view)


def test_the_audit_follows_the_cluster_kind_and_the_roles(world2) -> None:
    world2.exoscale.add_security_group("rancher-machine", (rule("udp", 8472), rule("tcp", 10250)))
    view = wizard_to_step2(world2)
    driver = world2.driver

    driver.select(view["id"], views.CLUSTER, RKE2, user=ALICE)
    every_role = driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: "RKE2" in audit_of(v)
    )
    assert "*Ports for RKE2 etcd, control plane, worker nodes on `rancher-machine`*" in (
        audit_of(every_role)
    )
    assert ":x: TCP 9345" in audit_of(every_role)
    assert block(every_role, views.ADD_MISSING) is not None

    driver.check(view["id"], views.ROLES, ["worker"], user=ALICE)
    worker = driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: "RKE2 worker nodes" in audit_of(v)
    )
    audit = audit_of(worker)
    assert ":white_check_mark: UDP 8472" in audit and ":white_check_mark: TCP 10250" in audit
    assert ":x: TCP 9099" in audit
    assert "9345" not in audit and "2379" not in audit

    driver.select(view["id"], views.CLUSTER, RKE1, user=ALICE)
    rke1 = driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: "RKE1 worker nodes" in audit_of(v)
    )
    assert "Every required port is open." in audit_of(rke1)
    assert block(rke1, views.ADD_MISSING) is None


def test_cluster_and_roles_on_the_command_line_prefill_step2(world2) -> None:
    view = wizard_to_step2(world2, text=f"add count=1 name=w cluster={RKE2} roles=worker")

    assert block(view, views.CLUSTER)["element"]["initial_option"]["value"] == RKE2
    assert ticked_roles(view) == ["worker"]
    assert "*Ports for RKE2 worker nodes" in audit_of(view)


def test_an_unknown_cluster_or_role_on_the_command_line_is_said_beside_it(world2) -> None:
    view = wizard_to_step2(world2, text="add name=w cluster=c-gone roles=worker,master")

    cluster = block(view, views.CLUSTER)
    assert cluster["element"].get("initial_option") is None
    assert "c-gone is not a cluster this token can see" in cluster["hint"]["text"]
    assert "master: not a role" in block(view, views.ROLES)["hint"]["text"]
    assert ticked_roles(view) == ["worker"]


def test_next_needs_a_cluster_and_at_least_one_role(world2) -> None:
    view = wizard_to_step2(world2)

    result = world2.driver.submit(view["id"], {views.ROLES: []}, user=ALICE)

    assert result.action == "errors"
    assert set(result.errors) == {views.CLUSTER, views.ROLES}
    assert world2.slack.is_open(view["id"])


@pytest.mark.parametrize(
    ("cluster", "engine_shown"),
    [(RKE2, False), (RKE1, True)],
    ids=["rke2 runs no docker", "rke1 runs docker"],
)
def test_docker_engine_options_are_offered_only_where_docker_runs(
    world2, cluster, engine_shown
) -> None:
    view = wizard_to_step3(
        world2, text=f"add count=1 name=w cluster={cluster} engine-opt=max-concurrent-downloads=3"
    )

    text = blocks_text(view["blocks"])
    shown = [key for key in views.ENGINE_FIELDS if block(view, key) is not None]
    assert shown == (list(views.ENGINE_FIELDS) if engine_shown else [])
    assert ("Advanced: Docker engine options" in text) is engine_shown
    assert ("engine options from the command line are left out" in text) is not engine_shown
    assert block(view, "labels")["label"]["text"] == "Node labels"


def test_rke2_request_leaves_out_the_engine_options_given_on_the_command_line(world2) -> None:
    view = wizard_to_step3(
        world2, text=f"add count=1 name=w cluster={RKE2} roles=worker engine-label=team=ops"
    )

    result = world2.driver.submit(view["id"], user=ALICE)

    assert result.action == "close", result.errors
    request = world2.driver.wait_for(lambda: world2.slack.channel_messages(CHANNEL))[0]
    text = blocks_text(request["blocks"])
    assert "prod · RKE2" in text and "team=ops" not in text and "Docker engine" not in text


@pytest.mark.parametrize(
    ("count", "roles", "asks"),
    [(2, "etcd,controlplane,worker", True), (4, "etcd", True), (3, "etcd", False)],
    ids=["two etcd nodes", "four etcd nodes", "three etcd nodes"],
)
def test_an_even_number_of_etcd_nodes_is_questioned_before_the_request(
    world2, count, roles, asks
) -> None:
    view = wizard_to_step3(world2, text=f"add count={count} name=cp cluster={RKE2} roles={roles}")

    result = world2.driver.submit(view["id"], user=ALICE)

    assert result.action == ("push" if asks else "close"), result.errors
    if asks:
        pushed = world2.slack.last_view(ALICE)
        assert pushed["callback_id"] == views.CONFIRM
        warning = blocks_text(pushed["blocks"])
        assert f"This adds {count} etcd nodes, an even number" in warning
        assert pushed["submit"]["text"] == "Ask anyway" and pushed["close"]["text"] == "Back"
        assert world2.slack.channel_messages(CHANNEL) == []


def test_back_returns_to_the_form_and_ask_anyway_posts_the_request_with_the_warning(
    world2,
) -> None:
    step3 = wizard_to_step3(world2, text=f"add count=2 name=cp cluster={RKE2}")
    assert "odd number of etcd nodes" in blocks_text(step3["blocks"])
    assert world2.driver.submit(step3["id"], user=ALICE).action == "push"
    world2.driver.close(world2.slack.last_view(ALICE)["id"], user=ALICE)
    assert world2.slack.last_view(ALICE)["id"] == step3["id"]

    assert world2.driver.submit(step3["id"], user=ALICE).action == "push"
    confirm = world2.slack.last_view(ALICE)
    result = world2.driver.submit(confirm["id"], user=ALICE)

    assert result.action == "clear"
    assert not world2.slack.is_open(step3["id"]) and not world2.slack.is_open(confirm["id"])
    request = world2.driver.wait_for(lambda: world2.slack.channel_messages(CHANNEL))[0]
    warning = block(request, "etcd_warning")
    assert "This adds 2 etcd nodes, an even number" in blocks_text([warning])
    assert len(world2.slack.channel_messages(CHANNEL)) == 1


def test_a_rancher_16_bot_says_cluster_and_roles_are_left_out(world) -> None:
    view = wizard_to_step2(world, text="add name=web cluster=c-m-1 roles=worker")

    assert "cluster= and roles=: for Rancher 2.x only" in blocks_text(view["blocks"])
    assert block(view, views.CLUSTER) is None and block(view, views.NETWORK) is not None
