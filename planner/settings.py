"""All planner settings in one frozen bundle, built from plain mappings (the YAML's content).

The planner reads no files: the agent loads each YAML file named in :data:`SETTINGS_FILES`
(paths under ``config/``) and hands the mappings to :meth:`Settings.from_layers` (or one merged
mapping to :meth:`Settings.from_mapping`), which checks everything at once against the models of
:class:`~planner.settings_file.SettingsFile` and raises one :class:`~planner.errors.SettingsError`
listing every problem, each naming its key and the file that gave it. Users override defaults
by deep-merging their own mappings over the defaults (:func:`merge`). A caller that reads one
part of the settings alone (lifecycle verdicts, hub detection) checks and builds just those
sections with :func:`sections_from_layers`, importing only their models.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planner.errors import SettingsError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from planner.costtables import CostSettings
    from planner.debt_settings import DebtSettings
    from planner.groups import GroupSettings
    from planner.hardware_lifecycle import HardwareOverrides
    from planner.hubs import HubRules
    from planner.matching import MatchingRules
    from planner.strategy import StrategyRules
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
        from planner.settings_file import SettingsFile, wave_capacity

        found: Any = _validated(SettingsFile, data, layers, source)
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


# Sections built from their own content alone (groups needs the waves' capacity: read it with
# the whole Settings), with the module and class of the model each is checked against: only
# the models of the sections asked for are imported.
_SECTION_MODELS: Mapping[str, tuple[str, str]] = {
    "debt": ("planner.debt_settings", "DebtFile"),
    "strategy": ("planner.strategy", "StrategyFile"),
    "hubs": ("planner.hubs", "HubRulesFile"),
    "waves": ("planner.wave_settings", "WavesFile"),
    "costs": ("planner.costtables", "CostsFile"),
    "matching": ("planner.matching", "MatchingFile"),
    "hardware": ("planner.hardware_lifecycle", "HardwareFile"),
}
_OPTIONAL = frozenset({"hardware"})  # as in SettingsFile: absent is empty
_SUBSET_MODELS: dict[tuple[str, ...], type[BaseModel]] = {}


def sections_from_layers(
    names: Sequence[str], layers: Sequence[tuple[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    """Only the sections ``names`` of ``layers``, merged, checked and built as
    :meth:`Settings.from_layers` builds them (the same objects as its fields of those names),
    by name. What the layers hold of other sections is neither read nor checked. Problems are
    raised as one :class:`SettingsError`, each naming the layer that gave its key."""
    unknown = [n for n in names if n not in _SECTION_MODELS]
    if unknown:
        raise ValueError(
            f"not sections built alone: {', '.join(unknown)} (use Settings.from_layers)"
        )
    chosen = tuple(dict.fromkeys(names))
    model = _SUBSET_MODELS.get(chosen)
    if model is None:
        from pydantic import Field, create_model

        from planner.fields import Strict

        fields: dict[str, Any] = {}
        for name in chosen:
            module, attr = _SECTION_MODELS[name]
            section = getattr(importlib.import_module(module), attr)
            fields[name] = (section, Field(default_factory=section) if name in _OPTIONAL else ...)
        model = _SUBSET_MODELS[chosen] = create_model("SettingsSections", __base__=Strict, **fields)
    kept = [(n, {k: v for k, v in layer.items() if k in chosen}) for n, layer in layers]
    data: dict[str, Any] = {}
    for _, layer in kept:
        data = merge(data, layer)
    found = _validated(model, data, kept, None)
    return {name: getattr(found, name).build() for name in chosen}


def _validated(
    model: type[BaseModel],
    data: Any,
    layers: Sequence[tuple[str, Mapping[str, Any]]],
    source: str | None,
) -> BaseModel:
    """``data`` checked against ``model``; every problem at once as a :class:`SettingsError`."""
    from pydantic import ValidationError

    from planner.fields import describe, key_path

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for loc, message in describe(exc, model):
            if len(loc) == 1 and message == "required key is missing":
                where = "/".join(SETTINGS_FILES[str(loc[0])])
                message = f"section missing (load {where} from the config folder)"
            origin = _origin(layers, loc)
            problems.append(f"{origin + ': ' if origin else ''}{key_path(loc)}: {message}")
        raise SettingsError(problems, source) from None


def _origin(
    layers: Sequence[tuple[str, Mapping[str, Any]]], loc: Sequence[str | int]
) -> str | None:
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
