"""One component's support verdict: an OS, firmware or software release against the lifecycle
facts, or a distribution's build of a product against the distribution release's.

A verdict is supported, extended (paid), extended (community), eol or unknown; unknown says why
(:data:`NO_MATCH`, :data:`NO_VERSION`, :data:`NOT_IN_DATA`, :data:`NO_DATE`) and the evidence
names the product, the release, the dates and the rule that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from planner.lifecycle import (
    UNKNOWN,
    Product,
    Release,
    Standing,
    standing_on,
    verdict,
)
from planner.matching import Match, MatchingRules, PackagedBy, normalise
from planner.model import AssetInput

# why a component is unknown
NO_MATCH = "no product matched"
NO_VERSION = "version not parsed"
NOT_IN_DATA = "not in the lifecycle data"
NO_DATE = "no end-of-support date known"


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
    extended_support: str | None = None  # paid | community while the status is extended
    why: str | None = None  # why it is unknown: NO_MATCH, NO_VERSION, NOT_IN_DATA, NO_DATE
    packaged_by: str | None = None  # the distribution release whose build it is: "debian 12"
    verdict: str = field(init=False)  # supported, extended (paid|community), eol, unknown

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", verdict(self.status, self.extended_support))


def os_component(
    asset: AssetInput, rules: MatchingRules, products: dict[str, Product], today: date
) -> ComponentSupport | None:
    text = " ".join(x for x in (asset.os_name, asset.os_version) if x) or asset.firmware or ""
    if not text.strip():
        return None
    found = rules.match_os(asset.os_name, asset.os_version, asset.firmware, asset.device_class)
    return _component("os", normalise(text), found, products, today)


def software_component(
    name: str,
    version: str | None,
    rules: MatchingRules,
    products: dict[str, Product],
    today: date,
    os_product: str | None = None,
    os_cycle: str | None = None,
) -> ComponentSupport | None:
    found = rules.match_software(name, version)
    if found is None:
        return None  # not a product (a helper, or no rule names it): not assessed
    if found.cycle is not None and found.follows_distribution:
        by = rules.packaged_by(name, version, os_product, os_cycle)
        distro = products.get(by.product) if by is not None else None
        release = distro.release(by.cycle) if distro is not None and by is not None else None
        if by is not None and distro is not None and release is not None:
            return _packaged(found, by, distro, release, products, today)
    return _component("software", found.subject, found, products, today)


def _packaged(
    found: Match,
    by: PackagedBy,
    distro: Product,
    release: Release,
    products: dict[str, Product],
    today: date,
) -> ComponentSupport:
    """A distribution's own build of a product: it lives as long as the distribution release."""
    assert found.cycle is not None
    stand = standing_on(release, today, distro.extended_support)
    own = products.get(found.product)
    own_release = own.release(found.cycle) if own is not None else None
    name = (
        release_label(own, own_release) if own and own_release else f"{found.product} {found.cycle}"
    )
    sources = [s for s in (by.source, release.source or distro.source) if s]
    return ComponentSupport(
        component="software",
        subject=found.subject,
        status=stand.status,
        evidence=(
            f"{name}, built by {release_label(distro, release)} (version marker {by.marker!r}), "
            f"is supported as long as that release is (rule: software.packaging in "
            f"matching.yaml): {_phase(stand)}"
        ),
        product=found.product,
        cycle=found.cycle,
        released=own_release.released if own_release else None,
        active_until=release.active_until,
        security_until=release.security_until,
        extended_until=release.extended_until,
        ends=stand.ends,
        days_remaining=stand.days_remaining,
        source="; ".join(sources),
        extended_support=stand.extended,
        why=NO_DATE if stand.status == UNKNOWN else None,
        packaged_by=f"{by.product} {by.cycle}",
    )


def _phase(stand: Standing) -> str:
    if stand.days_remaining is None:
        return stand.phase
    if stand.days_remaining >= 0:
        return f"{stand.phase} until {stand.ends} ({stand.days_remaining} days)"
    return f"{stand.phase} since {stand.ends} ({-stand.days_remaining} days ago)"


def _component(
    component: str, subject: str, found: Match | None, products: dict[str, Product], today: date
) -> ComponentSupport:
    if found is None:
        return ComponentSupport(
            component, subject, UNKNOWN, f"no lifecycle rule matches {subject!r}", why=NO_MATCH
        )
    if found.cycle is None:
        return ComponentSupport(
            component,
            subject,
            UNKNOWN,
            f"looks like {found.product} but no release cycle matches {subject!r}",
            product=found.product,
            why=NO_VERSION,
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
            why=NOT_IN_DATA,
        )
    stand = standing_on(release, today, product.extended_support)
    label = release_label(product, release)
    return ComponentSupport(
        component=component,
        subject=subject,
        status=stand.status,
        evidence=f"{label}: {_phase(stand)}",
        product=product.name,
        cycle=release.cycle,
        released=release.released,
        active_until=release.active_until,
        security_until=release.security_until,
        extended_until=release.extended_until,
        ends=stand.ends,
        days_remaining=stand.days_remaining,
        source=release.source or product.source,
        extended_support=stand.extended,
        why=NO_DATE if stand.status == UNKNOWN else None,
    )


def release_label(product: Product, release: Release) -> str:
    """'Microsoft Windows Server' + 'Windows Server 2012 R2': 'Microsoft Windows Server 2012 R2'."""
    words = product.label.split()
    for k in range(len(words)):
        tail = " ".join(words[k:]).lower()
        if release.label.lower().startswith(tail):
            return " ".join([*words[:k], release.label]).strip()
    return f"{product.label} {release.label}".strip()
