"""Chart geometry and the figures derived from a plan (no browser, no peers)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.bridge.plan_runs import plan_body
from agent.web import ENV, charts, figures
from tests.web.estate import TODAY, council_store


@given(st.floats(min_value=0.001, max_value=1e9, allow_nan=False))
def test_nice_step_gives_round_steps_covering_the_top(top: float) -> None:
    step = charts.nice_step(top)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0)
    assert 2.5 * (1 - 1e-9) <= top / step <= 5 * (1 + 1e-9)  # about five gridlines


def test_short_number() -> None:
    assert [charts.short_number(v) for v in (0, 7, 12.4, 1234, 67530.59, 2_500_000, -1500)] == [
        "0",
        "7",
        "12",
        "1.2k",
        "67.5k",
        "2.5m",
        "-1.5k",
    ]


def test_column_chart_stacks_in_series_order_and_scales_to_the_tallest() -> None:
    series = [charts.Series("a", "A", "#111111"), charts.Series("b", "B", "#222222")]
    chart = charts.column_chart(
        "t",
        [
            ("x", [charts.Stack("", {"a": 2.0, "b": 3.0})]),
            ("y", [charts.Stack("", {"a": 10.0})]),
        ],
        series,
        marked=1,
    )
    x_a, x_b, y_a = chart.rects
    assert x_a.fill == "#111111" and x_b.fill == "#222222"
    assert x_b.y + x_b.h == pytest.approx(x_a.y)  # b sits on a
    assert y_a.h == pytest.approx(2 * (x_a.h + x_b.h))  # 10 is twice 5
    assert any(t.kind == "today" for t in chart.texts)
    assert [t.text for t in chart.texts if t.kind == "value"] == ["5", "10"]
    empty = charts.column_chart("t", [("x", [charts.Stack("", {})])], series)
    assert empty.empty and not empty.rects


def test_gantt_places_bars_in_date_order_within_the_width() -> None:
    items = [
        charts.GanttItem("w0", date(2027, 1, 5), date(2027, 3, 1), "n"),
        charts.GanttItem("w1", date(2027, 5, 11), date(2027, 6, 21), "n", href="#wave-1"),
    ]
    chart = charts.gantt("g", items, today=date(2026, 11, 1), width=1000)
    a, b = chart.rects
    assert a.x < a.x + a.w < b.x < b.x + b.w <= 1000
    assert b.href == "#wave-1" and "11 May 2027 to 21 Jun 2027" in b.title
    assert [t.text for t in chart.texts if t.kind == "strong"] == ["FY 2027/28"]
    today = [ln for ln in chart.lines if ln.kind == "today"]
    assert len(today) == 1 and today[0].x1 < a.x


def test_eos_chart_buckets_by_financial_year() -> None:
    today = date(2026, 11, 1)
    rows = [
        ("server", (date(2024, 6, 30) - today).days),  # FY 2024/25
        ("server", (date(2025, 3, 31) - today).days),  # still FY 2024/25
        ("switch", (date(2025, 4, 1) - today).days),  # FY 2025/26
        ("switch", (date(2019, 1, 1) - today).days),  # earlier
        ("server", None),
    ]
    chart, unknown = figures.eos_chart(rows, today)
    assert unknown == 1
    labels = [t.text for t in chart.texts if t.kind == "label"]
    assert labels[0] == "earlier" and "24/25" in labels and "26/27" in labels
    totals = dict(zip(labels, [0] * len(labels), strict=True))
    for r in chart.rects:
        label = r.title.split(":")[0].strip()
        totals[label] += int(float(r.title.rsplit(" ", 1)[1]))
    assert totals["earlier"] == 1 and totals["24/25"] == 2 and totals["25/26"] == 1
    assert sum(totals.values()) == 4


def test_chart_macro_escapes_labels() -> None:
    chart = charts.bar_chart(
        "<b>t</b>", [("<script>x</script>", {"a": 1.0})], [charts.Series("a", "A&B", "#123456")]
    )
    html = ENV.get_template("charts.html").module.svg(chart)  # type: ignore[attr-defined]
    assert "<script>" not in str(html) and "&lt;script&gt;x&lt;/script&gt;" in str(html)
    assert "&lt;b&gt;t&lt;/b&gt;" in str(html) and "A&amp;B" in str(html)


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store, _ = council_store(tmp_path_factory.mktemp("figures") / "cw.db")
    try:
        found = plan_body(store)
    finally:
        store.close()
    assert found is not None
    return found


def test_money_split_adds_up_to_the_plan_totals(body: Any) -> None:
    years = figures.money_years(body)
    assert [y["label"] for y in years] == [y["label"] for y in body["years"]]
    moved = False
    for y in years:
        assert y["split_checked"], y["label"]
        parts = y["plan_onprem_revenue"] + y["plan_cloud_revenue"]
        if y["migration_treatment"] == "revenue":
            parts += y["migration_cost"]
        assert parts == pytest.approx(y["plan_revenue"], abs=1.0)
        assert y["plan_total"] == pytest.approx(y["plan_capital"] + y["plan_revenue"], abs=0.01)
        moved = moved or y["plan_cloud_revenue"] > 0
    assert moved, "no year has cloud running costs"
    first = years[0]
    assert first["baseline_revenue"] == pytest.approx(
        sum(a["cost"]["onprem_energy"] + a["cost"]["onprem_support"] for a in body["assets"]),
        abs=1.0,
    )


def test_carbon_years_split_by_the_grid_factor(body: Any) -> None:
    carbon = figures.carbon_years(body["years"])
    for c, y in zip(carbon, body["years"], strict=True):
        assert c["plan_onprem_t"] + c["plan_cloud_t"] == pytest.approx(c["plan_t"], abs=0.02)
        assert c["saved_t"] == pytest.approx(c["baseline_t"] - c["plan_t"], abs=0.02)
        assert c["baseline_kwh"] == y["baseline_kwh"]
    assert carbon[-1]["saved_t"] > 0


def test_wave_chart_links_each_wave(body: Any) -> None:
    rows = [
        {
            "number": w["wave"]["number"],
            "kind": w["wave"]["kind"],
            "start": w["wave"]["start"],
            "end": w["wave"]["end"],
            "assets": len(w["wave"]["assets"]),
            "groups": len(w["wave"]["groups"]),
        }
        for w in body["waves"]
    ]
    chart = figures.wave_chart(rows, TODAY, link=True)
    assert [r.href for r in chart.rects] == [f"#wave-{r['number']}" for r in rows]
    assert len(chart.rects) == len(rows) > 0
    assert all(date.fromisoformat(r["start"]) >= TODAY for r in rows)
