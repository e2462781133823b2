"""Step 1 of the add wizard: the modal opens at once; keys are checked, errors sit beside fields."""

from __future__ import annotations

from bot import views
from bot.sandboxed import EXOSCALE_KEY, EXOSCALE_SECRET, SandboxedBot
from tests.bot.conftest import ALICE, CHANNEL, wizard_to_step2


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def block_ids(view: dict) -> set[str]:
    return {b["block_id"] for b in view["blocks"] if "block_id" in b}


def test_add_opens_step1_right_away_with_the_zone_from_the_command_line(world) -> None:
    answer = world.driver.slash("add zone=de-fra-1 count=3", user=ALICE, channel=CHANNEL)

    assert answer.status == 200 and answer.body == ""
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
    assert block(view, views.ZONE)["element"]["initial_option"]["value"] == "de-fra-1"
    # Nothing to look up in step 1, so no "loading" view and no Exoscale call before it.
    assert [c.method for c in world.slack.calls if c.method.startswith("views.")] == ["views.open"]
    assert {views.API_KEY, views.API_SECRET, views.ZONE} <= block_ids(view)
    assert views.CREDS_SOURCE not in block_ids(view)


def test_a_refused_key_is_shown_beside_the_key_field_and_the_modal_stays(world) -> None:
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)

    result = world.driver.submit(
        view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: "not-the-secret"}, user=ALICE
    )

    assert result.action == "errors"
    assert set(result.errors) == {views.API_KEY}
    assert "refused" in result.errors[views.API_KEY]
    assert world.slack.is_open(view["id"])
    assert world.slack.view(view["id"])["callback_id"] == views.STEP1


def test_empty_key_and_secret_are_both_reported(world) -> None:
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)

    result = world.driver.submit(view["id"], {}, user=ALICE)

    assert result.action == "errors"
    assert set(result.errors) == {views.API_KEY, views.API_SECRET}


def test_good_keys_move_to_step2_and_are_offered_as_saved_next_time(world) -> None:
    step2 = wizard_to_step2(world)
    assert step2["callback_id"] == views.STEP2

    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    again = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP1, ready=lambda v: v["id"] != step2["id"]
    )
    options = block(again, views.CREDS_SOURCE)["element"]["options"]
    assert [o["value"] for o in options] == ["saved", "typed"]
    result = world.driver.submit(again["id"], {views.CREDS_SOURCE: "saved"}, user=ALICE)
    assert result.action == "update", result.errors


def test_a_refused_key_is_not_saved(world) -> None:
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
    world.driver.submit(
        view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: "wrong"}, user=ALICE
    )
    world.driver.close(view["id"], user=ALICE)

    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    again = world.driver.wait_for_view(
        user=ALICE, callback_id=views.STEP1, ready=lambda v: v["id"] != view["id"]
    )
    assert views.CREDS_SOURCE not in block_ids(again)


def test_workspace_credentials_are_offered_first_and_need_no_typing() -> None:
    with SandboxedBot(workspace_credentials=True) as world:
        world.driver.slash("add", user=ALICE, channel=CHANNEL)
        view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
        source = block(view, views.CREDS_SOURCE)
        assert source["element"]["initial_option"]["value"] == "workspace"
        assert block(view, views.API_KEY)["optional"] is True

        result = world.driver.submit(view["id"], {}, user=ALICE)

        assert result.action == "update", result.errors
        world.driver.wait_for_view(user=ALICE, callback_id=views.STEP2)


def test_step1_answers_within_slacks_three_seconds_when_exoscale_hangs(world) -> None:
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
    world.exoscale.hang_next(5.0)

    result = world.driver.submit(
        view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}, user=ALICE
    )

    assert result.response.elapsed < 3.0
    assert result.action == "errors"
    assert "did not answer" in result.errors[views.ZONE]
