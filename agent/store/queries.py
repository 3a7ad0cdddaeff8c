"""Read queries behind the API, pages and exports (filters use the store's indexes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, and_, col, func, or_, select

from agent.store import jsontext
from agent.store import tables as m
from agent.store.database import Store, json_value, utc
from planner.hardware_dating import hardware_date

ASSET_LIST_FIELDS = (
    "id",
    "name",
    "device_class",
    "vendor",
    "model",
    "os_name",
    "os_version",
    "serial",
    "firmware",
    "mgmt_address",
    "site",
    "tags",
    "sources",
    "status",
    "first_seen",
    "last_seen",
)

_PLAN_FIELDS = ("support_status", "days_to_eos", "debt", "strategy", "wave")


@dataclass(frozen=True)
class AssetFilter:
    device_class: str | None = None
    site: str | None = None
    support_status: str | None = None
    min_debt: float | None = None
    q: str | None = None
    status: str = "active"  # active, replaced, gone, or all


def _asset_json(a: m.Asset, plan: m.AssetPlan | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(a, f) for f in ASSET_LIST_FIELDS}
    for f in ("first_seen", "last_seen"):
        out[f] = out[f].isoformat() if out[f] else None
    out["support_status"] = plan.support_status if plan else "unknown"
    out["days_to_end_of_support"] = plan.days_to_eos if plan else None
    out["debt"] = plan.debt if plan else None
    out["strategy"] = plan.strategy if plan else None
    out["wave"] = plan.wave if plan else None
    return out


_DATE_SOURCES = {
    ("manufacture_date", "snmp"): "ENTITY-MIB entPhysicalMfgDate of the chassis, over SNMP",
    ("bios_date", "ssh"): "SMBIOS BIOS release date, over SSH",
}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def hardware_age(a: m.Asset, today: date | None = None) -> dict[str, Any] | None:
    """The best date for the asset's hardware age and where it came from (manufacture date,
    BIOS date, serial date code, first seen: :mod:`planner.hardware_dating`)."""
    today = today or datetime.now(UTC).date()

    def said(name: str) -> str:
        src = a.field_sources.get(name) or "unknown source"
        return _DATE_SOURCES.get((name, src)) or ("the import" if src == "import" else src)

    found = hardware_date(
        manufactured=_day(a.manufacture_date),
        bios_date=_day(a.bios_date),
        vendor=a.vendor,
        serial=a.serial,
        first_seen=a.first_seen.date() if a.first_seen else None,
        today=today,
        manufactured_from=said("manufacture_date"),
        bios_from=said("bios_date"),
    )
    if found is None:
        return None
    return {
        "date": found.day.isoformat(),
        "source": found.source,
        "label": found.label,
        "years": round((today - found.day).days / 365.25, 1),
        "evidence": found.evidence,
    }


def current_plan_id(s: Session) -> int | None:
    row = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc()).limit(1)).first()
    return int(row) if row is not None else None


def _asset_conditions(f: AssetFilter) -> tuple[list[str], list[str], dict[str, Any]]:
    """The filter as SQL conditions on the asset (``a``) and on its row in the current plan
    (``p``), with their parameters."""
    asset: list[str] = []
    plan: list[str] = []
    params: dict[str, Any] = {}
    if f.status != "all":
        asset.append("a.status = :status")
        params["status"] = f.status
    if f.device_class:
        asset.append("a.device_class = :device_class")
        params["device_class"] = f.device_class
    if f.site:
        asset.append("a.site = :site")
        params["site"] = f.site
    if f.q:
        # A substring, literally: % and _ (and the escape character) match only themselves.
        text = f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        asset.append(
            "(lower(a.name) LIKE :like ESCAPE :escape"
            " OR lower(a.mgmt_address) LIKE :like ESCAPE :escape)"
        )
        params.update(like=f"%{text}%", escape="\\")
    if f.support_status == "unknown":
        plan.append("(p.support_status IS NULL OR p.support_status = 'unknown')")
    elif f.support_status:
        plan.append("p.support_status = :support_status")
        params["support_status"] = f.support_status
    if f.min_debt is not None:
        plan.append("p.debt >= :min_debt")
        params["min_debt"] = f.min_debt
    return asset, plan, params


_LIST_SQL = ", ".join([*(f"a.{c}" for c in ASSET_LIST_FIELDS), *(f"p.{c}" for c in _PLAN_FIELDS)])
_JOINED = (
    "FROM cw_asset a LEFT OUTER JOIN cw_asset_plan p ON p.asset_id = a.id AND p.plan_id = :plan"
)
# SQLite's count of assets filtered on their plan rows (where a row is needed: a known support
# status, a least debt) starts from the plan rows and finds each asset by its id. SQLite keeps
# no distribution of values: its statistics rate a device class as one in seven of the assets,
# and when it chooses by them it starts from the assets' index, which costs twice as much
# where servers are most of the estate (100,000 assets, 19,550 end-of-life servers: 28 ms
# against 13 ms). Starting from the plan rows costs at most one look-up per matching plan row
# (14 ms for 36,900 where none is a UPS, 2 ms from the assets' side), so the worst case is
# bounded by the plan's size. ``CROSS JOIN`` fixes the order; the page itself is left to the
# statistics (it stops at its first rows).
_COUNTED_FROM_PLAN = (
    "SELECT count(*) FROM cw_asset_plan p CROSS JOIN cw_asset a ON a.id = p.asset_id "
    "WHERE p.plan_id = :plan AND "
)


def list_assets_page(
    store: Store, f: AssetFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of assets with their current plan's results, and how many match in all.

    Only the listed columns are read (not the JSON evidence of every asset, nor its plan
    detail). A plan has at most one row per asset (a unique index), so unless the filter is on
    plan columns the count is that of the assets alone. Plain SQL on one connection (the API
    answers this on most requests: the ORM's session and statement building cost as much as
    the queries on an indexed 100,000-asset store)."""
    on_asset, on_plan, params = _asset_conditions(f)
    where = " AND ".join(on_asset + on_plan) or "1 = 1"
    with store.reading() as read:
        found = read("SELECT id FROM cw_plan ORDER BY id DESC LIMIT 1", {})
        params["plan"] = int(found[0][0]) if found else -1
        if on_plan and f.support_status != "unknown" and store.engine.dialect.name == "sqlite":
            counted = _COUNTED_FROM_PLAN + where
        elif on_plan:
            counted = f"SELECT count(*) {_JOINED} WHERE {where}"
        else:
            counted = f"SELECT count(*) FROM cw_asset a WHERE {where}"
        total = int(read(counted, params)[0][0])
        rows = read(
            f"SELECT {_LIST_SQL} {_JOINED} WHERE {where} ORDER BY a.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    return [_listed_json(row) for row in rows], total


def _listed_json(row: Any) -> dict[str, Any]:
    """What :func:`_asset_json` makes, from a row of ``_LIST_SQL`` as the driver gives it."""
    n = len(ASSET_LIST_FIELDS)
    out: dict[str, Any] = dict(zip(ASSET_LIST_FIELDS, row[:n], strict=True))
    out["tags"] = json_value(out["tags"])
    out["sources"] = json_value(out["sources"])
    for f in ("first_seen", "last_seen"):
        when = utc(out[f])
        out[f] = when.isoformat() if when else None
    status, days, debt, strategy, wave = row[n:]
    out["support_status"] = status if status is not None else "unknown"
    out["days_to_end_of_support"] = days
    out["debt"] = debt
    out["strategy"] = strategy
    out["wave"] = wave
    return out


def _rows(s: Session, table: Any, asset_id: int) -> list[dict[str, Any]]:
    rows = s.exec(select(table).where(table.asset_id == asset_id).order_by(table.id)).all()
    return [r.model_dump(mode="json", exclude={"asset_id"}) for r in rows]


def _links(
    s: Session, asset_id: int, kind: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The assets this one links to and those linking to it, by ``kind``."""
    out: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    rows = s.exec(
        select(m.AssetLink, m.Asset)
        .join(
            m.Asset,
            or_(
                and_(
                    col(m.AssetLink.src_asset_id) == asset_id,
                    col(m.Asset.id) == m.AssetLink.dst_asset_id,
                ),
                and_(
                    col(m.AssetLink.dst_asset_id) == asset_id,
                    col(m.Asset.id) == m.AssetLink.src_asset_id,
                ),
            ),
        )
        .where(m.AssetLink.kind == kind)
        .order_by(col(m.AssetLink.id))
    ).all()
    for link, other in rows:
        side = out[0] if link.src_asset_id == asset_id else out[1]
        side.append({"id": other.id, "name": other.name, "evidence": link.evidence})
    return out


def plan_detail(s: Session, detail_id: int) -> dict[str, Any] | None:
    """The detail of a plan row (its ``detail_id``): factors, support components, strategy
    reasons; None when it is gone or its text is no JSON object."""
    found = s.get(m.PlanDetail, detail_id)
    return None if found is None else detail_dict(found.detail, found.detail_zlib)


def detail_dict(text: str | None, packed: bytes | None = None) -> dict[str, Any] | None:
    """A plan row's detail from what ``cw_plan_detail`` keeps: its JSON text, or the text
    packed (``detail_zlib``); None when that is no JSON object or does not unpack."""
    try:
        value = jsontext.loads(jsontext.detail_text(text, packed))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def asset_detail(store: Store, asset_id: int) -> dict[str, Any] | None:
    with store.session() as s:
        asset = s.get(m.Asset, asset_id)
        if asset is None:
            return None
        plan_id = current_plan_id(s)
        plan = None
        if plan_id is not None:
            plan = s.exec(
                select(m.AssetPlan).where(
                    m.AssetPlan.plan_id == plan_id, m.AssetPlan.asset_id == asset_id
                )
            ).first()
        out = _asset_json(asset, plan)
        out.update(
            {
                k: getattr(asset, k)
                for k in (
                    "sys_name",
                    "sys_descr",
                    "sys_location",
                    "sys_contact",
                    "kernel",
                    "sys_object_id",
                    "engine_id",
                    "chassis_id",
                    "cpu_count",
                    "cpu_model",
                    "memory_bytes",
                    "disk_bytes",
                    "cpu_pct",
                    "mem_pct",
                    "uptime_s",
                    "bios_date",
                    "manufacture_date",
                    "system_uuid",
                    "snmp_version",
                    "evidence",
                    "field_sources",
                    "replaced_by",
                )
            }
        )
        out["manages"], out["managed_by"] = _links(s, asset_id, "manages")
        # hosts: a hypervisor -> its virtual machines (at most one host per guest)
        out["guests"], hosted_on = _links(s, asset_id, "hosts")
        out["hosted_on"] = hosted_on[0] if hosted_on else None
        out["virtual_machines"] = _rows(s, m.GuestRow, asset_id)
        # connects: a switch -> the endpoints on its edge ports; where this one was seen
        out["endpoints"], connected_to = _links(s, asset_id, "connects")
        out["connected_to"] = connected_to[0] if connected_to else None
        out["seen_on_ports"] = _rows(s, m.EndpointPort, asset_id)
        out["hardware_age"] = hardware_age(asset)
        out["plan"] = plan_detail(s, plan.detail_id) if plan else None
        out["interfaces"] = _rows(s, m.Interface, asset_id)
        out["addresses"] = _rows(s, m.AddressRow, asset_id)
        out["software"] = _rows(s, m.SoftwareRow, asset_id)
        out["hardware"] = _rows(s, m.HardwareRow, asset_id)
        out["storage"] = _rows(s, m.StorageRow, asset_id)
        out["neighbors"] = _rows(s, m.NeighborRow, asset_id)
        out["listening"] = _rows(s, m.ListeningRow, asset_id)
        out["connections"] = _rows(s, m.ConnectionRow, asset_id)
        hist = s.exec(
            select(m.AssetHistory)
            .where(m.AssetHistory.asset_id == asset_id)
            .order_by(col(m.AssetHistory.id).desc())
            .limit(500)
        ).all()
        out["history"] = [h.model_dump(mode="json", exclude={"asset_id"}) for h in hist]
        deps = s.exec(
            select(m.DependencyRow).where(
                or_(
                    m.DependencyRow.src_asset_id == asset_id,
                    m.DependencyRow.dst_asset_id == asset_id,
                )
            )
        ).all()
        out["dependencies"] = [d.model_dump(mode="json") for d in deps]
        return out


def list_poll_runs(
    store: Store, *, target: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    with store.session() as s:
        q = select(m.PollRun)
        if target:
            q = q.where(m.PollRun.target == target)
        if status:
            q = q.where(m.PollRun.status == status)
        total = int(s.exec(select(func.count()).select_from(q.subquery())).one())
        rows = s.exec(q.order_by(col(m.PollRun.id).desc()).offset(offset).limit(limit)).all()
        return [r.model_dump(mode="json") for r in rows], total
