"""Rancher2Client.clusters(): the clusters custom nodes can join, each with its kind."""

from __future__ import annotations

import pytest

from provisioning.errors import RancherRefused
from provisioning.rancher2 import Cluster, Rancher2Client, cluster_kind
from sandbox.rancher import RancherSandbox

TOKEN = "token-ab12c:clusterstestsecret"
CLUSTERS = [
    {"id": "c-m-rke2x", "name": "prod", "kind": "rke2"},
    {"id": "c-rke1x", "name": "legacy", "kind": "rke1"},
    {"id": "c-m-k3sxx", "name": "edge", "kind": "k3s", "state": "updating"},
    {"id": "c-eksxx", "name": "hosted", "kind": "imported"},
    {"id": "local", "name": "local", "kind": "rke2"},
]


@pytest.fixture
def rancher():
    with RancherSandbox(token=TOKEN, clusters=CLUSTERS) as sandbox:
        yield sandbox


def client(sandbox: RancherSandbox) -> Rancher2Client:
    return Rancher2Client(sandbox.url, TOKEN, timeout=2.0, retries=1, backoff=0.01)


def test_lists_rke1_rke2_and_k3s_clusters_by_name_with_their_kind_and_state(rancher):
    assert client(rancher).clusters() == [
        Cluster("c-m-k3sxx", "edge", "k3s", "updating"),
        Cluster("c-rke1x", "legacy", "rke1", "active"),
        Cluster("c-m-rke2x", "prod", "rke2", "active"),
    ]


def test_every_page_of_clusters_is_read(rancher):
    paged = Rancher2Client(rancher.url, TOKEN, timeout=2.0, retries=1, page_size=2)

    assert [c.name for c in paged.clusters()] == ["edge", "legacy", "prod"]
    assert rancher.calls_to("/v3/clusters", "GET") == 3


def test_hosted_imported_and_the_local_cluster_are_left_out(rancher):
    ids = {c.id for c in client(rancher).clusters()}
    assert not ids & {"c-eksxx", "local"}
    assert {c["id"] for c in rancher.clusters} >= {"c-eksxx", "local"}


def test_one_cluster_by_id(rancher):
    assert client(rancher).cluster("c-rke1x") == Cluster("c-rke1x", "legacy", "rke1", "active")


def test_an_unknown_cluster_is_refused_naming_it(rancher):
    with pytest.raises(RancherRefused, match="no cluster c-nope") as caught:
        client(rancher).cluster("c-nope")
    assert caught.value.status == 404


def test_a_cluster_that_takes_no_custom_nodes_is_refused(rancher):
    with pytest.raises(RancherRefused, match="takes no custom nodes"):
        client(rancher).cluster("c-eksxx")


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"driver": "rancherKubernetesEngine"}, "rke1"),
        ({"rancherKubernetesEngineConfig": {"kubernetesVersion": "v1.28"}}, "rke1"),
        ({"driver": "rke2"}, "rke2"),
        ({"driver": "imported", "provider": "rke2"}, "rke2"),
        ({"driver": "k3s", "k3sConfig": {}}, "k3s"),
        ({"driver": "imported", "provider": "k3s"}, "k3s"),
        ({"rke2Config": {"kubernetesVersion": "v1.30.4+rke2r1"}}, "rke2"),
        ({"k3sConfig": {"kubernetesVersion": "v1.30.4+k3s1"}}, "k3s"),
        ({"driver": "imported", "rancherKubernetesEngineConfig": None, "rke2Config": None}, None),
        ({"driver": "EKS", "provider": "eks"}, None),
        ({}, None),
    ],
)
def test_cluster_kind_from_the_v3_fields(fields, kind):
    assert cluster_kind(fields) == kind


def test_every_sandbox_cluster_json_reads_as_its_seeded_kind(rancher):
    kinds = {c["id"]: cluster_kind(c) for c in rancher.clusters}
    assert kinds == {
        "c-m-rke2x": "rke2",
        "c-rke1x": "rke1",
        "c-m-k3sxx": "k3s",
        "c-eksxx": None,
        "local": "rke2",
    }
