"""Figures derived from a stored plan for the pages and the board report: the end-of-support
timeline, support status by class, the wave timeline, money per financial year split into
capital and revenue, on premise and cloud, and energy and carbon per year.

Nothing here is estimated afresh: every figure is read from the plan (``Plan.to_dict``) or
recombined from its parts the way ``planner.budget`` lays them out, and the split is checked
against the plan's own totals (see :func:`money_years`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from agent.web.charts import (
    STATUS_COLOURS,
    Chart,
    GanttItem,
    Series,
    Stack,
    bar_chart,
    colour_for,
    column_chart,
    gantt,
    short_number,
)
from planner.dates import financial_year, financial_year_bounds

STATUSES = ("eol", "extended", "supported", "unknown")
STATUS_LABELS = {
    "eol": "past end of support",
    "extended": "extended support only (paid, or free community LTS)",
    "supported": "supported",
    "unknown": "without lifecycle data",
}
WAVE_COLOURS = {
    "landing-zone": "#0a7d8c",
    "pilot": "#8250df",
    "nonprod": "#1a7f37",
    "prod": "#1f6feb",
}
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money_format(currency: str) -> Any:
    sign = CURRENCY_SIGNS.get(currency, currency + " ")
    return lambda v: f"{'-' if v < 0 else ''}{sign}{short_number(abs(v))}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def status_by_class_chart(rows: Sequence[tuple[str, str]], width: int = 640) -> Chart:
    """``rows``: (device class, support status) per asset."""
    counts: dict[str, Counter[str]] = {}
    for klass, status in rows:
        counts.setdefault(klass, Counter())[status if status in STATUSES else "unknown"] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    series = [Series(s, STATUS_LABELS[s], STATUS_COLOURS[s]) for s in STATUSES]
    return bar_chart(
        "Support status by class of device (assets)",
        [(k, {s: float(c[s]) for s in STATUSES}) for k, c in ordered],
        series,
        width=width,
    )


def _short_year(first: int) -> str:
    return f"{first % 100:02d}/{(first + 1) % 100:02d}"


def eos_chart(
    rows: Sequence[tuple[str, int | None]],
    today: date,
    *,
    back: int = 5,
    ahead: int = 5,
    width: int = 640,
) -> tuple[Chart, int]:
    """Assets reaching end of support per UK financial year, stacked by class of device.

    ``rows``: (device class, days from ``today`` to the end of support, None when unknown).
    Years more than ``back`` before or ``ahead`` after today's are folded into one column each.
    Returns the chart and how many assets have no known date."""
    current = int(financial_year(today)[:4])
    buckets: dict[str, Counter[str]] = {}
    unknown = 0
    for klass, days in rows:
        if days is None:
            unknown += 1
            continue
        year = int(financial_year(today + timedelta(days=days))[:4])
        if year < current - back:
            key = "earlier"
        elif year > current + ahead:
            key = "later"
        else:
            key = _short_year(year)
        buckets.setdefault(key, Counter())[klass] += 1
    years = list(range(current - back, current + ahead + 1))
    labels = (
        (["earlier"] if "earlier" in buckets else [])
        + [_short_year(y) for y in years]
        + (["later"] if "later" in buckets else [])
    )
    classes = sorted({k for c in buckets.values() for k in c})
    series = [Series(k, k, colour_for(i)) for i, k in enumerate(classes)]
    categories = [
        (label, [Stack("", {k: float(v) for k, v in buckets.get(label, Counter()).items()})])
        for label in labels
    ]
    marked = labels.index(_short_year(current))
    title = "Assets reaching end of support per UK financial year (April to March), by class"
    return column_chart(title, categories, series, width=width, marked=marked), unknown


def wave_chart(waves: Sequence[Mapping[str, Any]], today: date | None, link: bool) -> Chart:
    """``waves``: {number, kind, start, end, assets, groups} (counts) per wave."""
    items = [
        GanttItem(
            f"Wave {w['number']} · {w['kind']}",
            date.fromisoformat(w["start"]),
            date.fromisoformat(w["end"]),
            f"{plural(w['assets'], 'asset')}, {plural(w['groups'], 'group')}",
            WAVE_COLOURS.get(w["kind"], "#1f6feb"),
            f"#wave-{w['number']}" if link else None,
        )
        for w in waves
        if w.get("start") and w.get("end")
    ]
    return gantt("Migration waves: dates and contents", items, today)


def money_years(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The plan's financial years with plan revenue split into on-premise and cloud run costs
    and migration work, recombined from the per-asset annual costs and wave end dates the way
    ``planner.budget.lay_out_years`` does (pro rata by day). ``split_checked`` is False when
    the parts do not add up to the plan's own total (then only the totals are shown)."""
    move: dict[str, int] = {}
    for w in body.get("waves", []):
        end = date.fromisoformat(w["wave"]["end"]).toordinal()
        for asset_id in w["wave"]["assets"]:
            move[str(asset_id)] = end
    # the assets' annual run costs summed by the day they move (the waves' few end days), so a
    # year's share is a sum over those days, not over every asset again
    never = date.max.toordinal()
    by_day: dict[int, list[float]] = {}
    for a in body.get("assets", []):
        c = a.get("cost")
        if not c:
            continue
        when = move.get(str(c["asset_id"]), never)
        rates = by_day.get(when)
        if rates is None:
            rates = by_day[when] = [0.0, 0.0]
        rates[0] += c["onprem_energy"] + c["onprem_support"]
        if c.get("moves"):
            rates[1] += c["cloud_compute"] + c["cloud_storage"]
    out = []
    for y in body.get("years", []):
        s, e = financial_year_bounds(y["label"])
        start, stop = s.toordinal(), e.toordinal() + 1
        onprem = cloud = 0.0
        for when, (onprem_rate, cloud_rate) in by_day.items():
            before = min(max((when - start) / (stop - start), 0.0), 1.0)
            onprem += onprem_rate * before
            cloud += cloud_rate * (1.0 - before)
        migration = float(y["migration_cost"])
        rest = y["plan_revenue"] - onprem - cloud
        treatment = "revenue" if abs(rest - migration) <= max(1.0, 0.001 * migration) else "capital"
        if treatment == "capital":
            checked = abs(rest) <= max(1.0, 0.001 * y["plan_revenue"])
        else:
            checked = True
        refresh = y["plan_capital"] - (migration if treatment == "capital" else 0.0)
        out.append(
            {
                **y,
                "plan_onprem_revenue": round(onprem, 2),
                "plan_cloud_revenue": round(cloud, 2),
                "plan_refresh_capital": round(refresh, 2),
                "migration_treatment": treatment,
                "split_checked": checked,
                "baseline_total": round(y["baseline_capital"] + y["baseline_revenue"], 2),
                "plan_total": round(y["plan_capital"] + y["plan_revenue"], 2),
            }
        )
    return out


def money_chart(years: Sequence[Mapping[str, Any]], currency: str) -> Chart:
    series = [
        Series("capital", "capital: hardware refresh", "#5a4fcf"),
        Series("onprem", "revenue: on-premise running (energy, support)", "#bc4c00"),
        Series("cloud", "revenue: cloud running", "#1f6feb"),
        Series("migration", "migration work", "#bf8700"),
    ]
    categories = []
    for y in years:
        base = Stack(
            "do nothing", {"capital": y["baseline_capital"], "onprem": y["baseline_revenue"]}
        )
        if y["split_checked"]:
            plan = Stack(
                "plan",
                {
                    "capital": y["plan_refresh_capital"],
                    "onprem": y["plan_onprem_revenue"],
                    "cloud": y["plan_cloud_revenue"],
                    "migration": y["migration_cost"],
                },
            )
        else:
            plan = Stack("plan", {"capital": y["plan_capital"], "onprem": y["plan_revenue"]})
        categories.append((f"FY {y['label']}", [base, plan]))
    return column_chart(
        f"Capital and revenue per financial year ({currency}): doing nothing against the plan",
        categories,
        series,
        money_format(currency),
        height=320,
    )


def carbon_years(years: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per year: kWh and tonnes CO2e, doing nothing and with the plan (on premise and cloud).

    The plan's carbon uses one grid factor for both (``baseline_kgco2e / baseline_kwh``)."""
    out = []
    for y in years:
        grid = y["baseline_kgco2e"] / y["baseline_kwh"] if y["baseline_kwh"] else 0.0
        out.append(
            {
                "label": y["label"],
                "baseline_kwh": y["baseline_kwh"],
                "plan_kwh": round(y["plan_onprem_kwh"] + y["plan_cloud_kwh"], 1),
                "plan_onprem_kwh": y["plan_onprem_kwh"],
                "plan_cloud_kwh": y["plan_cloud_kwh"],
                "baseline_t": round(y["baseline_kgco2e"] / 1000, 2),
                "plan_t": round(y["plan_kgco2e"] / 1000, 2),
                "plan_onprem_t": round(y["plan_onprem_kwh"] * grid / 1000, 2),
                "plan_cloud_t": round(y["plan_cloud_kwh"] * grid / 1000, 2),
                "grid": grid,
                "saved_t": round((y["baseline_kgco2e"] - y["plan_kgco2e"]) / 1000, 2),
            }
        )
    return out


def carbon_chart(years: Sequence[Mapping[str, Any]]) -> Chart:
    series = [
        Series("onprem", "on premise (server rooms)", "#bc4c00"),
        Series("cloud", "cloud", "#1f6feb"),
    ]
    categories = [
        (
            f"FY {y['label']}",
            [
                Stack("do nothing", {"onprem": y["baseline_t"]}),
                Stack("plan", {"onprem": y["plan_onprem_t"], "cloud": y["plan_cloud_t"]}),
            ],
        )
        for y in years
    ]
    return column_chart(
        "Carbon per financial year (tonnes CO2e, electricity): doing nothing against the plan",
        categories,
        series,
        lambda v: f"{short_number(v)} t",
    )
