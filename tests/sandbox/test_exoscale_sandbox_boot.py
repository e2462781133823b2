"""Booting: user-data read like cloud-init, the agent command handed to on_boot receivers."""

import base64
import threading
import time

import pytest
import yaml
from exoscale.api.v2 import Client as SdkClient

from commands.options import parse_host_options
from commands.userdata import AgentRegistration, render_user_data
from sandbox.exoscale import PUBLIC_IP_LOOKUP, CloudInitError, ExoscaleSandbox, agent_argv

KEY, SECRET = "EXObootstest", "boot-secret"
AGENT_LINE = (
    f'docker run --rm --privileged -e CATTLE_AGENT_IP="{PUBLIC_IP_LOOKUP}" '
    "-e CATTLE_HOST_LABELS='tier=web&rancher-exoscale-bot.host=L-1' "
    "rancher/agent:v1.2.11 'https://rancher.test/v1/scripts/TOKEN'"
)


def cloud_config(*runcmd):
    text = "#cloud-config\n" + yaml.safe_dump({"runcmd": list(runcmd)})
    return base64.b64encode(text.encode()).decode()


def test_agent_argv_resolves_the_public_ip_and_splits_like_a_shell():
    user_data = cloud_config(["sh", "-c", "curl x | sh"], ["sh", "-c", AGENT_LINE])

    argv = agent_argv(user_data, "198.51.100.7")

    assert argv == (
        "docker",
        "run",
        "--rm",
        "--privileged",
        "-e",
        "CATTLE_AGENT_IP=198.51.100.7",
        "-e",
        "CATTLE_HOST_LABELS=tier=web&rancher-exoscale-bot.host=L-1",
        "rancher/agent:v1.2.11",
        "https://rancher.test/v1/scripts/TOKEN",
    )


def test_a_string_runcmd_entry_is_run_by_the_shell_too():
    assert agent_argv(cloud_config("echo 'a b' c"), "1.2.3.4") == ("echo", "a b", "c")


@pytest.mark.parametrize(
    ("user_data", "problem"),
    [
        ("not base64!", "not base64"),
        (base64.b64encode(b"#!/bin/sh\necho hi\n").decode(), "does not start with #cloud-config"),
        (base64.b64encode(b"#cloud-config\npackages: [curl]\n").decode(), "no runcmd"),
        (cloud_config(["echo", "hi"]), 'not ["sh", "-c", LINE]'),
        (cloud_config("echo 'unclosed"), "not valid shell"),
    ],
)
def test_user_data_without_a_readable_agent_command_is_explained(user_data, problem):
    with pytest.raises(CloudInitError, match=problem):
        agent_argv(user_data, "1.2.3.4")


def test_user_data_rendered_by_the_command_layer_is_readable():
    options = parse_host_options({"count": "2", "name": "web", "labels": "tier=web"}, max_hosts=10)
    agent = AgentRegistration("rancher/agent:v1.2.11", "https://rancher.test/v1/scripts/TOKEN")
    text = render_user_data(options, launch_id="ab12cd34", index=2, agent=agent)

    argv = agent_argv(base64.b64encode(text.encode()).decode(), "203.0.113.9")

    assert argv[:2] == ("docker", "run")
    assert "CATTLE_AGENT_IP=203.0.113.9" in argv
    assert argv[-1] == "https://rancher.test/v1/scripts/TOKEN"


@pytest.fixture
def sandbox():
    sb = ExoscaleSandbox({KEY: SECRET}, operation_delay=0.01, boot_delay=0.03)
    sb.start()
    yield sb
    sb.stop()


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def launch(sandbox, user_data, *, labels=None, group_id=None):
    sdk = SdkClient(KEY, SECRET, url=sandbox.endpoint.format(zone="at-vie-1"))
    itype = next(t for t in sdk.list_instance_types()["instance-types"] if t["size"] == "medium")
    template = sdk.list_templates(visibility="public")["templates"][0]
    op = sdk.create_instance(
        name="web-1",
        instance_type={"id": itype["id"]},
        template={"id": template["id"]},
        disk_size=20,
        security_groups=[{"id": group_id}] if group_id else [],
        user_data=user_data,
        labels=labels or {},
        public_ip_assignment="inet4",
    )
    return op["reference"]["id"]


def test_a_running_instance_hands_its_agent_command_and_rules_to_receivers(sandbox):
    boots = []
    sandbox.on_boot(boots.append)
    group_id = sandbox.add_security_group(
        "web",
        [
            {
                "flow-direction": "ingress",
                "protocol": "tcp",
                "start-port": 22,
                "end-port": 22,
                "network": "0.0.0.0/0",
            },
            {
                "flow-direction": "ingress",
                "protocol": "udp",
                "start-port": 500,
                "end-port": 500,
                "security-group": {"name": "web"},
            },
        ],
    )

    instance_id = launch(
        sandbox,
        cloud_config(["sh", "-c", AGENT_LINE]),
        labels={"tier": "web"},
        group_id=group_id,
    )
    wait_until(lambda: boots)

    [boot] = boots
    [instance] = sandbox.instances
    assert instance["state"] == "running" and instance["id"] == instance_id
    assert (boot.instance_id, boot.name, boot.zone) == (instance_id, "web-1", "at-vie-1")
    assert boot.public_ip == instance["public-ip"]
    assert f"CATTLE_AGENT_IP={instance['public-ip']}" in boot.argv
    assert boot.labels == {"tier": "web"}
    assert boot.security_group_ids == (group_id,)
    assert [(r["protocol"], r["start-port"]) for r in boot.rules] == [("tcp", 22), ("udp", 500)]
    assert boot.rules[1]["security-group"] == {"id": group_id, "name": "web"}


def test_an_instance_whose_user_data_runs_no_agent_boots_without_calling_anyone(sandbox):
    boots = []
    sandbox.on_boot(boots.append)

    launch(sandbox, base64.b64encode(b"#cloud-config\npackages: [curl]\n").decode())
    wait_until(lambda: sandbox.boot_failures)

    assert sandbox.boot_failures == [("web-1", "user-data has no runcmd entries")]
    assert sandbox.instances[0]["state"] == "running"
    assert boots == []


def test_a_failing_receiver_does_not_keep_the_others_from_hearing(sandbox):
    heard = threading.Event()

    def broken(boot):
        raise RuntimeError("receiver down")

    sandbox.on_boot(broken)
    sandbox.on_boot(lambda boot: heard.set())

    launch(sandbox, cloud_config(["sh", "-c", "docker run agent"]))

    assert heard.wait(5)
    assert [(name, str(exc)) for name, exc in sandbox.callback_errors] == [
        ("web-1", "receiver down")
    ]
