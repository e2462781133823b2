"""The shared HTTP seam: a default timeout on every request, safe retries, failures named."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from provisioning.http import TimeoutAdapter, safe_retry, server_message, unreachable_reason


class _Slow(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self):
        _Slow.hits.append(self.command)
        if self.path == "/slow":
            time.sleep(0.5)
        status = 503 if self.path == "/busy" else 200
        body = b'{"message": "busy right now"}' if status == 503 else b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Slow.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def session(timeout: float, retries: int = 0) -> requests.Session:
    s = requests.Session()
    adapter = TimeoutAdapter(timeout, max_retries=safe_retry(retries, 0.01))
    s.mount("http://", adapter)
    return s


def test_a_request_without_a_timeout_gets_the_default(server):
    started = time.monotonic()
    with pytest.raises(requests.RequestException) as caught:
        session(0.1).get(f"{server}/slow")
    assert time.monotonic() - started < 0.45
    assert unreachable_reason(caught.value, "127.0.0.1") is None


def test_a_timeout_given_by_the_caller_wins(server):
    assert session(0.1).get(f"{server}/slow", timeout=2.0).status_code == 200


def test_gets_are_retried_and_posts_are_not(server):
    assert session(1.0, retries=2).get(f"{server}/busy").status_code == 503
    assert session(1.0, retries=2).post(f"{server}/busy").status_code == 503
    assert _Slow.hits == ["GET", "GET", "GET", "POST"]


def test_the_servers_message_is_read_from_its_json(server):
    assert server_message(session(1.0).get(f"{server}/busy")) == "busy right now"


def test_a_refused_connection_is_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(requests.RequestException) as caught:
        session(1.0).get(f"http://127.0.0.1:{port}/")
    assert unreachable_reason(caught.value, "127.0.0.1") == "connection refused"
