"""Read an instance's user-data the way cloud-init would, to find the agent command it runs.

Only what the sandbox needs: a ``#cloud-config`` document whose last ``runcmd`` entry starts
the agent. The metadata-server lookup in that line is replaced by the instance's public IP, as
the shell would on the host, and the line is split into argv::

    argv = agent_argv(instance["user-data"], "198.51.100.7")
    # ("docker", "run", "--rm", ..., "-e", "CATTLE_AGENT_IP=198.51.100.7", ...)
"""

from __future__ import annotations

import base64
import binascii
import shlex

import yaml

__all__ = ["PUBLIC_IP_LOOKUP", "CloudInitError", "agent_argv", "read_cloud_config"]

# What a host runs to learn its public IPv4 from the metadata server (a fact of the platform,
# repeated here because the sandbox stands in for the platform and imports nothing of ours).
PUBLIC_IP_LOOKUP = "$(curl -fsS http://169.254.169.254/latest/meta-data/public-ipv4)"


class CloudInitError(ValueError):
    """The user-data is not a cloud-config this sandbox can read, or runs no agent command."""


def read_cloud_config(user_data_b64: str) -> dict:
    """Decode base64 user-data and parse it as a ``#cloud-config`` YAML document."""
    try:
        text = base64.b64decode(user_data_b64, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise CloudInitError(f"user-data is not base64-encoded UTF-8 text: {exc}") from exc
    if not text.startswith("#cloud-config"):
        raise CloudInitError("user-data does not start with #cloud-config")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CloudInitError(f"user-data is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise CloudInitError("user-data is not a YAML mapping")
    return document


def agent_argv(user_data_b64: str, public_ip: str) -> tuple[str, ...]:
    """Return the last runcmd entry as argv, with the public IP lookup already resolved."""
    runcmd = read_cloud_config(user_data_b64).get("runcmd")
    if not isinstance(runcmd, list) or not runcmd:
        raise CloudInitError("user-data has no runcmd entries")
    last = runcmd[-1]
    if isinstance(last, str):
        # cloud-init runs a string entry with sh, the same as ["sh", "-c", entry].
        line = last
    elif isinstance(last, list) and len(last) == 3 and last[:2] == ["sh", "-c"]:
        line = str(last[2])
    else:
        raise CloudInitError('the last runcmd entry is not ["sh", "-c", LINE]')
    try:
        argv = tuple(shlex.split(line.replace(PUBLIC_IP_LOOKUP, public_ip)))
    except ValueError as exc:
        raise CloudInitError(f"the agent command is not valid shell: {exc}") from exc
    if not argv:
        raise CloudInitError("the last runcmd entry is empty")
    return argv
