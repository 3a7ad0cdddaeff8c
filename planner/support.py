"""Support status per asset as of a given day: OS, major software and (from overrides) hardware.

Status is one of supported / extended (paid extended support only) / eol / unknown, with the
product, cycle, dates, days remaining (negative once past) and the source of the facts. Hardware
end-of-life and warranty dates come from user overrides by model (a glob) or serial; a serial
entry wins over a model entry field by field.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, model_validator

from planner.fields import Day, Note, OptionalText, Strict, Text, validated
from planner.lifecycle import (
    EOL,
    EXTENDED,
    SUPPORTED,
    UNKNOWN,
    Lifecycle,
    Product,
    Release,
    standing_on,
)
from planner.matching import MatchingRules, normalise
from planner.model import AssetInput, Estate

RANK = {SUPPORTED: 0, UNKNOWN: 1, EXTENDED: 2, EOL: 3}


@dataclass(frozen=True, slots=True)
class HardwareOverride:
    source: str
    model: str | None = None  # glob, case-insensitive: 'WS-C2960X-*'
    serial: str | None = None
    vendor: str | None = None
    end_of_sale: date | None = None
    end_of_support: date | None = None
    warranty_until: date | None = None
    manufactured: date | None = None


class HardwareOverrideFile(Strict):
    model: OptionalText = None
    serial: OptionalText = None
    vendor: OptionalText = None
    end_of_sale: Day | None = None
    end_of_support: Day | None = None
    warranty_until: Day | None = None
    manufactured: Day | None = None
    source: Text = "user override"

    @model_validator(mode="after")
    def _identified(self) -> HardwareOverrideFile:
        if not self.model and not self.serial:
            raise ValueError("needs a 'model' (glob) or a 'serial'")
        return self

    def build(self) -> HardwareOverride:
        return HardwareOverride(**self.model_dump())


class HardwareFile(Strict):
    """``config/lifecycle/hardware.yaml``."""

    hardware: list[HardwareOverrideFile] = Field(default_factory=list)
    notes: Note = None

    def build(self) -> HardwareOverrides:
        return HardwareOverrides(tuple(entry.build() for entry in self.hardware))


@dataclass(frozen=True, slots=True)
class HardwareOverrides:
    entries: tuple[HardwareOverride, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HardwareOverrides:
        return validated(HardwareFile, data, ("hardware",)).build()

    def lookup(self, asset: AssetInput) -> HardwareFacts | None:
        """Serial entries first, then the first model glob that matches; fields merge."""
        found: list[HardwareOverride] = []
        serial = (asset.serial or "").strip().lower()
        model = (asset.model or "").strip().lower()
        vendor = (asset.vendor or "").strip().lower()
        for entry in self.entries:
            if entry.serial and serial and entry.serial.strip().lower() == serial:
                found.append(entry)
        for entry in self.entries:
            if entry.serial or not entry.model or not model:
                continue
            if entry.vendor and entry.vendor.strip().lower() not in vendor:
                continue
            if fnmatch.fnmatchcase(model, entry.model.strip().lower()):
                found.append(entry)
                break
        if not found:
            return None

        def first(attr: str) -> tuple[date | None, str | None]:
            for entry in found:
                value = getattr(entry, attr)
                if value is not None:
                    return value, entry.source
            return None, None

        eos, eos_src = first("end_of_support")
        warranty, w_src = first("warranty_until")
        made, m_src = first("manufactured")
        sale, _ = first("end_of_sale")
        sources = sorted({s for s in (eos_src, w_src, m_src) if s} or {found[0].source})
        return HardwareFacts(
            end_of_sale=sale,
            end_of_support=eos,
            warranty_until=warranty,
            manufactured=made,
            source="; ".join(sources),
        )


@dataclass(frozen=True, slots=True)
class HardwareFacts:
    end_of_sale: date | None
    end_of_support: date | None
    warranty_until: date | None
    manufactured: date | None
    source: str


@dataclass(frozen=True, slots=True)
class ComponentSupport:
    component: str  # os | software | hardware
    subject: str  # the text that was matched
    status: str
    evidence: str
    product: str | None = None
    cycle: str | None = None
    released: date | None = None
    active_until: date | None = None
    security_until: date | None = None
    extended_until: date | None = None
    ends: date | None = None
    days_remaining: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class AssetSupport:
    """Worst component status (eol > extended > unknown > supported); unknown with none."""

    asset_id: str
    status: str
    days_remaining: int | None
    components: tuple[ComponentSupport, ...]
    hardware: HardwareFacts | None = None

    def component(self, name: str) -> ComponentSupport | None:
        for comp in self.components:
            if comp.component == name:
                return comp
        return None


def assess_support(
    estate: Estate,
    lifecycle: Lifecycle,
    rules: MatchingRules,
    today: date,
    hardware: HardwareOverrides | None = None,
) -> tuple[AssetSupport, ...]:
    """Support status of every asset on ``today``, sorted by asset id."""
    products = lifecycle.index()
    overrides = hardware or HardwareOverrides()
    os_cache: dict[tuple[Any, ...], ComponentSupport | None] = {}
    sw_cache: dict[tuple[Any, ...], ComponentSupport | None] = {}
    summaries: dict[tuple[Any, ...], AssetSupport] = {}
    out = []
    for asset in sorted(estate.assets, key=lambda a: a.id):
        facts = overrides.lookup(asset) if overrides.entries else None
        hw_key = (facts, asset.vendor, asset.model, asset.serial) if facts else None
        key = (
            asset.os_name,
            asset.os_version,
            asset.firmware,
            asset.device_class,
            asset.software,
            hw_key,
        )
        shared = summaries.get(key)
        if shared is None:
            shared = _assess(asset, facts, rules, products, today, os_cache, sw_cache)
            summaries[key] = shared
        # equal assets share one components tuple (the debt scorer relies on it to reuse work)
        out.append(
            AssetSupport(asset.id, shared.status, shared.days_remaining, shared.components, facts)
        )
    return tuple(out)


def _assess(
    asset: AssetInput,
    facts: HardwareFacts | None,
    rules: MatchingRules,
    products: dict[str, Product],
    today: date,
    os_cache: dict[tuple[Any, ...], Any],
    sw_cache: dict[tuple[Any, ...], Any],
) -> AssetSupport:
    comps: list[ComponentSupport] = []
    key = (asset.os_name, asset.os_version, asset.firmware, asset.device_class)
    if key not in os_cache:
        os_cache[key] = _os_component(asset, rules, products, today)
    if os_cache[key] is not None:
        comps.append(os_cache[key])
    for name, version in asset.software:
        skey = (name, version)
        if skey not in sw_cache:
            sw_cache[skey] = _software_component(name, version, rules, products, today)
        found = sw_cache[skey]
        if found is not None and found not in comps:
            comps.append(found)
    if facts is not None and facts.end_of_support is not None:
        comps.append(_hardware_component(asset, facts, today))
    return _summarise(asset.id, comps, facts)


def _summarise(
    asset_id: str, comps: list[ComponentSupport], facts: HardwareFacts | None
) -> AssetSupport:
    if not comps:
        return AssetSupport(asset_id, UNKNOWN, None, (), facts)
    worst = max(RANK[c.status] for c in comps)
    status = next(s for s, r in RANK.items() if r == worst)
    days = [c.days_remaining for c in comps if c.status == status and c.days_remaining is not None]
    return AssetSupport(asset_id, status, min(days) if days else None, tuple(comps), facts)


def _os_component(
    asset: AssetInput, rules: MatchingRules, products: dict[str, Product], today: date
) -> ComponentSupport | None:
    text = " ".join(x for x in (asset.os_name, asset.os_version) if x) or asset.firmware or ""
    if not text.strip():
        return None
    found = rules.match_os(asset.os_name, asset.os_version, asset.firmware, asset.device_class)
    return _component("os", normalise(text), found, products, today)


def _software_component(
    name: str, version: str | None, rules: MatchingRules, products: dict[str, Product], today: date
) -> ComponentSupport | None:
    text = f"{name} {version or ''}"
    found = rules.match("software", text)
    if found is None:
        return None  # not major software: only rule-matched packages are assessed
    return _component("software", normalise(text), found, products, today)


def _component(
    component: str, subject: str, found: Any, products: dict[str, Product], today: date
) -> ComponentSupport:
    if found is None:
        return ComponentSupport(
            component, subject, UNKNOWN, f"no lifecycle rule matches {subject!r}"
        )
    if found.cycle is None:
        return ComponentSupport(
            component,
            subject,
            UNKNOWN,
            f"looks like {found.product} but no release cycle matches {subject!r}",
            product=found.product,
        )
    product = products.get(found.product)
    release = product.release(found.cycle) if product else None
    if product is None or release is None:
        what = "product" if product is None else f"cycle {found.cycle}"
        return ComponentSupport(
            component,
            subject,
            UNKNOWN,
            f"{found.product} {found.cycle}: {what} not in the lifecycle data "
            "(run a lifecycle sync or add it to the catalogue)",
            product=found.product,
            cycle=found.cycle,
        )
    stand = standing_on(release, today)
    label = release_label(product, release)
    if stand.days_remaining is None:
        when = ""
    elif stand.days_remaining >= 0:
        when = f" until {stand.ends} ({stand.days_remaining} days)"
    else:
        when = f" since {stand.ends} ({-stand.days_remaining} days ago)"
    return ComponentSupport(
        component=component,
        subject=subject,
        status=stand.status,
        evidence=f"{label}: {stand.phase}{when}",
        product=product.name,
        cycle=release.cycle,
        released=release.released,
        active_until=release.active_until,
        security_until=release.security_until,
        extended_until=release.extended_until,
        ends=stand.ends,
        days_remaining=stand.days_remaining,
        source=release.source or product.source,
    )


def release_label(product: Product, release: Release) -> str:
    """'Microsoft Windows Server' + 'Windows Server 2012 R2': 'Microsoft Windows Server 2012 R2'."""
    words = product.label.split()
    for k in range(len(words)):
        tail = " ".join(words[k:]).lower()
        if release.label.lower().startswith(tail):
            return " ".join([*words[:k], release.label]).strip()
    return f"{product.label} {release.label}".strip()


def _hardware_component(asset: AssetInput, facts: HardwareFacts, today: date) -> ComponentSupport:
    end = facts.end_of_support
    assert end is not None
    days = (end - today).days
    status = SUPPORTED if days > 0 else EOL
    subject = " ".join(x for x in (asset.vendor, asset.model) if x) or (asset.serial or "hardware")
    verb = "vendor support until" if days > 0 else "vendor support ended"
    return ComponentSupport(
        component="hardware",
        subject=subject,
        status=status,
        evidence=f"{subject}: {verb} {end} ({abs(days)} days {'left' if days > 0 else 'ago'})",
        ends=end,
        days_remaining=days,
        source=facts.source,
    )
