"""``cloudward import FILE``: assets and dependencies known only on paper (or exported from
another inventory), stored beside what was discovered so the planner sees one estate.

Imported assets are keyed by their id in the file, so importing the same file again updates
them; a discovered box with the same serial, or name and address, becomes the same asset.
Imported dependencies replace the ones imported before; observed ones are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, delete, select

import planner
from agent.store import Store, utcnow
from agent.store import tables as m
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


def import_estate(store: Store, text: str, fmt: str, source: str) -> ImportReport:
    """Parse and store; raises planner.ImportFormatError naming the row and column."""
    assets, deps = planner.parse_import(text, fmt)
    report = ImportReport()
    ids: dict[str, int] = {}
    for a in assets:
        tags = list(a.tags)
        if a.environment != "unknown":
            tags.append(a.environment)
        exposures = [{"kind": e.kind, "detail": e.detail or f"from {source}"} for e in a.exposures]
        asset_id = store.save_facts(
            facts_from_input(a), site=a.site, tags=tags, exposures=exposures
        )
        store.set_planning_hints(asset_id, _hints(a))
        ids[a.id] = asset_id
        report.assets += 1
    if deps:
        report.dependencies, report.external_peers = _store_dependencies(store, deps, ids)
    return report


def _store_dependencies(
    store: Store, deps: tuple[planner.Dependency, ...], ids: dict[str, int]
) -> tuple[int, list[str]]:
    now = utcnow()
    with store.session() as s:
        by_name: dict[str, int] = {}
        for aid, name, sys_name, addr in s.exec(
            select(m.Asset.id, m.Asset.name, m.Asset.sys_name, m.Asset.mgmt_address)
        ).all():
            for n in (name, sys_name, addr):
                if n and aid is not None:
                    by_name.setdefault(n.lower(), aid)
        for addr, aid in s.exec(select(m.AddressRow.address, m.AddressRow.asset_id)).all():
            by_name.setdefault(addr.lower(), aid)

        def resolve(ref: str) -> int | None:
            return ids.get(ref) or by_name.get(ref.lower())

        s.exec(delete(m.DependencyRow).where(col(m.DependencyRow.origin) == "import"))
        externals: set[str] = set()
        seen: set[tuple[str, str, int]] = set()
        for d in deps:
            src, dst = resolve(d.src), resolve(d.dst)
            src_key = f"asset:{src}" if src is not None else f"ext:{d.src}"
            dst_key = f"asset:{dst}" if dst is not None else f"ext:{d.dst}"
            externals.update(k[4:] for k in (src_key, dst_key) if k.startswith("ext:"))
            key = (src_key, dst_key, d.port or 0)
            if key in seen:
                continue
            seen.add(key)
            s.add(
                m.DependencyRow(
                    src_key=src_key,
                    dst_key=dst_key,
                    origin="import",
                    src_asset_id=src,
                    dst_asset_id=dst,
                    src_address=None if src is not None else d.src,
                    dst_address=None if dst is not None else d.dst,
                    port=d.port or 0,
                    service=d.service,
                    client_process=d.process,
                    count=max(1, d.count),
                    seen_by_client=True,
                    seen_by_server=False,
                    first_seen=now,
                    last_seen=now,
                )
            )
        s.commit()
    return len(seen), sorted(externals)


def read_import(path: Path, fmt: str | None) -> tuple[str, str]:
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise ValueError(f"{path}: cannot tell the format from the name; pass --format csv|json")
    return path.read_text(encoding="utf-8-sig"), fmt
