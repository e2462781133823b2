"""Parsing ``/rancher-exoscale`` text into commands, and the usage errors for everything else."""

import pytest

from commands.options import FIELDS, parse_host_options
from commands.parse import (
    HELP_TEXT,
    SUBCOMMANDS,
    Add,
    Help,
    ListLaunches,
    Remove,
    Status,
    UsageError,
    parse_command,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", Help()),
        ("   ", Help()),
        (None, Help()),
        ("help", Help()),
        ("HELP add", Help()),
        ("list", ListLaunches()),
        ("  List  ", ListLaunches()),
        ("status 1a2b3c4d", Status(launch_id="1a2b3c4d")),
        ("status 1A2B3C4D", Status(launch_id="1a2b3c4d")),
        ("remove web-3", Remove(host="web-3")),
        ("remove Web-3", Remove(host="web-3")),
        ("add", Add(values={})),
        ("add name=web", Add(values={"name": "web"})),
        (
            "add count=3 name=web labels=a=b,c=d engine-opt=x=y engine-opt=z=w "
            "description='two words'",
            Add(
                values={
                    "count": "3",
                    "name": "web",
                    "labels": "a=b,c=d",
                    "engine_opt": "x=y\nz=w",
                    "description": "two words",
                }
            ),
        ),
        ('add description="it\'s quoted"', Add(values={"description": "it's quoted"})),
        ("add engine_env=A=1 ENGINE-ENV=B=2", Add(values={"engine_env": "A=1\nB=2"})),
        ("add labels=a=1 labels=b=2", Add(values={"labels": "a=1\nb=2"})),
        ("add description=", Add(values={"description": ""})),
        (
            "add engine-insecure-registry=r1:5000 engine-insecure-registry=r2:5000 "
            "engine-registry-mirror=https://m1 engine-registry-mirror=https://m2 "
            "engine-label=a=b engine-label=c=d",
            Add(
                values={
                    "engine_insecure_registry": "r1:5000\nr2:5000",
                    "engine_registry_mirror": "https://m1\nhttps://m2",
                    "engine_label": "a=b\nc=d",
                }
            ),
        ),
        (
            "add engine-storage-driver=overlay2 engine-install-url=https://get.docker.com "
            "zone=de-fra-1 profile=standard.large template='Linux Ubuntu 22.04 LTS 64-bit' "
            "disk=100 group=standard network=vxlan",
            Add(
                values={
                    "engine_storage_driver": "overlay2",
                    "engine_install_url": "https://get.docker.com",
                    "zone": "de-fra-1",
                    "profile": "standard.large",
                    "template": "Linux Ubuntu 22.04 LTS 64-bit",
                    "disk": "100",
                    "group": "standard",
                    "network": "vxlan",
                }
            ),
        ),
    ],
)
def test_valid_text_parses_to_its_command(text, expected):
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # Slack escapes &, < and > in slash-command text.
        ("add engine-env=Q=a&amp;b", Add(values={"engine_env": "Q=a&b"})),
        ("add description=&lt;web&gt;", Add(values={"description": "<web>"})),
        # …wraps links when link escaping is on…
        (
            "add engine-registry-mirror=<https://mirror.gcr.io|mirror.gcr.io>",
            Add(values={"engine_registry_mirror": "https://mirror.gcr.io"}),
        ),
        (
            "add engine-install-url=<https://get.docker.com/>",
            Add(values={"engine_install_url": "https://get.docker.com/"}),
        ),
        # …and its clients may type typographic quotes.
        ("add description=\u201ctwo words\u201d", Add(values={"description": "two words"})),
        ("add description=\u2018two words\u2019", Add(values={"description": "two words"})),
    ],
)
def test_slack_text_is_read_as_the_user_typed_it(text, expected):
    assert parse_command(text) == expected


VALID_COMMANDS = "Valid commands: add [key=value …], list, status <launch>, remove <host>, help."
VALID_KEYS = (
    "Valid options for add: count, name, description, zone, profile, template, disk, group, "
    "network, labels, engine-opt, engine-label, engine-env, engine-insecure-registry, "
    "engine-registry-mirror, engine-storage-driver, engine-install-url, cluster, roles."
)


@pytest.mark.parametrize(
    "text, message",
    [
        ("launch", f"unknown command 'launch'. {VALID_COMMANDS}"),
        ("lst", f"unknown command 'lst' (did you mean 'list'?). {VALID_COMMANDS}"),
        ("ad name=web", f"unknown command 'ad' (did you mean 'add'?). {VALID_COMMANDS}"),
        ("add nam=web", f"unknown option 'nam' (did you mean 'name'?). {VALID_KEYS}"),
        ("add size=10", f"unknown option 'size'. {VALID_KEYS}"),
        (
            "add engine-opts=a=b",
            f"unknown option 'engine-opts' (did you mean 'engine-opt'?). {VALID_KEYS}",
        ),
        (
            "add web",
            f"'web' is not key=value, e.g. name=web or description='two words'. {VALID_KEYS}",
        ),
        (
            "add =web",
            f"'=web' is not key=value, e.g. name=web or description='two words'. {VALID_KEYS}",
        ),
        (
            "add count=1 count=2",
            "'count' is given twice; only labels and the engine-opt, engine-label, engine-env, "
            "engine-insecure-registry and engine-registry-mirror options can repeat.",
        ),
        (
            "add engine-install-url=https://a engine-install-url=https://b",
            "'engine-install-url' is given twice; only labels and the engine-opt, engine-label, "
            "engine-env, engine-insecure-registry and engine-registry-mirror options can repeat.",
        ),
        ("list all", "list takes no arguments, got 'all'."),
        (
            "status",
            "status needs one launch id, e.g. `/rancher-exoscale status 1a2b3c4d` "
            "(`/rancher-exoscale list` shows them).",
        ),
        (
            "status 1a2b 3c4d",
            "status needs one launch id, e.g. `/rancher-exoscale status 1a2b3c4d` "
            "(`/rancher-exoscale list` shows them).",
        ),
        (
            "status $(id)",
            "status needs one launch id, e.g. `/rancher-exoscale status 1a2b3c4d` "
            "(`/rancher-exoscale list` shows them).",
        ),
        ("remove", "remove needs one host name, e.g. `/rancher-exoscale remove web-1`."),
        (
            "remove web-1 web-2",
            "remove needs one host name, e.g. `/rancher-exoscale remove web-1`.",
        ),
        ("remove web_1", "remove needs one host name, e.g. `/rancher-exoscale remove web-1`."),
        (
            "add description='unclosed",
            f"could not read the command: no closing quotation; check that every quote is "
            f"closed. {VALID_COMMANDS}",
        ),
        (
            'add description="unclosed',
            f"could not read the command: no closing quotation; check that every quote is "
            f"closed. {VALID_COMMANDS}",
        ),
        (
            "add name=web\\",
            f"could not read the command: no escaped character; check that every quote is "
            f"closed. {VALID_COMMANDS}",
        ),
    ],
)
def test_invalid_text_gets_a_usage_error_saying_what_is_valid(text, message):
    with pytest.raises(UsageError) as info:
        parse_command(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text",
    ["'", '"', "\\", "add '\"", "add \x00", "=", "add ==", "\u201c", "status ''", "remove ''"],
)
def test_odd_text_never_raises_anything_but_a_usage_error(text):
    try:
        parse_command(text)
    except UsageError as exc:
        assert str(exc)


def test_usage_errors_are_value_errors():
    assert issubclass(UsageError, ValueError)


def test_help_lists_every_subcommand_and_every_add_option():
    for name in SUBCOMMANDS:
        assert f"/rancher-exoscale {name}" in HELP_TEXT
    for key in FIELDS:
        assert f"`{key.replace('_', '-')}`" in HELP_TEXT


def test_parsed_add_values_feed_the_host_options():
    command = parse_command(
        "add count=2 name=web zone=de-fra-1 labels=role=web labels=tier=front "
        "engine-env=NO_PROXY=localhost,127.0.0.1 engine-opt=dns=8.8.8.8 engine-opt=debug=true"
    )
    opts = parse_host_options(command.values, max_hosts=20)
    assert opts.host_names() == ("web-1", "web-2")
    assert opts.labels == (("role", "web"), ("tier", "front"))
    assert opts.engine.env == (("NO_PROXY", "localhost,127.0.0.1"),)
    assert opts.engine.daemon_config() == {"dns": ["8.8.8.8"], "debug": True}
