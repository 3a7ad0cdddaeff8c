"""Product lifecycle facts: one reader for the endoflife.date API v1 shape, and the catalogue.

``GET https://endoflife.date/api/v1/products/<product>`` answers
``{"schema_version", "generated_at", "result": {"name", "label", "category", "releases": [...]}}``;
the snapshot files in the project's shared lifecycle folder have the same shape, so
:func:`parse_product` reads both. Status is computed against *today* from the ``*From`` dates
(``eoasFrom`` end of active support, ``eolFrom`` end of security support, ``eoesFrom`` end of
extended support); the ``is*`` flags were true on the day the data was generated and are used only
when a date is missing.

Extended support is paid (Windows ESU, RHEL ELS, Ubuntu Pro ESM) or free community long-term
support (Debian LTS). endoflife.date does not say which, so a product's ``extended_support`` comes
from the catalogue (``community`` or ``paid``); a product it does not name is taken as paid. The
verdict people see is one of :data:`VERDICTS`: supported, extended (paid), extended (community),
eol, unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from planner.errors import LifecycleDataError
from planner.fields import parse_day

SUPPORTED = "supported"
EXTENDED = "extended"
EOL = "eol"
UNKNOWN = "unknown"
STATUSES = (SUPPORTED, EXTENDED, EOL, UNKNOWN)
PAID = "paid"
COMMUNITY = "community"
EXTENDED_KINDS = (PAID, COMMUNITY)
VERDICTS = (SUPPORTED, f"{EXTENDED} ({PAID})", f"{EXTENDED} ({COMMUNITY})", EOL, UNKNOWN)
API_URL = "https://endoflife.date/api/v1/products/{product}"


@dataclass(frozen=True, slots=True)
class Release:
    """One release cycle of a product (endoflife.date's ``releases[]``)."""

    cycle: str
    label: str
    released: date | None = None
    active_until: date | None = None  # eoasFrom
    security_until: date | None = None  # eolFrom
    extended_until: date | None = None  # eoesFrom
    eol_flag: bool | None = None  # isEol on the day the data was generated
    latest: str | None = None
    source: str = ""
    # the vendor publishes no date for the release itself: it is supported as long as the
    # hardware it runs on (classic IOS 15.2E on a Catalyst, an iLO on its ProLiant)
    follows_hardware: bool = False


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    label: str
    category: str
    releases: tuple[Release, ...]
    source: str
    generated: date | None = None
    extended_support: str | None = None  # paid | community; None: the source does not say (paid)

    def release(self, cycle: str) -> Release | None:
        for rel in self.releases:
            if rel.cycle == cycle:
                return rel
        return None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The lifecycle facts the planner may use, by product name."""

    products: tuple[Product, ...] = ()

    def product(self, name: str) -> Product | None:
        for prod in self.products:
            if prod.name == name:
                return prod
        return None

    def index(self) -> dict[str, Product]:
        return {p.name: p for p in self.products}

    def merged(self, newer: Iterable[Product]) -> Lifecycle:
        """These facts overlaid with ``newer`` (e.g. synced from the API) release by release.

        A cycle present in both takes the newer facts; cycles only in the catalogue are kept
        (the API may not list old releases such as IOS-XE 16.9), and so is the catalogue's word
        on whether extended support is paid or community (the API does not say).
        """
        by_name = self.index()
        for prod in newer:
            old = by_name.get(prod.name)
            if old is None:
                by_name[prod.name] = prod
                continue
            cycles = {r.cycle for r in prod.releases}
            kept = tuple(r for r in old.releases if r.cycle not in cycles)
            by_name[prod.name] = replace(
                prod,
                releases=prod.releases + kept,
                extended_support=prod.extended_support or old.extended_support,
            )
        return Lifecycle(tuple(by_name[n] for n in sorted(by_name)))


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a release stands on a given day."""

    status: str
    ends: date | None  # when the current status ends (or ended, for eol)
    days_remaining: int | None  # negative: days since it ended
    phase: str  # wording for people: "active support", "security fixes only", ...
    extended: str | None = None  # paid | community while the status is extended

    @property
    def verdict(self) -> str:
        return verdict(self.status, self.extended)


def verdict(status: str, extended: str | None = None) -> str:
    """The status as people read it: 'extended (paid)' / 'extended (community)' for extended."""
    if status == EXTENDED:
        return f"{EXTENDED} ({extended or PAID})"
    return status


def standing_on(release: Release, today: date, extended_support: str | None = None) -> Standing:
    """Status of ``release`` on ``today`` from its dates (flags only fill missing dates).

    ``extended_support`` (the product's: paid or community) names the extended phase."""
    sec, ext = release.security_until, release.extended_until
    if sec is None:
        if release.eol_flag:
            return Standing(EOL, None, None, "end of life (source gives no date)")
        if release.eol_flag is False:
            return Standing(SUPPORTED, None, None, "supported, no end date announced")
        return Standing(UNKNOWN, None, None, "no end-of-support date known")
    if today < sec:
        active = release.active_until is not None and today < release.active_until
        phase = "active support" if active else "security fixes only"
        if release.active_until is None:
            phase = "supported"
        return Standing(SUPPORTED, sec, (sec - today).days, phase)
    if ext is not None and today < ext:
        kind = extended_support or PAID
        phase = (
            "free community long-term support (LTS) only"
            if kind == COMMUNITY
            else "paid extended support only"
        )
        return Standing(EXTENDED, ext, (ext - today).days, phase, kind)
    end = ext if ext is not None and ext > sec else sec
    return Standing(EOL, end, (end - today).days, "end of life")


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_product(obj: Any, *, source: str | None = None) -> Product:
    """Read one product in the endoflife.date API v1 shape (live response or snapshot file).

    Raises :class:`LifecycleDataError` naming what is missing when the shape is wrong.
    """
    if not isinstance(obj, Mapping):
        raise LifecycleDataError("lifecycle product: expected a JSON object")
    result = obj.get("result", obj)
    if not isinstance(result, Mapping) or "name" not in result:
        raise LifecycleDataError(
            "lifecycle product: no 'result.name' (is this the endoflife.date API v1 shape?)"
        )
    name = _text(result["name"])
    releases_raw = result.get("releases")
    if not isinstance(releases_raw, list):
        raise LifecycleDataError(f"lifecycle product {name!r}: 'releases' must be a list")
    where = source or API_URL.format(product=name)
    generated = parse_day(obj.get("generated_at"))
    seen: set[str] = set()
    releases: list[Release] = []
    for i, rel in enumerate(releases_raw):
        if not isinstance(rel, Mapping) or not rel.get("name"):
            raise LifecycleDataError(f"lifecycle product {name!r}: releases[{i}] has no name")
        cycle = _text(rel["name"])
        if cycle in seen:  # the data has the odd duplicate row; the first one wins
            continue
        seen.add(cycle)
        latest = rel.get("latest")
        releases.append(
            Release(
                cycle=cycle,
                label=_text(rel.get("label") or cycle),
                released=parse_day(rel.get("releaseDate")),
                active_until=parse_day(rel.get("eoasFrom")),
                security_until=parse_day(rel.get("eolFrom")),
                extended_until=parse_day(rel.get("eoesFrom")),
                eol_flag=_flag(rel.get("isEol")),
                latest=_text(latest.get("name")) or None if isinstance(latest, Mapping) else None,
                source=where,
            )
        )
    return Product(
        name=name,
        label=_text(result.get("label") or name),
        category=_text(result.get("category")),
        releases=tuple(releases),
        source=where,
        generated=generated,
    )


def catalogue_from_mapping(data: Any) -> Lifecycle:
    """The built-in catalogue (``config/lifecycle/catalogue.yaml``) as :class:`Lifecycle`.

    Shape: ``{products: {<name>: {label, category, source, extended_support, releases: [{cycle,
    label, released, active_until, security_until, extended_until, eol, source}]}}}``. Every
    release needs a source (its own or the product's); ``eol`` (true/false) only matters when
    there is no ``security_until`` date; ``extended_support`` (paid or community) says what the
    ``extended_until`` period is; ``follows_hardware: true`` marks a release the vendor gives no
    date of its own (it is supported as long as the hardware it runs on).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("products"), Mapping):
        raise LifecycleDataError("lifecycle catalogue: expected a mapping with 'products'")
    products: list[Product] = []
    problems: list[str] = []
    for name in sorted(data["products"]):
        body = data["products"][name]
        if not isinstance(body, Mapping):
            problems.append(f"products.{name}: must be a mapping")
            continue
        psource = _text(body.get("source"))
        kind = body.get("extended_support")
        if kind is not None and kind not in EXTENDED_KINDS:
            problems.append(
                f"products.{name}.extended_support: must be {' or '.join(EXTENDED_KINDS)}"
            )
            kind = None
        releases: list[Release] = []
        for i, rel in enumerate(body.get("releases") or []):
            where = f"products.{name}.releases[{i}]"
            if not isinstance(rel, Mapping) or rel.get("cycle") in (None, ""):
                problems.append(f"{where}: needs a 'cycle'")
                continue
            rsource = _text(rel.get("source")) or psource
            if not rsource:
                problems.append(f"{where}: needs a 'source' (or one on the product)")
            dates: dict[str, date | None] = {}
            for key in ("released", "active_until", "security_until", "extended_until"):
                raw = rel.get(key)
                dates[key] = parse_day(raw)
                if raw is not None and dates[key] is None:
                    problems.append(f"{where}.{key}: must be a date like 2026-04-01")
            flag = rel.get("eol")
            if flag is not None and not isinstance(flag, bool):
                problems.append(f"{where}.eol: must be true or false")
            follows = rel.get("follows_hardware", False)
            if not isinstance(follows, bool):
                problems.append(f"{where}.follows_hardware: must be true or false")
            elif follows and (flag is not None or dates["security_until"] is not None):
                problems.append(
                    f"{where}: follows_hardware takes its dates from hardware.yaml; "
                    "drop 'eol' and 'security_until'"
                )
            releases.append(
                Release(
                    cycle=_text(rel["cycle"]),
                    label=_text(rel.get("label") or rel["cycle"]),
                    released=dates["released"],
                    active_until=dates["active_until"],
                    security_until=dates["security_until"],
                    extended_until=dates["extended_until"],
                    eol_flag=_flag(flag),
                    source=rsource,
                    follows_hardware=follows is True,
                )
            )
        products.append(
            Product(
                name=str(name),
                label=_text(body.get("label") or name),
                category=_text(body.get("category")),
                releases=tuple(releases),
                source=psource,
                extended_support=kind,
            )
        )
    if problems:
        raise LifecycleDataError("lifecycle catalogue:\n" + "\n".join(f"  - {p}" for p in problems))
    return Lifecycle(tuple(products))
