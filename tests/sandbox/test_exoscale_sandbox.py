"""The sandbox's state over time (Operations, instances, groups) and its faults on demand."""

import base64
import http.client
import json
import time

import pytest

from sandbox.exoscale import ExoscaleSandbox, sign
from tests.conftest import wait_for

KEY, SECRET = "EXOsandboxtest", "sandbox-secret"
USER_DATA = base64.b64encode(b"#cloud-config\nruncmd:\n- [sh, -c, 'docker run x']\n").decode()


@pytest.fixture
def sandbox():
    sb = ExoscaleSandbox({KEY: SECRET}, operation_delay=0.05, boot_delay=0.05)
    sb.start()
    yield sb
    sb.stop()


def call(sandbox, method, path, body=None, *, zone="ch-gva-2"):
    """One signed request; returns (status, JSON body, headers)."""
    target = f"/{zone}/v2{path}"
    data = json.dumps(body).encode() if body is not None else b""
    header = sign(method, target, data, KEY, SECRET, int(time.time()) + 600)
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        conn.request(method, target, body=data, headers={"Authorization": header})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    finally:
        conn.close()


def ok(sandbox, method, path, body=None, **kw):
    status, payload, _ = call(sandbox, method, path, body, **kw)
    assert status == 200, payload
    return payload


def catalogue(sandbox, name="standard.medium"):
    types = ok(sandbox, "GET", "/instance-type")["instance-types"]
    itype = next(t for t in types if f"{t['family']}.{t['size']}" == name)
    template = ok(sandbox, "GET", "/template?visibility=public")["templates"][0]
    return itype["id"], template["id"]


def create(sandbox, name="web-1", labels=None, zone="ch-gva-2", type_name="standard.medium"):
    type_id, template_id = catalogue(sandbox, type_name)
    body = {
        "name": name,
        "instance-type": {"id": type_id},
        "template": {"id": template_id},
        "disk-size": 20,
        "user-data": USER_DATA,
        "labels": labels or {},
        "public-ip-assignment": "inet4",
    }
    return call(sandbox, "POST", "/instance", body, zone=zone)


def test_operations_stay_pending_then_succeed(sandbox):
    sandbox.operation_delay = 0.3
    _, op, _ = create(sandbox)
    started = time.monotonic()
    assert op["state"] == "pending"
    assert ok(sandbox, "GET", f"/operation/{op['id']}")["state"] == "pending"

    wait_for(
        lambda: ok(sandbox, "GET", f"/operation/{op['id']}")["state"] != "pending", timeout=5.0
    )

    assert time.monotonic() - started >= 0.25
    done = ok(sandbox, "GET", f"/operation/{op['id']}")
    assert done["state"] == "success"
    assert done["reference"]["link"] == f"/v2/instance/{done['reference']['id']}"


def test_instances_go_from_starting_to_running_with_a_public_ipv4(sandbox):
    sandbox.boot_delay = 0.3
    _, op, _ = create(sandbox)
    instance_id = op["reference"]["id"]
    first = ok(sandbox, "GET", f"/instance/{instance_id}")
    assert first["state"] == "starting"

    wait_for(
        lambda: ok(sandbox, "GET", f"/instance/{instance_id}")["state"] == "running", timeout=5.0
    )

    running = ok(sandbox, "GET", f"/instance/{instance_id}")
    assert running["public-ip"].startswith("198.51.100.")
    assert running["user-data"] == USER_DATA
    assert "user-data" not in ok(sandbox, "GET", "/instance")["instances"][0]


def test_instances_belong_to_their_zone(sandbox):
    _, op, _ = create(sandbox, zone="de-fra-1")
    instance_id = op["reference"]["id"]

    assert ok(sandbox, "GET", "/instance", zone="ch-gva-2") == {"instances": []}
    assert len(ok(sandbox, "GET", "/instance", zone="de-fra-1")["instances"]) == 1
    assert call(sandbox, "GET", f"/instance/{instance_id}", zone="ch-gva-2")[0] == 404


def test_instances_are_filtered_by_every_label_given(sandbox):
    create(sandbox, "a", {"launch": "L1", "host": "L1-1"})
    create(sandbox, "b", {"launch": "L1", "host": "L1-2"})
    create(sandbox, "c", {"launch": "L2", "host": "L2-1"})

    def names(query):
        return sorted(i["name"] for i in ok(sandbox, "GET", f"/instance?{query}")["instances"])

    assert names("labels=launch%3DL1") == ["a", "b"]
    assert names("labels=launch%3DL1+host%3DL1-2") == ["b"]
    assert names("labels=launch%3DL3") == []


def test_a_deleted_instance_is_destroying_then_gone(sandbox):
    _, op, _ = create(sandbox)
    instance_id = op["reference"]["id"]
    sandbox.operation_delay = 0.3

    delete = ok(sandbox, "DELETE", f"/instance/{instance_id}")

    assert ok(sandbox, "GET", f"/instance/{instance_id}")["state"] == "destroying"
    wait_for(
        lambda: ok(sandbox, "GET", f"/operation/{delete['id']}")["state"] == "success", timeout=5.0
    )
    wait_for(lambda: sandbox.instances == [], timeout=5.0)
    assert call(sandbox, "GET", f"/instance/{instance_id}")[0] == 404


def test_failed_operations_make_no_change(sandbox):
    sandbox.fail_operations(1)

    _, op, _ = create(sandbox)
    time.sleep(0.06)

    failed = ok(sandbox, "GET", f"/operation/{op['id']}")
    assert (failed["state"], failed["reason"]) == ("failure", "fault")
    assert sandbox.instances == []
    _, second, _ = create(sandbox)
    wait_for(
        lambda: ok(sandbox, "GET", f"/operation/{second['id']}")["state"] == "success", timeout=5.0
    )


def test_security_groups_with_rules_and_unique_names(sandbox):
    op = ok(sandbox, "POST", "/security-group", {"name": "web", "description": "d"})
    group_id = op["reference"]["id"]
    rule = {
        "flow-direction": "ingress",
        "protocol": "udp",
        "start-port": 4789,
        "end-port": 4789,
        "security-group": {"id": group_id},
    }
    ok(sandbox, "POST", f"/security-group/{group_id}/rules", rule)

    group = ok(sandbox, "GET", f"/security-group/{group_id}")
    assert group["name"] == "web"
    assert group["rules"][0]["security-group"] == {"id": group_id, "name": "web"}
    assert ok(sandbox, "GET", "/security-group")["security-groups"] == [group]
    status, body, _ = call(sandbox, "POST", "/security-group", {"name": "web"})
    assert (status, body) == (409, {"message": "a Security Group named web already exists"})


def test_fail_next_answers_the_matching_requests_with_retry_after(sandbox):
    sandbox.fail_next(429, count=2, method="GET", path="/instance", retry_after=3)

    assert call(sandbox, "GET", "/instance-type")[0] == 200  # not /instance itself
    assert call(sandbox, "POST", "/security-group", {"name": "x"})[0] == 200  # not a GET
    first = call(sandbox, "GET", "/instance")
    second = call(sandbox, "GET", "/instance/some-id")
    third = call(sandbox, "GET", "/instance")

    assert first[0] == second[0] == 429 and first[2]["Retry-After"] == "3"
    assert third[0] == 200
    assert [c[2] for c in sandbox.calls if c[1].startswith("/ch-gva-2/v2/instance")][-3:] == [
        429,
        429,
        200,
    ]


def test_fail_next_with_500_has_no_retry_after(sandbox):
    sandbox.fail_next(500)
    status, body, headers = call(sandbox, "GET", "/instance")
    assert status == 500 and "Retry-After" not in headers
    assert body == {"message": "Internal Server Error (injected by the sandbox)"}


def test_hang_and_latency_delay_answers(sandbox):
    sandbox.hang_next(0.5, path="/zone")
    started = time.monotonic()
    call(sandbox, "GET", "/instance")
    assert time.monotonic() - started < 0.4
    call(sandbox, "GET", "/zone")
    assert time.monotonic() - started >= 0.5

    sandbox.latency = 0.1
    started = time.monotonic()
    call(sandbox, "GET", "/instance")
    assert time.monotonic() - started >= 0.1


def test_a_removed_instance_type_is_refused_in_that_zone_only(sandbox):
    sandbox.remove_instance_type("de-muc-1", "standard.huge")

    status, body, _ = create(sandbox, zone="de-muc-1", type_name="standard.huge")
    assert (status, body) == (
        400,
        {"message": "Instance type standard.huge is not available in zone de-muc-1"},
    )
    assert create(sandbox, zone="ch-gva-2", type_name="standard.huge")[0] == 200
    huge = next(
        t for t in ok(sandbox, "GET", "/instance-type")["instance-types"] if t["size"] == "huge"
    )
    assert "de-muc-1" not in huge["zones"] and "ch-gva-2" in huge["zones"]


def test_calls_are_recorded_with_their_status(sandbox):
    call(sandbox, "GET", "/instance?labels=a%3Db")
    call(sandbox, "GET", "/nowhere")

    assert sandbox.calls == [
        ("GET", "/ch-gva-2/v2/instance?labels=a%3Db", 200),
        ("GET", "/ch-gva-2/v2/nowhere", 404),
    ]


def test_stop_releases_a_hung_request_and_frees_the_port(sandbox):
    sandbox.hang_next(30)
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    conn.request("GET", "/ch-gva-2/v2/zone")
    time.sleep(0.05)
    started = time.monotonic()

    sandbox.stop()

    assert time.monotonic() - started < 1.0
    conn.close()
