"""RancherClient.registration(): reuse an active token, or create one and wait for it."""

from __future__ import annotations

import time

import pytest

from provisioning.errors import RancherError, RancherUnavailable
from provisioning.rancher import RancherClient, Registration
from sandbox.rancher import RancherSandbox

TOKENS = "/v2-beta/projects/1a5/registrationtokens"


@pytest.fixture
def rancher():
    with RancherSandbox("access", "secret", token_delay=0.05) as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox, **kwargs) -> RancherClient:
    options = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "token_poll": 0.01}
    options.update(kwargs)
    return RancherClient(sandbox.url, "access", "secret", "1a5", **options)


def test_creates_a_token_and_waits_until_it_is_active(rancher):
    registration = client(rancher).registration()

    token = rancher.tokens[0]
    assert token["state"] == "active"
    assert registration == Registration(
        image="rancher/agent:v1.2.11",
        registration_url=f"{rancher.url}/v1/scripts/{token['token']}",
        command=token["command"],
        token=token["token"],
    )
    assert rancher.calls_to(TOKENS, "POST") == 1
    # The token was still registering when created, so the client had to read it again.
    assert rancher.calls_to(f"{TOKENS}/{token['id']}", "GET") >= 1


def test_reuses_an_existing_active_token_without_creating_another(rancher):
    first = client(rancher).registration()
    posts = rancher.calls_to(TOKENS, "POST")

    second = client(rancher).registration()

    assert second == first
    assert rancher.calls_to(TOKENS, "POST") == posts == 1
    assert len(rancher.tokens) == 1


def test_registration_url_carries_the_token(rancher):
    registration = client(rancher).registration()

    assert registration.registration_url.endswith(f"/v1/scripts/{registration.token}")
    assert registration.command.endswith(f"{registration.image} {registration.registration_url}")


def test_token_that_never_activates_gives_up_after_token_wait(rancher):
    rancher.token_delay = 60.0
    started = time.monotonic()

    with pytest.raises(RancherUnavailable) as caught:
        client(rancher, token_wait=0.2, token_poll=0.02).registration()

    assert time.monotonic() - started < 2.0
    assert "registering after 0.2 s" in caught.value.message


def test_base_url_with_api_version_suffix_still_works(rancher):
    registration = RancherClient(
        f"{rancher.url}/v2-beta/", "access", "secret", "1a5", token_poll=0.01
    ).registration()

    assert registration.token


def test_url_that_is_not_http_is_rejected_at_construction():
    with pytest.raises(ValueError, match="http"):
        RancherClient("rancher.example.com:8080", "a", "s", "1a5")


def test_creation_is_not_retried_on_5xx(rancher):
    # A repeated POST could leave a second token behind; the caller decides to call again.
    rancher.fail_next(503, count=5, method="POST")

    with pytest.raises(RancherUnavailable, match="HTTP 503"):
        client(rancher).registration()

    assert rancher.calls_to(TOKENS, "POST") == 1


def test_non_rancher_answer_is_a_rancher_error(rancher):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class LoginPage(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>please log in</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        proxy = RancherClient(f"http://127.0.0.1:{server.server_address[1]}", "a", "s", "1a5")
        with pytest.raises(RancherError, match="not its API") as caught:
            proxy.registration()
        assert type(caught.value) is RancherError
    finally:
        server.shutdown()
        server.server_close()
