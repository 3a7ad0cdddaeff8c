"""Matching rules: an asset's OS, firmware and software text -> lifecycle product + release cycle.

Rules are data (``config/lifecycle/matching.yaml``), tried in order. A rule names a product and a
component (``os`` or ``software``); its ``name`` pattern must match the subject text, then the
first of its ``cycles`` patterns that matches gives the cycle, either literally or from a template
filled with the pattern's named groups (``'{major}.{minor}'``). Patterns are case-insensitive and
run on normalised text (lower case, single spaces), so "Windows" + "Server 2012 R2",
"Microsoft Windows Server 2012 R2 Standard" and "Windows" + "6.3.9600" all reach
``windows-server`` / ``2012-r2``.

OS text is ``os_name os_version``; when there is no OS name the firmware string is tried with the
same OS rules (network devices often report only a firmware version).

Software is judged only when the package IS a product (the server or runtime): the
``software.not_products`` patterns rule out helpers (``-common``, ``-client``, ``lib*``, drivers,
...) by name, and a software rule's ``package`` pattern must match the whole package name. The
cycle patterns then run on ``name upstream-version``: the version without its epoch, distribution
revision and distribution markers, so ``deb12`` or ``el7`` never reads as a release and the name
(``postgresql-15``) comes first. :meth:`MatchingRules.packaged_by` says when a package is the
distribution's own build (a version marker such as ``+deb12u1``), so that it lives as long as the
distribution release does.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from planner.fields import Note, Pattern, Strict, Text, Texts, one_of, validated
from planner.model import DEVICE_CLASSES

COMPONENTS = ("os", "software")
_SPACE = re.compile(r"[\s_]+")
_ARCH = re.compile(r":[a-z0-9_]+$")  # dpkg's multi-arch suffix: libc6:amd64
_EPOCH = re.compile(r"^\d+:")
# distribution markers left after the revision is cut: 15+248+deb12u2, 1.2~deb12u1, 1.0.el7
_MARKERS = re.compile(r"[+~.](deb\d+u?\d*|bpo\d+|\d*ubuntu[\d.~]*|el\d+(_\d+)?|dfsg\d*|ds\d*)\b.*$")


def normalise(text: str | None) -> str:
    return _SPACE.sub(" ", (text or "").strip().lower())


def version_text(version: str | None) -> str:
    """A version as the rules see it: lower case, single spaces (underscores kept: el7_9)."""
    return " ".join((version or "").lower().split())


def package_name(name: str | None) -> str:
    """A package name as the software rules see it: normalised, without dpkg's ``:arch``."""
    return _ARCH.sub("", normalise(name))


def upstream_version(version: str | None) -> str:
    """The product's own version in a package version: ``1:10.11.19-0+deb12u1`` -> ``10.11.19``,
    ``15+248+deb12u2`` -> ``15+248``, ``9.6.24-1PGDG.rhel7`` -> ``9.6.24``."""
    text = _EPOCH.sub("", version_text(version))
    if "-" in text:
        text = text.rsplit("-", 1)[0]
    return _MARKERS.sub("", text)


@dataclass(frozen=True, slots=True)
class CyclePattern:
    pattern: re.Pattern[str]
    cycle: str  # literal cycle or a template of the pattern's named groups

    def cycle_for(self, text: str) -> str | None:
        found = self.pattern.search(text)
        if found is None:
            return None
        groups = found.groupdict()
        if any(groups.get(f) is None for f in _fields(self.cycle)):
            return None
        return self.cycle.format_map(groups)


@dataclass(frozen=True, slots=True)
class MatchRule:
    product: str
    component: str
    name: re.Pattern[str] | None  # searched in the subject text
    cycles: tuple[CyclePattern, ...]
    classes: frozenset[str] = frozenset()
    exclude_classes: frozenset[str] = frozenset()
    package: re.Pattern[str] | None = None  # software: must match the whole package name
    exclude: re.Pattern[str] | None = None  # "name version" (full version) that is not it
    follows_distribution: bool = True  # a distribution's build lives as long as the release

    def applies_to(self, device_class: str) -> bool:
        if self.classes and device_class not in self.classes:
            return False
        return device_class not in self.exclude_classes

    def names(self, subject: str, package: str | None = None) -> bool:
        """Whether the rule's name (or, for a package, its package pattern) matches."""
        if self.package is not None:
            return package is not None and self.package.fullmatch(package) is not None
        return self.name is not None and self.name.search(subject) is not None

    def cycle_for(self, subject: str) -> str | None:
        for cyc in self.cycles:
            cycle = cyc.cycle_for(subject)
            if cycle is not None:
                return cycle
        return None


@dataclass(frozen=True, slots=True)
class Match:
    """What a subject text matched: ``cycle`` is None when the product matched but no cycle did."""

    product: str
    cycle: str | None
    subject: str
    follows_distribution: bool = True


@dataclass(frozen=True, slots=True)
class Distribution:
    """A distribution whose own builds carry ``marker`` in their version (``+deb12u1``)."""

    products: tuple[str, ...]  # OS products of the family; the first when the OS is another
    marker: re.Pattern[str]  # may capture the release as the named group ``cycle``
    source: str = ""  # where the distribution says how long it supports its packages


@dataclass(frozen=True, slots=True)
class PackagedBy:
    """A package that is a distribution's own build: it lives as long as that release."""

    product: str  # the distribution's lifecycle product: debian
    cycle: str  # its release: 12
    marker: str  # what in the version says so: deb12u1
    source: str = ""  # the distribution's statement of what it supports


@dataclass(frozen=True, slots=True)
class Packaging:
    distributions: tuple[Distribution, ...] = ()
    not_distribution: tuple[re.Pattern[str], ...] = ()  # vendor builds, RHEL modules


@dataclass(frozen=True, slots=True)
class MatchingRules:
    rules: tuple[MatchRule, ...] = ()
    not_products: tuple[re.Pattern[str], ...] = ()  # package names that are never a product
    notable: tuple[re.Pattern[str], ...] = ()  # unmatched package names worth a rule (gaps)
    packaging: Packaging = Packaging()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> MatchingRules:
        return validated(MatchingFile, data, ("matching",)).build()

    def products(self) -> tuple[str, ...]:
        """Product names the rules can produce: what a lifecycle sync should fetch."""
        return tuple(sorted({r.product for r in self.rules}))

    def match(self, component: str, text: str, device_class: str = "unknown") -> Match | None:
        """The first rule whose name and a cycle pattern match ``text``.

        When names match but no cycle does, the first such product is returned with
        ``cycle=None`` so the caller can say which product it looked like. Software text is
        read as a package name (see :meth:`match_software` to give the version apart).
        """
        if component == "software":
            return self.match_software(text, None)
        subject = normalise(text)
        if not subject:
            return None
        return self._first(component, subject, subject, None, device_class)

    def _first(
        self,
        component: str,
        subject: str,
        full: str,
        package: str | None,
        device_class: str = "unknown",
    ) -> Match | None:
        partial: Match | None = None
        for rule in self.rules:
            if rule.component != component or not rule.applies_to(device_class):
                continue
            if not rule.names(subject, package):
                continue
            if rule.exclude is not None and rule.exclude.search(full):
                continue
            cycle = rule.cycle_for(subject)
            if cycle is not None:
                return Match(rule.product, cycle, full, rule.follows_distribution)
            if partial is None:
                partial = Match(rule.product, None, full, rule.follows_distribution)
        return partial

    def not_a_product(self, name: str) -> bool:
        """Whether a package is a helper of a product (client, library, driver, docs...)."""
        package = package_name(name)
        return any(p.search(package) for p in self.not_products)

    def match_software(self, name: str, version: str | None) -> Match | None:
        """The product an installed package IS, or None (a helper, or no rule names it).

        The subject of the match is ``name version`` (normalised, full version); the cycle
        patterns run on ``name upstream-version``."""
        package = package_name(name)
        if not package or self.not_a_product(package):
            return None
        full = f"{package} {version_text(version)}".strip()
        subject = f"{package} {upstream_version(version)}".strip()
        return self._first("software", subject, full, package)

    def notable_package(self, name: str) -> bool:
        """An unmatched package worth a lifecycle rule (listed by ``lifecycle gaps``)."""
        package = package_name(name)
        if not package or self.not_a_product(package):
            return False
        return any(p.search(package) for p in self.notable)

    def packaged_by(
        self, name: str, version: str | None, os_product: str | None, os_cycle: str | None
    ) -> PackagedBy | None:
        """The distribution release whose own build this package is, or None.

        The version must carry the distribution's marker (``+deb12u1``, ``0ubuntu0.22.04.1``,
        ``.el8``) and no vendor-build mark (``+maria~deb12``, ``pgdg``, RHEL ``module+el8``).
        The release is the marker's own when it names one (a ``+deb11u3`` package left on a
        Debian 12 host came from Debian 11), otherwise the asset's OS release when the OS is of
        that distribution; the product is the asset's OS when it is of the family (Rocky Linux
        for ``.el9``), otherwise the family's first.
        """
        text = version_text(version)
        if not text:
            return None
        full = f"{package_name(name)} {text}"
        if any(p.search(full) for p in self.packaging.not_distribution):
            return None
        for dist in self.packaging.distributions:
            found = dist.marker.search(text)
            if found is None:
                continue
            same_os = os_product in dist.products and bool(os_cycle)
            cycle = found.groupdict().get("cycle") or (os_cycle if same_os else None)
            if not cycle:
                return None
            product = os_product if same_os and os_product else dist.products[0]
            marker = found.group(0).strip("+~.")
            return PackagedBy(product, cycle, marker, dist.source)
        return None

    def match_os(
        self,
        os_name: str | None,
        os_version: str | None,
        firmware: str | None,
        device_class: str,
    ) -> Match | None:
        texts = []
        if os_name or os_version:
            texts.append(f"{os_name or ''} {os_version or ''}")
        if firmware:
            texts.append(firmware)
        best: Match | None = None
        for text in texts:
            found = self.match("os", text, device_class)
            if found is not None and found.cycle is not None:
                return found
            best = best or found
        return best


DeviceClasses = Annotated[Texts, AfterValidator(one_of(DEVICE_CLASSES, "a device class"))]


class CycleFile(Strict):
    pattern: Pattern
    cycle: Text

    @field_validator("cycle")
    @classmethod
    def _captured(cls, cycle: str, info: ValidationInfo) -> str:
        pattern = info.data.get("pattern")
        missing = [f for f in _fields(cycle) if pattern is not None and f not in pattern.groupindex]
        if missing:
            raise ValueError(
                f"template uses {', '.join(missing)} which the pattern does not capture as a "
                "named group"
            )
        return cycle


class MatchRuleFile(Strict):
    product: Text
    component: Annotated[Text, AfterValidator(one_of(COMPONENTS))] = "os"
    name: Pattern | None = None
    package: Pattern | None = None
    exclude: Pattern | None = None
    follows_distribution: bool = True
    cycles: list[CycleFile] = Field([], validate_default=True)
    classes: DeviceClasses = ()
    exclude_classes: DeviceClasses = ()

    @field_validator("cycles")
    @classmethod
    def _some(cls, cycles: list[CycleFile]) -> list[CycleFile]:
        if not cycles:
            raise ValueError("at least one cycle pattern is needed")
        return cycles

    @model_validator(mode="after")
    def _named(self) -> MatchRuleFile:
        if (self.name is None) == (self.package is None):
            raise ValueError(
                "needs either 'name' (a pattern searched in the text) or, for software, "
                "'package' (a pattern the whole package name must match)"
            )
        if self.package is not None and self.component != "software":
            raise ValueError("'package' is for software rules (component: software)")
        return self

    def build(self) -> MatchRule:
        return MatchRule(
            product=self.product,
            component=self.component,
            name=self.name,
            cycles=tuple(CyclePattern(c.pattern, c.cycle) for c in self.cycles),
            classes=frozenset(self.classes),
            exclude_classes=frozenset(self.exclude_classes),
            package=self.package,
            exclude=self.exclude,
            follows_distribution=self.follows_distribution,
        )


class DistributionFile(Strict):
    products: Texts
    marker: Pattern
    source: Text = ""

    @field_validator("products")
    @classmethod
    def _some(cls, products: tuple[str, ...]) -> tuple[str, ...]:
        if not products:
            raise ValueError("name at least one OS product (debian, rhel, ...)")
        return products


class PackagingFile(Strict):
    distributions: list[DistributionFile] = Field(default_factory=list)
    not_distribution: list[Pattern] = Field(default_factory=list)
    notes: Note = None

    def build(self) -> Packaging:
        return Packaging(
            tuple(Distribution(d.products, d.marker, d.source) for d in self.distributions),
            tuple(self.not_distribution),
        )


class SoftwareFile(Strict):
    not_products: list[Pattern] = Field(default_factory=list)
    notable: list[Pattern] = Field(default_factory=list)
    packaging: PackagingFile = Field(default_factory=PackagingFile)
    notes: Note = None


class MatchingFile(Strict):
    """``config/lifecycle/matching.yaml``."""

    rules: list[MatchRuleFile] = Field(default_factory=list)
    software: SoftwareFile = Field(default_factory=SoftwareFile)
    source: Note = None
    notes: Note = None

    def build(self) -> MatchingRules:
        return MatchingRules(
            tuple(rule.build() for rule in self.rules),
            tuple(self.software.not_products),
            tuple(self.software.notable),
            self.software.packaging.build(),
        )


def _fields(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return []
