"""RancherClient failures: retries, timeouts and refusals become provisioning errors with a fix."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from provisioning.errors import (
    RancherAuthError,
    RancherError,
    RancherRefused,
    RancherUnavailable,
)
from provisioning.rancher import RancherClient
from sandbox.rancher import RancherSandbox

HOSTS = "/v2-beta/projects/1a5/hosts"
SECRET = "s3cr3t-never-shown"


@pytest.fixture
def rancher():
    with RancherSandbox("access", SECRET) as sandbox:
        yield sandbox


def client(url: str, secret: str = SECRET, **kwargs) -> RancherClient:
    options = {"timeout": 1.0, "retries": 2, "backoff": 0.01}
    options.update(kwargs)
    return RancherClient(url, "access", secret, "1a5", **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_5xx_is_retried_then_succeeds(rancher):
    rancher.add_host("web-1")
    rancher.fail_next(503, count=2)

    hosts = client(rancher.url).hosts()

    assert [h.hostname for h in hosts] == ["web-1"]
    assert [status for _, path, status in rancher.calls if path == HOSTS] == [503, 503, 200]


def test_5xx_past_the_retries_is_unavailable(rancher):
    rancher.fail_next(502, count=10)

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url, retries=2).hosts()

    assert caught.value.status == 502
    assert "after 2 retries" in caught.value.message
    assert rancher.calls_to(HOSTS) == 3


def test_server_down_is_unavailable_with_a_clear_message(rancher):
    rancher.down(5.0)
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url).hosts()

    assert time.monotonic() - started < 2.0
    assert caught.value.message.startswith(f"Rancher at {rancher.url} could not be reached")
    assert "connection refused" in caught.value.message
    assert "RANCHER_URL" in caught.value.message


def test_nothing_listening_is_unavailable():
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(RancherUnavailable, match="connection refused"):
        client(url, retries=0).registration()


def test_server_back_after_downtime_answers_again(rancher):
    rancher.add_host("web-1")
    rancher.down(0.3)
    with pytest.raises(RancherUnavailable):
        client(rancher.url, retries=0).hosts()

    deadline = time.monotonic() + 3.0
    while True:
        try:
            hosts = client(rancher.url, retries=0).hosts()
            break
        except RancherUnavailable:
            assert time.monotonic() < deadline, "sandbox never came back"
            time.sleep(0.05)
    assert [h.hostname for h in hosts] == ["web-1"]


def test_503_while_down_is_retried_through(rancher):
    rancher.down(0.1, mode="503")

    hosts = client(rancher.url, retries=5, backoff=0.05).hosts()

    assert hosts == []
    assert (("GET", HOSTS, 503)) in rancher.calls


def test_slow_server_times_out_within_the_bound(rancher):
    rancher.latency = 3.0
    timeout, retries = 0.2, 1
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher.url, timeout=timeout, retries=retries).hosts()

    elapsed = time.monotonic() - started
    assert elapsed < (retries + 1) * timeout + 1.0
    assert caught.value.message.startswith(f"Rancher at {rancher.url} did not answer within 0.2 s")


def test_wrong_secret_is_an_auth_error(rancher):
    with pytest.raises(RancherAuthError) as caught:
        client(rancher.url, secret="wrong").hosts()

    assert caught.value.status == 401
    assert caught.value.message.startswith("Rancher refused the API key")
    assert "RANCHER_SECRET_KEY" in caught.value.message
    assert rancher.calls_to(HOSTS) == 1


def test_403_is_an_auth_error(rancher):
    rancher.fail_next(403)

    with pytest.raises(RancherAuthError):
        client(rancher.url).registration()


def test_unknown_project_is_refused_naming_the_setting(rancher):
    other = RancherClient(rancher.url, "access", SECRET, "1a99", retries=0)

    with pytest.raises(RancherRefused) as caught:
        other.check_credentials()

    assert caught.value.status == 404
    assert "RANCHER_PROJECT_ID (1a99)" in caught.value.message


def test_other_4xx_is_refused(rancher):
    rancher.fail_next(422)

    with pytest.raises(RancherRefused, match="HTTP 422"):
        client(rancher.url).hosts()


def test_check_credentials_passes_with_the_right_key(rancher):
    client(rancher.url).check_credentials()

    assert rancher.calls == [("GET", "/v2-beta/projects/1a5", 200)]


@pytest.mark.parametrize("error", [RancherAuthError, RancherRefused, RancherUnavailable])
def test_every_error_is_a_rancher_error(error):
    assert issubclass(error, RancherError)


def test_no_requests_exception_escapes(rancher):
    rancher.down(5.0)

    with pytest.raises(RancherError) as caught:
        client(rancher.url, retries=0).hosts()

    assert not isinstance(caught.value, requests.RequestException)


def test_secret_key_never_appears_in_errors_or_logs(rancher, caplog):
    caplog.set_level(logging.DEBUG)
    messages = []
    rancher.fail_next(500, count=10)
    for call in (
        lambda: client(rancher.url, secret="wrong-" + SECRET).hosts(),
        lambda: client(rancher.url).hosts(),
        lambda: client(f"http://access:{SECRET}@127.0.0.1:{free_port()}", retries=0).hosts(),
    ):
        with pytest.raises(RancherError) as caught:
            call()
        messages.append(caught.value.message)

    assert all(SECRET not in m for m in messages), messages
    assert SECRET not in caplog.text
    assert SECRET not in repr(client(rancher.url))
