"""Launch benchmark: N instances created against the Exoscale sandbox with added latency per call.

Prints the wall time of one parallel launch (the client's bounded thread pool) beside the same
launch done strictly one host at a time (``max_parallel=1``), and the speed-up::

    python bench/bench_launch.py                      # 20 instances, 200 ms a call
    python bench/bench_launch.py --count 40 --parallel 16 --latency 0.1

Each host costs a label lookup, the creation and at least one Operation poll; the poll interval
is set to the latency so both runs wait on the sandbox, not on the official 3 s schedule.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commands.userdata import HOST_LABEL, LAUNCH_LABEL  # noqa: E402
from provisioning.exoscale import ExoscaleClient, InstanceSpec  # noqa: E402
from sandbox.exoscale import ExoscaleSandbox  # noqa: E402

KEY, SECRET = "EXObenchkey", "bench-secret"
USER_DATA = "#cloud-config\nruncmd:\n- [sh, -c, 'docker run --rm rancher/agent:v1.2.11 URL']\n"


def launch(sandbox: ExoscaleSandbox, launch_id: str, count: int, parallel: int, latency: float):
    """Create ``count`` hosts with ``parallel`` at once; return (seconds, results)."""
    client = ExoscaleClient(
        KEY,
        SECRET,
        "ch-gva-2",
        endpoint=sandbox.endpoint,
        timeout=10.0,
        poll_interval=lambda run_time: latency,
        max_parallel=parallel,
    )
    sandbox.latency = 0.0
    instance_type = client.find_instance_type("standard.medium")
    template = client.find_template("Linux Ubuntu 24.04 LTS 64-bit")
    group = client.ensure_standard_group("ipsec").group
    specs = [
        InstanceSpec(
            name=f"{launch_id}-{i}",
            instance_type_id=instance_type.id,
            template_id=template.id,
            disk_size=50,
            security_group_id=group.id,
            user_data=USER_DATA,
            labels={LAUNCH_LABEL: launch_id, HOST_LABEL: f"{launch_id}-{i}"},
        )
        for i in range(1, count + 1)
    ]
    sandbox.latency = latency
    started = time.perf_counter()
    results = client.create_instances(specs)
    elapsed = time.perf_counter() - started
    sandbox.latency = 0.0
    client.close()
    failed = [r for r in results if not r.created or r.error]
    if failed:
        raise SystemExit(f"{len(failed)} hosts were not created: {failed[0].error}")
    return elapsed, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="instances per launch (20)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds added per call (0.2)")
    parser.add_argument("--parallel", type=int, default=8, help="max_parallel of the run (8)")
    args = parser.parse_args()

    sandbox = ExoscaleSandbox({KEY: SECRET}, operation_delay=args.latency, boot_delay=60.0)
    sandbox.start()
    try:
        parallel, _ = launch(sandbox, "par", args.count, args.parallel, args.latency)
        sequential, _ = launch(sandbox, "seq", args.count, 1, args.latency)
        calls = len(sandbox.calls)
    finally:
        sandbox.stop()

    print(
        f"launch of {args.count} instances, {args.latency * 1000:.0f} ms added per API call "
        f"({calls} calls in all)"
    )
    print(f"  parallel   (max_parallel={args.parallel:>2}): {parallel:6.2f} s")
    print(f"  sequential (max_parallel= 1): {sequential:6.2f} s")
    speedup = sequential / parallel
    print(f"  speed-up: {speedup:.1f}x (target: at least 5x)")
    return 0 if speedup >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
