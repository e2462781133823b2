"""Host options: validation of every field, all problems at once, and the round trips."""

import json

import pytest

from commands.options import (
    DEFAULTS,
    FIELDS,
    HostOptions,
    InvalidOptions,
    parse_host_options,
    split_items,
)

MAX = 20


def parse(max_hosts=MAX, template_size=None, **values):
    return parse_host_options(
        {"name": "web", **values}, max_hosts=max_hosts, template_size=template_size
    )


def errors_of(max_hosts=MAX, template_size=None, **values):
    with pytest.raises(InvalidOptions) as info:
        parse(max_hosts=max_hosts, template_size=template_size, **values)
    return info.value.errors


def test_defaults_fill_every_field_but_name():
    opts = parse_host_options({"name": "web"}, max_hosts=MAX)
    assert opts.count == 1
    assert (opts.zone, opts.profile, opts.template) == (
        "ch-gva-2",
        "standard.medium",
        "Linux Ubuntu 24.04 LTS 64-bit",
    )
    assert (opts.disk, opts.group, opts.network) == (50, "standard", "ipsec")
    assert opts.standard_group
    assert opts.labels == ()
    assert opts.engine.daemon_config() == {}
    assert set(DEFAULTS) == set(FIELDS)


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_values_take_the_default(blank):
    opts = parse(count=blank, zone=blank, disk=blank, network=blank, group=blank)
    assert (opts.count, opts.zone, opts.disk, opts.network, opts.group) == (
        1,
        "ch-gva-2",
        50,
        "ipsec",
        "standard",
    )


def test_keys_outside_fields_are_ignored():
    assert parse(api_key="EXOabc").name == "web"


@pytest.mark.parametrize(
    "values, attribute, expected",
    [
        ({"count": "20"}, "count", 20),
        ({"count": " 3 "}, "count", 3),
        ({"name": "a"}, "name", "a"),
        ({"name": "web-tier-2"}, "name", "web-tier-2"),
        ({"description": "Front tier, OPS-42 ✓"}, "description", "Front tier, OPS-42 ✓"),
        ({"description": "d" * 255}, "description", "d" * 255),
        ({"zone": "DE-FRA-1"}, "zone", "de-fra-1"),
        ({"profile": "Standard.Huge"}, "profile", "standard.huge"),
        ({"profile": "gpu2.small"}, "profile", "gpu2.small"),
        ({"template": "Linux Debian 12 (Bookworm) 64-bit"}, "template", None),
        ({"disk": "10"}, "disk", 10),
        ({"disk": "51200"}, "disk", 51200),
        ({"group": "Standard"}, "group", "standard"),
        ({"group": "my web group (prod)"}, "group", "my web group (prod)"),
        ({"network": "VXLAN"}, "network", "vxlan"),
        (
            {"labels": "role=web,io.rancher.host.external_dns_ip=203.0.113.7"},
            "labels",
            (("role", "web"), ("io.rancher.host.external_dns_ip", "203.0.113.7")),
        ),
        ({"labels": "a=1\nb=2\n\n"}, "labels", (("a", "1"), ("b", "2"))),
        (
            {"labels": " env = prod , tier=front-end_1 "},
            "labels",
            (("env", "prod"), ("tier", "front-end_1")),
        ),
        ({"labels": "k" * 63 + "=" + "v" * 63}, "labels", (("k" * 63, "v" * 63),)),
    ],
)
def test_good_values_are_accepted(values, attribute, expected):
    if expected is None:
        expected = values[attribute]
    assert getattr(parse(**values), attribute) == expected


NAME_RULE = "must be a DNS label: a-z, 0-9 and '-', starting with a letter"
ZONE_LIST = "at-vie-1, at-vie-2, bg-sof-1, ch-dk-2, ch-gva-2, de-fra-1, de-muc-1, hr-zag-1"
LABEL_KEY_RULE = (
    "must start with a letter or digit and use only A-Z, a-z, 0-9, '.', '_' and '-' "
    "(at most 63 characters)"
)
LABEL_VALUE_RULE = "values may use only A-Z, a-z, 0-9, '.', '_' and '-' (at most 63 characters)"
ENGINE_KEY_RULE = (
    "must be a daemon.json option name: lowercase letters, digits and '-', starting with a letter"
)
REGISTRY_RULE = "must be host[:port], e.g. registry.example.com:5000"
DRIVERS = "overlay2, overlay, aufs, btrfs, devicemapper, vfs, zfs"

BAD_INPUTS = [
    # count
    ("count", "0", "count must be between 1 and 20"),
    ("count", "21", "count must be between 1 and 20"),
    ("count", "-1", "count must be a whole number between 1 and 20, got '-1'"),
    ("count", "three", "count must be a whole number between 1 and 20, got 'three'"),
    ("count", "2.5", "count must be a whole number between 1 and 20, got '2.5'"),
    # name
    ("name", "Web_1", f"name 'Web_1' {NAME_RULE}"),
    ("name", "1web", f"name '1web' {NAME_RULE}"),
    ("name", "-web", f"name '-web' {NAME_RULE}"),
    ("name", "web.prod", f"name 'web.prod' {NAME_RULE}"),
    ("name", "web prod", f"name 'web prod' {NAME_RULE}"),
    ("name", "wéb", f"name 'wéb' {NAME_RULE}"),
    ("name", "web;reboot", f"name 'web;reboot' {NAME_RULE}"),
    (
        "name",
        "x" * 62,
        f"name '{'x' * 39}…' is too long: with the suffix '-1' a host name would have 64 "
        "characters, at most 63 are allowed",
    ),
    # description
    ("description", "d" * 256, "description must be at most 255 characters (it has 256)"),
    (
        "description",
        "line one\nline two",
        "description must not contain control characters or line breaks (found U+000A)",
    ),
    (
        "description",
        "bell\x07",
        "description must not contain control characters or line breaks (found U+0007)",
    ),
    # zone
    ("zone", "ch-gva-1", f"zone 'ch-gva-1' is not an Exoscale zone; choose one of {ZONE_LIST}"),
    ("zone", "us-east-1", f"zone 'us-east-1' is not an Exoscale zone; choose one of {ZONE_LIST}"),
    # profile
    (
        "profile",
        "medium",
        "profile 'medium' must be family.size in lowercase letters and digits, "
        "e.g. standard.medium",
    ),
    (
        "profile",
        "standard.medium.x",
        "profile 'standard.medium.x' must be family.size in lowercase letters and digits, "
        "e.g. standard.medium",
    ),
    (
        "profile",
        "standard-medium",
        "profile 'standard-medium' must be family.size in lowercase letters and digits, "
        "e.g. standard.medium",
    ),
    # template
    ("template", "t" * 256, "template must be at most 255 characters (it has 256)"),
    (
        "template",
        "Ubuntu\x00",
        "template must not contain control characters or line breaks (found U+0000)",
    ),
    # disk
    ("disk", "9", "disk must be between 10 and 51200 GiB"),
    ("disk", "51201", "disk must be between 10 and 51200 GiB"),
    ("disk", "50GB", "disk must be a whole number of GiB between 10 and 51200, got '50GB'"),
    # group
    (
        "group",
        "g" * 256,
        "group must be 'standard' or a security group name of at most 255 characters (it has 256)",
    ),
    (
        "group",
        "web\u2028group",
        "group must not contain control characters or line breaks (found U+2028)",
    ),
    # network
    ("network", "flannel", "network must be ipsec or vxlan, got 'flannel'"),
    # labels
    ("labels", "role", "label 'role' must be key=value, e.g. role=web"),
    ("labels", "=web", "label '=web' must be key=value, e.g. role=web"),
    ("labels", "-role=web", f"label key '-role' {LABEL_KEY_RULE}"),
    ("labels", "my role=web", f"label key 'my role' {LABEL_KEY_RULE}"),
    ("labels", "a/b=web", f"label key 'a/b' {LABEL_KEY_RULE}"),
    ("labels", "k" * 64 + "=v", f"label key '{'k' * 39}…' {LABEL_KEY_RULE}"),
    ("labels", "role=", "label 'role' needs a value, e.g. role=yes"),
    ("labels", "role=web server", f"label 'role' has value 'web server'; {LABEL_VALUE_RULE}"),
    ("labels", "role=a,b", f"label 'role' has value 'a,b'; {LABEL_VALUE_RULE}"),
    ("labels", "x=$(rm -rf /)", f"label 'x' has value '$(rm -rf /)'; {LABEL_VALUE_RULE}"),
    ("labels", "x=`id`", f"label 'x' has value '`id`'; {LABEL_VALUE_RULE}"),
    ("labels", "x=a;reboot", f"label 'x' has value 'a;reboot'; {LABEL_VALUE_RULE}"),
    ("labels", "x='q'", f"label 'x' has value \"'q'\"; {LABEL_VALUE_RULE}"),
    ("labels", "x=a&b=c", f"label 'x' has value 'a&b=c'; {LABEL_VALUE_RULE}"),
    ("labels", "role=" + "v" * 64, f"label 'role' has value '{'v' * 39}…'; {LABEL_VALUE_RULE}"),
    ("labels", "role=a,role=b", "label key 'role' is given twice"),
    (
        "labels",
        "rancher-exoscale-bot.launch=abc",
        "label key 'rancher-exoscale-bot.launch' is reserved: keys starting with "
        "'rancher-exoscale-bot.' are set by the bot",
    ),
    (
        "labels",
        "Rancher-Exoscale-Bot.host=x",
        "label key 'Rancher-Exoscale-Bot.host' is reserved: keys starting with "
        "'rancher-exoscale-bot.' are set by the bot",
    ),
    # engine options
    (
        "engine_opt",
        "debug",
        "engine option 'debug' must be key=value, e.g. max-concurrent-downloads=3",
    ),
    ("engine_opt", "Debug=true", f"engine option 'Debug' {ENGINE_KEY_RULE}"),
    ("engine_opt", "log_level=warn", f"engine option 'log_level' {ENGINE_KEY_RULE}"),
    ("engine_opt", "$(id)=1", f"engine option '$(id)' {ENGINE_KEY_RULE}"),
    ("engine_opt", "debug=", "engine option 'debug' needs a value"),
    ("engine_opt", "mtu=1400,mtu=1500", "engine option 'mtu' is given twice"),
    (
        "engine_opt",
        "labels=a=b",
        "engine option 'labels' has its own field: use engine-label instead",
    ),
    (
        "engine_opt",
        "insecure-registry=r:5000",
        "engine option 'insecure-registry' has its own field: use engine-insecure-registry instead",
    ),
    (
        "engine_opt",
        "storage-driver=zfs",
        "engine option 'storage-driver' has its own field: use engine-storage-driver instead",
    ),
    (
        "engine_opt",
        "hosts=tcp://0.0.0.0:2375",
        "engine option 'hosts' is not allowed: the Docker service already passes -H, and dockerd "
        "refuses to start when daemon.json sets hosts too; the agent needs the local socket",
    ),
    (
        "engine_opt",
        "default-ulimits=nofile=1024",
        "engine option 'default-ulimits' is not allowed: it takes a nested value that key=value "
        "cannot express",
    ),
    (
        "engine_opt",
        "log-opts=10m",
        "engine option 'log-opts' takes name=value, e.g. log-opts=max-size=10m",
    ),
    (
        "engine_opt",
        "log-opt=max-size=1m\nlog-opt=max-size=2m",
        "engine option 'log-opts' sets 'max-size' twice",
    ),
    (
        "engine_opt",
        "bip=" + "1" * 1025,
        "engine option 'bip' must be at most 1024 characters (it has 1025)",
    ),
    (
        "engine_opt",
        "bip=\x1b[31m",
        "engine option 'bip' must not contain control characters or line breaks (found U+001B)",
    ),
    # engine labels
    ("engine_label", "tier", "engine label 'tier' must be key=value, e.g. tier=backend"),
    (
        "engine_label",
        "com.docker.swarm=1",
        "engine label key 'com.docker.swarm' uses a prefix Docker reserves "
        "(com.docker., io.docker., org.dockerproject.)",
    ),
    (
        "engine_label",
        "a b=c",
        "engine label key 'a b' must start with a letter or digit and use only "
        "A-Z, a-z, 0-9, '.', '_' and '-'",
    ),
    ("engine_label", "tier=", "engine label 'tier' needs a value"),
    ("engine_label", "tier=a,tier=b", "engine label key 'tier' is given twice"),
    # engine env
    (
        "engine_env",
        "1PROXY=x",
        "engine env name '1PROXY' must be a shell variable name: letters, digits and '_', "
        "not starting with a digit",
    ),
    (
        "engine_env",
        "HTTP-PROXY=x",
        "engine env name 'HTTP-PROXY' must be a shell variable name: letters, digits and '_', "
        "not starting with a digit",
    ),
    (
        "engine_env",
        "$(reboot)=x",
        "engine env name '$(reboot)' must be a shell variable name: letters, digits and '_', "
        "not starting with a digit",
    ),
    ("engine_env", "A=1\nA=2", "engine env 'A' is given twice"),
    (
        "engine_env",
        "A=tab\there",
        "engine env 'A' must not contain control characters or line breaks (found U+0009)",
    ),
    (
        "engine_env",
        "NOVALUE",
        "engine env 'NOVALUE' must be key=value, e.g. HTTP_PROXY=http://proxy:3128",
    ),
    # insecure registries
    (
        "engine_insecure_registry",
        "http://registry:5000",
        "insecure registry 'http://registry:5000' must be host[:port] without a scheme, "
        "e.g. registry.example.com:5000",
    ),
    (
        "engine_insecure_registry",
        "registry:99999",
        f"insecure registry 'registry:99999' {REGISTRY_RULE}",
    ),
    (
        "engine_insecure_registry",
        "bad_host:5000",
        f"insecure registry 'bad_host:5000' {REGISTRY_RULE}",
    ),
    ("engine_insecure_registry", "reg;id", f"insecure registry 'reg;id' {REGISTRY_RULE}"),
    (
        "engine_insecure_registry",
        "10.0.0.0/33",
        "insecure registry '10.0.0.0/33' must be host[:port] or a CIDR network",
    ),
    # registry mirrors
    (
        "engine_registry_mirror",
        "mirror.example.com",
        "registry mirror 'mirror.example.com' must be a URL starting with http:// or https://",
    ),
    (
        "engine_registry_mirror",
        "ftp://mirror.example.com",
        "registry mirror 'ftp://mirror.example.com' must be a URL starting with http:// or "
        "https://",
    ),
    (
        "engine_registry_mirror",
        "https://user:pw@mirror.example.com",
        "registry mirror 'https://user:pw@mirror.example.com' must not carry a user name or "
        "password",
    ),
    (
        "engine_registry_mirror",
        "https://mirror.example.com/?x=1",
        "registry mirror 'https://mirror.example.com/?x=1' must not have a query or fragment",
    ),
    (
        "engine_registry_mirror",
        "https://mirror.example.com:99999",
        "registry mirror 'https://mirror.example.com:99999' has an invalid port",
    ),
    (
        "engine_registry_mirror",
        "https://mirror.example.com/$(id) x",
        "registry mirror 'https://mirror.example.com/$(id) x' must be a URL starting with "
        "http:// or https://, without spaces",
    ),
    # storage driver
    (
        "engine_storage_driver",
        "overlay3",
        f"storage driver 'overlay3' is not supported; choose one of {DRIVERS}",
    ),
    # install url
    (
        "engine_install_url",
        "http://get.docker.com",
        "engine install URL 'http://get.docker.com' must be a URL starting with https://",
    ),
    (
        "engine_install_url",
        "get.docker.com",
        "engine install URL 'get.docker.com' must be a URL starting with https://",
    ),
    (
        "engine_install_url",
        "https://get.docker.com/ | sh; reboot",
        "engine install URL 'https://get.docker.com/ | sh; reboot' must be a URL starting with "
        "https://, without spaces",
    ),
    # Rancher 2.x cluster and roles
    (
        "cluster",
        "C_ABC12",
        "cluster 'C_ABC12' must be a Rancher cluster id such as c-abc12 or c-m-4fz9x2kd",
    ),
    ("roles", "etcd,master", "role 'master' is not one of etcd, controlplane, worker"),
]


@pytest.mark.parametrize(
    "field_key, raw, message",
    [pytest.param(f, r, m, id=f"{f}:{r[:30]!r}") for f, r, m in BAD_INPUTS],
)
def test_bad_input_is_refused_with_its_message(field_key, raw, message):
    assert errors_of(**{field_key: raw}) == {field_key: message}


def test_there_are_at_least_forty_bad_inputs_across_the_fields():
    assert len(BAD_INPUTS) >= 40
    assert {f for f, _, _ in BAD_INPUTS} == set(FIELDS)


def test_surrounding_whitespace_and_line_breaks_are_trimmed():
    assert parse(engine_install_url="https://get.docker.com\r\n").engine.install_url == (
        "https://get.docker.com"
    )


def test_name_is_required():
    with pytest.raises(InvalidOptions) as info:
        parse_host_options({}, max_hosts=MAX)
    assert info.value.errors == {"name": "name is required"}


@pytest.mark.parametrize(
    "length, count, ok",
    [(61, 1, True), (62, 1, False), (60, 10, True), (61, 10, False), (59, 20, True)],
)
def test_name_length_counts_the_longest_index_suffix(length, count, ok):
    values = {"name": "h" * length, "count": str(count)}
    if ok:
        opts = parse_host_options(values, max_hosts=MAX)
        assert max(len(n) for n in opts.host_names()) <= 63
    else:
        with pytest.raises(InvalidOptions) as info:
            parse_host_options(values, max_hosts=MAX)
        assert set(info.value.errors) == {"name"}


def test_count_limit_follows_max_hosts():
    assert errors_of(max_hosts=5, count="6") == {"count": "count must be between 1 and 5"}
    assert parse(max_hosts=5, count="5").count == 5


@pytest.mark.parametrize("template_size, disk, ok", [(10, "10", True), (20, "19", False)])
def test_disk_is_not_below_the_template(template_size, disk, ok):
    if ok:
        assert parse(template_size=template_size, disk=disk).disk == int(disk)
    else:
        assert errors_of(template_size=template_size, disk=disk) == {
            "disk": "disk must be at least 20 GiB, the size of the template"
        }


def test_every_problem_is_reported_at_once_keyed_by_field():
    with pytest.raises(InvalidOptions) as info:
        parse_host_options(
            {
                "count": "0",
                "name": "Web_1",
                "zone": "mars",
                "disk": "1",
                "network": "weave",
                "labels": "ok=1,bad key=1,x=$(id)",
                "engine_opt": "hosts=x",
                "engine_storage_driver": "ntfs",
            },
            max_hosts=MAX,
        )
    errors = info.value.errors
    assert set(errors) == {
        "count",
        "name",
        "zone",
        "disk",
        "network",
        "labels",
        "engine_opt",
        "engine_storage_driver",
    }
    # Both bad labels are named in the one labels message.
    assert "'bad key'" in errors["labels"] and "'$(id)'" in errors["labels"]
    assert isinstance(info.value, ValueError)
    assert "count must be between 1 and 20" in str(info.value)


def test_a_huge_value_is_refused_before_any_parsing():
    errors = errors_of(labels="a=b," * 10000)
    assert errors == {"labels": "labels is too long (at most 32768 characters)"}


def test_options_that_cannot_fit_in_user_data_are_refused_beside_the_biggest_field():
    env = "\n".join(f"VAR_{i}={'v' * 900}" for i in range(30))
    errors = errors_of(engine_env=env, labels="role=web")
    assert list(errors) == ["engine_env"]
    assert "Exoscale accepts at most 32768" in errors["engine_env"]


@pytest.mark.parametrize(
    "text, key_value, items",
    [
        ("a=1,b=2", True, ["a=1", "b=2"]),
        (
            "NO_PROXY=localhost,127.0.0.1,.internal",
            True,
            ["NO_PROXY=localhost,127.0.0.1,.internal"],
        ),
        (
            "NO_PROXY=a,b\nHTTP_PROXY=http://p:3128",
            True,
            ["NO_PROXY=a,b", "HTTP_PROXY=http://p:3128"],
        ),
        (
            "dns=8.8.8.8,8.8.4.4,dns-search=example.com",
            True,
            ["dns=8.8.8.8,8.8.4.4", "dns-search=example.com"],
        ),
        (" a=1 ,\r\n, b=2 ", True, ["a=1", "b=2"]),
        ("ok=1,bad key=1,,", True, ["ok=1", "bad key=1"]),
        ("stray,a=1,more", True, ["stray", "a=1,more"]),
        ("r1:5000,r2:5000\nr3", False, ["r1:5000", "r2:5000", "r3"]),
        ("", False, []),
    ],
)
def test_list_fields_split_on_newlines_and_item_commas(text, key_value, items):
    assert split_items(text, key_value=key_value) == items


def test_engine_options_become_daemon_json():
    opts = parse(
        engine_opt="debug=true\nlive-restore=false\nmax-concurrent-downloads=3\n"
        "log-level=warn\ndns=8.8.8.8,8.8.4.4\ndns=1.1.1.1\nlog-opt=max-size=10m\n"
        "log-opts=max-file=3\nexec-opt=native.cgroupdriver=systemd",
        engine_label="tier=backend,owner=ops team",
        engine_insecure_registry="registry.internal:5000,10.0.0.0/8",
        engine_registry_mirror="https://mirror.gcr.io\nhttp://10.0.0.5:5000",
        engine_storage_driver="Overlay2",
    )
    assert opts.engine.daemon_config() == {
        "debug": True,
        "live-restore": False,
        "max-concurrent-downloads": 3,
        "log-level": "warn",
        "dns": ["8.8.8.8", "8.8.4.4", "1.1.1.1"],
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "exec-opts": ["native.cgroupdriver=systemd"],
        "labels": ["tier=backend", "owner=ops team"],
        "insecure-registries": ["registry.internal:5000", "10.0.0.0/8"],
        "registry-mirrors": ["https://mirror.gcr.io", "http://10.0.0.5:5000"],
        "storage-driver": "overlay2",
    }


def test_engine_env_keeps_commas_quotes_and_shell_characters_as_data():
    opts = parse(engine_env="NO_PROXY=localhost,127.0.0.1\nPS=a \"b\" 'c' $(id) `x`; %h\nEMPTY=")
    assert opts.engine.env == (
        ("NO_PROXY", "localhost,127.0.0.1"),
        ("PS", "a \"b\" 'c' $(id) `x`; %h"),
        ("EMPTY", ""),
    )


def test_host_names_carry_the_index_suffix():
    assert parse(name="db", count="3").host_names() == ("db-1", "db-2", "db-3")


ROUND_TRIP_CASES = [
    {"name": "web"},
    {
        "name": "web-tier",
        "count": "7",
        "description": "Front tier, see OPS-42",
        "zone": "de-muc-1",
        "profile": "cpu.extra",
        "template": "Linux Debian 12 (Bookworm) 64-bit",
        "disk": "200",
        "group": "custom group",
        "network": "vxlan",
        "labels": "role=web,io.rancher.host.external_dns_ip=203.0.113.7",
        "engine_opt": "dns=8.8.8.8,8.8.4.4\nlog-opt=max-size=10m\ndebug=true",
        "engine_label": "owner=ops team",
        "engine_env": 'NO_PROXY=localhost,127.0.0.1\nQ="$(id)"',
        "engine_insecure_registry": "registry.internal:5000",
        "engine_registry_mirror": "https://mirror.gcr.io",
        "engine_storage_driver": "overlay2",
        "engine_install_url": "https://releases.rancher.com/install-docker/18.06.sh",
    },
]


@pytest.mark.parametrize("values", ROUND_TRIP_CASES)
def test_to_form_is_the_inverse_of_parse(values):
    opts = parse_host_options(values, max_hosts=MAX)
    form = opts.to_form()
    assert set(form) == set(FIELDS)
    assert all(isinstance(v, str) for v in form.values())
    assert parse_host_options(form, max_hosts=MAX) == opts


@pytest.mark.parametrize("values", ROUND_TRIP_CASES)
def test_to_dict_round_trips_through_json(values):
    opts = parse_host_options(values, max_hosts=MAX)
    assert HostOptions.from_dict(json.loads(json.dumps(opts.to_dict()))) == opts
