"""Settings: the shipped YAML loads; every problem is reported at once, by key."""

from __future__ import annotations

from typing import Any

import pytest

from planner import SETTINGS_FILES, Settings, SettingsError
from planner.settings import merge
from tests.planner.conftest import CONFIG


def test_every_settings_file_exists_and_loads(mappings: dict[str, Any]) -> None:
    for parts in SETTINGS_FILES.values():
        assert CONFIG.joinpath(*parts).is_file(), parts
    settings = Settings.from_mapping(mappings)
    assert settings.groups.max_group_size <= settings.waves.max_assets
    assert settings.costs.grid_year == 2024 and "DESNZ" in settings.costs.grid_source
    assert settings.costs.cloud_date is not None, "the price table carries its date"
    assert all(w.name for w in settings.waves.freeze_windows)


def test_problems_are_listed_together_with_their_keys(mappings: dict[str, Any]) -> None:
    data = merge(
        mappings,
        {
            "debt": {"weights": {"os_support": "high"}},
            "hubs": {"min_peers": 0, "colour": 1},
            "groups": {"backend": "gpu"},
            "costs": {"energy": {"price_per_kwh": -1}},
        },
    )
    del data["strategy"]
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(data, source="cloudward.yaml")
    text = str(err.value)
    assert text.startswith("cloudward.yaml: ")
    for expected in (
        "debt.weights.os_support: must be a number, got 'high'",
        "hubs.min_peers: must be at least 1, got 0",
        "hubs.colour: unknown key",
        "groups.backend: 'gpu' is not one of igraph, networkx",
        "costs.energy.price_per_kwh: must be at least 0, got -1",
        "strategy: section missing (load planner/strategy.yaml",
    ):
        assert expected in text, expected


def test_merge_is_deep_and_leaves_inputs_alone() -> None:
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    over = {"a": {"b": 2}, "e": 3}
    assert merge(base, over) == {"a": {"b": 2, "c": [1]}, "d": 1, "e": 3}
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}
