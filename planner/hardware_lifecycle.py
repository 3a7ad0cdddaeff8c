"""Hardware lifecycle facts by model or serial (``config/lifecycle/hardware.yaml``) and the
hardware verdict, judged apart from the OS: an end-of-support date or, where the vendor's date is
not recorded, the vendor's status (eol or supported). The shipped entries (``hardware``) and the
site's own (``local``, checked first) merge field by field, serial entries first. An OS or
firmware release the catalogue marks ``follows_hardware`` takes the hardware's verdict.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from planner.fields import Day, Note, OptionalText, Strict, Text, validated
from planner.lifecycle import EOL, SUPPORTED, Product, Release
from planner.model import AssetInput
from planner.verdicts import NO_DATE, ComponentSupport, release_label

# A host's vendor is the maker of the software that answers (Microsoft for a Windows server,
# VMware for an ESXi host), as the collectors report it; its hardware maker then shows only in
# the model and serial, so an entry's vendor is not checked against these.
OS_MAKERS = frozenset({"microsoft", "vmware", "unknown", ""})


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
    family: str | None = None  # for people: 'Catalyst 2960-X'
    end_of_sw_maintenance: date | None = None  # last software maintenance (bug fix) release
    # the vendor's word when it publishes no date here: eol (retired) or supported
    status: str | None = None
    local: bool = False  # the site's own entry (hardware.yaml `local:`), checked first


class HardwareOverrideFile(Strict):
    model: OptionalText = None
    serial: OptionalText = None
    vendor: OptionalText = None
    family: OptionalText = None
    end_of_sale: Day | None = None
    end_of_sw_maintenance: Day | None = None
    end_of_support: Day | None = None
    status: Literal["eol", "supported"] | None = None
    warranty_until: Day | None = None
    manufactured: Day | None = None
    source: Text = "user override"

    @model_validator(mode="after")
    def _identified(self) -> HardwareOverrideFile:
        if not self.model and not self.serial:
            raise ValueError("needs a 'model' (glob) or a 'serial'")
        if self.status == SUPPORTED and self.end_of_support is not None:
            raise ValueError(
                "'status: supported' is for a model with no end-of-support date; with "
                "'end_of_support' the status follows from the date (drop 'status')"
            )
        return self

    def build(self, local: bool = False) -> HardwareOverride:
        return HardwareOverride(**self.model_dump(), local=local)


class HardwareFile(Strict):
    """``config/lifecycle/hardware.yaml``: the shipped catalogue (``hardware``) and the site's
    own entries (``local``, usually from the planner settings file), which are checked first."""

    hardware: list[HardwareOverrideFile] = Field(default_factory=list)
    local: list[HardwareOverrideFile] = Field(default_factory=list)
    notes: Note = None

    def build(self) -> HardwareOverrides:
        return HardwareOverrides(
            tuple(entry.build(local=True) for entry in self.local)
            + tuple(entry.build() for entry in self.hardware)
        )


@dataclass(frozen=True, slots=True)
class HardwareOverrides:
    entries: tuple[HardwareOverride, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HardwareOverrides:
        return validated(HardwareFile, data, ("hardware",)).build()

    def lookup(self, asset: AssetInput) -> HardwareFacts | None:
        """Serial entries first, then the first model glob that matches among the site's own
        (``local``) entries, then among the shipped ones; fields merge in that order."""
        return self.indexed().lookup(asset)

    def indexed(self) -> HardwareCatalogue:
        """The entries indexed for looking up a whole estate (:class:`HardwareCatalogue`)."""
        return HardwareCatalogue(self.entries)


class HardwareCatalogue:
    """:meth:`HardwareOverrides.lookup` for many assets: serial entries indexed by serial, and
    the model entries that match a (model, vendor) found once for all the assets that share
    them (a large estate repeats a few models; assets with equal facts share one record)."""

    def __init__(self, entries: tuple[HardwareOverride, ...]) -> None:
        self.entries = entries
        self.by_serial: dict[str, list[HardwareOverride]] = {}
        for entry in entries:  # in catalogue order, as they are merged
            if entry.serial:
                self.by_serial.setdefault(entry.serial.strip().lower(), []).append(entry)
        self.by_model: dict[
            tuple[str, str], tuple[list[HardwareOverride], HardwareFacts | None]
        ] = {}

    def lookup(self, asset: AssetInput) -> HardwareFacts | None:
        serial = (asset.serial or "").strip().lower()
        model = (asset.model or "").strip().lower()
        vendor = (asset.vendor or "").strip().lower()
        known = self.by_model.get((model, vendor))
        if known is None:
            models = self._models(model, vendor)
            known = self.by_model[(model, vendor)] = (models, _merge(models))
        by_serial = self.by_serial.get(serial) if serial else None
        return _merge(by_serial + known[0]) if by_serial else known[1]

    def _models(self, model: str, vendor: str) -> list[HardwareOverride]:
        found: list[HardwareOverride] = []
        for local in (True, False):
            for entry in self.entries:
                if entry.local != local or entry.serial or not entry.model or not model:
                    continue
                maker = (entry.vendor or "").strip().lower()
                if maker and vendor not in OS_MAKERS and maker not in vendor:
                    continue
                if fnmatch.fnmatchcase(model, entry.model.strip().lower()):
                    found.append(entry)
                    break
        return found


def _merge(found: list[HardwareOverride]) -> HardwareFacts | None:
    """The facts of the entries found, merged field by field in their order."""
    if not found:
        return None

    def first(attr: str) -> tuple[date | None, str | None]:
        for entry in found:
            value = getattr(entry, attr)
            if value is not None:
                return value, entry.source
        return None, None

    # the first entry with an end-of-support date or a status decides the verdict
    decides = next((e for e in found if e.end_of_support or e.status), None)
    eos = decides.end_of_support if decides else None
    status = decides.status if decides and eos is None else None
    warranty, w_src = first("warranty_until")
    made, m_src = first("manufactured")
    sale, _ = first("end_of_sale")
    swm, _ = first("end_of_sw_maintenance")
    family = next((e.family for e in found if e.family), None)
    picked = (decides.source if decides else None, w_src, m_src)
    sources = sorted({s for s in picked if s} or {found[0].source})
    return HardwareFacts(
        end_of_sale=sale,
        end_of_support=eos,
        warranty_until=warranty,
        manufactured=made,
        source="; ".join(sources),
        end_of_sw_maintenance=swm,
        status=status,
        family=family,
    )


@dataclass(frozen=True, slots=True)
class HardwareFacts:
    end_of_sale: date | None
    end_of_support: date | None
    warranty_until: date | None
    manufactured: date | None
    source: str
    end_of_sw_maintenance: date | None = None
    status: str | None = None  # eol / supported when no end-of-support date is known
    family: str | None = None

    @property
    def judged(self) -> bool:
        """Whether the facts give the hardware a verdict (a date or the vendor's status)."""
        return self.end_of_support is not None or self.status is not None


def following_hardware(
    asset: AssetInput,
    comp: ComponentSupport,
    release: Release,
    products: dict[str, Product],
    hw: ComponentSupport | None,
) -> ComponentSupport:
    """An OS or firmware release with no date of its own takes its hardware's verdict."""
    product = products[comp.product or ""]
    label = f"{release_label(product, release)}: no end date of its own, supported as long as the "
    if hw is None:
        model = asset.model or "(no model reported)"
        return replace(
            comp,
            evidence=f"{label}hardware, and no hardware lifecycle entry matches {model!r} "
            "(add one to hardware.yaml)",
            why=NO_DATE,
        )
    sources = [s for s in (release.source or product.source, hw.source) if s]
    return replace(
        comp,
        status=hw.status,
        evidence=f"{label}hardware: {hw.evidence}",
        ends=hw.ends,
        days_remaining=hw.days_remaining,
        source="; ".join(dict.fromkeys(sources)),
        why=None,
    )


def hardware_component(asset: AssetInput, facts: HardwareFacts, today: date) -> ComponentSupport:
    subject = " ".join(x for x in (asset.vendor, asset.model) if x) or (asset.serial or "hardware")
    named = f"{subject} ({facts.family})" if facts.family else subject
    end = facts.end_of_support
    if end is None:
        eol = facts.status == EOL
        said = "end of vendor support" if eol else "vendor support continues"
        return ComponentSupport(
            component="hardware",
            subject=subject,
            status=EOL if eol else SUPPORTED,
            evidence=f"{named}: {said} (the vendor's status; no date published here)",
            source=facts.source,
        )
    days = (end - today).days
    status = SUPPORTED if days > 0 else EOL
    verb = "vendor support until" if days > 0 else "vendor support ended"
    notes = []
    if facts.end_of_sale is not None and facts.end_of_sale <= today:
        notes.append(f"end of sale {facts.end_of_sale}")
    swm = facts.end_of_sw_maintenance
    if days > 0 and swm is not None:
        notes.append(
            f"software maintenance ended {swm} (security fixes only)"
            if swm <= today
            else f"software maintenance until {swm}"
        )
    more = f"; {', '.join(notes)}" if notes else ""
    return ComponentSupport(
        component="hardware",
        subject=subject,
        status=status,
        evidence=f"{named}: {verb} {end} ({abs(days)} days {'left' if days > 0 else 'ago'}){more}",
        ends=end,
        days_remaining=days,
        source=facts.source,
    )
