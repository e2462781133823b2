"""The console script in production shape: HTTP on BOT_HTTP_PORT, stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.sandboxed import SIGNING_SECRET, SandboxedBot
from sandbox.slack import SlackDriver
from tests.bot.conftest import ALICE, CHANNEL


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port} within {timeout} s")


def test_the_bot_serves_slack_over_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    # Only the sandboxes of this world are used; the bot runs as its own process.
    world = SandboxedBot(database=tmp_path / "bot.db")
    world.slack.start()
    world.exoscale_endpoint = world.exoscale.start()
    world.rancher_url = world.rancher.start()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BOT_"))},
        **world.environment(),
        "BOT_HTTP_PORT": str(port),
    }
    script = Path(sys.executable).with_name("rancher-exoscale-bot")
    process = subprocess.Popen(
        [str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port, process)
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, world.slack)

        answer = driver.slash("help", user=ALICE, channel=CHANNEL)

        assert answer.status == 200
        assert answer.headers.get("Server") == "rancher-exoscale-bot"
        driver.wait_for(lambda: world.slack.ephemerals_for(ALICE), timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        logs = process.stderr.read()
        assert "listening for Slack on http://0.0.0.0:" in logs
        assert "stopping on signal" in logs
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        world.stop()
