"""Debt settings: the factors, their weights and value scales (``config/planner/debt.yaml``).

:mod:`planner.factors` computes each factor's value from these; :mod:`planner.debt` weighs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from planner.fields import Note, Number, Strict, every_key, known, validated
from planner.lifecycle import STATUSES
from planner.model import CRITICALITY_LABELS, EXPOSURE_KINDS

FACTORS = (
    "os_support",
    "software_support",
    "hardware_support",
    "support_runway",
    "hardware_age",
    "insecure_exposure",
    "utilisation",
    "criticality",
    "single_point_of_failure",
)


@dataclass(frozen=True, slots=True)
class DebtSettings:
    weights: Mapping[str, float]
    status_values: Mapping[str, float]
    out_of_warranty: float = 0.5
    runway_days: int = 730
    overdue_days: int = 730
    age_start_years: float = 3.0
    age_full_years: float = 8.0
    exposure_values: Mapping[str, float] | None = None
    idle_days: int = 30
    idle_cpu_pct: float = 2.0
    idle_value: float = 1.0
    over_cpu_pct: float = 15.0
    over_min_cores: int = 8
    over_value: float = 0.5
    criticality_labels: Mapping[str, float] | None = None
    spof_min_dependants: int = 3
    spof_alternative_share: float = 0.5

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> DebtSettings:
        return validated(DebtFile, data, ("debt",)).build()


class AgeFile(Strict):
    start: Number = Field(3.0, ge=0)
    full: Number = Field(8.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> AgeFile:
        if self.full <= self.start:
            raise ValueError("'full' must be greater than 'start'")
        return self


class UtilisationFile(Strict):
    idle_days: int = Field(30, ge=1)
    idle_cpu_pct: Number = Field(2.0, ge=0)
    idle_value: Number = Field(1.0, ge=0, le=1)
    over_provisioned_cpu_pct: Number = Field(15.0, ge=0)
    over_provisioned_min_cores: int = Field(8, ge=1)
    over_provisioned_value: Number = Field(0.5, ge=0, le=1)


class SpofFile(Strict):
    min_dependants: int = Field(3, ge=1)
    alternative_share: Number = Field(0.5, ge=0, le=1)


class DebtFile(Strict):
    """``config/planner/debt.yaml``."""

    weights: dict[str, Number] = Field({}, validate_default=True)
    status_values: dict[Annotated[str, known(STATUSES, "status")], Number] = {}
    out_of_warranty: Number = Field(0.5, ge=0, le=1)
    runway_days: int = Field(730, ge=1)
    overdue_days: int = Field(730, ge=0)
    hardware_age_years: AgeFile = Field(default_factory=AgeFile)
    exposure_values: dict[Annotated[str, known(EXPOSURE_KINDS, "exposure kind")], Number] = {}
    utilisation: UtilisationFile = Field(default_factory=UtilisationFile)
    criticality_labels: dict[Annotated[str, known(CRITICALITY_LABELS, "label")], Number] = {}
    spof: SpofFile = Field(default_factory=SpofFile)
    notes: Note = None

    @field_validator("weights")
    @classmethod
    def _every_factor(cls, weights: dict[str, float]) -> dict[str, float]:
        every_key(weights, FACTORS, "factor", "every factor needs a weight, 0 to ignore")
        if weights and sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be above 0")
        return weights

    def build(self) -> DebtSettings:
        util, spof = self.utilisation, self.spof
        return DebtSettings(
            weights=dict(self.weights),
            status_values={status: self.status_values.get(status, 0.0) for status in STATUSES},
            out_of_warranty=self.out_of_warranty,
            runway_days=self.runway_days,
            overdue_days=self.overdue_days,
            age_start_years=self.hardware_age_years.start,
            age_full_years=self.hardware_age_years.full,
            exposure_values=dict(self.exposure_values),
            idle_days=util.idle_days,
            idle_cpu_pct=util.idle_cpu_pct,
            idle_value=util.idle_value,
            over_cpu_pct=util.over_provisioned_cpu_pct,
            over_min_cores=util.over_provisioned_min_cores,
            over_value=util.over_provisioned_value,
            criticality_labels=dict(self.criticality_labels),
            spof_min_dependants=spof.min_dependants,
            spof_alternative_share=spof.alternative_share,
        )
