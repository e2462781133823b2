"""The Authenticate step: keys checked against the sandbox, and the secret never shown."""

import logging
import traceback

import pytest

from provisioning.errors import ExoscaleAuthError, ExoscaleUnavailable, ProvisioningError
from provisioning.exoscale import ExoscaleClient
from tests.provisioning.conftest import KEY, SECRET, client


def test_good_credentials_are_accepted(sandbox):
    client(sandbox).check_credentials()
    assert sandbox.calls[-1][0] == "GET" and sandbox.calls[-1][2] == 200


def test_wrong_secret_says_to_check_the_api_keys_page(sandbox):
    with pytest.raises(ExoscaleAuthError) as caught:
        client(sandbox, secret="not-the-secret").check_credentials()
    assert caught.value.message.startswith(
        "Exoscale refused the API key: check it on the API keys page"
    )
    assert caught.value.status == 403


def test_unknown_key_is_refused_as_an_auth_error(sandbox):
    with pytest.raises(ExoscaleAuthError) as caught:
        client(sandbox, key="EXOnobody").check_credentials()
    assert "unknown API key" in caught.value.message


def test_endpoint_template_is_filled_with_the_zone(sandbox):
    exo = ExoscaleClient(KEY, SECRET, "de-muc-1", endpoint=sandbox.endpoint)
    assert exo.endpoint == sandbox.endpoint.replace("{zone}", "de-muc-1")
    exo.check_credentials()
    assert sandbox.calls[-1][1].startswith("/de-muc-1/v2/")


def test_default_endpoint_is_the_zone_api_and_unknown_zones_are_refused():
    assert ExoscaleClient(KEY, SECRET, "ch-dk-2").endpoint == "https://api-ch-dk-2.exoscale.com/v2"
    with pytest.raises(ValueError, match="unknown Exoscale zone"):
        ExoscaleClient(KEY, SECRET, "mars-1")


def test_zones_are_listed_over_the_session(sandbox):
    assert "ch-gva-2" in client(sandbox).zones()
    assert sandbox.calls[-1][1] == "/ch-gva-2/v2/zone"


def test_nothing_shows_the_secret(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    exo = client(sandbox, secret=SECRET + "-wrong", timeout=0.2, retries=0)
    failures: list[ProvisioningError] = []
    with pytest.raises(ExoscaleAuthError) as caught:
        exo.check_credentials()
    failures.append(caught.value)
    sandbox.fail_next(500)
    good = client(sandbox, timeout=0.2, retries=0)
    with pytest.raises(ExoscaleUnavailable) as caught:
        good.check_credentials()
    failures.append(caught.value)
    sandbox.hang_next(1.0)
    with pytest.raises(ExoscaleUnavailable) as caught:
        good.check_credentials()
    failures.append(caught.value)

    assert SECRET not in repr(exo) and SECRET not in repr(good)
    assert SECRET not in repr(exo.__dict__) and SECRET not in repr(good.__dict__)
    for exc in failures:
        assert SECRET not in str(exc) and SECRET not in repr(exc)
        assert SECRET not in "".join(traceback.format_exception(exc))
    assert SECRET not in caplog.text
