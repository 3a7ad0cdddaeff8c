"""``plan``: the whole plan of a synthetic 100,000-asset / 1,000,000-edge estate.

The estate is shaped like the one measured in the project's planning notes: applications of
5-200 servers, about 8% of non-infrastructure links crossing applications (a few popular shared
servers take 30% of those), and 32 shared-infrastructure hubs (DNS, directory, NTP, monitoring,
backup, ...) touching about 35% of all links. Ours is :func:`planner.plan` as shipped (igraph
Leiden, scipy PageRank); the baseline is the same plan with the networkx backend (networkx
Louvain and PageRank). Each run happens in a fresh subprocess so that its peak memory
(``VmHWM``, which includes the estate itself) is its own; wall time covers ``plan()`` only,
not building the estate. ``cpu_s`` is the process CPU time of ``plan()``: on a shared machine it
moves less than wall time.
``--quick`` uses 10,000 assets / 100,000 edges.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench import Result, peak_mb, registry

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 9, 1)
SEED = 20240401
HUB_ROLES = (  # role, port, direction, count, share of hub links
    ("dns", 53, "in", 6, 0.30),
    ("dc", 389, "in", 6, 0.30),
    ("ntp", 123, "in", 3, 0.08),
    ("mon", 5666, "out", 4, 0.12),
    ("backup", 10000, "out", 5, 0.08),
    ("radius", 1812, "in", 2, 0.03),
    ("syslog", 514, "in", 2, 0.04),
    ("wsus", 8530, "in", 2, 0.03),
    ("av", 8014, "in", 2, 0.02),
)
OS_CHOICES = (
    ("Windows", "Server 2008 R2"),
    ("Windows", "Server 2012 R2"),
    ("Windows", "Server 2016"),
    ("Windows", "Server 2019"),
    ("Windows", "Server 2022"),
    ("Red Hat Enterprise Linux", "6.10"),
    ("Red Hat Enterprise Linux", "7.9"),
    ("Red Hat Enterprise Linux", "8.10"),
    ("Ubuntu", "18.04"),
    ("Ubuntu", "20.04"),
    ("Ubuntu", "22.04"),
    ("CentOS Linux", "7.9.2009"),
)
OVERRIDES: dict[str, Any] = {  # a large programme: bigger groups and waves than a council's
    "groups": {"max_group_size": 250},
    "waves": {
        "ramp": [10, 100, 500, 2500],
        "max_assets": 2500,
        "max_risk": 5000,
        "team_days_per_week": 2000,
    },
}


def generate(n: int, m: int, seed: int = SEED) -> tuple[Any, dict[str, str]]:
    """A synthetic estate (``planner.Estate``) and each asset's true application."""
    from planner import AssetInput, Dependency, Estate, Listener

    rng = np.random.default_rng(seed)
    target, m = m, int(m * 1.06)  # links repeat inside small applications: draw more, trim
    hubs = sum(r[3] for r in HUB_ROLES)
    servers = n - hubs
    sizes: list[int] = []
    while sum(sizes) < servers:
        left = servers - sum(sizes)
        size = int(np.clip(rng.lognormal(3.3, 0.9), 5, 200))
        sizes.append(left if left - size < 5 else size)
    app = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    m_hub = int(m * 0.35)
    m_cross = int((m - m_hub) * 0.08)
    per = (m - m_hub - m_cross) / servers
    src, dst, port = [], [], []
    for first, size in zip(starts.tolist(), sizes, strict=True):
        k = round(size * per)
        u, v = rng.integers(0, size, k), rng.integers(0, size, k)
        keep = u != v
        u, v = u[keep], v[keep]
        tier_web, tier_db = max(1, size // 5), max(1, size // 5)
        src.append(first + u)
        dst.append(first + v)
        port.append(np.where(v < tier_web, 443, np.where(v < tier_web + tier_db, 1433, 8080)))
    partners = rng.integers(0, len(sizes), (len(sizes), 3))
    shared = rng.choice(servers, 23, replace=False)
    ca = app[rng.integers(0, servers, m_cross)]
    csrc = starts[ca] + (rng.random(m_cross) * np.asarray(sizes)[ca]).astype(np.int64)
    pb = partners[ca, rng.integers(0, 3, m_cross)]
    cdst = starts[pb] + (rng.random(m_cross) * np.asarray(sizes)[pb]).astype(np.int64)
    to_shared = rng.random(m_cross) < 0.3
    cdst[to_shared] = shared[rng.integers(0, 23, int(to_shared.sum()))]
    src.append(csrc)
    dst.append(cdst)
    port.append(np.where(to_shared, 1433, 443))
    hub = servers
    names = [f"srv{i:06d}" for i in range(servers)]
    hub_ports: dict[int, int] = {}
    for role, hub_port, direction, count, share in HUB_ROLES:
        for j in range(count):
            k = min(servers, int(m_hub * share / count))
            clients = rng.choice(servers, k, replace=False)
            pair = (clients, np.full(k, hub)) if direction == "in" else (np.full(k, hub), clients)
            src.append(pair[0])
            dst.append(pair[1])
            port.append(np.full(k, hub_port))
            names.append(f"{role}{j + 1:02d}")
            hub_ports[hub] = hub_port
            hub += 1
    s, d, p = np.concatenate(src), np.concatenate(dst), np.concatenate(port)
    keep = s != d
    s, d, p = s[keep], d[keep], p[keep]
    _, first_index = np.unique(s * n + d, return_index=True)
    first_index.sort()
    if first_index.size > target:
        first_index = np.sort(rng.choice(first_index, target, replace=False))
    s, d, p = s[first_index], d[first_index], p[first_index]
    labels = {names[i]: f"app{int(app[i]):05d}" for i in range(servers)}
    labels.update({names[i]: names[i] for i in range(servers, n)})
    env = rng.random(len(sizes)) < 0.2
    os_pick = rng.integers(0, len(OS_CHOICES), len(sizes))
    cpu = rng.choice([2, 4, 8, 16], n)
    util = np.round(rng.gamma(2.0, 8.0, n), 1)
    idle = rng.random(n) < 0.02
    assets = []
    for i in range(n):
        a = int(app[i]) if i < servers else -1
        os_name, os_version = OS_CHOICES[int(os_pick[a]) if a >= 0 else 2]
        assets.append(
            AssetInput(
                id=names[i],
                name=names[i],
                environment="test" if a >= 0 and env[a] else "prod",
                device_class="server",
                os_name=os_name,
                os_version=os_version,
                architecture="x86_64",
                cpu_count=int(cpu[i]),
                memory_bytes=int(cpu[i]) * 4 * 2**30,
                disk_bytes=int(cpu[i]) * 50 * 10**9,
                cpu_util_pct=float(util[i]),
                memory_util_pct=60.0,
                virtual=bool(i % 3),
                idle_days=120 if idle[i] else None,
                first_seen=TODAY - timedelta(days=int(400 + i % 2000)),
                listening=(Listener(hub_ports[i]),) if i in hub_ports else (),
            )
        )
    ports = {int(x): int(x) for x in sorted(set(p.tolist()))}  # share the int objects
    deps = tuple(
        Dependency(names[x], names[y], ports[z])
        for x, y, z in zip(s.tolist(), d.tolist(), p.tolist(), strict=True)
    )
    return Estate(tuple(assets), deps), labels


def adjusted_rand(truth: list[str], found: list[str]) -> float:
    """Agreement of two partitions (1 identical, ~0 random)."""
    _, a = np.unique(truth, return_inverse=True)
    _, b = np.unique(found, return_inverse=True)
    total = a.shape[0]
    _, joint = np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b, return_counts=True)

    def pairs(c: Any) -> float:
        return float((c * (c - 1) / 2).sum())

    both, sa, sb = pairs(joint), pairs(np.bincount(a)), pairs(np.bincount(b))
    expected = sa * sb / (total * (total - 1) / 2)
    return float((both - expected) / ((sa + sb) / 2 - expected))


def settings_for(backend: str) -> Any:
    from planner import SETTINGS_FILES, Settings, merge

    data = {
        k: yaml.safe_load((ROOT / "config" / a / b).read_text())
        for k, (a, b) in SETTINGS_FILES.items()
    }
    data = merge(data, OVERRIDES)
    data = merge(data, {"groups": {"backend": backend}})
    return Settings.from_mapping(data)


def child(backend: str, n: int, m: int) -> dict[str, Any]:
    """Runs in a subprocess: build the estate, plan it, report time, memory and quality."""
    from planner import catalogue_from_mapping, plan

    estate, truth = generate(n, m)
    lifecycle = catalogue_from_mapping(
        yaml.safe_load((ROOT / "config" / "lifecycle" / "catalogue.yaml").read_text())
    )
    settings = settings_for(backend)
    before = peak_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = plan(estate, settings, TODAY, lifecycle)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = peak_mb()
    moving = [a for a in result.assets if a.group and a.group != "landing-zone"]
    return {
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak,
        "estate_mb": before,
        "edges": len(estate.dependencies),
        "groups": len(result.groups.groups),
        "waves": len(result.waves),
        "hubs": len(result.groups.hubs.hubs),
        "ari": adjusted_rand([truth[a.asset_id] for a in moving], [a.group or "" for a in moving]),
    }


def _spawn(backend: str, n: int, m: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.plan", "--child", backend, str(n), str(m)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child ({backend}) failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@registry.register("plan")
def run(quick: bool) -> Result:
    n, m = (10_000, 100_000) if quick else (100_000, 1_000_000)
    ours = _spawn("igraph", n, m)
    base = _spawn("networkx", n, m)
    return Result(
        "plan",
        ours["wall"],
        base["wall"],
        "s",
        {
            "assets": n,
            "edges": ours["edges"],
            "cpu_s": round(ours["cpu"], 1),
            "baseline_cpu_s": round(base["cpu"], 1),
            "peak_mb": round(ours["peak_mb"]),
            "baseline_peak_mb": round(base["peak_mb"]),
            "estate_mb": round(ours["estate_mb"]),
            "groups": ours["groups"],
            "waves": ours["waves"],
            "hubs": ours["hubs"],
            "ari": round(ours["ari"], 3),
            "baseline_ari": round(base["ari"], 3),
        },
    )


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--child":
    print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
