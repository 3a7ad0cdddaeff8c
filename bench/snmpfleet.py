"""``snmpfleet``: SNMP device inventories per hour from one process on this machine.

Several real net-snmp snmpd instances run on loopback; each is polled as several devices (one
v2c community per device) and devices are polled again and again, round robin, by a fixed
number of concurrent workers for a fixed time. An inventory is the full ``collect_snmp``
(fetch of the standard table set and the vendor's OIDs, parse, identify) that returns Facts.
Ours is the fast engine, the baseline the pysnmp engine; each runs in its own subprocess so
that its peak memory (``VmHWM``) is its own. The snmpd agents share the machine's cores
with the poller, so their CPU per inventory is reported too. ``--quick``: 2 agents x 4
communities for 15 s per engine; otherwise 4 x 8 for 60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import Result, peak_mb, registry

ROOT = Path(__file__).resolve().parents[1]


def child(
    engine: str, seconds: float, concurrency: int, targets: list[tuple[int, str]]
) -> dict[str, Any]:
    """Runs in a subprocess: poll the targets round robin and report what got done."""
    from collectors.errors import CollectorError
    from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
    from collectors.snmp.fetch import SnmpTarget, collect_snmp
    from collectors.snmp.identify import load_rules

    rules = load_rules()
    jobs = [
        SnmpTarget(
            SnmpEndpoint("127.0.0.1", port, timeout=5, retries=1),
            SnmpAuth("2c", community=community),
            name=f"{community}@{port}",
        )
        for port, community in targets
    ]
    done = {"ok": 0, "errors": 0, "values": 0}
    errors: list[str] = []

    async def go() -> float:
        client = SnmpClient(engine)  # type: ignore[arg-type]
        start = time.perf_counter()
        deadline = start + seconds
        turn = iter(range(1 << 62))

        async def worker() -> None:
            while time.perf_counter() < deadline:
                target = jobs[next(turn) % len(jobs)]
                try:
                    facts = await collect_snmp(client, target, rules)
                except CollectorError as exc:
                    done["errors"] += 1
                    errors.append(str(exc))
                    continue
                done["ok"] += 1
                done["values"] += facts.values_read

        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            client.close()
        return time.perf_counter() - start

    cpu0 = time.process_time()
    wall = asyncio.run(go())
    return {
        **done,
        "wall": wall,
        "cpu": time.process_time() - cpu0,
        "errors_sample": errors[:3],
        "peak_mb": peak_mb(),
    }


def agent_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by the snmpd processes."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def spawn(
    engine: str, seconds: float, concurrency: int, targets: list[tuple[int, str]], pids: list[int]
) -> dict[str, Any]:
    before = agent_cpu(pids)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.snmpfleet",
            "--child",
            engine,
            str(seconds),
            str(concurrency),
            json.dumps(targets),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child ({engine}) failed:\n{out.stderr[-2000:]}")
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["agent_cpu"] = agent_cpu(pids) - before
    return result


@registry.register("snmpfleet")
def run(quick: bool) -> Result:
    from tests.peers import free_port
    from tests.snmpd import SnmpdPeer

    agents, devices, seconds = (2, 4, 15.0) if quick else (4, 8, 60.0)
    concurrency = 4 * agents
    communities = [f"device{i:02d}" for i in range(devices)]
    extra = "".join(f"rocommunity {c} 127.0.0.1\n" for c in communities)
    peers: list[SnmpdPeer] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-fleet-") as tmp:
        try:
            for i in range(agents):
                workdir = Path(tmp) / f"agent{i}"
                workdir.mkdir()
                peers.append(SnmpdPeer.start(free_port(), extra_config=extra, workdir=workdir))
            targets = [(p.port, c) for c in communities for p in peers]
            pids = [p.proc.pid for p in peers if p.proc is not None]
            ours = spawn("fast", seconds, concurrency, targets, pids)
            base = spawn("pysnmp", seconds, concurrency, targets, pids)
        finally:
            for p in peers:
                p.cleanup()

    def per_hour(r: dict[str, Any]) -> float:
        return float(r["ok"] / r["wall"] * 3600)

    def per_inventory(r: dict[str, Any], key: str) -> float:
        return float(r[key] / r["ok"]) if r["ok"] else float("nan")

    return Result(
        "snmpfleet",
        per_hour(ours),
        per_hour(base),
        "inventories_per_hour",
        {
            "peak_mb": round(ours["peak_mb"]),
            "baseline_peak_mb": round(base["peak_mb"]),
            "cpu_s_per_inventory": per_inventory(ours, "cpu"),
            "baseline_cpu_s_per_inventory": per_inventory(base, "cpu"),
            "agent_cpu_s_per_inventory": per_inventory(ours, "agent_cpu"),
            "values_per_inventory": round(per_inventory(ours, "values")),
            "inventories": ours["ok"],
            "errors": ours["errors"],
            "baseline_errors": base["errors"],
            "agents": agents,
            "devices": len(targets),
            "concurrency": concurrency,
            "seconds": seconds,
        },
    )


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "--child":
    print(
        json.dumps(
            child(
                sys.argv[2],
                float(sys.argv[3]),
                int(sys.argv[4]),
                [tuple(t) for t in json.loads(sys.argv[5])],
            )
        )
    )
