"""Local Rancher server for tests and the no-token demo: 1.6 (v2-beta) and 2.x (v3) subsets.

from sandbox.rancher import RancherSandbox
with RancherSandbox("access", "secret") as rancher:
    ...   # rancher.url, rancher.boot(agent_boot), rancher.hosts, rancher.refused
with RancherSandbox(token="token-ab12c:s3cr3t", clusters=[{"id": "c-m-1", "kind": "rke2"}]) as r:
    ...   # r.clusters, r.cluster_tokens, r.nodes
"""

from .agent import AgentCommand, CommandRefused, parse_agent_command
from .network import (
    DRIVERS,
    KINDS,
    ROLES,
    NeededPort,
    missing_ports,
    missing_ports_v2,
    needed_ports,
    needed_ports_v2,
)
from .node_agent import NodeAgentCommand, is_node_command, parse_node_command
from .server import DEFAULT_AGENT_IMAGE, RancherSandbox, Refusal
from .v3 import CA_CHECKSUM, DEFAULT_AGENT_IMAGE_V2

__all__ = [
    "CA_CHECKSUM",
    "DEFAULT_AGENT_IMAGE",
    "DEFAULT_AGENT_IMAGE_V2",
    "DRIVERS",
    "KINDS",
    "ROLES",
    "AgentCommand",
    "CommandRefused",
    "NeededPort",
    "NodeAgentCommand",
    "RancherSandbox",
    "Refusal",
    "is_node_command",
    "missing_ports",
    "missing_ports_v2",
    "needed_ports",
    "needed_ports_v2",
    "parse_agent_command",
    "parse_node_command",
]
