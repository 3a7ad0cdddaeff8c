"""Settings: the shipped YAML loads; every problem is reported at once, by key."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner import SETTINGS_FILES, Settings, SettingsError
from planner.settings import _SECTION_MODELS, merge, sections_from_layers
from planner.settings_file import SettingsFile
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


def layers_of(config: Path) -> list[tuple[str, dict[str, Any]]]:
    """The shipped files as the agent hands them over: one layer per file, named by its path."""
    return [
        (f"config/{'/'.join(parts)}", {name: yaml.safe_load(config.joinpath(*parts).read_text())})
        for name, parts in SETTINGS_FILES.items()
    ]


def test_a_problem_names_the_file_and_the_key(tmp_path: Path) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    waves = tmp_path / "config" / "planner" / "waves.yaml"
    text = waves.read_text()
    assert "\nwave_weeks: 6" in text and "\nmax_assets: 100" in text
    waves.write_text(
        text.replace("\nwave_weeks: 6", "\nwave_weeks: 0").replace(  # a bad value
            "\nmax_assets: 100", "\nmax_asset: 100"
        )  # an unknown key (a typo)
    )
    with pytest.raises(SettingsError) as err:
        Settings.from_layers(layers_of(tmp_path / "config"))
    assert err.value.problems == [
        "config/planner/waves.yaml: waves.wave_weeks: must be at least 1, got 0",
        "config/planner/waves.yaml: waves.max_asset: unknown key (expected one of "
        "start_lead_days, landing_zone_weeks, wave_weeks, gap_days, ramp, max_assets, max_risk, "
        "team_days_per_week, group_overhead_days, effort_days, pilot, risk, separate_production, "
        "freeze_windows, freeze_min_weeks, horizon_years, horizon_waves, notes)",
    ]
    assert str(err.value).startswith("2 problems in planner settings\n  - config/planner/waves")


def test_a_problem_names_the_override_that_gave_the_key() -> None:
    layers = [
        *layers_of(CONFIG),
        (
            "site.yaml",
            {
                "waves": {"pilot": {"max_risk": -1}, "freeze_windows": [{"from": "12-18"}]},
                "debt": {"weights": {"os_support": True}},
                "groups": {"links": {"default": "firm"}},
                "costs": {"cloud": {"sizes": [{"name": "tiny", "vcpu": 0}]}},
                "colour": "blue",
            },
        ),
    ]
    with pytest.raises(SettingsError) as err:
        Settings.from_layers(layers)
    assert err.value.problems == [
        "site.yaml: debt.weights.os_support: must be a number, got True",
        "site.yaml: groups.links.default: 'firm' is not one of hard, soft",
        "site.yaml: waves.pilot.max_risk: must be at least 0, got -1",
        "site.yaml: waves.freeze_windows[0].to: required key is missing",
        "site.yaml: costs.cloud.sizes[0].vcpu: must be at least 1, got 0",
        "site.yaml: costs.cloud.sizes[0].memory_gib: required key is missing",
        "site.yaml: costs.cloud.sizes[0].linux_per_hour: required key is missing",
        "site.yaml: costs.cloud.sizes[0].windows_per_hour: required key is missing",
        "site.yaml: colour: unknown key (expected one of debt, strategy, hubs, groups, waves, "
        "costs, matching, hardware)",
    ]
    # a key in a section the override also sets stays the shipped file's
    shipped = layers_of(CONFIG)
    shipped[4] = (shipped[4][0], merge(shipped[4][1], {"waves": {"gap_days": -1}}))
    with pytest.raises(SettingsError) as err:
        Settings.from_layers([*shipped, ("site.yaml", {"waves": {"pilot": {"max_risk": 10}}})])
    assert err.value.problems == [
        "config/planner/waves.yaml: waves.gap_days: must be at least 0, got -1"
    ]
    good = Settings.from_layers([*layers_of(CONFIG), ("site.yaml", {"waves": {"gap_days": 14}})])
    assert good.waves.gap_days == 14 and good.waves.wave_weeks == 6


def test_values_are_not_coerced_and_empty_keys_take_defaults(mappings: dict[str, Any]) -> None:
    loose = merge(
        mappings,
        {"groups": {"seed": "7", "max_group_size": 5.0}, "waves": {"separate_production": 1}},
    )
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(loose)
    assert err.value.problems == [
        "groups.seed: must be a whole number, got '7'",
        "groups.max_group_size: must be a whole number, got 5.0",
        "waves.separate_production: must be true or false, got 1",
    ]
    empty = merge(mappings, {"waves": {"gap_days": None, "pilot": None}, "hardware": None})
    settings = Settings.from_mapping(empty)
    assert settings.waves.gap_days == 7 and settings.waves.pilot_max_assets == 10
    assert settings.hardware.entries == ()


def test_every_settings_file_has_a_model() -> None:
    assert list(SettingsFile.model_fields) == list(SETTINGS_FILES)


def test_the_group_size_cap_follows_the_wave_capacity(mappings: dict[str, Any]) -> None:
    """Shipped as ``auto``: the most one wave takes, so a smaller wave capacity brings the cap
    down with it (a group never outgrows a wave) and a number still wins."""
    assert mappings["groups"]["max_group_size"] == "auto"
    shipped = Settings.from_mapping(mappings)
    assert shipped.groups.max_group_size == shipped.waves.max_assets == 100
    small = Settings.from_mapping(merge(mappings, {"waves": {"ramp": [5, 40], "max_assets": 60}}))
    assert small.groups.max_group_size == 40
    narrow = Settings.from_mapping(merge(mappings, {"waves": {"max_assets": 30}}))
    assert narrow.groups.max_group_size == 30
    fixed = Settings.from_mapping(merge(mappings, {"groups": {"max_group_size": 20}}))
    assert fixed.groups.max_group_size == 20


BUILT_ALONE = ("debt", "strategy", "hubs", "waves", "costs", "matching", "hardware")


def test_a_section_read_alone_is_what_the_whole_settings_hold(mappings: dict[str, Any]) -> None:
    layers = [(f"{name}.yaml", {name: data}) for name, data in mappings.items()]
    whole = Settings.from_layers(layers)
    for name in BUILT_ALONE:
        assert sections_from_layers([name], layers) == {name: getattr(whole, name)}, name
    both = sections_from_layers(["matching", "hardware"], layers)
    assert both == {"matching": whole.matching, "hardware": whole.hardware}


def test_a_section_read_alone_checks_itself_only_and_names_the_file(
    mappings: dict[str, Any],
) -> None:
    layers = [(f"{name}.yaml", {name: data}) for name, data in mappings.items()]
    mine = ("mine.yaml", {"hubs": {"min_peers": 0}, "waves": {"colour": 1}})
    with pytest.raises(SettingsError) as err:
        sections_from_layers(["hubs"], [*layers, mine])
    assert err.value.problems == ["mine.yaml: hubs.min_peers: must be at least 1, got 0"]
    # the waves' bad key is another section's: reading the matching rules is not stopped by it
    assert sections_from_layers(["matching"], [*layers, mine])["matching"] is not None
    missing = [(n, layer) for n, layer in layers if "hubs" not in layer]
    with pytest.raises(SettingsError) as err:
        sections_from_layers(["hubs"], missing)
    assert "hubs: section missing (load planner/hubs.yaml" in str(err.value)
    no_hardware = [(n, layer) for n, layer in layers if "hardware" not in layer]
    assert sections_from_layers(["hardware"], no_hardware)["hardware"].entries == ()


def test_groups_are_not_built_alone(mappings: dict[str, Any]) -> None:
    """A group's size cap follows the waves' capacity: groups come with the whole settings."""
    with pytest.raises(ValueError, match="groups"):
        sections_from_layers(["groups"], [("groups.yaml", {"groups": mappings["groups"]})])


def test_each_section_read_alone_has_the_settings_files_own_model() -> None:
    assert set(_SECTION_MODELS) == set(SettingsFile.model_fields) - {"groups"}
    for name, (module, attr) in _SECTION_MODELS.items():
        model = getattr(importlib.import_module(module), attr)
        assert SettingsFile.model_fields[name].annotation is model, name
