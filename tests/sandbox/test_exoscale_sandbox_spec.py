"""Request bodies are checked against the official openapi.json: what Exoscale refuses, we do."""

import http.client
import json
import time
import uuid

import pytest

from sandbox.exoscale import ApiSpec, ExoscaleSandbox, sign

KEY, SECRET = "EXOspectest", "spec-secret"


@pytest.fixture
def sandbox():
    sb = ExoscaleSandbox({KEY: SECRET}, operation_delay=0.01, boot_delay=0.01)
    sb.start()
    yield sb
    sb.stop()


def call(sandbox, method, path, body=None, *, raw_body=None, zone="ch-gva-2"):
    target = f"/{zone}/v2{path}"
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body else b"")
    header = sign(method, target, data, KEY, SECRET, int(time.time()) + 600)
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        conn.request(method, target, body=data, headers={"Authorization": header})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def instance_body(sandbox, **changes):
    _, types = call(sandbox, "GET", "/instance-type")
    _, templates = call(sandbox, "GET", "/template?visibility=public")
    body = {
        "name": "web-1",
        "instance-type": {"id": types["instance-types"][0]["id"]},
        "template": {"id": templates["templates"][0]["id"]},
        "disk-size": 20,
        "public-ip-assignment": "inet4",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_a_complete_instance_body_is_accepted(sandbox):
    status, op = call(sandbox, "POST", "/instance", instance_body(sandbox))
    assert status == 200 and op["state"] == "pending"
    assert op["reference"]["command"] == "get-instance"


def test_a_body_missing_disk_size_is_refused_with_400(sandbox):
    status, body = call(sandbox, "POST", "/instance", instance_body(sandbox, **{"disk-size": None}))

    assert status == 400
    assert body == {"message": "Invalid request: 'disk-size' is a required property"}
    assert sandbox.instances == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"disk-size": 5}, "disk-size: 5 is less than the minimum of 10"),
        ({"disk-size": 60000}, "disk-size: 60000 is greater than the maximum of 51200"),
        ({"public-ip-assignment": "ipv9"}, "public-ip-assignment: 'ipv9' is not one of"),
        ({"labels": {"tier": 1}}, "labels.tier: 1 is not of type 'string'"),
        ({"user-data": "x" * 32769}, "is too long"),
        ({"name": ""}, "name: '' should be non-empty"),
    ],
)
def test_values_outside_the_schema_are_refused_with_400(sandbox, changes, problem):
    status, body = call(sandbox, "POST", "/instance", instance_body(sandbox, **changes))

    assert status == 400
    assert problem in body["message"]


def test_rule_bodies_are_checked_too(sandbox):
    _, op = call(sandbox, "POST", "/security-group", {"name": "web"})
    group = op["reference"]["id"]

    bad = {"flow-direction": "sideways", "protocol": "tcp", "start-port": 22, "end-port": 22}
    status, body = call(sandbox, "POST", f"/security-group/{group}/rules", bad)
    assert status == 400 and "flow-direction: 'sideways' is not one of" in body["message"]

    no_ports = {"flow-direction": "ingress", "protocol": "tcp", "network": "0.0.0.0/0"}
    status, body = call(sandbox, "POST", f"/security-group/{group}/rules", no_ports)
    assert (status, body["message"]) == (400, "a tcp rule needs start-port and end-port")


def test_an_unknown_query_enum_value_is_refused(sandbox):
    status, body = call(sandbox, "GET", "/template?visibility=everyone")
    assert status == 400 and "visibility: 'everyone' is not one of" in body["message"]


def test_a_body_that_is_not_json_is_refused(sandbox):
    status, body = call(sandbox, "POST", "/security-group", raw_body=b"{name: web")
    assert (status, body) == (400, {"message": "the request body is not valid JSON"})


def test_unknown_paths_404_and_wrong_methods_405(sandbox):
    assert call(sandbox, "GET", "/no-such-thing")[0] == 404
    assert call(sandbox, "DELETE", "/instance-type")[0] == 405
    assert call(sandbox, "GET", "/instance", zone="mars-1")[0] == 404


def test_every_zone_of_the_spec_is_served(sandbox):
    for zone in ApiSpec.load().zones:
        assert call(sandbox, "GET", "/instance", zone=zone) == (200, {"instances": []})


def test_routes_prefer_literal_paths_over_parameters():
    spec = ApiSpec.load()
    some_id = str(uuid.uuid4())

    assert spec.route("GET", f"/instance/{some_id}").operation_id == "get-instance"
    assert spec.route("PUT", f"/instance/{some_id}:start").operation_id == "start-instance"
    assert spec.route("GET", "/instance-type").operation_id == "list-instance-types"
    assert spec.route("GET", "/nothing") is None
