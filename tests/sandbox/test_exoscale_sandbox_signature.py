"""EXO2-HMAC-SHA256: the five reference vectors, and every way a signature can be wrong."""

import http.client
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from exoscale.api.v2 import Client as SdkClient

from sandbox.exoscale import ExoscaleSandbox, SignatureError, sign, verify

# shared/ sits beside the repository, in the work tree as in CI.
REFERENCE = Path(__file__).resolve().parents[1] / "reference"
VECTORS_FILE = REFERENCE / "exoscale-signature-vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text())["vectors"]
KEY, SECRET = "EXOsignaturetest", "signature-secret"


def target(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("vector", VECTORS, ids=[f"vector-{i}" for i in range(1, 6)])
def test_reference_vector_verifies(vector):
    key = verify(
        vector["method"],
        target(vector["url"]),
        vector["body"].encode(),
        vector["authorization"],
        {vector["key"]: vector["secret"]},
        now=vector["expires"] - 60,
    )
    assert key == vector["key"]


@pytest.mark.parametrize("vector", VECTORS, ids=[f"vector-{i}" for i in range(1, 6)])
def test_sign_reproduces_the_reference_header(vector):
    header = sign(
        vector["method"],
        target(vector["url"]),
        vector["body"].encode(),
        vector["key"],
        vector["secret"],
        vector["expires"],
    )
    assert header == vector["authorization"]


def _check(vector, **change):
    args = {
        "method": vector["method"],
        "url_path_with_query": target(vector["url"]),
        "body": vector["body"].encode(),
        "authorization": vector["authorization"],
        "secrets": {vector["key"]: vector["secret"]},
        "now": vector["expires"] - 60,
    }
    args.update(change)
    return verify(**args)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"name": "bar"}'}, "invalid request signature"),
        ({"method": "PUT"}, "invalid request signature"),
        ({"url_path_with_query": "/v2/load-balancer-x"}, "invalid request signature"),
        ({"secrets": {"EXOxxxxxxxxxxxxxxxxxxxxxxxx": "another"}}, "invalid request signature"),
        ({"secrets": {"EXOsomeoneelse": "x"}}, "unknown API key"),
        ({"now": 3376684801}, "request expired"),
        ({"authorization": None}, "missing Authorization header"),
        ({"authorization": "Bearer abc"}, "unsupported authorization scheme"),
        ({"authorization": "EXO2-HMAC-SHA256 credential=x"}, "malformed"),
        ({"url_path_with_query": "/v2/load-balancer?extra=1"}, "not signed: extra"),
    ],
)
def test_a_changed_request_or_header_is_refused(change, reason):
    with pytest.raises(SignatureError, match=reason):
        _check(VECTORS[2], **change)


def test_a_changed_query_value_is_refused():
    with pytest.raises(SignatureError, match="invalid request signature"):
        _check(VECTORS[1], url_path_with_query="/v2/zone?k1=v1&k2=CHANGED")


@pytest.fixture
def sandbox():
    sb = ExoscaleSandbox({KEY: SECRET})
    sb.start()
    yield sb
    sb.stop()


def raw(sandbox, method, path, body, authorization):
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_the_official_clients_signature_is_accepted(sandbox):
    sdk = SdkClient(KEY, SECRET, url=sandbox.endpoint.format(zone="ch-gva-2"))
    assert sdk.list_instances(labels="a=b c=d") == {"instances": []}
    assert sdk.list_templates(visibility="public")["templates"]


def test_a_tampered_body_is_refused_with_403(sandbox):
    path = "/ch-gva-2/v2/security-group"
    signed = json.dumps({"name": "web"}).encode()
    header = sign("POST", path, signed, KEY, SECRET, int(time.time()) + 600)

    status, body = raw(sandbox, "POST", path, json.dumps({"name": "evil"}).encode(), header)

    assert status == 403
    assert body == {"message": "Authentication failed: invalid request signature"}
    assert sandbox.security_groups == []


@pytest.mark.parametrize(
    ("key", "secret", "expires", "reason"),
    [
        (KEY, SECRET, -10, "request expired"),
        ("EXOunknown", SECRET, 600, "unknown API key"),
        (KEY, "wrong", 600, "invalid request signature"),
    ],
)
def test_expired_unknown_or_wrong_signatures_get_403(sandbox, key, secret, expires, reason):
    path = "/ch-gva-2/v2/instance"
    header = sign("GET", path, b"", key, secret, int(time.time()) + expires)

    status, body = raw(sandbox, "GET", path, b"", header)

    assert (status, body) == (403, {"message": f"Authentication failed: {reason}"})


def test_a_request_without_signature_gets_403(sandbox):
    assert raw(sandbox, "GET", "/ch-gva-2/v2/instance", b"", None) == (
        403,
        {"message": "Authentication failed: missing Authorization header"},
    )
