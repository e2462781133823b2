"""Work after an answer: the wizard's follow-up waits until Slack has the submission's answer."""

from __future__ import annotations

import threading
import time

from bot import views
from bot.http import Answers
from bot.sandboxed import EXOSCALE_KEY, EXOSCALE_SECRET
from tests.bot.conftest import ALICE, CHANNEL


def test_work_waits_until_the_answer_is_sent() -> None:
    answers = Answers(wait=5.0)
    sent = answers.track("V1")
    done = threading.Event()

    answers.after("V1", done.set)

    assert not done.wait(0.2)
    sent()
    assert done.wait(2.0)


def test_work_runs_at_once_when_no_answer_is_pending() -> None:
    answers = Answers(wait=5.0)
    answers.track("V1")()
    done = threading.Event()

    answers.after("V1", done.set)

    assert done.wait(0.5)


def test_work_runs_after_the_wait_if_the_answer_never_goes_out() -> None:
    answers = Answers(wait=0.3)
    answers.track("V1")
    done = threading.Event()
    started = time.monotonic()

    answers.after("V1", done.set)

    assert done.wait(2.0)
    assert time.monotonic() - started >= 0.3


def test_step2_is_filled_in_as_soon_as_the_answer_has_left(world) -> None:
    world.driver.slash("add", user=ALICE, channel=CHANNEL)
    view = world.driver.wait_for_view(user=ALICE, callback_id=views.STEP1)

    world.driver.submit(
        view["id"], {views.API_KEY: EXOSCALE_KEY, views.API_SECRET: EXOSCALE_SECRET}, user=ALICE
    )
    answered = time.monotonic()
    world.driver.wait_for_view(user=ALICE, callback_id=views.STEP2)

    # Well under Answers' 3 s fallback: the edge told the wizard when its answer was written.
    assert time.monotonic() - answered < 1.5
    history = [v["callback_id"] for v in world.slack.view_history(view["id"])]
    assert history == [views.STEP1, views.LOADING, views.STEP2]
