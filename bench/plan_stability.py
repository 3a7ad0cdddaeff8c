"""``plan_stability``: how much of a plan moves when one asset leaves the estate.

The estate is :func:`bench.plan_groups.generate` at 20,000 assets (``--quick``: 5,000), planned
with the settings shipped under ``config/``. Five assets drawn with a fixed seed are each removed
in turn and the estate re-planned; the figure is the share of the other assets whose wave
changed, worst of the five. ``ours`` re-plans from the previous plan (:mod:`planner.replan`:
groups and waves kept unless something forces a change); the baseline is the same re-plan
without it, measured in the same run. Goal: under 0.1% at 20,000 assets.
"""

from __future__ import annotations

import random
import time
from typing import Any

import yaml

from bench import Result, registry
from bench.plan_groups import ROOT, TODAY, generate, shipped

DROPS = 5
SEED = 20260901


def _waves(result: Any) -> dict[str, int | None]:
    return {a.asset_id: a.wave for a in result.assets}


def measure(n: int) -> dict[str, Any]:
    from planner import Estate, PreviousPlan, catalogue_from_mapping, plan

    estate, _ = generate(n)
    lifecycle = catalogue_from_mapping(
        yaml.safe_load((ROOT / "config" / "lifecycle" / "catalogue.yaml").read_text())
    )
    settings = shipped()
    first = plan(estate, settings, TODAY, lifecycle)
    previous = PreviousPlan.from_dict(first.to_dict())
    had = _waves(first)
    ours: list[float] = []
    base: list[float] = []
    groups_moved = 0
    seconds = 0.0
    for drop in random.Random(SEED).sample(sorted(had), DROPS):
        smaller = Estate(
            tuple(a for a in estate.assets if a.id != drop),
            tuple(d for d in estate.dependencies if drop not in (d.src, d.dst)),
        )
        start = time.perf_counter()
        stable = plan(smaller, settings, TODAY, lifecycle, previous)
        seconds += time.perf_counter() - start
        fresh = plan(smaller, settings, TODAY, lifecycle)
        for result, shares in ((stable, ours), (fresh, base)):
            moved = sum(1 for a, w in _waves(result).items() if w != had[a])
            shares.append(100.0 * moved / (len(had) - 1))
        groups_moved += len(stable.replan.moved) if stable.replan else 0
    return {
        "ours": max(ours),
        "baseline": max(base),
        "mean": sum(ours) / len(ours),
        "baseline_mean": sum(base) / len(base),
        "waves": len(first.waves),
        "groups": len(first.groups.groups),
        "groups_moved": groups_moved,
        "replan_s": seconds / DROPS,
    }


@registry.register("plan_stability")
def run(quick: bool) -> Result:
    n = 5_000 if quick else 20_000
    out = measure(n)
    return Result(
        "plan_stability",
        out["ours"],
        out["baseline"],
        "% of assets moved wave (worst of 5 removals)",
        {
            "assets": n,
            "removals": DROPS,
            "mean_pct": round(out["mean"], 4),
            "baseline_mean_pct": round(out["baseline_mean"], 3),
            "waves": out["waves"],
            "groups": out["groups"],
            "groups_moved": out["groups_moved"],
            "replan_s": round(out["replan_s"], 2),
        },
    )
