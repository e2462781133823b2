"""Rancher2Client failures: refused tokens, retries, downtime; the token never shows."""

from __future__ import annotations

import logging
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
import requests

from provisioning.errors import (
    RancherAuthError,
    RancherError,
    RancherRefused,
    RancherUnavailable,
)
from provisioning.rancher2 import Rancher2Client
from sandbox.rancher import RancherSandbox

SECRET = "s3cr3tnevershown"
TOKEN = f"token-ab12c:{SECRET}"
CLUSTERS = "/v3/clusters"
NODES = "/v3/nodes"


@pytest.fixture
def rancher():
    with RancherSandbox(token=TOKEN, clusters=[{"id": "c-m-1", "kind": "rke2"}]) as sandbox:
        yield sandbox


def client(url: str, token: str = TOKEN, **kwargs) -> Rancher2Client:
    options = {"timeout": 1.0, "retries": 2, "backoff": 0.01}
    options.update(kwargs)
    return Rancher2Client(url, token, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_wrong_token_is_an_auth_error_naming_the_setting(rancher):
    with pytest.raises(RancherAuthError) as caught:
        client(rancher.url, token="token-ab12c:wrong").clusters()

    assert caught.value.status == 401
    assert caught.value.message.startswith("Rancher refused the API token")
    assert "RANCHER_TOKEN" in caught.value.message
    assert rancher.calls_to(CLUSTERS) == 1


def test_the_1_6_api_keys_do_not_open_the_v3_api(rancher):
    session = requests.Session()
    answer = session.get(f"{rancher.url}/v3/clusters", auth=("token-ab12c", SECRET), timeout=2)
    assert answer.status_code == 401


def test_403_is_an_auth_error(rancher):
    rancher.fail_next(403)

    with pytest.raises(RancherAuthError):
        client(rancher.url).nodes("c-m-1")


def test_5xx_is_retried_then_succeeds(rancher):
    rancher.add_node("c-m-1", "web-1")
    rancher.fail_next(503, count=2)

    nodes = client(rancher.url).nodes("c-m-1")

    assert [n.hostname for n in nodes] == ["web-1"]
    assert [status for _, path, status in rancher.calls if path == NODES] == [503, 503, 200]


def test_5xx_past_the_retries_is_unavailable(rancher):
    rancher.fail_next(502, count=10)

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url, retries=2).clusters()

    assert caught.value.status == 502
    assert "after 2 retries" in caught.value.message
    assert rancher.calls_to(CLUSTERS) == 3


def test_server_down_is_unavailable_with_a_clear_message(rancher):
    rancher.down(5.0)
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url).nodes("c-m-1")

    assert time.monotonic() - started < 2.0
    assert caught.value.message.startswith(f"Rancher at {rancher.url} could not be reached")
    assert "connection refused" in caught.value.message
    assert not isinstance(caught.value, requests.RequestException)


def test_503_while_starting_is_retried_through(rancher):
    rancher.down(0.1, mode="503")

    assert client(rancher.url, retries=5, backoff=0.05).nodes("c-m-1") == []
    assert ("GET", NODES, 503) in rancher.calls


def test_slow_server_times_out_within_the_bound(rancher):
    rancher.latency = 3.0
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url, timeout=0.2, retries=1).clusters()

    assert time.monotonic() - started < 2 * 0.2 + 1.0
    assert "did not answer within 0.2 s" in caught.value.message


def test_other_4xx_is_refused(rancher):
    rancher.fail_next(422)

    with pytest.raises(RancherRefused, match="HTTP 422"):
        client(rancher.url).clusters()


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"<html>please log in</html>", "text/html", "not its API"),
        (b'{"type": "apiRoot"}', "application/json", "is RANCHER_URL a Rancher 2.x server"),
    ],
)
def test_an_answer_that_is_not_the_v3_api_is_a_rancher_error(body, content_type, message):
    class Other(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Other)
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        with pytest.raises(RancherError, match=message) as caught:
            client(f"http://127.0.0.1:{server.server_address[1]}").check_credentials()
    finally:
        server.shutdown()
        server.server_close()
    assert type(caught.value) is RancherError


def test_check_credentials_passes_with_the_right_token(rancher):
    client(rancher.url).check_credentials()

    assert rancher.calls == [("GET", CLUSTERS, 200)]


def test_a_url_copied_with_v3_still_works(rancher):
    assert client(f"{rancher.url}/v3/").clusters()[0].id == "c-m-1"


def test_the_token_never_appears_in_errors_logs_or_repr(rancher, caplog):
    caplog.set_level(logging.DEBUG)
    rancher.fail_next(500, count=10)
    messages = []
    for call in (
        lambda: client(rancher.url, token=f"token-ab12c:wrong{SECRET}").clusters(),
        lambda: client(rancher.url).clusters(),
        lambda: client(f"http://127.0.0.1:{free_port()}", retries=0).nodes("c-m-1"),
    ):
        with pytest.raises(RancherError) as caught:
            call()
        messages.append(caught.value.message)
        messages.append(repr(caught.value))

    assert all(SECRET not in m for m in messages), messages
    assert SECRET not in caplog.text
    assert SECRET not in repr(client(rancher.url))
    assert SECRET not in repr(client(rancher.url)._session.auth)
