"""``cloudward import FILE``: assets and dependencies known only on paper (or exported from
another inventory), stored beside what was discovered so the planner sees one estate.

Imported assets are keyed by their id in the file, so importing the same file again updates
them; a discovered box with the same serial, or name and address, becomes the same asset.
Imported dependencies replace the ones imported before; observed ones are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlmodel import Session, select

import planner
from agent.store import Store, bulk, utcnow
from agent.store import tables as m
from agent.store.bulk import DependencyRow, ImportedAsset, execute_many
from agent.store.inert import has_control
from agent.store.link_kinds import HOSTS
from agent.store.placement import IMPORTED, link_imported_host
from collectors.facts import Facts, Identity, Listening, Software, Storage, Utilisation

HINT_FIELDS = (
    "environment",
    "application",
    "criticality",
    "idle_days",
    "hub",
    "redundant",
    "external",
    "host",
    "power_watts",
    "support_cost",
    "virtual",
    "architecture",
)


@dataclass
class ImportReport:
    assets: int = 0
    dependencies: int = 0
    external_peers: list[str] = field(default_factory=list)
    placed: int = 0  # guests linked to their hypervisor from the host column


def facts_from_input(a: planner.AssetInput) -> Facts:
    disks = (Storage("imported disks", "fixed", a.disk_bytes),) if a.disk_bytes else ()
    util = None
    if a.cpu_util_pct is not None or a.memory_util_pct is not None:
        util = Utilisation(cpu_pct=a.cpu_util_pct, mem_pct=a.memory_util_pct)
    return Facts(
        target=a.id,
        protocol="import",
        address=a.addresses[0] if a.addresses else None,
        sys_name=a.name or a.id,
        identity=Identity(
            vendor=a.vendor or "unknown",
            device_class=a.device_class,
            model=a.model,
            os_name=a.os_name,
            os_version=a.os_version,
            serial=a.serial,
            firmware=a.firmware,
            evidence={"device_class": "imported"},
        ),
        cpu_count=a.cpu_count,
        memory_bytes=a.memory_bytes,
        manufacture_date=a.manufactured.isoformat() if a.manufactured else None,
        bios_date=a.bios_date.isoformat() if a.bios_date else None,
        software=tuple(Software(n, v, kind="application") for n, v in a.software),
        storage=disks,
        listening=tuple(
            Listening(li.proto, "0.0.0.0", li.port, li.process)  # noqa: S104
            for li in a.listening
        ),
        utilisation=util,
    )


def _hints(a: planner.AssetInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in HINT_FIELDS:
        value = getattr(a, name)
        if (
            value is None
            or (name == "environment" and value == "unknown")
            or (name == "external" and value is False)
        ):
            continue
        out[name] = value
    return out


Progress = Callable[[str], None]
BATCH = 2_000  # assets per transaction
LOUD = 50_000  # rows from which an import reports its progress


def import_estate(
    store: Store, text: str, fmt: str, source: str, progress: Progress | None = None
) -> ImportReport:
    """Parse and store; raises planner.ImportFormatError naming the row and column."""
    assets, deps = planner.parse_import(text, fmt)
    return store_import(store, assets, deps, source, progress)


def import_file(
    store: Store, path: Path, fmt: str | None = None, progress: Progress | None = None
) -> ImportReport:
    """``cloudward import FILE``: read the file as it goes, check every row, then store. A bad
    row raises planner.ImportFormatError (naming the row and column) before anything is
    written; so does a file that is not UTF-8 (UnicodeDecodeError)."""
    fmt = import_format(path, fmt)

    def read(rows: int) -> None:
        if progress is not None:
            progress(f"read {rows:,} rows of {path.name}")

    with path.open(encoding="utf-8-sig") as f:
        scanned = _Scanned(f)
        assets, deps = planner.parse_import_stream(scanned, fmt, read)
    # CSV cells are the file's text as it is; JSON strings may spell control characters as
    # escapes (\u0007), so only a CSV file read whole without one is known to be inert
    inert = fmt == "csv" and scanned.clean and not has_control(path.name)
    return store_import(store, assets, deps, path.name, progress, inert=inert)


class _Scanned:
    """A text file read through, noting whether any text it gave held a control character
    (text mode turns every line ending into a newline, which is not one)."""

    def __init__(self, f: TextIO) -> None:
        self.f = f
        self.clean = True

    def read(self, size: int = -1, /) -> str:
        return self._scan(self.f.read(size))

    def __iter__(self) -> Iterator[str]:
        """The lines, read and scanned some 64 KiB at a time (a million lines: not a call
        each to scan)."""
        while lines := self.f.readlines(1 << 16):
            if self.clean:
                self._scan("".join(lines))
            yield from lines

    def _scan(self, text: str) -> str:
        if self.clean and has_control(text):
            self.clean = False
        return text


def store_import(
    store: Store,
    assets: tuple[planner.AssetInput, ...],
    deps: tuple[planner.Dependency, ...],
    source: str,
    progress: Progress | None = None,
    *,
    inert: bool = False,
) -> ImportReport:
    """Store parsed rows: assets a batch per transaction (new ones by executemany, ones the
    store may know one at a time through identity resolution), then the dependencies.
    ``inert``: the rows' text is known to hold no control character (see save_imported)."""

    report = ImportReport()
    ids: dict[str, int] = {}
    loud = progress if progress is not None and len(assets) + len(deps) >= LOUD else None
    # a line about every tenth of the assets (every 10,000 of 100,000), as the dependencies
    # are told every 100,000 of a million, and one when all are stored
    every = max(BATCH, len(assets) // 10)
    for start in range(0, len(assets), BATCH):
        chunk = assets[start : start + BATCH]
        items = []
        for a in chunk:
            tags = list(a.tags)
            if a.environment != "unknown":
                tags.append(a.environment)
            exposures = [
                {"kind": e.kind, "detail": e.detail or f"from {source}"} for e in a.exposures
            ]
            items.append(ImportedAsset(facts_from_input(a), a.site, tags, exposures, _hints(a)))
        stored = bulk.save_imported(store, items, utcnow(), inert=inert)
        for a, asset_id in zip(chunk, stored, strict=True):
            ids[a.id] = asset_id
        report.assets += len(chunk)
        if loud is not None and (
            report.assets == len(assets) or report.assets // every > start // every
        ):
            loud(f"stored {report.assets:,} of {len(assets):,} assets")
    report.placed = _store_placement(store, assets, ids, source)
    if deps:
        if loud is not None:
            loud(f"storing {len(deps):,} dependencies")
        report.dependencies, report.external_peers = _store_dependencies(store, deps, ids, loud)
    return report


def _store_placement(
    store: Store, assets: tuple[planner.AssetInput, ...], ids: dict[str, int], source: str
) -> int:
    """``hosts`` links from the ``host`` column: the hypervisor is a row of this file (by its
    id) or an asset already stored (by name or address); an observed link is never replaced."""
    now = utcnow()
    placed = 0
    with store.session() as s:
        by_name = _names(s)
        hosted = set(
            s.exec(select(m.AssetLink.dst_asset_id).where(m.AssetLink.kind == HOSTS)).all()
        )
        new: list[dict[str, Any]] = []  # links to guests no link points to yet: just rows
        for a in assets:
            guest = ids[a.id]
            host = (ids.get(a.host) or by_name.get(a.host.lower())) if a.host else None
            evidence = f"{source}: host column {a.host!r}"
            if guest not in hosted:  # nothing to take away: what link_imported_host would add
                if host is not None and host != guest:
                    new.append(_hosts_link(host, guest, f"{IMPORTED} {evidence}", now))
                    hosted.add(guest)
                    placed += 1
                continue
            execute_many(s.connection(), m.AssetLink, new)
            new.clear()
            link_imported_host(s, guest, host, evidence, now)
            placed += host is not None and host != guest
        execute_many(s.connection(), m.AssetLink, new)
        s.commit()
    return placed


def _hosts_link(host: int, guest: int, evidence: str, now: datetime) -> dict[str, Any]:
    return {
        "src_asset_id": host,
        "dst_asset_id": guest,
        "kind": HOSTS,
        "evidence": evidence[:255],
        "first_seen": now,
        "last_seen": now,
    }


def _names(s: Session) -> dict[str, int]:
    """Asset ids by lower-case name, system name and address (the first asset of each)."""
    by_name: dict[str, int] = {}
    for aid, name, sys_name, addr in s.exec(
        select(m.Asset.id, m.Asset.name, m.Asset.sys_name, m.Asset.mgmt_address).where(
            m.Asset.status == "active"
        )
    ).all():
        for n in (name, sys_name, addr):
            if n and aid is not None:
                by_name.setdefault(n.lower(), aid)
    for addr, aid in s.exec(select(m.AddressRow.address, m.AddressRow.asset_id)).all():
        by_name.setdefault(addr.lower(), aid)
    return by_name


def _store_dependencies(
    store: Store,
    deps: tuple[planner.Dependency, ...],
    ids: dict[str, int],
    progress: Progress | None = None,
) -> tuple[int, list[str]]:

    with store.session() as s:
        by_name = _names(s)

    def resolve(ref: str) -> int | None:
        return ids.get(ref) or by_name.get(ref.lower())

    externals: set[str] = set()

    def rows() -> Iterator[DependencyRow]:
        seen: set[tuple[int | str, int | str, int]] = set()
        for d in deps:
            src, dst = resolve(d.src), resolve(d.dst)
            if src is None:
                externals.add(d.src)
            if dst is None:
                externals.add(d.dst)
            key = (
                src if src is not None else d.src,
                dst if dst is not None else d.dst,
                d.port or 0,
            )
            if key in seen:
                continue
            seen.add(key)
            yield DependencyRow(
                src, dst, d.src, d.dst, d.port or 0, d.service, d.process, max(1, d.count)
            )

    def stored(n: int) -> None:
        if progress is not None:
            progress(f"stored {n:,} dependencies")

    count = bulk.replace_imported_dependencies(store, rows(), utcnow(), stored, expected=len(deps))
    return count, sorted(externals)


def import_format(path: Path, fmt: str | None) -> str:
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise ValueError(f"{path}: cannot tell the format from the name; pass --format csv|json")
    return fmt


def read_import(path: Path, fmt: str | None) -> tuple[str, str]:
    fmt = import_format(path, fmt)
    return path.read_text(encoding="utf-8-sig"), fmt
