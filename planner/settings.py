"""All planner settings in one frozen bundle, built from plain mappings (the YAML's content).

The planner reads no files: the agent loads each YAML file named in :data:`SETTINGS_FILES`
(paths under ``config/``) and hands the mappings to :meth:`Settings.from_mapping`, which checks
everything at once and raises one :class:`~planner.errors.SettingsError` listing every problem.
Users override defaults by deep-merging their own mappings over the defaults (:func:`merge`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planner.costing import CostSettings
from planner.debt import DebtSettings
from planner.fields import Reader, finish
from planner.groups import GroupSettings
from planner.hubs import HubRules
from planner.matching import MatchingRules
from planner.strategy import StrategyRules
from planner.support import HardwareOverrides
from planner.waves import WaveSettings

SETTINGS_FILES: Mapping[str, tuple[str, str]] = {
    "debt": ("planner", "debt.yaml"),
    "strategy": ("planner", "strategy.yaml"),
    "hubs": ("planner", "hubs.yaml"),
    "groups": ("planner", "groups.yaml"),
    "waves": ("planner", "waves.yaml"),
    "costs": ("planner", "costs.yaml"),
    "matching": ("lifecycle", "matching.yaml"),
    "hardware": ("lifecycle", "hardware.yaml"),
}
CATALOGUE_FILE = ("lifecycle", "catalogue.yaml")


@dataclass(frozen=True, slots=True)
class Settings:
    debt: DebtSettings
    strategy: StrategyRules
    hubs: HubRules
    groups: GroupSettings
    waves: WaveSettings
    costs: CostSettings
    matching: MatchingRules
    hardware: HardwareOverrides

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str | None = None) -> Settings:
        """One section per key of :data:`SETTINGS_FILES`; ``hardware`` may be absent."""
        problems: list[str] = []
        top = Reader(data, "", problems)
        top.allow(*SETTINGS_FILES)
        for name in SETTINGS_FILES:
            if name != "hardware" and not top.has(name):
                problems.append(
                    f"{name}: section missing (load {'/'.join(SETTINGS_FILES[name])}"
                    " from the config folder)"
                )
        out = cls(
            debt=DebtSettings.read(top.section("debt")),
            strategy=StrategyRules.read(top.section("strategy")),
            hubs=HubRules.read(top.section("hubs")),
            groups=GroupSettings.read(top.section("groups")),
            waves=WaveSettings.read(top.section("waves")),
            costs=CostSettings.read(top.section("costs")),
            matching=MatchingRules.read(top.section("matching")),
            hardware=HardwareOverrides.read(top.section("hardware")),
        )
        if out.groups.max_group_size > out.waves.max_assets:
            problems.append(
                f"groups.max_group_size ({out.groups.max_group_size}) is larger than "
                f"waves.max_assets ({out.waves.max_assets}): a group must fit in one wave"
            )
        finish(problems, source)
        return out


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` deep-merged over ``base`` (mappings merge, everything else replaces)."""
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
