"""The Rancher sandbox's v3 API: bearer auth, clusters, registration tokens, nodes, faults."""

from __future__ import annotations

import pytest
import requests

from sandbox.rancher import RancherSandbox
from tests.conftest import wait_for

TOKEN = "token-ab12c:v3apisecret"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
    {"id": "c-m-k3sxx", "name": "edge", "kind": "k3s"},
    {"id": "c-eksxx", "name": "hosted", "kind": "imported"},
]


@pytest.fixture
def rancher():
    with RancherSandbox(token=TOKEN, clusters=CLUSTERS, token_delay=0.05, page_size=2) as sandbox:
        yield sandbox


def get(sandbox, path, token=TOKEN, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{sandbox.url}{path}", headers=headers, params=params, timeout=2)


def post(sandbox, path, body, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{sandbox.url}{path}", headers=headers, json=body, timeout=2)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer token-ab12c:wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "basic", "longer"],
)
def test_anything_but_the_bearer_token_is_401(rancher, headers):
    answer = requests.get(f"{rancher.url}/v3/clusters", headers=headers, timeout=2)
    assert answer.status_code == 401
    assert answer.json()["type"] == "error"


def test_several_tokens_can_be_accepted():
    sandbox = RancherSandbox(tokens=["token-a1:one", "token-b2:two"], clusters=CLUSTERS)
    sandbox.start()
    try:
        assert [
            get(sandbox, "/v3/clusters", t).status_code for t in ("token-a1:one", "token-b2:two")
        ] == [200, 200]
    finally:
        sandbox.stop()


def test_a_2x_only_sandbox_refuses_every_1_6_request(rancher):
    answer = requests.get(f"{rancher.url}/v2-beta/projects/1a5/hosts", auth=("", ""), timeout=2)
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("cluster_id", "driver", "config"),
    [
        ("c-m-rke2x", "rke2", "rke2Config"),
        ("c-rke1x", "rancherKubernetesEngine", "rancherKubernetesEngineConfig"),
        ("c-m-k3sxx", "k3s", "k3sConfig"),
        ("c-eksxx", "imported", None),
    ],
)
def test_clusters_carry_the_fields_that_tell_their_kind(rancher, cluster_id, driver, config):
    body = get(rancher, f"/v3/clusters/{cluster_id}").json()
    assert (body["type"], body["id"], body["driver"]) == ("cluster", cluster_id, driver)
    configs = ("rke2Config", "k3sConfig", "rancherKubernetesEngineConfig")
    assert [c for c in configs if body[c] is not None] == ([config] if config else [])


def test_cluster_list_is_a_paginated_norman_collection(rancher):
    first = get(rancher, "/v3/clusters").json()
    assert first["type"] == "collection" and first["resourceType"] == "cluster"
    assert [c["name"] for c in first["data"]] == ["prod", "legacy"]
    second = get(rancher, first["pagination"]["next"].replace(rancher.url, "")).json()
    assert [c["name"] for c in second["data"]] == ["edge", "hosted"]
    assert second["pagination"]["next"] is None
    assert len(get(rancher, "/v3/clusters", limit=10).json()["data"]) == 4


def test_a_new_token_has_no_node_command_until_it_is_active(rancher):
    body = {"type": "clusterRegistrationToken", "clusterId": "c-m-rke2x"}
    created = post(rancher, "/v3/clusterregistrationtokens", body)
    assert created.status_code == 201
    token = created.json()
    assert (token["state"], token["nodeCommand"], token["token"]) == ("pending", None, None)

    link = token["links"]["self"].replace(rancher.url, "")
    active = wait_for(lambda: (t := get(rancher, link).json())["state"] == "active" and t)

    assert active["nodeCommand"].strip().startswith(f"curl -fL {rancher.url}/system-agent")
    assert f"--token {active['token']}" in active["nodeCommand"]
    assert len(active["token"]) == 54


def test_tokens_are_listed_per_cluster(rancher):
    for cluster_id in ("c-m-rke2x", "c-rke1x", "c-rke1x"):
        post(rancher, "/v3/clusterregistrationtokens", {"clusterId": cluster_id})
    listed = get(rancher, "/v3/clusterregistrationtokens", clusterId="c-rke1x").json()["data"]
    assert [t["clusterId"] for t in listed] == ["c-rke1x", "c-rke1x"]


def test_a_token_for_an_unknown_cluster_is_refused(rancher):
    assert (
        post(rancher, "/v3/clusterregistrationtokens", {"clusterId": "c-nope"}).status_code == 422
    )


def test_nodes_are_paginated_with_a_next_link(rancher):
    for i in range(5):
        rancher.add_node("c-m-rke2x", f"web-{i}", roles=("etcd", "worker"))
    rancher.add_node("c-rke1x", "other")

    seen, url, pages = [], f"{rancher.url}/v3/nodes?clusterId=c-m-rke2x", 0
    while url:
        page = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2).json()
        seen += [n["hostname"] for n in page["data"]]
        url, pages = page["pagination"]["next"], pages + 1

    assert seen == [f"web-{i}" for i in range(5)]
    assert pages == 3
    node = get(rancher, "/v3/nodes", clusterId="c-m-rke2x").json()["data"][0]
    assert (node["etcd"], node["controlPlane"], node["worker"]) == (True, False, True)
    assert node["id"].startswith("c-m-rke2x:m-")


def test_a_deleted_node_goes_removing_then_away(rancher):
    node = rancher.add_node("c-m-rke2x", "web-1")
    answer = requests.delete(
        f"{rancher.url}/v3/nodes/{node['id']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=2,
    )
    assert answer.json()["state"] == "removing"
    wait_for(lambda: not rancher.nodes)
    assert get(rancher, f"/v3/nodes/{node['id']}").status_code == 404


def test_faults_and_downtime_apply_to_v3(rancher):
    rancher.fail_next(503, count=1, path="/v3/clusters")
    assert get(rancher, "/v3/clusters").status_code == 503
    assert get(rancher, "/v3/clusters").status_code == 200

    rancher.down(0.2, mode="503")
    assert get(rancher, "/v3/nodes").status_code == 503

    rancher.down(0.3)
    with pytest.raises(requests.ConnectionError):
        get(rancher, "/v3/clusters")
    wait_for(lambda: _answers(rancher))


def _answers(sandbox) -> bool:
    try:
        return get(sandbox, "/v3/clusters").status_code == 200
    except requests.ConnectionError:
        return False


def test_the_installer_script_is_served_without_auth(rancher):
    answer = requests.get(f"{rancher.url}/system-agent-install.sh", timeout=2)
    assert answer.status_code == 200 and answer.text.startswith("#!/bin/sh")
