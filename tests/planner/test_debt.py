"""Debt: factors with weights, values and evidence; points add up to the score."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from planner import (
    AssetInput,
    DebtSettings,
    Dependency,
    Estate,
    Exposure,
    Lifecycle,
    Settings,
    SettingsError,
    assess_support,
    index_estate,
    score_debt,
)
from planner.debt_settings import FACTORS
from tests.planner.conftest import TODAY


def debts(
    estate: Estate, settings: Settings, catalogue: Lifecycle, hubs: frozenset[str] = frozenset()
) -> dict[str, Any]:
    graph = index_estate(estate)
    sup = assess_support(estate, catalogue, settings.matching, TODAY)
    return {
        d.asset_id: d for d in score_debt(graph, sup, settings.debt, TODAY, infrastructure=hubs)
    }


def test_points_add_up_and_every_factor_is_present(
    settings: Settings, catalogue: Lifecycle
) -> None:
    old = AssetInput(
        "old",
        os_name="Windows",
        os_version="Server 2008 R2",
        manufactured=date(2012, 1, 1),
        exposures=(Exposure("telnet"), Exposure("smbv1", "SMB1")),
        cpu_util_pct=1.0,
        cpu_count=4,
    )
    new = AssetInput(
        "new", os_name="Ubuntu", os_version="24.04", virtual=True, cpu_util_pct=40.0, cpu_count=2
    )
    got = debts(Estate((old, new)), settings, catalogue)
    for d in got.values():
        assert tuple(f.name for f in d.factors) == FACTORS
        assert abs(sum(f.points for f in d.factors) - d.score) < 0.1
        assert 0 <= d.score <= 100
    assert got["old"].score == 65.0, (
        "with the default weights: 25 (OS end of life) + 10 (no support runway left) + 10 "
        "(hardware over 8 years old) + 15 (telnet and SMBv1) + 5 (idle CPU)"
    )
    assert got["new"].score == 0.0, "a supported, busy Ubuntu 24.04 VM with nothing insecure"
    assert got["old"].factor("insecure_exposure").value == 1.0, "telnet + SMBv1 cap at 1"
    assert got["old"].factor("utilisation").evidence.startswith("CPU 1%: idle")
    assert got["new"].factor("hardware_age").evidence.startswith("virtual machine")


def test_dependants_criticality_and_single_points_of_failure(
    settings: Settings, catalogue: Lifecycle
) -> None:
    assets = [AssetInput(x) for x in ("db", "db2", "a", "b", "c", "dns", "lb")]
    deps = [Dependency(x, "db", 1433) for x in ("a", "b", "c")]
    deps += [Dependency(x, "dns", 53) for x in ("a", "b", "c", "db")]
    deps += [Dependency("dns", "db", 1433)]  # a hub calling in is not a dependant
    deps += [Dependency(x, "db2", 8080) for x in ("a", "b", "c")]
    deps += [Dependency(x, "lb", 8080) for x in ("a", "b", "c")]
    got = debts(Estate(tuple(assets), tuple(deps)), settings, catalogue, frozenset({"dns"}))
    assert got["db"].dependants == 3
    assert got["db"].factor("single_point_of_failure").value == 1.0, "3 callers, no alternative"
    assert got["db2"].factor("single_point_of_failure").value == 0.0, (
        "its callers also use lb on the same port: a redundant pair"
    )
    assert got["a"].factor("criticality").value == 0.0
    assert got["db"].factor("criticality").value > 0


def test_overrides_win(settings: Settings, catalogue: Lifecycle) -> None:
    got = debts(
        Estate((AssetInput("x", criticality="critical", redundant=True),)), settings, catalogue
    )
    assert got["x"].factor("criticality").value == 1.0
    assert got["x"].factor("criticality").evidence == "set to critical by override"
    assert got["x"].factor("single_point_of_failure").evidence == "redundant by override"


def test_weights_are_checked() -> None:
    with pytest.raises(SettingsError) as err:
        DebtSettings.from_mapping(
            {
                "weights": {"os_support": 1, "colour": 2},
                "hardware_age_years": {"start": 5, "full": 3},
            }
        )
    problems = "\n".join(err.value.problems)
    assert "debt.weights.colour: unknown factor" in problems
    assert "debt.weights.hardware_age: missing" in problems
    assert "'full' must be greater than 'start'" in problems
