"""``agents``: several collector agents on one PostgreSQL, and what the database spends on each.

The store side of ``cloudward run --role collector``, at full speed: each agent is its own
process looping over the shared schedule as the claim loop does (claim up to 8 due targets with
a lease, record the poll's start, store its inventory with ``save_facts``, give the target
back), the inventory being a synthetic Linux server (80 packages, 4 interfaces, 6 listening
sockets, 12 connections, 3 file systems) instead of one fetched over the network. Every target
is due again at once, so the agents never wait for the schedule: what they reach is what the
store lets them.

Measured for 1, 2 and 4 agents over the same targets (already stored once: the steady state
of re-polling known boxes), each for a fixed time: inventories stored per second, lease claims,
rows written (the database's own statistics) and the CPU seconds the PostgreSQL server spent
per inventory (its processes' own CPU and its finished backends', read from ``/proc``). The
agents share the machine's cores with the server, so the throughput at 4 agents is this
machine's, not the server's; the server's CPU per inventory says how many one PostgreSQL core
absorbs. Ours is the throughput at the most agents, the baseline one agent's: the ratio is how
far adding agents scales here.

``--quick``: 1 and 2 agents, 200 targets, 8 s each (full: 1, 2, 4 agents, 2,000 targets, 20 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import ROOT, Result, private_postgres, registry

BATCH = 8  # targets claimed at a time, as a collector with 8 free polling slots


def facts_for(target: str, i: int) -> Any:
    """A Linux server's inventory as the SSH collector gives it (synthetic, stable per target)."""
    from collectors.facts import (
        Address,
        Connection,
        Facts,
        Identity,
        Interface,
        Listening,
        Software,
        Storage,
        Utilisation,
    )

    mac = ":".join(f"{b:02x}" for b in (0x02, 0x42, (i >> 16) & 255, (i >> 8) & 255, i & 255))
    return Facts(
        target=target,
        protocol="ssh",
        address=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        sys_name=f"srv{i:06d}",
        identity=Identity(
            vendor="Dell Inc.",
            device_class="server",
            model="PowerEdge R640",
            os_name="Ubuntu",
            os_version="22.04",
            serial=f"SN{i:08d}",
        ),
        kernel="5.15.0-91-generic",
        cpu_count=16,
        memory_bytes=64 * 2**30,
        system_uuid=f"4c4c4544-0000-1000-8000-{i:012x}",
        interfaces=tuple(
            Interface(n, f"eth{n}", mac=f"{mac[:-2]}{n:02x}", speed=10**10) for n in range(4)
        ),
        addresses=(Address(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 24, 1),),
        software=tuple(Software(f"package-{n:02d}", f"1.{n}.0-1") for n in range(80)),
        storage=tuple(
            Storage(m, "fixed", 100 * 2**30, 40 * 2**30, m) for m in ("/", "/var", "/srv")
        ),
        listening=tuple(
            Listening("tcp", "0.0.0.0", p, "svc") for p in (22, 80, 443, 5432, 8080, 9100)
        ),
        connections=tuple(
            Connection("tcp", "10.0.0.1", 40000 + n, f"10.9.0.{n}", 5432, "app") for n in range(12)
        ),
        utilisation=Utilisation(cpu_pct=20.0 + i % 50, mem_pct=40.0),
    )


def _keys(n: int) -> list[str]:
    return [f"ssh://10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:22" for i in range(n)]


def setup(url: str, n: int) -> None:
    """Runs in a subprocess: the schema, the schedule and every target stored once."""
    from agent.inventory.targets import PollJob
    from agent.runtime import leases
    from agent.store import Store

    store = Store.open(url)
    try:
        jobs = [
            PollJob(k.split("//")[1].rsplit(":", 1)[0], "ssh", 22, ("ops",), None, (), 1.0)
            for k in _keys(n)
        ]
        leases.upsert_leases(store, jobs)
        for i, key in enumerate(_keys(n)):
            store.save_facts(facts_for(key, i))
    finally:
        store.close()


def agent(url: str, name: str, n: int, seconds: float) -> dict[str, Any]:
    """Runs in a subprocess: one collector agent's loop for ``seconds``."""
    from agent.runtime import leases
    from agent.store import Store

    keys = _keys(n)
    index = {k: i for i, k in enumerate(keys)}
    store = Store.open(url, create=False)
    stored = claims = empty = 0
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got = leases.claim(store, name, keys, BATCH, 60.0)
            claims += len(got.claims)
            if not got.claims:
                empty += 1
                time.sleep(0.01)
                continue
            for c in got.claims:
                run_id = store.start_poll(c.target, "ssh", agent=name)
                store.save_facts(facts_for(c.target, index[c.target]), run_id=run_id)
                leases.release(store, name, c.target, ok=True)
                stored += 1
    finally:
        store.close()
    return {"stored": stored, "claims": claims, "empty_rounds": empty}


def _server_cpu(data_dir: Path) -> float:
    """CPU seconds of the PostgreSQL server so far: its live processes' and, through the
    postmaster's children totals, its finished backends'."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(proc.name), int(fields[1])
        if pid != postmaster and ppid != postmaster:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if pid == postmaster:
            total += (int(fields[13]) + int(fields[14])) / tick  # finished children
    return total


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.agents", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.agents child failed:\n{err[-2000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def _rows_written(url: str) -> int:
    """Rows the database has inserted, updated and deleted so far (its statistics; a finished
    session's are in once it has ended)."""
    import psycopg

    time.sleep(1.0)  # let the statistics of the sessions that just ended arrive
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute(
            "SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def measure(url: str, data_dir: Path, agents: int, n: int, seconds: float) -> dict[str, Any]:
    rows0 = _rows_written(url)
    cpu0 = _server_cpu(data_dir)
    start = time.perf_counter()
    procs = [_child("--agent", url, f"agent-{k}", str(n), str(seconds)) for k in range(agents)]
    got = [_result(p) for p in procs]
    wall = time.perf_counter() - start
    cpu = _server_cpu(data_dir) - cpu0
    rows = _rows_written(url) - rows0
    stored = sum(g["stored"] for g in got)
    return {
        "agents": agents,
        "stored": stored,
        "per_s": stored / seconds,
        "claims": sum(g["claims"] for g in got),
        "server_cpu_per_inventory": cpu / stored if stored else float("inf"),
        "rows_per_inventory": rows / stored if stored else 0.0,
        "rows_per_s": rows / seconds,
        "wall": wall,
    }


@registry.register("agents")
def run(quick: bool) -> Result:
    counts, n, seconds = ((1, 2), 200, 8.0) if quick else ((1, 2, 4), 2_000, 20.0)
    with private_postgres("agents") as urls:
        if urls is None:
            if os.environ.get("CI") == "true":
                raise RuntimeError("PostgreSQL's server programs are missing")
            return Result("agents", 0.0, 0.0, "inventories/s", {"skipped": "no PostgreSQL"})
        url, data_dir = urls["agents"], urls.data_dir
        subprocess.run(
            [sys.executable, "-m", "bench.agents", "--setup", url, str(n)], cwd=ROOT, check=True
        )
        rows = [measure(url, data_dir, k, n, seconds) for k in counts]
    for r in rows:
        print(
            f"  {r['agents']} agent(s): {r['per_s']:.1f} inventories/s, "
            f"{r['claims']} claims, {r['rows_per_s']:.0f} rows written/s "
            f"({r['rows_per_inventory']:.0f} per inventory), server "
            f"{1000 * r['server_cpu_per_inventory']:.1f} ms CPU per inventory",
            file=sys.stderr,
        )
    top, one = rows[-1], rows[0]
    cpu_ms = 1000 * min(r["server_cpu_per_inventory"] for r in rows)
    return Result(
        "agents",
        top["per_s"],
        one["per_s"],
        "inventories/s",
        {
            "agents": top["agents"],
            "targets": n,
            "server_ms_cpu_per_inventory": round(cpu_ms, 2),
            "inventories_per_server_core_s": round(1000 / cpu_ms, 1),
            "rows_per_inventory": round(top["rows_per_inventory"], 1),
            **{f"per_s_{r['agents']}": round(r["per_s"], 1) for r in rows},
        },
    )


if __name__ == "__main__":
    if sys.argv[1] == "--setup":
        setup(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "--agent":
        print(json.dumps(agent(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))))
