"""Cost, energy and carbon laid out per UK financial year (April to March), capital and revenue.

The baseline is doing nothing: every asset stays on premise, paying energy and support (revenue)
and hardware refreshes when due (capital). The plan moves each asset at the end of its wave:
on-premise costs until then, cloud run costs after (none for retired assets), the migration work
in the year it happens, and refreshes falling after the move are capital avoided. Part years are
pro rata by day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from planner.costing import AssetCost, price_assets
from planner.costtables import CostSettings
from planner.dates import financial_year, financial_year_bounds, plus_years
from planner.graphcore import EstateGraph
from planner.strategy import StrategyChoice
from planner.waves import Wave


@dataclass(frozen=True, slots=True)
class CostEstimate:
    assets: tuple[AssetCost, ...]  # annual figures per asset, sorted by id
    years: tuple[FinancialYear, ...]


@dataclass(frozen=True, slots=True)
class FinancialYear:
    label: str  # '2026/27'
    start: date
    end: date
    baseline_capital: float
    baseline_revenue: float
    plan_capital: float
    plan_revenue: float
    migration_cost: float  # inside plan_revenue or plan_capital, per the treatment setting
    capital_avoided: float
    baseline_kwh: float
    plan_onprem_kwh: float
    plan_cloud_kwh: float
    baseline_kgco2e: float
    plan_kgco2e: float


def lay_out_years(
    costs: tuple[AssetCost, ...],
    moves: Mapping[str, date],
    effort_days: Mapping[str, float],
    settings: CostSettings,
    today: date,
) -> tuple[FinancialYear, ...]:
    """Baseline and plan per financial year from the one holding ``today``, for the horizon."""
    n = len(costs)
    far = date.max.toordinal()
    move = np.array(
        [moves[c.asset_id].toordinal() if c.asset_id in moves else far for c in costs],
        dtype=np.int64,
    )
    onprem = np.array([c.onprem_annual for c in costs])
    cloud = np.array([c.cloud_annual if c.moves else 0.0 for c in costs])
    kwh_on = np.array([c.onprem_kwh for c in costs])
    kwh_cloud = np.array([c.cloud_kwh if c.moves else 0.0 for c in costs])
    work = np.array(
        [
            effort_days.get(c.asset_id, 0.0) * settings.day_rate if c.asset_id in moves else 0.0
            for c in costs
        ]
    )
    grid = settings.grid_kgco2e
    first = financial_year_bounds(financial_year(today))[0]
    horizon_end = date(first.year + settings.horizon_years, 3, 31)
    events = [
        (when.toordinal(), c.refresh_cost, m)
        for c, m in zip(costs, move.tolist(), strict=True)
        for when in _refreshes(c, first, horizon_end)
    ]
    ev_day = np.array([e[0] for e in events], dtype=np.int64)
    ev_cost = np.array([e[1] for e in events], dtype=np.float64)
    ev_move = np.array([e[2] for e in events], dtype=np.int64)
    years = []
    for k in range(settings.horizon_years):
        start = date(first.year + k, 4, 1)
        end = date(first.year + k + 1, 3, 31)
        s, e = start.toordinal(), end.toordinal() + 1
        before = np.clip((move - s) / (e - s), 0.0, 1.0) if n else np.zeros(0)
        after = 1.0 - before
        in_year = (move >= s) & (move < e)
        migration = float(work[in_year].sum())
        due = (ev_day >= s) & (ev_day < e)
        base_cap = float(ev_cost[due].sum())
        plan_cap = float(ev_cost[due & (ev_day < ev_move)].sum())
        base_rev = float(onprem.sum())
        plan_rev = float((onprem * before).sum() + (cloud * after).sum())
        if settings.migration_treatment == "capital":
            plan_cap += migration
        else:
            plan_rev += migration
        base_kwh = float(kwh_on.sum())
        plan_on = float((kwh_on * before).sum())
        plan_cl = float((kwh_cloud * after).sum())
        years.append(
            FinancialYear(
                financial_year(start),
                start,
                end,
                round(base_cap, 2),
                round(base_rev, 2),
                round(plan_cap, 2),
                round(plan_rev, 2),
                round(migration, 2),
                round(
                    base_cap
                    - (
                        plan_cap - (migration if settings.migration_treatment == "capital" else 0.0)
                    ),
                    2,
                ),
                round(base_kwh, 1),
                round(plan_on, 1),
                round(plan_cl, 1),
                round(base_kwh * grid, 1),
                round((plan_on + plan_cl) * grid, 1),
            )
        )
    return tuple(years)


def _refreshes(cost: AssetCost, start: date, end: date) -> list[date]:
    if cost.next_refresh is None or not cost.refresh_years:
        return []
    out = []
    k = 0
    when = cost.next_refresh
    while when <= end:
        if when >= start:
            out.append(when)
        k += 1
        when = plus_years(cost.next_refresh, k * cost.refresh_years)
    return out


def estimate_costs(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    settings: CostSettings,
    today: date,
    waves: Sequence[Wave] = (),
    effort_days: Mapping[str, float] | None = None,
) -> CostEstimate:
    """Annual costs per asset and, given the waves, the financial-year layout.

    Without waves nothing moves: the years show the baseline twice. ``effort_days`` are engineer
    days per strategy (``waves.effort_days``), priced at the migration day rate.
    """
    costs = price_assets(graph, strategies, settings, today)
    moves = {a: w.end for w in waves for a in w.assets}
    per_strategy = effort_days or {}
    effort = {c.asset_id: per_strategy.get(c.strategy, 0.0) for c in strategies}
    return CostEstimate(costs, lay_out_years(costs, moves, effort, settings, today))
