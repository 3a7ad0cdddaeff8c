"""The cost, energy and carbon tables (``config/planner/costs.yaml``) as the planner reads them.

:class:`CostSettings` is what :mod:`planner.costing` prices with; :class:`CostsFile` is the shape
of the file, checked whole: every row names its source and every figure its unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from planner.fields import Day, Note, Number, Strict, Text, known, one_of, validated
from planner.model import DEVICE_CLASSES

SIZES = ("small", "medium", "large")


@dataclass(frozen=True, slots=True)
class VmSize:
    name: str
    vcpu: int
    memory_gib: float
    linux_per_hour: float
    windows_per_hour: float


@dataclass(frozen=True, slots=True)
class CostSettings:
    currency: str
    horizon_years: int
    energy_price: float
    energy_source: str
    pue: float
    pue_source: str
    grid_kgco2e: float
    grid_year: int
    grid_source: str
    watts: Mapping[str, Mapping[str, float]]
    power_source: str
    vm_watts_per_vcpu: float
    small_max_cores: int
    medium_max_cores: int
    support_annual: Mapping[str, float]
    support_source: str
    refresh: Mapping[str, tuple[float, float]]  # class -> (capital cost, years)
    refresh_source: str
    sizes: tuple[VmSize, ...]
    cloud_source: str
    cloud_date: date | None
    storage_per_gb_month: float
    hours_per_month: float
    target_cpu_pct: float
    target_memory_pct: float
    default_cpu_pct: float
    default_memory_pct: float
    cloud_watts_min: float
    cloud_watts_max: float
    cloud_memory_kwh_per_gb_hour: float
    cloud_ssd_wh_per_tb_hour: float
    cloud_replication: float
    cloud_pue: float
    cloud_carbon_source: str
    day_rate: float
    migration_treatment: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> CostSettings:
        return validated(CostsFile, data, ("costs",)).build()


DeviceClass = Annotated[str, known(DEVICE_CLASSES, "device class")]


def _watts(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dict.fromkeys(SIZES, value)
    if not isinstance(value, Mapping) or any(s not in value for s in SIZES):
        raise ValueError(f"give one number or small/medium/large, got {value!r}")
    return value


class SizesFile(Strict):
    small: Number
    medium: Number
    large: Number


class EnergyFile(Strict):
    price_per_kwh: Number = Field(ge=0)
    source: Text


class OnpremFile(Strict):
    pue: Number = Field(1.8, ge=1.0)
    source: Text


class GridFile(Strict):
    kgco2e_per_kwh: Number = Field(ge=0)
    year: int
    source: Text


class PowerFile(Strict):
    source: Text
    small_max_cores: int = Field(8, ge=1)
    medium_max_cores: int = Field(24, ge=1)
    vm_watts_per_vcpu: Number = Field(10.0, ge=0)
    watts: dict[DeviceClass, Annotated[SizesFile, BeforeValidator(_watts)]] = {}


class SupportFile(Strict):
    source: Text
    annual: dict[DeviceClass, Number] = {}


class RefreshRowFile(Strict):
    cost: Number = Field(ge=0)
    years: Number = Field(ge=1)


class RefreshFile(Strict):
    source: Text
    classes: dict[DeviceClass, RefreshRowFile] = {}


class VmSizeFile(Strict):
    name: Text
    vcpu: int = Field(ge=1)
    memory_gib: Number = Field(ge=0.5)
    linux_per_hour: Number = Field(ge=0)
    windows_per_hour: Number = Field(ge=0)


class CloudCarbonFile(Strict):
    source: Text
    min_watts_per_vcpu: Number = Field(ge=0)
    max_watts_per_vcpu: Number = Field(ge=0)
    memory_kwh_per_gb_hour: Number = Field(ge=0)
    ssd_wh_per_tb_hour: Number = Field(ge=0)
    replication: Number = Field(1.0, ge=1)
    pue: Number = Field(ge=1.0)


class CloudFile(Strict):
    provider: Note = None
    region: Note = None
    source: Text
    date: Day | None = None
    hours_per_month: Number = Field(730.0, ge=1, le=744)
    target_cpu_pct: Number = Field(65.0, ge=1, le=100)
    target_memory_pct: Number = Field(75.0, ge=1, le=100)
    default_cpu_pct: Number = Field(50.0, ge=0, le=100)
    default_memory_pct: Number = Field(60.0, ge=0, le=100)
    storage_per_gb_month: Number = Field(ge=0)
    sizes: list[VmSizeFile] = Field([], validate_default=True)
    carbon: CloudCarbonFile

    @field_validator("sizes")
    @classmethod
    def _some(cls, sizes: list[VmSizeFile]) -> list[VmSizeFile]:
        if not sizes:
            raise ValueError("at least one VM size with prices is needed")
        return sizes


class MigrationFile(Strict):
    day_rate: Number = Field(ge=0)
    treatment: Annotated[Text, AfterValidator(one_of(("revenue", "capital")))] = "revenue"


class CostsFile(Strict):
    """``config/planner/costs.yaml``."""

    currency: Text = "GBP"
    horizon_years: int = Field(5, ge=1)
    energy: EnergyFile
    onprem: OnpremFile
    carbon: GridFile
    power: PowerFile
    support: SupportFile
    refresh: RefreshFile
    cloud: CloudFile
    migration: MigrationFile
    notes: Note = None

    def build(self) -> CostSettings:
        power, cloud, cc = self.power, self.cloud, self.cloud.carbon
        sizes = (
            VmSize(s.name, s.vcpu, s.memory_gib, s.linux_per_hour, s.windows_per_hour)
            for s in cloud.sizes
        )
        return CostSettings(
            currency=self.currency,
            horizon_years=self.horizon_years,
            energy_price=self.energy.price_per_kwh,
            energy_source=self.energy.source,
            pue=self.onprem.pue,
            pue_source=self.onprem.source,
            grid_kgco2e=self.carbon.kgco2e_per_kwh,
            grid_year=self.carbon.year,
            grid_source=self.carbon.source,
            watts={k: w.model_dump() for k, w in power.watts.items()},
            power_source=power.source,
            vm_watts_per_vcpu=power.vm_watts_per_vcpu,
            small_max_cores=power.small_max_cores,
            medium_max_cores=power.medium_max_cores,
            support_annual=dict(self.support.annual),
            support_source=self.support.source,
            refresh={k: (r.cost, r.years) for k, r in self.refresh.classes.items()},
            refresh_source=self.refresh.source,
            sizes=tuple(sorted(sizes, key=lambda s: (s.linux_per_hour, s.name))),
            cloud_source=cloud.source,
            cloud_date=cloud.date,
            storage_per_gb_month=cloud.storage_per_gb_month,
            hours_per_month=cloud.hours_per_month,
            target_cpu_pct=cloud.target_cpu_pct,
            target_memory_pct=cloud.target_memory_pct,
            default_cpu_pct=cloud.default_cpu_pct,
            default_memory_pct=cloud.default_memory_pct,
            cloud_watts_min=cc.min_watts_per_vcpu,
            cloud_watts_max=cc.max_watts_per_vcpu,
            cloud_memory_kwh_per_gb_hour=cc.memory_kwh_per_gb_hour,
            cloud_ssd_wh_per_tb_hour=cc.ssd_wh_per_tb_hour,
            cloud_replication=cc.replication,
            cloud_pue=cc.pue,
            cloud_carbon_source=cc.source,
            day_rate=self.migration.day_rate,
            migration_treatment=self.migration.treatment,
        )
