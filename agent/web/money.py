"""Capital and revenue by UK financial year, for the plan and for each of its waves.

The plan's years are the planner's budget (``planner.budget.lay_out_years``, stored in the plan
as ``years``), as the board report shows them. A wave's years are its own share of the same
budget, taken from the per-asset annual costs stored with the plan: its assets' run costs
change pro rata from the wave's end date (on-premise cost stops, cloud cost starts), hardware
refreshes of its assets due after the move are avoided, and the migration work of the waves
ending in a year is shared between them by effort (capital or revenue as the plan treated it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from agent.web.figures import money_years
from planner.dates import financial_year_bounds, plus_years


def plan_years(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The plan and doing nothing, capital and revenue per financial year."""
    keys = ("label", "baseline_capital", "baseline_revenue", "plan_capital", "plan_revenue")
    out = []
    for y in money_years(body):
        row = {k: y[k] for k in keys}
        row["migration_cost"] = y["migration_cost"]
        row["migration_treatment"] = y["migration_treatment"]
        row["capital_change"] = round(y["plan_capital"] - y["baseline_capital"], 2)
        row["revenue_change"] = round(y["plan_revenue"] - y["baseline_revenue"], 2)
        out.append(row)
    return out


def wave_years(
    body: Mapping[str, Any], years: list[dict[str, Any]] | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Per wave number, per financial year: what the wave changes against doing nothing
    (``capital``, ``revenue``: negative is a saving) and its migration work. ``years``: the
    body's :func:`plan_years` when the caller has them already (a pass over every asset)."""
    if years is None:
        years = plan_years(body)
    costs = {str(a["asset_id"]): a["cost"] for a in body.get("assets", []) if a.get("cost")}
    waves = [w["wave"] for w in body.get("waves", [])]
    effort_by_year: dict[str, float] = {}
    for w in waves:
        label = _label_of(date.fromisoformat(w["end"]), years)
        if label is not None:
            effort_by_year[label] = effort_by_year.get(label, 0.0) + float(w["effort_days"])
    out: dict[int, list[dict[str, Any]]] = {}
    for w in waves:
        moved = date.fromisoformat(w["end"])
        assets = [costs[str(a)] for a in w["assets"] if str(a) in costs]
        # the wave's annual run-cost change (the same every year) and its assets that have
        # hardware refreshes laid out: worked out once, not for every year
        run = sum(
            ((c["cloud_compute"] + c["cloud_storage"]) if c.get("moves") else 0.0)
            - (c["onprem_energy"] + c["onprem_support"])
            for c in assets
        )
        refreshed = [c for c in assets if c.get("next_refresh") and c.get("refresh_years")]
        rows = []
        for y in years:
            start, end = financial_year_bounds(y["label"])
            s, e = start.toordinal(), end.toordinal() + 1
            after = min(max((e - moved.toordinal()) / (e - s), 0.0), 1.0)
            avoided = sum(
                float(c["refresh_cost"])
                for c in refreshed
                for when in _refreshes(c, start, end)
                if when >= moved
            )
            migration = 0.0
            total_effort = effort_by_year.get(y["label"], 0.0)
            if total_effort > 0 and start <= moved <= end:
                migration = y["migration_cost"] * float(w["effort_days"]) / total_effort
            capitalised = y["migration_treatment"] == "capital"
            rows.append(
                {
                    "label": y["label"],
                    "capital": round((migration if capitalised else 0.0) - avoided, 2),
                    "revenue": round(run * after + (0.0 if capitalised else migration), 2),
                    "migration": round(migration, 2),
                }
            )
        out[int(w["number"])] = rows
    return out


def _label_of(day: date, years: list[dict[str, Any]]) -> str | None:
    for y in years:
        start, end = financial_year_bounds(y["label"])
        if start <= day <= end:
            return str(y["label"])
    return None


def _refreshes(cost: Mapping[str, Any], start: date, end: date) -> list[date]:
    """The asset's hardware refresh dates within [start, end] (as the planner lays them out)."""
    first, every = cost.get("next_refresh"), float(cost.get("refresh_years") or 0)
    if not first or not every:
        return []
    origin = date.fromisoformat(first)
    out, k, when = [], 0, origin
    while when <= end:
        if when >= start:
            out.append(when)
        k += 1
        when = plus_years(origin, k * every)
    return out
