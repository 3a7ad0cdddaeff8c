"""``plan_groups``: do move groups keep applications whole at the SHIPPED defaults?

Synthetic estates of 2,000, 20,000 and 100,000 assets (``--quick``: 2,000 and 20,000), about 10
links per server: applications of 5-300 servers (web, app and database tiers), 8% of links
crossing between partner applications, 3% of applications being shared business services
that 3-8 others call, and 32 shared-infrastructure servers taking 35% of links: 21 with a role
port (DNS, directory, NTP, monitoring, backup, RADIUS, syslog, WSUS, antivirus) and 11 without
one (shared SQL, load balancers, proxies, a file server, an SMTP relay) that only their
structure gives away. Nothing is labelled: groups come from traffic alone.

``ours`` is the adjusted Rand index (ARI) of the groups against the true applications with the
settings exactly as shipped under ``config/``; ``baseline`` is the same plan with oversize
groups cut into Leiden pieces (``cut_share: 1``, the former rule). Also reported per size:
``whole`` (share of applications whose servers all share one group), ``hubs`` (shared servers
set aside, of 32), ``waves`` and whether the horizon warning fired. Goal: ARI >= 0.95 and
>= 98% of applications whole at every size.
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

from bench import Result, registry
from bench.plan import adjusted_rand

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 9, 1)
SEED = 20250101
HUBS = (  # name, port, direction, count, share of hub links
    ("dns", 53, "in", 4, 0.20),
    ("dc", 389, "in", 4, 0.15),
    ("ntp", 123, "in", 2, 0.05),
    ("mon", 5666, "out", 3, 0.10),
    ("backup", 10000, "out", 3, 0.08),
    ("radius", 1812, "in", 1, 0.02),
    ("syslog", 514, "in", 2, 0.04),
    ("wsus", 8530, "in", 1, 0.03),
    ("av", 8014, "in", 1, 0.02),
    ("sqlsh", 1433, "in", 4, 0.12),  # no role port for these: structure only
    ("lb", 443, "in", 3, 0.08),
    ("proxy", 3128, "in", 2, 0.05),
    ("files", 445, "in", 1, 0.04),
    ("smtp", 25, "in", 1, 0.02),
)


def generate(n: int, seed: int = SEED) -> tuple[Any, dict[str, str]]:
    """An unlabelled estate and each server's true application (hubs map to themselves)."""
    from planner import AssetInput, Dependency, Estate

    rng = np.random.default_rng(seed)
    hubs = sum(h[3] for h in HUBS)
    servers = n - hubs
    sizes: list[int] = []
    while sum(sizes) < servers:
        left = servers - sum(sizes)
        size = int(np.clip(rng.lognormal(3.4, 0.95), 5, 300))
        sizes.append(left if left - size < 5 else size)
    apps = len(sizes)
    app = np.repeat(np.arange(apps), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    m = n * 10
    m_hub, m_cross = int(m * 0.35), int(m * 0.65 * 0.08)
    per = (m - m_hub - m_cross) / servers
    src, dst, port = [], [], []
    for first, size in zip(starts.tolist(), sizes, strict=True):
        k = max(size, round(size * per))
        u, v = rng.integers(0, size, k), rng.integers(0, size, k)
        chain = np.arange(size - 1)  # every server reaches the next: the application is one piece
        u, v = np.concatenate([u, chain]), np.concatenate([v, chain + 1])
        keep = u != v
        u, v = u[keep], v[keep]
        web, db = max(1, size // 5), max(1, size // 5)
        src.append(first + u)
        dst.append(first + v)
        port.append(np.where(v < web, 443, np.where(v < web + db, 1433, 8080)))
    partners = rng.integers(0, apps, (apps, 3))
    ca = app[rng.integers(0, servers, m_cross)]
    csrc = starts[ca] + (rng.random(m_cross) * np.asarray(sizes)[ca]).astype(np.int64)
    pb = partners[ca, rng.integers(0, 3, m_cross)]
    cdst = starts[pb] + (rng.random(m_cross) * np.asarray(sizes)[pb]).astype(np.int64)
    src.append(csrc)
    dst.append(cdst)
    port.append(np.full(m_cross, 443))
    shared = rng.choice(apps, max(1, apps * 3 // 100), replace=False)  # shared business services
    for a in shared.tolist():
        users = rng.choice(apps, int(rng.integers(3, 9)), replace=False)
        for b in users.tolist():
            if b == a:
                continue
            callers = starts[b] + rng.integers(0, sizes[b], 3)
            src.append(callers)
            dst.append(np.full(3, starts[a]))
            port.append(np.full(3, 443))
    names = [f"srv{i:06d}" for i in range(servers)]
    hub = servers
    for role, hub_port, direction, count, share in HUBS:
        for j in range(count):
            k = min(servers, int(m_hub * share / count))
            peers = rng.choice(servers, k, replace=False)
            pair = (peers, np.full(k, hub)) if direction == "in" else (np.full(k, hub), peers)
            src.append(pair[0])
            dst.append(pair[1])
            port.append(np.full(k, hub_port))
            names.append(f"{role}{j + 1:02d}")
            hub += 1
    s, d, p = np.concatenate(src), np.concatenate(dst), np.concatenate(port)
    keep = s != d
    s, d, p = s[keep], d[keep], p[keep]
    _, first_index = np.unique(s * n + d, return_index=True)
    first_index.sort()
    s, d, p = s[first_index], d[first_index], p[first_index]
    truth = {names[i]: f"app{int(app[i]):05d}" for i in range(servers)}
    truth.update({names[i]: names[i] for i in range(servers, n)})
    test_env = rng.random(apps) < 0.2
    util = np.round(rng.gamma(2.0, 8.0, n) + 2.0, 1)
    assets = tuple(
        AssetInput(
            id=names[i],
            name=names[i],
            environment="test" if i < servers and test_env[app[i]] else "prod",
            device_class="server",
            os_name="Windows",
            os_version="Server 2022",
            architecture="x86_64",
            cpu_count=4,
            cpu_util_pct=float(util[i]),
            virtual=True,
            first_seen=TODAY - timedelta(days=400),
        )
        for i in range(n)
    )
    ports = {int(x): int(x) for x in sorted(set(p.tolist()))}
    deps = tuple(
        Dependency(names[x], names[y], ports[z])
        for x, y, z in zip(s.tolist(), d.tolist(), p.tolist(), strict=True)
    )
    return Estate(assets, deps), truth


def shipped(extra: dict[str, Any] | None = None) -> Any:
    from planner import SETTINGS_FILES, Settings, merge

    data = {
        k: yaml.safe_load((ROOT / "config" / a / b).read_text())
        for k, (a, b) in SETTINGS_FILES.items()
    }
    return Settings.from_mapping(merge(data, extra or {}))


def measure(result: Any, truth: dict[str, str]) -> dict[str, Any]:
    hub_names = {x for x, t in truth.items() if x == t}
    group = {a.asset_id: a.group or "" for a in result.assets}
    servers = [x for x in sorted(truth) if x not in hub_names]
    moving = [x for x in servers if group[x] and group[x] != "landing-zone"]
    members: dict[str, set[str]] = {}
    for x in servers:
        members.setdefault(truth[x], set()).add(group[x])
    whole = sum(1 for gs in members.values() if len(gs) == 1 and "landing-zone" not in gs)
    return {
        "ari": adjusted_rand([truth[x] for x in moving], [group[x] for x in moving]),
        "whole": whole / len(members),
        "apps": len(members),
        "hubs": sum(1 for x in hub_names if group.get(x) == "landing-zone"),
        "waves": len(result.waves),
        "warned": bool(result.warnings),
    }


def child(n: int, baseline: bool) -> dict[str, Any]:
    from planner import catalogue_from_mapping, plan

    estate, truth = generate(n)
    lifecycle = catalogue_from_mapping(
        yaml.safe_load((ROOT / "config" / "lifecycle" / "catalogue.yaml").read_text())
    )
    settings = shipped({"groups": {"cut_share": 1.0}} if baseline else None)
    start = time.perf_counter()
    result = plan(estate, settings, TODAY, lifecycle)
    out = measure(result, truth)
    out["wall"] = time.perf_counter() - start
    return out


def _spawn(n: int, baseline: bool) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.plan_groups", "--child", str(n), str(int(baseline))],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child ({n} assets) failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@registry.register("plan_groups")
def run(quick: bool) -> Result:
    sizes = (2_000, 20_000) if quick else (2_000, 20_000, 100_000)
    extra: dict[str, str | float | int] = {}
    worst = worst_base = 1.0
    for n in sizes:
        ours, base = _spawn(n, False), _spawn(n, True)
        worst, worst_base = min(worst, ours["ari"]), min(worst_base, base["ari"])
        tag = f"{n // 1000}k"
        extra[f"ari_{tag}"] = round(ours["ari"], 3)
        extra[f"whole_{tag}"] = round(ours["whole"], 3)
        extra[f"hubs_{tag}"] = ours["hubs"]
        extra[f"waves_{tag}"] = ours["waves"]
        extra[f"warned_{tag}"] = int(ours["warned"])
        extra[f"baseline_ari_{tag}"] = round(base["ari"], 3)
        extra[f"baseline_whole_{tag}"] = round(base["whole"], 3)
    return Result("plan_groups", worst, worst_base, "ARI (worst size)", extra)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    print(json.dumps(child(int(sys.argv[2]), bool(int(sys.argv[3])))))
