"""Socket Mode: the same app answers requests that arrive over the socket, unsigned."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot import views
from bot.runtime import _AnsweringSocketModeHandler
from bot.sandboxed import EXOSCALE_KEY, EXOSCALE_SECRET
from tests.bot.conftest import ALICE, CHANNEL


class SocketToSlack:
    """Stands for the socket: Slack applies each answer as soon as it arrives."""

    def __init__(self, world) -> None:
        self.world = world
        self.logger = logging.getLogger("socket")
        self.answers: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.answers.append(response)
        payload: dict[str, Any] = response.payload or {}
        if payload.get("response_action") in ("update", "errors"):
            self.world.slack.apply_view_response(self.view_id, payload)


def test_a_step1_submission_over_the_socket_moves_the_modal_to_step2(world) -> None:
    handler = _AnsweringSocketModeHandler(
        world.bot.app, "xapp-1-sandbox", answers=world.bot.answers, web_client=world.bot.client
    )
    socket = SocketToSlack(world)
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)
    socket.view_id = view["id"]
    payload = {
        **world.driver._interaction_base(ALICE),
        "type": "view_submission",
        "view": world.driver._with_state(
            view, {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}
        ),
    }

    handler.handle(socket, SocketModeRequest(type="interactive", envelope_id="e1", payload=payload))

    (answer,) = socket.answers
    assert answer.envelope_id == "e1" and answer.payload["response_action"] == "update"
    step2 = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP2)
    assert step2["id"] == view["id"]
