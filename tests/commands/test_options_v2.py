"""Host options for Rancher 2.x: the cluster, node roles, Kubernetes labels, the etcd warning."""

from __future__ import annotations

import json

import pytest

from commands.options import (
    DEFAULT_ROLES,
    DEFAULTS,
    HostOptions,
    InvalidOptions,
    etcd_warning,
    parse_host_options,
)

MAX = 20


def parse(**values):
    return parse_host_options({"name": "web", **values}, max_hosts=MAX)


def errors_of(**values):
    with pytest.raises(InvalidOptions) as caught:
        parse(**values)
    return caught.value.errors


def test_without_a_cluster_the_options_are_for_rancher_1_6():
    opts = parse()
    assert (opts.cluster, opts.roles, opts.rancher2) == ("", (), False)
    assert DEFAULTS["cluster"] == DEFAULTS["roles"] == ""


def test_a_cluster_with_roles_is_a_rancher_2_launch():
    opts = parse(cluster="c-m-4fz9x2kd", roles="worker, etcd")
    assert (opts.cluster, opts.rancher2) == ("c-m-4fz9x2kd", True)
    # Roles come back in one order whatever order they were typed in.
    assert opts.roles == ("etcd", "worker")


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        ("etcd,controlplane,worker", ("etcd", "controlplane", "worker")),
        ("Worker", ("worker",)),
        ("control-plane\netcd", ("etcd", "controlplane")),
        ("control plane", ("controlplane",)),
    ],
)
def test_roles_are_read_comma_or_newline_separated(raw, roles):
    assert parse(cluster="c-abc12", roles=raw).roles == roles


def test_the_default_roles_are_all_three():
    assert DEFAULT_ROLES == ("etcd", "controlplane", "worker")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"cluster": "c-abc12"}, "roles", "choose at least one of etcd, controlplane, worker"),
        ({"roles": "worker"}, "roles", "roles apply to Rancher 2.x clusters only"),
        ({"cluster": "c-abc12", "roles": "worker,worker"}, "roles", "given twice"),
        ({"cluster": "c-abc12", "roles": "etcd,master"}, "roles", "'master' is not one of"),
        ({"cluster": "c-abc12/../x", "roles": "worker"}, "cluster", "Rancher cluster id"),
        ({"cluster": "c-" + "a" * 62, "roles": "worker"}, "cluster", "Rancher cluster id"),
        ({"cluster": "-c", "roles": "worker"}, "cluster", "Rancher cluster id"),
    ],
)
def test_cluster_and_roles_are_validated(values, field, message):
    errors = errors_of(**values)
    assert list(errors) == [field]
    assert message in errors[field]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("tier=web-", "which Kubernetes refuses"),
        ("tier-=web", "is not a Kubernetes label name"),
        ("tier=_web", "which Kubernetes refuses"),
    ],
)
def test_labels_of_a_2x_launch_must_be_kubernetes_labels(labels, message):
    assert parse(labels=labels).labels  # fine for Rancher 1.6 host labels
    errors = errors_of(labels=labels, cluster="c-abc12", roles="worker")
    assert list(errors) == ["labels"]
    assert message in errors["labels"]


def test_problems_across_fields_are_reported_together():
    errors = errors_of(cluster="C!", roles="boss", count="0")
    assert set(errors) == {"cluster", "roles", "count"}


@pytest.mark.parametrize(
    "values",
    [
        {"cluster": "c-m-4fz9x2kd", "roles": "etcd,controlplane,worker", "labels": "tier=web"},
        {"cluster": "c-abc12", "roles": "worker", "count": "5"},
        {},
    ],
)
def test_the_new_fields_round_trip_through_dict_json_and_form(values):
    opts = parse(**values)
    assert HostOptions.from_dict(json.loads(json.dumps(opts.to_dict()))) == opts
    form = opts.to_form()
    assert {k: form[k] for k in ("cluster", "roles")} == {
        "cluster": opts.cluster,
        "roles": "\n".join(opts.roles),
    }
    assert parse_host_options(form, max_hosts=MAX) == opts


def test_a_dict_stored_before_2x_support_still_loads_as_a_1_6_launch():
    old = parse().to_dict()
    del old["cluster"], old["roles"]
    opts = HostOptions.from_dict(old)
    assert opts == parse()
    assert not opts.rancher2


@pytest.mark.parametrize(
    ("count", "roles", "warns"),
    [
        (1, "etcd", False),
        (2, "etcd", True),
        (3, "etcd,controlplane,worker", False),
        (4, "etcd,worker", True),
        (2, "worker", False),
        (2, "controlplane,worker", False),
    ],
)
def test_etcd_warning_only_for_an_even_number_of_etcd_nodes(count, roles, warns):
    opts = parse(count=str(count), cluster="c-abc12", roles=roles)
    assert (etcd_warning(opts) is not None) is warns


def test_the_etcd_warning_says_why():
    warning = etcd_warning(parse(count="4", cluster="c-abc12", roles="etcd"))
    assert "4 etcd nodes" in warning
    assert "no more failures than 3" in warning
    assert "majority" in warning


def test_no_etcd_warning_for_rancher_1_6_launches():
    assert etcd_warning(parse(count="2")) is None
