"""The model of every planner settings section at once, checked together (one file's
content per section of :data:`planner.settings.SETTINGS_FILES`). Imported when settings are
checked: it imports every section's model, and those their planning code."""

from __future__ import annotations

from pydantic import Field, model_validator

from planner.costtables import CostsFile
from planner.debt_settings import DebtFile
from planner.fields import Strict, raise_problems
from planner.groups import GroupSettingsFile
from planner.hardware_lifecycle import HardwareFile
from planner.hubs import HubRulesFile
from planner.matching import MatchingFile
from planner.strategy import StrategyFile
from planner.waves import WavesFile


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


def wave_capacity(waves: WavesFile) -> int:
    """The most assets one wave takes: ``max_assets``, or the ramp's largest step if smaller."""
    return min(waves.max_assets, max(waves.ramp, default=waves.max_assets))
