"""Local Rancher 1.6 (API v2-beta) server for tests and the no-token demo.

from sandbox.rancher import RancherSandbox
with RancherSandbox("access", "secret") as rancher:
    ...   # rancher.url, rancher.boot(agent_boot), rancher.hosts, rancher.refused
"""

from .agent import AgentCommand, CommandRefused, parse_agent_command
from .network import DRIVERS, NeededPort, missing_ports, needed_ports
from .server import DEFAULT_AGENT_IMAGE, RancherSandbox, Refusal

__all__ = [
    "DEFAULT_AGENT_IMAGE",
    "DRIVERS",
    "AgentCommand",
    "CommandRefused",
    "NeededPort",
    "RancherSandbox",
    "Refusal",
    "missing_ports",
    "needed_ports",
    "parse_agent_command",
]
