"""Cost and carbon: on premise vs cloud, per UK financial year, capital and revenue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from planner import (
    AssetInput,
    CostSettings,
    Estate,
    Settings,
    SettingsError,
    StrategyChoice,
    estimate_costs,
    index_estate,
)
from planner.waves import Wave
from tests.planner.conftest import TODAY


def wave(end: date, assets: tuple[str, ...]) -> Wave:
    return Wave(1, "prod", end, end, ("g",), assets, 0, 0, 10, 100, 10, ())


def test_on_premise_and_cloud_figures(settings: Settings) -> None:
    box = AssetInput(
        "box",
        device_class="server",
        virtual=False,
        cpu_count=16,
        memory_bytes=64 * 2**30,
        disk_bytes=500 * 10**9,
        cpu_util_pct=13,
        memory_util_pct=30,
        os_name="Red Hat Enterprise Linux",
        manufactured=date(2019, 6, 1),
    )
    graph = index_estate(Estate((box,)))
    est = estimate_costs(graph, (StrategyChoice("box", "rehost", "r", ()),), settings.costs, TODAY)
    cost = est.assets[0]
    c = settings.costs
    assert cost.onprem_watts == c.watts["server"]["medium"], "16 cores is a medium server"
    assert cost.onprem_kwh == pytest.approx(cost.onprem_watts * 8.76 * c.pue, abs=0.1)
    assert cost.onprem_kgco2e == pytest.approx(cost.onprem_kwh * c.grid_kgco2e, abs=0.1)
    # 16 cores at 13% need 4 vCPU at a 65% target; 64 GiB at 30% need 25.6 GiB at 75%
    size = next(v for v in c.sizes if v.name == cost.cloud_size)
    assert size.vcpu >= 4 and size.memory_gib >= 25.6, "right-sized to the observed peak"
    cheaper = [
        v
        for v in c.sizes
        if v.vcpu >= 4 and v.memory_gib >= 25.6 and v.linux_per_hour < size.linux_per_hour
    ]
    assert not cheaper, "the cheapest size that fits"
    assert cost.cloud_kwh < cost.onprem_kwh, "a shared cloud host draws far less per workload"
    assert cost.next_refresh == date(2029, 6, 1), "made 2019-06-01, refreshed every 5 years"


def test_financial_years_split_capital_and_revenue(settings: Settings) -> None:
    box = AssetInput(
        "box",
        device_class="server",
        virtual=False,
        cpu_count=4,
        manufactured=date(2022, 6, 1),
        os_name="Ubuntu",
    )
    graph = index_estate(Estate((box,)))
    choice = (StrategyChoice("box", "rehost", "r", ()),)
    moved = date(2027, 10, 1)  # halfway through 2027/28 (183 of 366 days before)
    est = estimate_costs(
        graph, choice, settings.costs, TODAY, [wave(moved, ("box",))], {"rehost": 2.0}
    )
    years = {y.label: y for y in est.years}
    cost = est.assets[0]
    assert years["2026/27"].plan_revenue == pytest.approx(cost.onprem_annual, abs=0.01)
    y = years["2027/28"]
    share = (moved - date(2027, 4, 1)).days / 366
    assert y.plan_revenue == pytest.approx(
        cost.onprem_annual * share
        + cost.cloud_annual * (1 - share)
        + 2.0 * settings.costs.day_rate,
        abs=0.05,
    )
    assert y.migration_cost == 2.0 * settings.costs.day_rate
    refresh = years["2027/28"]  # due 2027-06-01, before the move: still bought
    assert refresh.baseline_capital == refresh.plan_capital == 7000
    later = years["2030/31"]
    assert later.baseline_capital == 0 and later.plan_capital == 0
    assert sum(y.capital_avoided for y in est.years) == 0
    gone = estimate_costs(graph, choice, settings.costs, TODAY, [wave(date(2027, 5, 1), ("box",))])
    assert {y.label: y.capital_avoided for y in gone.years}["2027/28"] == 7000, (
        "moved before the refresh falls due: the capital is avoided"
    )


def test_retired_assets_cost_nothing_after_their_wave(settings: Settings) -> None:
    box = AssetInput("box", device_class="server", virtual=False, cpu_count=4)
    graph = index_estate(Estate((box,)))
    est = estimate_costs(
        graph,
        (StrategyChoice("box", "retire", "r", ()),),
        settings.costs,
        TODAY,
        [wave(date(2026, 3, 1), ("box",))],
    )
    assert est.assets[0].cloud_size is None
    assert all(y.plan_revenue == 0 and y.plan_kgco2e == 0 for y in est.years)


def test_cost_tables_are_checked(mappings: dict[str, Any]) -> None:
    data = dict(mappings["costs"])
    data["cloud"] = {**data["cloud"], "sizes": []}
    data["power"] = {**data["power"], "watts": {"toaster": 5, "server": {"small": 1}}}
    with pytest.raises(SettingsError) as err:
        CostSettings.from_mapping(data)
    text = "\n".join(err.value.problems)
    assert "at least one VM size" in text
    assert "costs.power.watts.toaster: unknown device class" in text
    assert "give one number or small/medium/large" in text
