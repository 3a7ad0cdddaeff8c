"""All planner settings in one frozen bundle, built from plain mappings (the YAML's content).

The planner reads no files: the agent loads each YAML file named in :data:`SETTINGS_FILES`
(paths under ``config/``) and hands the mappings to :meth:`Settings.from_layers` (or one merged
mapping to :meth:`Settings.from_mapping`), which checks everything at once against the models of
:class:`SettingsFile` and raises one :class:`~planner.errors.SettingsError` listing every
problem, each naming its key and the file that gave it. Users override defaults by
deep-merging their own mappings over the defaults (:func:`merge`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, model_validator

from planner.costtables import CostSettings, CostsFile
from planner.debt_settings import DebtFile, DebtSettings
from planner.errors import SettingsError
from planner.fields import Loc, Strict, describe, key_path, raise_problems
from planner.groups import GroupSettings, GroupSettingsFile
from planner.hardware_lifecycle import HardwareFile, HardwareOverrides
from planner.hubs import HubRules, HubRulesFile
from planner.matching import MatchingFile, MatchingRules
from planner.strategy import StrategyFile, StrategyRules
from planner.waves import WaveSettings, WavesFile

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


class SettingsFile(Strict):
    """One section per key of :data:`SETTINGS_FILES`, each the content of its file."""

    debt: DebtFile
    strategy: StrategyFile
    hubs: HubRulesFile
    groups: GroupSettingsFile
    waves: WavesFile
    costs: CostsFile
    matching: MatchingFile
    hardware: HardwareFile = Field(default_factory=HardwareFile)

    @model_validator(mode="after")
    def _groups_fit_waves(self) -> SettingsFile:
        size, most = self.groups.max_group_size, self.waves.max_assets
        if size is not None and size > most:
            raise_problems(
                [
                    (
                        ("groups", "max_group_size"),
                        f"{size} is larger than waves.max_assets ({most}): a group must fit "
                        "in one wave",
                    )
                ]
            )
        return self


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
        return cls._checked(data, [], source)

    @classmethod
    def from_layers(cls, layers: Sequence[tuple[str, Mapping[str, Any]]]) -> Settings:
        """``layers`` (a name, usually a file, and its sections) deep-merged in order, later
        ones winning (:func:`merge`); each problem starts with the name of the layer that gave
        the key it is about (the last one holding the most of its path)."""
        data: dict[str, Any] = {}
        for _, layer in layers:
            data = merge(data, layer)
        return cls._checked(data, layers, None)

    @classmethod
    def _checked(
        cls,
        data: Any,
        layers: Sequence[tuple[str, Mapping[str, Any]]],
        source: str | None,
    ) -> Settings:
        try:
            found = SettingsFile.model_validate(data)
        except ValidationError as exc:
            problems = []
            for loc, message in describe(exc, SettingsFile):
                if len(loc) == 1 and message == "required key is missing":
                    where = "/".join(SETTINGS_FILES[str(loc[0])])
                    message = f"section missing (load {where} from the config folder)"
                origin = _origin(layers, loc)
                problems.append(f"{origin + ': ' if origin else ''}{key_path(loc)}: {message}")
            raise SettingsError(problems, source) from None
        return cls(
            debt=found.debt.build(),
            strategy=found.strategy.build(),
            hubs=found.hubs.build(),
            groups=found.groups.build(wave_capacity(found.waves)),
            waves=found.waves.build(),
            costs=found.costs.build(),
            matching=found.matching.build(),
            hardware=found.hardware.build(),
        )


def wave_capacity(waves: WavesFile) -> int:
    """The most assets one wave takes: ``max_assets``, or the ramp's largest step if smaller."""
    return min(waves.max_assets, max(waves.ramp, default=waves.max_assets))


def _origin(layers: Sequence[tuple[str, Mapping[str, Any]]], loc: Loc) -> str | None:
    """The name of the layer that gave the merged value at the deepest part of ``loc`` that any
    layer holds: the last one there, unless a later one replaced what holds it (as :func:`merge`
    does with anything but two mappings)."""
    visible: list[tuple[str, Any]] = list(layers)
    found = None
    for part in loc:
        chosen: list[tuple[str, Any]] = []
        for name, value in visible:
            child = _child(value, part)
            if child is None:
                continue
            if chosen and isinstance(child, Mapping) and isinstance(chosen[-1][1], Mapping):
                chosen.append((name, child))
            else:
                chosen = [(name, child)]
        if not chosen:
            break
        visible, found = chosen, chosen[-1][0]
    return found


def _child(value: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return value[part] if isinstance(value, list) and 0 <= part < len(value) else None
    return value.get(part) if isinstance(value, Mapping) else None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` deep-merged over ``base`` (mappings merge, everything else replaces)."""
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
