"""Support status per asset: worst component, days remaining, hardware overrides."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from planner import (
    AssetInput,
    Estate,
    HardwareOverrides,
    Lifecycle,
    MatchingRules,
    SettingsError,
    assess_support,
)
from tests.planner.conftest import TODAY, load_yaml


@pytest.fixture(scope="module")
def rules() -> MatchingRules:
    return MatchingRules.from_mapping(load_yaml("lifecycle", "matching.yaml"))


def support(
    assets: list[AssetInput],
    catalogue: Lifecycle,
    rules: MatchingRules,
    hardware: HardwareOverrides | None = None,
    today: date = TODAY,
) -> dict[str, Any]:
    found = assess_support(Estate(tuple(assets)), catalogue, rules, today, hardware)
    return {s.asset_id: s for s in found}


def test_worst_component_sets_the_status(catalogue: Lifecycle, rules: MatchingRules) -> None:
    got = support(
        [
            AssetInput(
                "db",
                os_name="Windows",
                os_version="Server 2019",
                software=(("Microsoft SQL Server 2014", "12.0.6024.0"),),
            )
        ],
        catalogue,
        rules,
    )["db"]
    assert got.component("os").status == "supported"
    assert got.component("software").status == "extended", "SQL 2014 is on ESU until 2027-07-12"
    assert got.status == "extended" and got.days_remaining == 314


def test_results_are_sorted_and_shared_for_equal_assets(
    catalogue: Lifecycle, rules: MatchingRules
) -> None:
    assets = [AssetInput(f"s{i}", os_name="Ubuntu", os_version="22.04") for i in (3, 1, 2)]
    found = assess_support(Estate(tuple(assets)), catalogue, rules, TODAY)
    assert [s.asset_id for s in found] == ["s1", "s2", "s3"]
    assert found[0].components is found[1].components, "equal facts share one record"


def test_unknown_says_why(catalogue: Lifecycle, rules: MatchingRules) -> None:
    got = support(
        [
            AssetInput("a", os_name="Plan 9", os_version="4"),
            AssetInput("b", os_name="Windows 2000"),
            AssetInput("c", os_name="Ubuntu", os_version="4.10"),
            AssetInput("d", device_class="ups"),
        ],
        catalogue,
        rules,
    )
    assert "no lifecycle rule matches 'plan 9 4'" in got["a"].components[0].evidence
    assert "looks like windows-server" in got["b"].components[0].evidence
    assert "not in the lifecycle data (run a lifecycle sync" in got["c"].components[0].evidence
    assert got["d"].status == "unknown" and got["d"].components == ()


def test_without_lifecycle_data_everything_is_unknown(rules: MatchingRules) -> None:
    got = support([AssetInput("a", os_name="RHEL", os_version="9.4")], Lifecycle(), rules)
    assert got["a"].status == "unknown"
    assert "product not in the lifecycle data" in got["a"].components[0].evidence


def test_hardware_overrides_serial_beats_model(catalogue: Lifecycle, rules: MatchingRules) -> None:
    overrides = HardwareOverrides.from_mapping(
        {
            "hardware": [
                {
                    "model": "WS-C2960X-*",
                    "end_of_support": "2027-10-31",
                    "manufactured": "2015-01-01",
                    "source": "vendor notice",
                },
                {
                    "serial": "FOC1",
                    "manufactured": "2016-06-01",
                    "warranty_until": "2021-06-01",
                    "source": "asset register",
                },
            ]
        }
    )
    got = support(
        [
            AssetInput("sw1", model="WS-C2960X-48FPD-L", serial="FOC1", device_class="switch"),
            AssetInput("sw2", model="ws-c2960x-24ps-l", device_class="switch"),
            AssetInput("sw3", model="C9300-48P", device_class="switch"),
        ],
        catalogue,
        rules,
        overrides,
    )
    one = got["sw1"].hardware
    assert one.manufactured == date(2016, 6, 1), "the serial entry wins"
    assert one.end_of_support == date(2027, 10, 31), "fields the serial lacks come from the model"
    assert got["sw1"].component("hardware").days_remaining == (date(2027, 10, 31) - TODAY).days
    assert got["sw2"].hardware.manufactured == date(2015, 1, 1), "model globs ignore case"
    assert got["sw3"].hardware is None
    late = support(
        [AssetInput("x", model="WS-C2960X-48")], catalogue, rules, overrides, today=date(2028, 1, 1)
    )
    assert late["x"].component("hardware").status == "eol"


def test_override_without_model_or_serial_is_refused() -> None:
    with pytest.raises(SettingsError, match="needs a 'model'"):
        HardwareOverrides.from_mapping({"hardware": [{"end_of_support": "2027-01-01"}]})
