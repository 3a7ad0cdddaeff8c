"""Where the lifecycle data runs out: what to add to the matching rules or the catalogues.

A gap is an OS or firmware text no rule reads (or whose release the lifecycle data lacks), a
product found without a usable version, a notable package no rule names (``software.notable`` in
matching.yaml: servers, runtimes, well-known applications; never a helper package) or a hardware
model with no end-of-support date. Gaps are listed by how many assets they touch, most first,
so the rule or catalogue entry that helps most comes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from planner.lifecycle import UNKNOWN
from planner.matching import MatchingRules, package_name
from planner.model import AssetInput, Estate
from planner.support import AssetSupport
from planner.verdicts import NO_MATCH, NO_VERSION, NOT_IN_DATA, ComponentSupport

KINDS = ("os", "firmware", "software", "hardware")
NO_RULE = "no lifecycle rule names this package"
NO_HARDWARE = "no end-of-support date for this model (add it to the hardware catalogue)"


@dataclass(frozen=True, slots=True)
class Gap:
    kind: str  # os | firmware | software | hardware
    subject: str  # the OS or firmware text, the product release or package, "vendor model"
    reason: str
    assets: int  # how many assets it touches
    examples: tuple[str, ...]  # a few of those assets, by name
    product: str | None = None
    cycle: str | None = None
    versions: tuple[str, ...] = ()  # package versions seen (software)


@dataclass
class _Tally:
    kind: str
    subject: str
    reason: str
    product: str | None
    cycle: str | None
    assets: set[str]
    names: set[str]
    versions: set[str]


def lifecycle_gaps(
    estate: Estate,
    support: Iterable[AssetSupport],
    rules: MatchingRules,
    examples: int = 3,
) -> tuple[Gap, ...]:
    """The gaps of ``estate`` given its support verdicts (:func:`planner.assess_support`)."""
    by_id = {s.asset_id: s for s in support}
    tallies: dict[tuple[str | None, ...], _Tally] = {}
    notable: dict[tuple[str, str | None], bool] = {}

    def add(
        asset: AssetInput,
        kind: str,
        subject: str,
        reason: str,
        product: str | None = None,
        cycle: str | None = None,
        version: str | None = None,
    ) -> None:
        key = (kind, subject, reason)
        tally = tallies.get(key)
        if tally is None:
            tally = _Tally(kind, subject, reason, product, cycle, set(), set(), set())
            tallies[key] = tally
        tally.assets.add(asset.id)
        tally.names.add(asset.name or asset.id)
        if version:
            tally.versions.add(version)

    for asset in estate.assets:
        sup = by_id.get(asset.id)
        if asset.external or sup is None:
            continue
        for comp in sup.components:
            if comp.status == UNKNOWN and comp.component in ("os", "software"):
                kind = comp.component
                if kind == "os" and not (asset.os_name or asset.os_version):
                    kind = "firmware"
                add(asset, kind, _subject(comp), _reason(comp), comp.product, comp.cycle)
        for name, version in asset.software:
            key = (name, version)
            if key not in notable:
                notable[key] = rules.match_software(
                    name, version
                ) is None and rules.notable_package(name)
            if notable[key]:
                add(asset, "software", package_name(name), NO_RULE, version=version)
        if asset.model and not asset.virtual and sup.component("hardware") is None:
            model = " ".join(x for x in (asset.vendor, asset.model) if x)
            add(asset, "hardware", model, NO_HARDWARE)
    gaps = [
        Gap(
            kind=t.kind,
            subject=t.subject,
            reason=t.reason,
            assets=len(t.assets),
            examples=tuple(sorted(t.names)[:examples]),
            product=t.product,
            cycle=t.cycle,
            versions=tuple(sorted(t.versions)[:examples]),
        )
        for t in tallies.values()
    ]
    return tuple(sorted(gaps, key=lambda g: (-g.assets, KINDS.index(g.kind), g.subject)))


def _subject(comp: ComponentSupport) -> str:
    """A release the data lacks is one gap however it was spelt; otherwise the text itself."""
    if comp.product and comp.cycle and comp.why == NOT_IN_DATA:
        return f"{comp.product} {comp.cycle}"
    if comp.product and comp.component == "software":
        return comp.product
    return comp.subject


def _reason(comp: ComponentSupport) -> str:
    if comp.why == NO_MATCH:
        return "no lifecycle rule reads this text (add a rule to matching.yaml)"
    if comp.why == NO_VERSION:
        return f"looks like {comp.product}, but no release could be read from it"
    if comp.why == NOT_IN_DATA:
        return (
            "not in the lifecycle data (run `cloudward lifecycle sync` or add it to the catalogue)"
        )
    return comp.why or comp.evidence
