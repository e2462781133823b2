"""Step 3 of the add wizard: prefilled options, errors beside fields, the request it posts."""

from __future__ import annotations

from bot import views
from tests.bot.conftest import (
    ALICE,
    CHANNEL,
    blocks_text,
    button_ids,
    request_launch,
    wizard_to_step3,
)


def element(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]


def test_step3_is_prefilled_from_the_command_line(world) -> None:
    view = wizard_to_step3(
        world,
        text="add count=3 name=api profile=standard.small disk=80 labels=role=api,tier=back "
        "engine-opt=max-concurrent-downloads=3 description='the api tier'",
    )

    assert element(view, "count")["initial_value"] == "3"
    assert element(view, "name")["initial_value"] == "api"
    assert element(view, "disk")["initial_value"] == "80"
    assert element(view, "description")["initial_value"] == "the api tier"
    assert element(view, "profile")["initial_option"]["value"] == "standard.small"
    assert element(view, "labels")["initial_value"] == "role=api,tier=back"
    assert element(view, "engine_opt")["initial_value"] == "max-concurrent-downloads=3"


def test_step3_offers_the_zones_profiles_and_ubuntu_lts_by_default(world) -> None:
    view = wizard_to_step3(world)

    profiles = [o["value"] for o in element(view, "profile")["options"]]
    assert "standard.medium" in profiles and "gpu2.small" not in profiles
    assert element(view, "profile")["initial_option"]["value"] == "standard.medium"
    template = element(view, "template")["initial_option"]["text"]["text"]
    assert template == "Linux Ubuntu 24.04 LTS 64-bit"
    assert element(view, "count")["max_value"] == str(world.settings.max_hosts)
    assert "Advanced: Docker engine options" in blocks_text(view["blocks"])


def test_every_invalid_option_is_shown_beside_its_own_field(world) -> None:
    view = wizard_to_step3(world)

    result = world.driver.submit(
        view["id"],
        {
            "name": "Web_1",
            "labels": "role web",
            "engine_storage_driver": "floppy",
            "engine_install_url": "ftp://example.com/install.sh",
        },
        user=ALICE,
    )

    assert result.action == "errors"
    assert set(result.errors) == {
        "name",
        "labels",
        "engine_storage_driver",
        "engine_install_url",
    }
    assert "DNS label" in result.errors["name"]
    assert world.slack.is_open(view["id"])
    assert world.slack.channel_messages(CHANNEL) == []


def test_a_name_is_required(world) -> None:
    view = wizard_to_step3(world, text="add")

    result = world.driver.submit(view["id"], user=ALICE)

    assert result.action == "errors"
    assert set(result.errors) == {"name"}


def test_create_posts_the_request_in_the_channel_the_command_was_typed_in(world) -> None:
    request = request_launch(
        world,
        text="add count=2 name=web labels=role=web engine-label=team=ops description='front tier'",
    )

    text = blocks_text(request["blocks"])
    assert request["channel"] == CHANNEL and not request.get("thread_ts")
    assert f"<@{ALICE}> asks to add *2 Exoscale hosts*" in text
    for shown in (
        "web-1, web-2",
        "ch-gva-2",
        "standard.medium",
        "Linux Ubuntu 24.04 LTS 64-bit",
        "50 GiB",
        "Standard (`rancher-machine`)",
        "IPsec",
        "role=web",
        "front tier",
        "`team=ops`",
        "`rancher-machine` will be created with every required port",
        "Waiting for approval",
    ):
        assert shown in text, shown
    assert button_ids(request) == [views.APPROVE, views.DENY_BUTTON]
    assert not world.slack.is_open(world.slack.last_view(ALICE, open_only=False)["id"])
