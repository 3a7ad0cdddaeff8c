"""Matching rules: an asset's OS, firmware and software text -> lifecycle product + release cycle.

Rules are data (``config/lifecycle/matching.yaml``), tried in order. A rule names a product and a
component (``os`` or ``software``); its ``name`` pattern must match the subject text, then the
first of its ``cycles`` patterns that matches gives the cycle, either literally or from a template
filled with the pattern's named groups (``'{major}.{minor}'``). Patterns are case-insensitive and
run on normalised text (lower case, single spaces), so "Windows" + "Server 2012 R2",
"Microsoft Windows Server 2012 R2 Standard" and "Windows" + "6.3.9600" all reach
``windows-server`` / ``2012-r2``.

OS text is ``os_name os_version``; when there is no OS name the firmware string is tried with the
same OS rules (network devices often report only a firmware version). Software text is
``name version`` for each installed package.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from planner.fields import Note, Pattern, Strict, Text, Texts, one_of, validated
from planner.model import DEVICE_CLASSES

COMPONENTS = ("os", "software")
_SPACE = re.compile(r"[\s_]+")


def normalise(text: str | None) -> str:
    return _SPACE.sub(" ", (text or "").strip().lower())


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
    name: re.Pattern[str]
    cycles: tuple[CyclePattern, ...]
    classes: frozenset[str] = frozenset()
    exclude_classes: frozenset[str] = frozenset()

    def applies_to(self, device_class: str) -> bool:
        if self.classes and device_class not in self.classes:
            return False
        return device_class not in self.exclude_classes


@dataclass(frozen=True, slots=True)
class Match:
    """What a subject text matched: ``cycle`` is None when the product matched but no cycle did."""

    product: str
    cycle: str | None
    subject: str


@dataclass(frozen=True, slots=True)
class MatchingRules:
    rules: tuple[MatchRule, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> MatchingRules:
        return validated(MatchingFile, data, ("matching",)).build()

    def products(self) -> tuple[str, ...]:
        """Product names the rules can produce: what a lifecycle sync should fetch."""
        return tuple(sorted({r.product for r in self.rules}))

    def match(self, component: str, text: str, device_class: str = "unknown") -> Match | None:
        """The first rule whose name and a cycle pattern match ``text``.

        When names match but no cycle does, the first such product is returned with
        ``cycle=None`` so the caller can say which product it looked like.
        """
        subject = normalise(text)
        if not subject:
            return None
        partial: Match | None = None
        for rule in self.rules:
            if rule.component != component or not rule.applies_to(device_class):
                continue
            if not rule.name.search(subject):
                continue
            for cyc in rule.cycles:
                cycle = cyc.cycle_for(subject)
                if cycle is not None:
                    return Match(rule.product, cycle, subject)
            if partial is None:
                partial = Match(rule.product, None, subject)
        return partial

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
    name: Pattern
    cycles: list[CycleFile] = Field([], validate_default=True)
    classes: DeviceClasses = ()
    exclude_classes: DeviceClasses = ()

    @field_validator("cycles")
    @classmethod
    def _some(cls, cycles: list[CycleFile]) -> list[CycleFile]:
        if not cycles:
            raise ValueError("at least one cycle pattern is needed")
        return cycles

    def build(self) -> MatchRule:
        return MatchRule(
            product=self.product,
            component=self.component,
            name=self.name,
            cycles=tuple(CyclePattern(c.pattern, c.cycle) for c in self.cycles),
            classes=frozenset(self.classes),
            exclude_classes=frozenset(self.exclude_classes),
        )


class MatchingFile(Strict):
    """``config/lifecycle/matching.yaml``."""

    rules: list[MatchRuleFile] = Field(default_factory=list)
    source: Note = None
    notes: Note = None

    def build(self) -> MatchingRules:
        return MatchingRules(tuple(rule.build() for rule in self.rules))


def _fields(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return []
