"""The Rancher sandbox's v2-beta surface: auth, token lifecycle, paging, faults, call counters."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.rancher import RancherSandbox

PROJECT = "/v2-beta/projects/1a5"


@pytest.fixture
def rancher():
    with RancherSandbox("access", "secret", token_delay=0.05, page_size=100) as sandbox:
        yield sandbox


def get(sandbox: RancherSandbox, path: str, auth=("access", "secret"), **kwargs):
    return requests.get(f"{sandbox.url}{path}", auth=auth, timeout=2, **kwargs)


def post(sandbox: RancherSandbox, path: str, auth=("access", "secret"), **kwargs):
    return requests.post(f"{sandbox.url}{path}", auth=auth, timeout=2, **kwargs)


@pytest.mark.parametrize(
    "auth", [None, ("access", "wrong"), ("other", "secret"), ("", "")], ids=str
)
def test_basic_auth_is_required(rancher, auth):
    response = get(rancher, f"{PROJECT}/hosts", auth=auth)

    assert response.status_code == 401
    assert response.json()["type"] == "error"
    assert response.json()["code"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert rancher.calls == [("GET", f"{PROJECT}/hosts", 401)]


def test_garbled_authorization_header_is_refused(rancher):
    response = requests.get(
        f"{rancher.url}{PROJECT}/hosts", headers={"Authorization": "Basic !!!"}, timeout=2
    )

    assert response.status_code == 401


def test_token_starts_registering_with_null_command_then_turns_active(rancher):
    created = post(rancher, f"{PROJECT}/registrationtokens", json={})

    assert created.status_code == 201
    token = created.json()
    assert token["type"] == "registrationToken"
    assert token["state"] == "registering"
    assert token["command"] is None and token["token"] is None
    assert token["registrationUrl"] is None
    assert get(rancher, f"{PROJECT}/registrationtokens?state=active").json()["data"] == []

    time.sleep(0.08)
    active = get(rancher, f"{PROJECT}/registrationtokens/{token['id']}").json()
    assert active["state"] == "active"
    assert active["registrationUrl"] == f"{rancher.url}/v1/scripts/{active['token']}"
    assert active["command"].endswith(f"rancher/agent:v1.2.11 {active['registrationUrl']}")
    assert "--privileged" in active["command"]
    listed = get(rancher, f"{PROJECT}/registrationtokens?state=active").json()
    assert [t["id"] for t in listed["data"]] == [token["id"]]


def test_registration_script_is_served_for_an_active_token_only(rancher):
    token = post(rancher, f"{PROJECT}/registrationtokens", json={}).json()
    assert requests.get(f"{rancher.url}/v1/scripts/nope", timeout=2).status_code == 404

    time.sleep(0.08)
    value = rancher.tokens[0]["token"]
    assert token["id"] == rancher.tokens[0]["id"]
    assert requests.get(f"{rancher.url}/v1/scripts/{value}", timeout=2).status_code == 200


def test_host_collection_has_rancher_shape(rancher):
    rancher.add_host("web-1", ip="198.51.100.7", labels={"a": "b"})

    body = get(rancher, f"{PROJECT}/hosts").json()

    assert body["type"] == "collection"
    assert body["resourceType"] == "host"
    assert body["links"]["self"] == f"{rancher.url}{PROJECT}/hosts"
    assert body["pagination"]["next"] is None
    assert body["pagination"]["partial"] is False
    (host,) = body["data"]
    assert host["type"] == "host"
    assert host["id"].startswith("1h")
    assert host["links"]["self"] == f"{rancher.url}{PROJECT}/hosts/{host['id']}"
    assert host["hostname"] == "web-1"
    assert host["agentIpAddress"] == "198.51.100.7"
    assert host["labels"] == {"a": "b"}
    assert host["removed"] is None
    assert "deactivate" in host["actions"]


def test_hosts_page_by_marker_with_the_default_page_size(rancher):
    for i in range(250):
        rancher.add_host(f"web-{i}")

    first = get(rancher, f"{PROJECT}/hosts").json()
    second = requests.get(first["pagination"]["next"], auth=("access", "secret"), timeout=2).json()
    third = requests.get(second["pagination"]["next"], auth=("access", "secret"), timeout=2).json()

    assert [len(p["data"]) for p in (first, second, third)] == [100, 100, 50]
    assert "marker=" in first["pagination"]["next"]
    assert third["pagination"]["next"] is None
    names = [h["hostname"] for p in (first, second, third) for h in p["data"]]
    assert names == [f"web-{i}" for i in range(250)]


@pytest.mark.parametrize("limit,expected", [(7, 7), (1000, 1000), (5000, 1000)])
def test_limit_is_honoured_up_to_1000(rancher, limit, expected):
    for i in range(1200):
        rancher.add_host(f"web-{i}")

    body = get(rancher, f"{PROJECT}/hosts", params={"limit": limit}).json()

    assert len(body["data"]) == expected
    assert body["pagination"]["limit"] == expected


@pytest.mark.parametrize("query", ["limit=0", "limit=ten", "marker=nope"])
def test_bad_paging_parameters_are_422(rancher, query):
    assert get(rancher, f"{PROJECT}/hosts?{query}").status_code == 422


def test_other_project_is_404(rancher):
    assert get(rancher, "/v2-beta/projects/1a9/hosts").status_code == 404


def test_delete_of_an_active_host_is_refused_until_deactivated(rancher):
    host = rancher.add_host("web-1")
    url = f"{PROJECT}/hosts/{host['id']}"

    assert requests.delete(f"{rancher.url}{url}", auth=("access", "secret")).status_code == 409
    deactivated = post(rancher, f"{url}?action=deactivate", json={})
    assert deactivated.status_code == 202
    assert deactivated.json()["state"] == "deactivating"
    assert post(rancher, f"{url}?action=deactivate", json={}).status_code == 409


def test_fail_next_answers_with_the_status_then_recovers(rancher):
    rancher.fail_next(503, count=2, path=f"{PROJECT}/hosts")

    statuses = [get(rancher, f"{PROJECT}/hosts").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert get(rancher, PROJECT).status_code == 200


def test_fail_next_can_target_one_method(rancher):
    rancher.fail_next(500, method="POST")

    assert get(rancher, f"{PROJECT}/registrationtokens").status_code == 200
    assert post(rancher, f"{PROJECT}/registrationtokens", json={}).status_code == 500
    assert post(rancher, f"{PROJECT}/registrationtokens", json={}).status_code == 201


def test_latency_delays_every_answer(rancher):
    rancher.latency = 0.2
    started = time.monotonic()

    get(rancher, PROJECT)

    assert time.monotonic() - started >= 0.2


def test_down_refuses_connections_then_comes_back(rancher):
    rancher.down(0.3)

    with pytest.raises(requests.ConnectionError):
        get(rancher, PROJECT)
    deadline = time.monotonic() + 3.0
    while True:
        try:
            assert get(rancher, PROJECT).status_code == 200
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "sandbox never came back"
            time.sleep(0.05)


def test_down_in_503_mode_answers_503_while_down(rancher):
    rancher.down(0.2, mode="503")

    assert get(rancher, PROJECT).status_code == 503
    time.sleep(0.25)
    assert get(rancher, PROJECT).status_code == 200


def test_calls_are_counted_per_path(rancher):
    for _ in range(3):
        get(rancher, f"{PROJECT}/hosts")
    get(rancher, f"{PROJECT}/hosts/")
    post(rancher, f"{PROJECT}/registrationtokens", json={})

    assert rancher.calls_to(f"{PROJECT}/hosts") == 4
    assert rancher.calls_to(f"{PROJECT}/registrationtokens", "POST") == 1
    assert rancher.calls_to(f"{PROJECT}/registrationtokens", "GET") == 0
    assert rancher.call_counts()[("GET", f"{PROJECT}/hosts")] == 4
