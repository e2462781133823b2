"""A local Exoscale API v2 for tests and the demo: signatures, spec checks, Operations, faults.

sandbox = ExoscaleSandbox({"EXOkey": "secret"})
endpoint = sandbox.start()      # "http://127.0.0.1:PORT/{zone}/v2"
"""

from .cloudinit import PUBLIC_IP_LOOKUP, CloudInitError, agent_argv
from .server import AgentBoot, ExoscaleSandbox
from .signature import SignatureError, sign, verify
from .spec import ApiSpec

__all__ = [
    "PUBLIC_IP_LOOKUP",
    "AgentBoot",
    "ApiSpec",
    "CloudInitError",
    "ExoscaleSandbox",
    "SignatureError",
    "agent_argv",
    "sign",
    "verify",
]
