"""Step 2 of the add wizard: Standard or Custom group, networking driver, the port audit."""

from __future__ import annotations

from bot import views
from tests.bot.conftest import (
    ALICE,
    BOB,
    OPEN_DOCKER,
    OPEN_SSH,
    blocks_text,
    current,
    ike_from_group,
    request_launch,
    wizard_to_step2,
)

IKE_FROM_GROUP = ike_from_group("rancher-machine")


def audit_of(view: dict) -> str:
    return next(b for b in view["blocks"] if b.get("block_id") == "audit")["text"]["text"]


def has_block(view: dict, block_id: str) -> bool:
    return any(b.get("block_id") == block_id for b in view["blocks"])


def test_standard_group_that_does_not_exist_will_be_created_with_every_port(world) -> None:
    view = wizard_to_step2(world)

    audit = audit_of(view)
    assert "does not exist yet" in audit
    assert "TCP 22, TCP 2376, UDP 500, UDP 4500" in audit
    assert not has_block(view, views.ADD_MISSING)


def test_existing_standard_group_shows_open_and_missing_ports(world) -> None:
    world.exoscale.add_security_group("rancher-machine", (OPEN_SSH, OPEN_DOCKER, IKE_FROM_GROUP))

    view = wizard_to_step2(world)

    audit = audit_of(view)
    assert ":white_check_mark: TCP 22" in audit and ":white_check_mark: UDP 500" in audit
    assert ":x: UDP 4500" in audit and "*not* re-opened" in audit
    assert has_block(view, views.ADD_MISSING)


def test_switching_to_vxlan_redoes_the_audit(world) -> None:
    world.exoscale.add_security_group("rancher-machine", (OPEN_SSH, OPEN_DOCKER, IKE_FROM_GROUP))
    view = wizard_to_step2(world)

    world.driver.select(view["id"], views.NETWORK, "vxlan", user=ALICE)

    redrawn = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: "VXLAN" in audit_of(v)
    )
    assert ":x: UDP 4789" in audit_of(redrawn)
    assert "UDP 4500" not in audit_of(redrawn)


def test_custom_group_lists_the_accounts_groups_and_audits_the_chosen_one(world) -> None:
    web = world.exoscale.add_security_group("web-sg", (OPEN_SSH,))
    world.exoscale.add_security_group("db-sg", ())
    view = wizard_to_step2(world)

    world.driver.select(view["id"], views.GROUP_MODE, "custom", user=ALICE)
    custom = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: has_block(v, views.CUSTOM_GROUP)
    )
    select = next(b for b in custom["blocks"] if b.get("block_id") == views.CUSTOM_GROUP)
    assert [o["text"]["text"] for o in select["element"]["options"]] == ["db-sg", "web-sg"]

    world.driver.select(custom["id"], views.CUSTOM_GROUP, web, user=ALICE)
    audited = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: "web-sg" in audit_of(v)
    )
    audit = audit_of(audited)
    assert ":white_check_mark: TCP 22" in audit and ":x: TCP 2376" in audit
    assert "Custom groups are not changed" in audit


def test_custom_without_a_group_is_refused_beside_the_choice(world) -> None:
    world.exoscale.add_security_group("web-sg", (OPEN_SSH,))
    view = wizard_to_step2(world)
    world.driver.select(view["id"], views.GROUP_MODE, "custom", user=ALICE)
    custom = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP2, ready=lambda v: has_block(v, views.CUSTOM_GROUP)
    )

    result = world.driver.submit(custom["id"], user=ALICE)

    assert result.action == "errors"
    assert set(result.errors) == {views.GROUP_MODE}


def test_ticking_open_missing_ports_opens_them_in_rancher_machine_at_launch(world) -> None:
    group_id = world.exoscale.add_security_group(
        "rancher-machine", (OPEN_SSH, OPEN_DOCKER, IKE_FROM_GROUP)
    )
    request = request_launch(world, step2={views.ADD_MISSING: ["yes"]}, text="add name=web")

    assert "will be opened at launch" in blocks_text(request["blocks"])
    world.driver.message("approve", user=BOB, channel=request["channel"], thread_ts=request["ts"])
    world.driver.wait_for(
        lambda: "Done" in blocks_text(current(world, request)["blocks"]), timeout=15
    )
    group = next(g for g in world.exoscale.security_groups if g["id"] == group_id)
    udp_ports = {r.get("start-port") for r in group["rules"] if r.get("protocol") == "udp"}
    assert udp_ports == {500, 4500}
