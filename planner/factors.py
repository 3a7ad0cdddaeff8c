"""Debt factor values: each fact about an asset as ``(value in [0, 1], evidence)``.

The weights and scales come from :class:`planner.debt_settings.DebtSettings`;
:mod:`planner.debt` turns the values into weighted, explained factors.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from planner.hardware_dating import serial_date
from planner.lifecycle import EOL, EXTENDED, SUPPORTED
from planner.model import AssetInput
from planner.support import AssetSupport
from planner.usage import util_basis

if TYPE_CHECKING:
    from planner.debt_settings import DebtSettings


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def exposure_value(asset: AssetInput, s: DebtSettings) -> tuple[float, str]:
    seen = sorted({e.kind for e in asset.exposures})
    if not seen:
        return 0.0, "no insecure services observed"
    detail = "; ".join(
        f"{e.kind}" + (f" ({e.detail})" if e.detail else "") for e in asset.exposures
    )
    values = s.exposure_values or {}
    clear = 1.0
    for kind in seen:  # each exposure closes part of what is left: more never scores less
        clear *= 1.0 - min(1.0, values.get(kind, 0.0))
    return 1.0 - clear, detail


def status_value(status: str, days_remaining: int | None, s: DebtSettings) -> tuple[float, str]:
    """The value of a support status. Past the end it grows from the extended value to the eol
    value over ``s.overdue_days``: long unsupported is more debt than just unsupported."""
    sv = s.status_values
    if status != EOL or days_remaining is None or days_remaining >= 0 or s.overdue_days <= 0:
        return sv[status], ""
    past = -days_remaining
    low = min(sv[EXTENDED], sv[EOL])
    value = low + (sv[EOL] - low) * min(1.0, past / s.overdue_days)
    return value, f" (scored {past} days past the end, full at {s.overdue_days})"


def hardware_support(
    asset: AssetInput, sup: AssetSupport, s: DebtSettings, today: date
) -> tuple[float, str]:
    if asset.virtual:
        return 0.0, "virtual machine: no hardware of its own"
    hw = sup.component("hardware")
    if hw is not None and hw.status == EOL:
        return 1.0, hw.evidence
    facts = sup.hardware
    if facts is not None and facts.warranty_until is not None and facts.warranty_until < today:
        return s.out_of_warranty, f"out of warranty since {facts.warranty_until} ({facts.source})"
    if hw is not None:
        return 0.0, hw.evidence
    return 0.0, (
        "no hardware end-of-life or warranty data (add the model or serial to hardware.yaml, "
        "or under hardware.local in the planner settings file)"
    )


def runway(sup: AssetSupport, s: DebtSettings) -> tuple[float, str]:
    ended = [c for c in sup.components if c.status == EOL]
    if ended:
        return 1.0, f"{ended[0].component} already past end of support ({ended[0].subject})"
    live = [
        c
        for c in sup.components
        if c.status in (SUPPORTED, EXTENDED) and c.days_remaining is not None
    ]
    if not live:
        return 0.0, "no end-of-support dates known"
    soonest = min(live, key=lambda c: c.days_remaining or 0)
    days = soonest.days_remaining or 0
    value = max(0.0, min(1.0, 1.0 - days / s.runway_days))
    return value, (
        f"{soonest.component} support ends {soonest.ends} in {days} days "
        f"(scored over {s.runway_days} days)"
    )


def hardware_age(
    asset: AssetInput, sup: AssetSupport, s: DebtSettings, today: date
) -> tuple[float, str]:
    if asset.virtual:
        return 0.0, "virtual machine: no hardware of its own"
    made, how = asset.manufactured, "manufactured"
    if made is None and sup.hardware is not None and sup.hardware.manufactured is not None:
        made, how = sup.hardware.manufactured, f"manufactured (override: {sup.hardware.source})"
    if made is None and asset.bios_date is not None:
        made, how = asset.bios_date, "BIOS dated"
    if made is None:
        coded = serial_date(asset.vendor, asset.serial, today)
        if coded is not None:
            made, how = coded.day, f"serial date code ({coded.evidence}), from"
    if made is None and asset.first_seen is not None:
        made, how = asset.first_seen, "first seen (so at least this old)"
    if made is None:
        return 0.0, "no manufacture, BIOS, serial date code or first-seen date"
    years = (today - made).days / 365.25
    span = s.age_full_years - s.age_start_years
    value = max(0.0, min(1.0, (years - s.age_start_years) / span))
    return value, (
        f"{how} {made}: {years:.1f} years (scored from {s.age_start_years:g} "
        f"to {s.age_full_years:g} years)"
    )


def utilisation(asset: AssetInput, s: DebtSettings) -> tuple[float, str]:
    if asset.idle_days is not None and asset.idle_days >= s.idle_days:
        return s.idle_value, f"idle for {asset.idle_days} days"
    cpu = asset.cpu_util_pct
    if cpu is None:
        return 0.0, "no utilisation observed"
    basis = f" ({util_basis(asset.util_days, True)})"
    if cpu < s.idle_cpu_pct:
        return s.idle_value, f"CPU {cpu:g}%: idle (below {s.idle_cpu_pct:g}%){basis}"
    cores = asset.cpu_count or 0
    if cpu < s.over_cpu_pct and cores >= s.over_min_cores:
        return s.over_value, (
            f"CPU {cpu:g}% on {cores} cores: over-provisioned "
            f"(below {s.over_cpu_pct:g}% with {s.over_min_cores}+ cores){basis}"
        )
    return 0.0, f"CPU {cpu:g}%" + (f" on {cores} cores" if cores else "") + basis
