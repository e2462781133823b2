"""Instance types and templates: only what the account may use in the zone, found by name."""

import pytest

from provisioning.errors import ExoscaleRefused
from provisioning.exoscale import ExoscaleClient
from tests.provisioning.conftest import KEY, SECRET


def exo(sandbox, zone="ch-gva-2"):
    return ExoscaleClient(KEY, SECRET, zone, endpoint=sandbox.endpoint, timeout=2.0, retries=0)


def test_instance_types_are_named_family_size_with_cpus_and_memory(sandbox):
    types = {t.name: t for t in exo(sandbox).instance_types()}

    medium = types["standard.medium"]
    assert (medium.cpus, medium.memory_gib) == (2, 4.0)
    assert types["standard.micro"].memory_gib == 0.5
    assert "gpu2.small" not in types  # not authorized for this account


def test_instance_types_are_only_those_of_the_zone(sandbox):
    sandbox.remove_instance_type("de-muc-1", "standard.huge")

    assert "standard.huge" not in {t.name for t in exo(sandbox, "de-muc-1").instance_types()}
    assert "standard.huge" in {t.name for t in exo(sandbox, "ch-gva-2").instance_types()}


def test_a_type_missing_from_the_zone_is_refused_in_words(sandbox):
    sandbox.remove_instance_type("de-muc-1", "standard.huge")

    with pytest.raises(ExoscaleRefused) as caught:
        exo(sandbox, "de-muc-1").find_instance_type("standard.huge")

    assert caught.value.message == "instance type standard.huge is not available in de-muc-1"


def test_a_misspelt_type_gets_suggestions(sandbox):
    with pytest.raises(ExoscaleRefused, match="did you mean standard.medium"):
        exo(sandbox).find_instance_type("standard.mediun")


def test_find_instance_type_by_name_is_case_insensitive(sandbox):
    found = exo(sandbox).find_instance_type("Standard.Large")
    assert (found.name, found.cpus) == ("standard.large", 4)


def test_templates_are_public_with_size_in_gib_and_default_user(sandbox):
    templates = exo(sandbox).templates()

    assert "Linux Ubuntu 24.04 LTS 64-bit" in [t.name for t in templates]
    ubuntu = exo(sandbox).find_template("Linux Ubuntu 24.04 LTS 64-bit")
    assert (ubuntu.size_gib, ubuntu.default_user) == (10, "ubuntu")
    assert ("GET", "/ch-gva-2/v2/template?visibility=public", 200) in sandbox.calls


def test_unknown_template_is_refused_with_the_zone_and_close_names(sandbox):
    with pytest.raises(ExoscaleRefused) as caught:
        exo(sandbox).find_template("Linux Ubuntu 14.04 LTS 64-bit")

    assert caught.value.message.startswith(
        "template 'Linux Ubuntu 14.04 LTS 64-bit' is not available in ch-gva-2; did you mean"
    )
    assert "Linux Ubuntu 24.04 LTS 64-bit" in caught.value.message
