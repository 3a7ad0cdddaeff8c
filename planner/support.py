"""Support status per asset as of a given day: OS, major software and (from overrides) hardware.

Status is one of supported / extended / eol / unknown, with the product, cycle, dates, days
remaining (negative once past) and the source of the facts; the verdict people read splits
extended into extended (paid) and extended (community). Unknown is an answer too: it says why (no
product matched, version not parsed, not in the lifecycle data). An asset's status is the worst
KNOWN status of its components (eol > extended (paid) > extended (community) > supported); it is
unknown only when nothing is known. A product built by a distribution (``+deb12u1``) is supported
as long as that distribution release is (see ``software.packaging`` in matching.yaml). Hardware
end-of-life and warranty dates come from ``hardware.yaml`` by model (a glob) or serial; a serial
entry wins over a model entry field by field; an entry may give only the vendor's status (eol or
supported) when no date is published. Hardware is judged apart from the OS, and both are shown;
an OS or firmware release the catalogue marks ``follows_hardware`` (the vendor gives it no date of
its own) takes the hardware's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from planner.hardware_lifecycle import (
    HardwareFacts,
    HardwareOverrides,
    following_hardware,
    hardware_component,
)
from planner.lifecycle import (
    COMMUNITY,
    EOL,
    EXTENDED,
    PAID,
    SUPPORTED,
    UNKNOWN,
    Lifecycle,
    Product,
    Release,
    verdict,
)
from planner.matching import MatchingRules
from planner.model import AssetInput, Estate
from planner.verdicts import ComponentSupport, os_component, software_component

# how bad a KNOWN verdict is; unknown is not ranked (it never outranks a known component)
RANK = {
    SUPPORTED: 0,
    verdict(EXTENDED, COMMUNITY): 1,
    verdict(EXTENDED, PAID): 2,
    EOL: 3,
}


@dataclass(frozen=True, slots=True)
class AssetSupport:
    """The worst KNOWN component verdict (eol > extended (paid) > extended (community) >
    supported); unknown only when no component is known, with ``why``."""

    asset_id: str
    status: str
    days_remaining: int | None
    components: tuple[ComponentSupport, ...]
    hardware: HardwareFacts | None = None
    extended_support: str | None = None  # paid | community while the status is extended
    why: str | None = None  # for unknown: why nothing is known
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", verdict(self.status, self.extended_support))

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
    catalogue = overrides.indexed()  # one index for the estate, not a scan per asset
    os_cache: dict[tuple[Any, ...], ComponentSupport | None] = {}
    sw_cache: dict[tuple[Any, ...], ComponentSupport | None] = {}
    summaries: dict[tuple[Any, ...], AssetSupport] = {}
    out = []
    for asset in sorted(estate.assets, key=lambda a: a.id):
        facts = catalogue.lookup(asset) if overrides.entries else None
        hw_key = (facts, asset.vendor, asset.model, asset.serial) if facts else None
        key = (
            asset.os_name,
            asset.os_version,
            asset.firmware,
            asset.device_class,
            asset.software,
            hw_key,
            asset.model,  # an unknown verdict names the model it lacks data for
            asset.virtual,
        )
        shared = summaries.get(key)
        if shared is None:
            shared = _assess(asset, facts, rules, products, today, os_cache, sw_cache)
            summaries[key] = shared
        # equal assets share one components tuple (the debt scorer relies on it to reuse work)
        out.append(
            AssetSupport(
                asset.id,
                shared.status,
                shared.days_remaining,
                shared.components,
                facts,
                shared.extended_support,
                shared.why,
            )
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
        os_cache[key] = os_component(asset, rules, products, today)
    os_comp = os_cache[key]
    hw_comp = hardware_component(asset, facts, today) if facts and facts.judged else None
    if os_comp is not None:
        release = _release_of(os_comp, products)
        if release is not None and release.follows_hardware:
            os_comp = following_hardware(asset, os_comp, release, products, hw_comp)
        comps.append(os_comp)
    os_product = os_comp.product if os_comp is not None else None
    os_cycle = os_comp.cycle if os_comp is not None else None
    seen: dict[tuple[Any, ...], int] = {}
    for name, version in asset.software:
        skey = (name, version, os_product, os_cycle)
        if skey not in sw_cache:
            sw_cache[skey] = software_component(
                name, version, rules, products, today, os_product, os_cycle
            )
        found = sw_cache[skey]
        if found is None:
            continue
        # one verdict per product release: postgresql and postgresql-15 are one PostgreSQL 15;
        # the package that names the release (postgresql-15) is the one shown
        same: tuple[Any, ...] = (found.product, found.cycle, found.verdict, found.packaged_by)
        if found.product is None or found.cycle is None:
            same = (found.subject,)
        if same not in seen:
            seen[same] = len(comps)
            comps.append(found)
        elif _names_release(found) and not _names_release(comps[seen[same]]):
            comps[seen[same]] = found
    if hw_comp is not None:
        comps.append(hw_comp)
    return _summarise(asset, comps, facts)


def _names_release(comp: ComponentSupport) -> bool:
    package = comp.subject.split(" ", 1)[0]
    return bool(comp.cycle) and str(comp.cycle) in package


def _summarise(
    asset: AssetInput, comps: list[ComponentSupport], facts: HardwareFacts | None
) -> AssetSupport:
    known = [c for c in comps if c.status != UNKNOWN]
    if not known:
        return AssetSupport(
            asset.id, UNKNOWN, None, tuple(comps), facts, why=_unknown_why(asset, comps)
        )
    worst = max(known, key=lambda c: RANK[c.verdict])
    days = [c.days_remaining for c in known if c.verdict == worst.verdict]
    left = [d for d in days if d is not None]
    return AssetSupport(
        asset.id,
        worst.status,
        min(left) if left else None,
        tuple(comps),
        facts,
        worst.extended_support,
    )


def _unknown_why(asset: AssetInput, comps: list[ComponentSupport]) -> str:
    """Why nothing is known about an asset, for people: each component's reason, and what is
    missing (no OS or firmware reported; a hardware model without end-of-support data)."""
    reasons = [f"{c.component} {c.subject!r}: {c.why or c.evidence}" for c in comps]
    if not any(c.component == "os" for c in comps):
        reasons.insert(0, "no OS or firmware reported")
    if asset.model and not asset.virtual:
        reasons.append(
            f"hardware model {asset.model!r}: no end-of-support date (not in the catalogue)"
        )
    return "; ".join(reasons)


def _release_of(comp: ComponentSupport, products: dict[str, Product]) -> Release | None:
    product = products.get(comp.product) if comp.product else None
    return product.release(comp.cycle) if product and comp.cycle else None
