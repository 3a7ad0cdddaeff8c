"""The planner's input: an :class:`Estate` of :class:`AssetInput` and :class:`Dependency` records.

Plain frozen records with plain strings: the planner never imports the collectors. Device classes
follow the collectors' vocabulary (switch, router, firewall, server, hypervisor, bmc, storage, ups,
pdu, printer, wireless, camera, appliance, endpoint, unknown); OS names are what the collectors
report ("Windows", "Red Hat Enterprise Linux", "RHEL", "Ubuntu", "ESXi", "IOS-XE", "FortiOS", ...).
A dependency ``src -> dst`` means *src* opened connections to *dst* (src depends on dst).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any, overload

from planner.errors import EstateError

DEVICE_CLASSES = (
    "switch",
    "router",
    "firewall",
    "server",
    "hypervisor",
    "bmc",
    "storage",
    "ups",
    "pdu",
    "printer",
    "wireless",
    "camera",
    "appliance",
    "endpoint",
    "unknown",
)
ENVIRONMENTS = ("prod", "dev", "test", "staging", "dr", "unknown")
NON_PRODUCTION = frozenset({"dev", "test", "staging"})
DEPENDENCY_KINDS = ("hard", "soft", "unknown")
CRITICALITY_LABELS = ("low", "medium", "high", "critical")
EXPOSURE_KINDS = (
    "telnet",
    "snmp-default-community",
    "snmp-cleartext",
    "smbv1",
    "old-tls",
    "weak-ssh",
)


@dataclass(frozen=True, slots=True)
class Listener:
    """A listening socket seen on the asset."""

    port: int
    proto: str = "tcp"
    service: str | None = None
    process: str | None = None


@dataclass(frozen=True, slots=True)
class Exposure:
    """An insecure service observed on the asset (``kind`` is one of :data:`EXPOSURE_KINDS`)."""

    kind: str
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXPOSURE_KINDS:
            raise EstateError(
                f"exposure kind {self.kind!r} is not one of {', '.join(EXPOSURE_KINDS)}"
            )


@dataclass(frozen=True, slots=True)
class AssetInput:
    """One asset as the planner sees it. Only ``id`` is required; unknowns stay ``None``."""

    id: str
    name: str | None = None
    addresses: tuple[str, ...] = ()
    site: str | None = None
    environment: str = "unknown"
    device_class: str = "unknown"
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    firmware: str | None = None
    architecture: str | None = None
    software: tuple[tuple[str, str | None], ...] = ()
    cpu_count: int | None = None
    memory_bytes: int | None = None
    disk_bytes: int | None = None
    cpu_util_pct: float | None = None
    memory_util_pct: float | None = None
    # Days of sampled history the two figures above rest on (each the p95 over those days);
    # None: a single poll's figure (or an import's).
    util_days: int | None = None
    listening: tuple[Listener, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    first_seen: date | None = None
    manufactured: date | None = None
    bios_date: date | None = None
    idle_days: int | None = None
    application: str | None = None
    tags: tuple[str, ...] = ()
    criticality: str | None = None
    virtual: bool | None = None
    host: str | None = None
    hub: bool | None = None
    redundant: bool | None = None
    external: bool = False
    power_watts: float | None = None
    support_cost: float | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise EstateError("an asset has an empty id: every asset needs a unique id")
        if self.environment not in ENVIRONMENTS:
            raise EstateError(
                f"asset {self.id!r}: environment {self.environment!r} is not one of "
                f"{', '.join(ENVIRONMENTS)}"
            )
        if self.device_class not in DEVICE_CLASSES:
            raise EstateError(
                f"asset {self.id!r}: device class {self.device_class!r} is not one of "
                f"{', '.join(DEVICE_CLASSES)}"
            )
        if self.criticality is not None and self.criticality not in CRITICALITY_LABELS:
            raise EstateError(
                f"asset {self.id!r}: criticality {self.criticality!r} is not one of "
                f"{', '.join(CRITICALITY_LABELS)}"
            )

    @property
    def label(self) -> str:
        """The name to show people: the host name when known, else the id."""
        return self.name or self.id

    @property
    def production(self) -> bool:
        """Production unless known to be dev/test/staging (unknown counts as production)."""
        return self.environment not in NON_PRODUCTION


@dataclass(frozen=True, slots=True)
class Dependency:
    """``src`` holds connections to ``dst`` (on ``port``): src depends on dst."""

    src: str
    dst: str
    port: int | None = None
    service: str | None = None
    process: str | None = None
    count: int = 1
    first_seen: date | None = None
    last_seen: date | None = None
    kind: str = "unknown"

    def __post_init__(self) -> None:
        if self.kind not in DEPENDENCY_KINDS:
            raise EstateError(
                f"dependency {self.src} -> {self.dst}: kind {self.kind!r} is not one of "
                f"{', '.join(DEPENDENCY_KINDS)}"
            )


DependencyRow = tuple[
    str, str, "int | None", "str | None", "str | None", int, "date | None", "date | None", str
]


class DependencyRows(Sequence[Dependency]):
    """Dependencies kept as plain tuples, each the fields of a :class:`Dependency` in their
    declared order (``src, dst, port, service, process, count, first_seen, last_seen, kind``),
    read as :class:`Dependency` records one at a time. A store's million dependency rows
    become a tuple each rather than a frozen record each (several times cheaper to make and
    to keep), and the planner reads its columns (:meth:`column`) without either. Equal to any
    sequence of the same dependencies."""

    __slots__ = ("_rows",)
    FIELDS = tuple(f.name for f in fields(Dependency))

    def __init__(self, rows: Iterable[DependencyRow]) -> None:
        kept = tuple(rows)
        width = len(self.FIELDS)
        if set(map(len, kept)) - {width}:
            raise EstateError(
                f"a dependency row must hold {width} fields: {', '.join(self.FIELDS)}"
            )
        kinds = set(map(itemgetter(width - 1), kept)) - set(DEPENDENCY_KINDS)
        if kinds:
            bad = sorted(map(repr, kinds))
            raise EstateError(
                f"dependency kind {', '.join(bad)} is not one of {', '.join(DEPENDENCY_KINDS)}"
            )
        self._rows: tuple[DependencyRow, ...] = kept

    def column(self, name: str) -> Iterator[Any]:
        """One field of every dependency, in order."""
        return map(itemgetter(self.FIELDS.index(name)), self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Dependency: ...
    @overload
    def __getitem__(self, index: slice) -> DependencyRows: ...
    def __getitem__(self, index: int | slice) -> Dependency | DependencyRows:
        if isinstance(index, slice):
            return DependencyRows(self._rows[index])
        return Dependency(*self._rows[index])

    def __iter__(self) -> Iterator[Dependency]:
        return (Dependency(*r) for r in self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DependencyRows):
            return self._rows == other._rows
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"DependencyRows(<{len(self._rows)} dependencies>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (DependencyRows, (self._rows,))


def dependency_column(dependencies: Sequence[Dependency], name: str) -> Iterator[Any]:
    """One field of every dependency, in order, from a tuple of records or from rows."""
    if isinstance(dependencies, DependencyRows):
        return dependencies.column(name)
    return map(attrgetter(name), dependencies)


@dataclass(frozen=True, slots=True)
class Estate:
    """Everything the planner plans: assets and the dependencies between them (a tuple of
    :class:`Dependency` records, or :class:`DependencyRows` for many)."""

    assets: tuple[AssetInput, ...]
    dependencies: tuple[Dependency, ...] | DependencyRows = ()
