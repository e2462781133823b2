"""What the Rancher sandbox's boot tests share: the boot an Exoscale instance hands over."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.exoscale import AgentBoot


def agent_boot(
    argv: Sequence[str],
    *,
    rules: tuple[dict, ...],
    group: str,
    name: str = "web-1",
    instance_id: str = "i-1",
) -> AgentBoot:
    """An instance of ``group`` in ch-gva-2 at 198.51.100.7 that runs ``argv`` when it boots."""
    return AgentBoot(
        instance_id,
        name,
        "ch-gva-2",
        "198.51.100.7",
        tuple(argv),
        rules,
        {},
        security_group_ids=(group,),
    )
