"""Wave settings (``config/planner/waves.yaml``): pace, limits, pilot, risk weights, freezes and
the horizon past which a plan warns. :mod:`planner.waves` lays the waves with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, field_validator

from planner.dates import FreezeWindow, FreezeWindowFile
from planner.fields import Note, Number, Strict, every_key, known, validated
from planner.strategy import STRATEGIES


@dataclass(frozen=True, slots=True)
class WaveSettings:
    start_lead_days: int = 28
    landing_zone_weeks: int = 8
    wave_weeks: int = 6
    gap_days: int = 7
    ramp: tuple[int, ...] = (10, 25, 50, 100)
    max_assets: int = 100
    max_risk: float = 300.0
    team_days_per_week: float = 10.0
    group_overhead_days: float = 2.0
    effort_days: Mapping[str, float] | None = None
    pilot_max_assets: int = 10
    pilot_max_risk: float = 40.0
    pilot_max_links: int = 2
    risk_weights: Mapping[str, float] | None = None
    separate_production: bool = True
    freeze_windows: tuple[FreezeWindow, ...] = ()
    freeze_min_weeks: int = 1
    horizon_years: float = 3.0
    horizon_waves: int = 50

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> WaveSettings:
        return validated(WavesFile, data, ("waves",)).build()

    def asset_limit(self, number: int) -> int:
        step = self.ramp[min(number, len(self.ramp)) - 1]
        return min(step, self.max_assets)


RISK_FACTORS = ("criticality", "production", "coupling", "size")


class PilotFile(Strict):
    max_assets: int = Field(10, ge=1)
    max_risk: Number = Field(40.0, ge=0)
    max_links: int = Field(2, ge=0)


class RiskFile(Strict):
    weights: dict[Annotated[str, known(RISK_FACTORS, "risk factor")], Number] = {}
    coupling_ref: Number = Field(10.0, ge=1)  # links to other groups at full coupling weight
    size_ref: Number = Field(50.0, ge=1)  # assets at full size weight

    @field_validator("weights")
    @classmethod
    def _at_most_100(cls, weights: dict[str, float]) -> dict[str, float]:
        if sum(weights.values()) > 100:
            raise ValueError("their sum must not exceed 100 (a group's risk is 0-100)")
        return weights


class WavesFile(Strict):
    """``config/planner/waves.yaml``."""

    start_lead_days: int = Field(28, ge=0)
    landing_zone_weeks: int = Field(8, ge=1)
    wave_weeks: int = Field(6, ge=1)
    gap_days: int = Field(7, ge=0)
    ramp: list[int] = Field([10, 25, 50, 100])
    max_assets: int = Field(100, ge=1)
    max_risk: Number = Field(300.0, ge=100.0)
    team_days_per_week: Number = Field(10.0, ge=0.1)
    group_overhead_days: Number = Field(2.0, ge=0)
    effort_days: dict[str, Number] = Field({}, validate_default=True)
    pilot: PilotFile = Field(default_factory=PilotFile)
    risk: RiskFile = Field(default_factory=RiskFile)
    separate_production: bool = True
    freeze_windows: list[FreezeWindowFile] = Field(default_factory=list)
    freeze_min_weeks: int = Field(1, ge=1)
    horizon_years: Number = Field(3.0, gt=0)
    horizon_waves: int = Field(50, ge=1)
    notes: Note = None

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, ramp: list[int]) -> list[int]:
        if not ramp or min(ramp) < 1:
            raise ValueError("needs at least one limit, each 1 or more")
        return ramp

    @field_validator("effort_days")
    @classmethod
    def _every_strategy(cls, effort: dict[str, float]) -> dict[str, float]:
        every_key(effort, STRATEGIES, "strategy", "days of work per asset")
        return effort

    def build(self) -> WaveSettings:
        risk_weights = dict(self.risk.weights)
        risk_weights["coupling_ref"] = self.risk.coupling_ref
        risk_weights["size_ref"] = self.risk.size_ref
        return WaveSettings(
            start_lead_days=self.start_lead_days,
            landing_zone_weeks=self.landing_zone_weeks,
            wave_weeks=self.wave_weeks,
            gap_days=self.gap_days,
            ramp=tuple(self.ramp),
            max_assets=self.max_assets,
            max_risk=self.max_risk,
            team_days_per_week=self.team_days_per_week,
            group_overhead_days=self.group_overhead_days,
            effort_days=dict(self.effort_days),
            pilot_max_assets=self.pilot.max_assets,
            pilot_max_risk=self.pilot.max_risk,
            pilot_max_links=self.pilot.max_links,
            risk_weights=risk_weights,
            separate_production=self.separate_production,
            freeze_windows=tuple(w.build() for w in self.freeze_windows),
            freeze_min_weeks=self.freeze_min_weeks,
            horizon_years=self.horizon_years,
            horizon_waves=self.horizon_waves,
        )
