"""Run cost, energy and carbon per asset: on premise as it is, and in the cloud right-sized.

On premise: power from the asset's class and size (or its own figure) x PUE x the energy price,
plus support contracts, plus hardware refresh capital when the kit reaches its refresh age. A VM
whose host is in the estate draws nothing of its own (its host is counted). Cloud: CPU and memory
right-sized from observed utilisation to a target, the cheapest size in the price table that fits,
storage per GB-month; energy by the Cloud Carbon Footprint method (watts per vCPU between idle
and full load, memory and SSD coefficients, the provider's PUE). kgCO2e = kWh x grid factor.
Every figure is an estimate from the tables in ``config/planner/costs.yaml``, which name their
sources and dates; the evidence on each :class:`AssetCost` says which rows were used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from planner.costtables import CostSettings
from planner.dates import plus_years
from planner.graphcore import EstateGraph
from planner.model import AssetInput
from planner.strategy import StrategyChoice
from planner.usage import util_basis

HOURS_PER_YEAR = 8760.0
MOVES = frozenset({"rehost", "relocate", "replatform", "repurchase", "refactor"})
_CLOUD_CLASSES = ("server", "appliance", "unknown")  # the classes that run in the cloud


@dataclass(frozen=True, slots=True)
class AssetCost:
    """Annual figures (currency per year, kWh and kgCO2e per year) for one asset."""

    asset_id: str
    onprem_watts: float
    onprem_kwh: float
    onprem_energy: float
    onprem_support: float
    refresh_cost: float
    refresh_years: float
    next_refresh: date | None
    cloud_size: str | None
    cloud_compute: float
    cloud_storage: float
    cloud_kwh: float
    onprem_kgco2e: float
    cloud_kgco2e: float
    moves: bool  # runs in the cloud after its wave (retire and retain do not)
    evidence: tuple[str, ...]

    @property
    def onprem_annual(self) -> float:
        return self.onprem_energy + self.onprem_support

    @property
    def cloud_annual(self) -> float:
        return self.cloud_compute + self.cloud_storage


def price_assets(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    settings: CostSettings,
    today: date,
) -> tuple[AssetCost, ...]:
    """Annual on-premise and cloud cost, energy and carbon per asset (sorted by id)."""
    onprem_cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    cloud_cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    index = graph.index
    energy_price, grid = settings.energy_price, settings.grid_kgco2e
    # what stays: no cloud figures (its carbon computed as for any other, 0 kWh x grid)
    stays: tuple[Any, ...] = (None, 0.0, 0.0, 0.0, round(0.0 * grid, 1), ())
    out = []
    for asset, choice in zip(graph.assets, strategies, strict=True):
        host_counted = bool(asset.host) and asset.host in index
        key = (
            asset.device_class,
            asset.cpu_count,
            asset.virtual,
            host_counted,
            asset.power_watts,
            asset.support_cost,
            asset.manufactured,
            asset.bios_date,
        )
        onprem = onprem_cache.get(key)
        if onprem is None:  # the figures derived from kWh are rounded once per key, not per asset
            found = _onprem(asset, settings, today, host_counted)
            kwh = found[1]
            onprem = (*found, round(kwh * energy_price, 2), round(kwh * grid, 1))
            onprem_cache[key] = onprem
        moves = choice.strategy in MOVES and asset.device_class in _CLOUD_CLASSES
        cloud = stays
        if moves:
            ckey = (
                asset.cpu_count,
                asset.memory_bytes,
                asset.disk_bytes,
                asset.cpu_util_pct,
                asset.memory_util_pct,
                asset.util_days,
                "windows" in (asset.os_name or "").lower(),
            )
            priced = cloud_cache.get(ckey)
            if priced is None:
                size, compute, storage, cloud_kwh, notes = _cloud(asset, settings)
                priced = (size, compute, storage, cloud_kwh, round(cloud_kwh * grid, 1), notes)
                cloud_cache[ckey] = priced
            cloud = priced
        watts, kwh, support, cost, years, next_refresh, why, energy, kgco2e = onprem
        size_name, compute, storage, cloud_kwh, cloud_kgco2e, notes = cloud
        out.append(
            AssetCost(  # by position, as AssetCost declares its fields
                asset.id,
                watts,
                kwh,
                energy,
                support,
                cost,
                years,
                next_refresh,
                size_name,
                compute,
                storage,
                cloud_kwh,
                kgco2e,
                cloud_kgco2e,
                moves,
                why + notes,
            )
        )
    return tuple(out)


def _size_of(asset: AssetInput, s: CostSettings) -> str:
    cores = asset.cpu_count or 0
    if cores and cores <= s.small_max_cores:
        return "small"
    if cores and cores <= s.medium_max_cores:
        return "medium"
    return "large" if cores else "medium"


def _onprem(asset: AssetInput, s: CostSettings, today: date, host_counted: bool) -> tuple[Any, ...]:
    why: list[str] = []
    if asset.power_watts is not None:
        watts = asset.power_watts
        why.append(f"power {watts:g} W given for the asset")
    elif asset.virtual and host_counted:
        watts = 0.0
        why.append("virtual machine: power counted on its host")
    elif asset.virtual:
        watts = (asset.cpu_count or 1) * s.vm_watts_per_vcpu
        why.append(
            f"virtual machine, host not in estate: {asset.cpu_count or 1} vCPU x "
            f"{s.vm_watts_per_vcpu:g} W"
        )
    else:
        size = _size_of(asset, s)
        table = s.watts.get(asset.device_class) or s.watts.get("unknown") or {}
        watts = table.get(size, 0.0)
        why.append(f"power {watts:g} W: typical {size} {asset.device_class} ({s.power_source})")
    kwh = watts * HOURS_PER_YEAR / 1000.0 * s.pue
    physical = not asset.virtual
    support = (
        asset.support_cost
        if asset.support_cost is not None
        else (s.support_annual.get(asset.device_class, 0.0) if physical else 0.0)
    )
    if support:
        why.append(f"support {support:g} a year ({s.support_source})")
    cost, years = s.refresh.get(asset.device_class, (0.0, 0.0)) if physical else (0.0, 0.0)
    next_refresh = None
    made = asset.manufactured or asset.bios_date
    if cost and years and made is not None:
        cycles = max(1, math.ceil(((today - made).days / 365.25) / years))
        next_refresh = plus_years(made, cycles * years)
        while next_refresh < today:
            cycles += 1
            next_refresh = plus_years(made, cycles * years)
        why.append(f"hardware refresh {cost:g} every {years:g} years, next {next_refresh}")
    elif cost and years:
        why.append("no manufacture or BIOS date: no hardware refresh projected")
    return (
        round(watts, 1),
        round(kwh, 1),
        round(support, 2),
        cost if next_refresh else 0.0,
        years if next_refresh else 0.0,
        next_refresh,
        tuple(why),
    )


def _cloud(asset: AssetInput, s: CostSettings) -> tuple[Any, ...]:
    cores = asset.cpu_count or 2
    mem_gib = (asset.memory_bytes or 4 * 2**30) / 2**30
    cpu = asset.cpu_util_pct if asset.cpu_util_pct is not None else s.default_cpu_pct
    mem = asset.memory_util_pct if asset.memory_util_pct is not None else s.default_memory_pct
    need_cpu = max(1, math.ceil(cores * cpu / s.target_cpu_pct))
    need_mem = max(1.0, mem_gib * mem / s.target_memory_pct)
    windows = "windows" in (asset.os_name or "").lower()
    fits = [v for v in s.sizes if v.vcpu >= need_cpu and v.memory_gib >= need_mem]
    if fits:
        vm = min(fits, key=lambda v: (v.windows_per_hour if windows else v.linux_per_hour, v.name))
        note = ""
    else:
        vm = max(s.sizes, key=lambda v: (v.vcpu, v.memory_gib))
        note = " (largest size in the table; smaller than needed)"
    hourly = vm.windows_per_hour if windows else vm.linux_per_hour
    compute = hourly * s.hours_per_month * 12
    disk_gb = (asset.disk_bytes or 0) / 1e9
    storage = disk_gb * s.storage_per_gb_month * 12
    watts = vm.vcpu * (s.cloud_watts_min + cpu / 100.0 * (s.cloud_watts_max - s.cloud_watts_min))
    kwh = (
        watts * HOURS_PER_YEAR / 1000.0
        + vm.memory_gib * s.cloud_memory_kwh_per_gb_hour * HOURS_PER_YEAR
        + disk_gb
        / 1000.0
        * s.cloud_ssd_wh_per_tb_hour
        / 1000.0
        * HOURS_PER_YEAR
        * s.cloud_replication
    ) * s.cloud_pue
    notes = [
        f"right-sized from {cores} CPU at {cpu:g}% and {mem_gib:.0f} GiB at {mem:g}% "
        f"({util_basis(asset.util_days, asset.cpu_util_pct is not None)}) to "
        f"{need_cpu} vCPU / {need_mem:.1f} GiB: {vm.name}{note} at {hourly:g}/h "
        f"({'Windows' if windows else 'Linux'}; {s.cloud_source})",
        f"cloud energy by the Cloud Carbon Footprint method ({s.cloud_carbon_source})",
    ]
    if disk_gb:
        notes.append(f"{disk_gb:.0f} GB storage at {s.storage_per_gb_month:g} per GB-month")
    return vm.name, round(compute, 2), round(storage, 2), round(kwh, 1), tuple(notes)
