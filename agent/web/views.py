"""Data for the pages, read from the store and the newest stored plan."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from agent.store import Store
from agent.store import tables as m
from agent.store.queries import asset_detail, detail_dict
from agent.web import figures

ASSET_ROWS = 1000  # the overview lists this many; the API pages through the rest
FACTOR_COLOURS = {
    "os_support": "#c0392b",
    "software_support": "#e67e22",
    "hardware_support": "#a04000",
    "support_runway": "#d4ac0d",
    "hardware_age": "#7d6608",
    "insecure_exposure": "#8e44ad",
    "utilisation": "#16a085",
    "criticality": "#2e86c1",
    "single_point_of_failure": "#1b4f72",
}


def _plan_row(s: Session) -> m.PlanRow | None:
    return s.exec(select(m.PlanRow).order_by(col(m.PlanRow.id).desc()).limit(1)).first()


def _plan_info(row: m.PlanRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "as_of": row.as_of,
        "created_at": row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "summary": row.summary,
    }


def asset_names(store: Store) -> dict[int, str]:
    with store.session() as s:
        return {i: n for i, n in s.exec(select(m.Asset.id, m.Asset.name)).all() if i is not None}


def overview(store: Store) -> dict[str, Any]:
    with store.session() as s:
        assets = s.exec(select(m.Asset).order_by(col(m.Asset.site), col(m.Asset.name))).all()
        plan = _plan_row(s)
        rows: dict[int, m.AssetPlan] = {}
        if plan is not None:
            rows = {
                p.asset_id: p
                for p in s.exec(select(m.AssetPlan).where(m.AssetPlan.plan_id == plan.id)).all()
            }
        since = datetime.now(UTC) - timedelta(days=1)
        polls = Counter(s.exec(select(m.PollRun.status).where(m.PollRun.started_at >= since)).all())
        failures = s.exec(
            select(m.PollRun)
            .where(m.PollRun.status == "failed")
            .order_by(col(m.PollRun.id).desc())
            .limit(10)
        ).all()
        deps = int(s.exec(select(func.count()).select_from(m.DependencyRow)).one())
    status = {a: p.support_status for a, p in rows.items()}
    by_status = Counter(status.get(a.id or 0, "unknown") for a in assets)
    sites: dict[str, Counter[str]] = {}
    for a in assets:
        sites.setdefault(a.site or "unassigned", Counter())[status.get(a.id or 0, "unknown")] += 1
    today = date.fromisoformat(plan.as_of) if plan is not None else date.today()
    eos, undated = figures.eos_chart(
        [(a.device_class, rows[a.id].days_to_eos if a.id in rows else None) for a in assets], today
    )
    return {
        "total": len(assets),
        "by_class": sorted(Counter(a.device_class for a in assets).items()),
        "by_site": sorted((k, sum(c.values()), c) for k, c in sites.items()),
        "by_status": [(k, by_status.get(k, 0)) for k in figures.STATUSES],
        "status_labels": figures.STATUS_LABELS,
        "polls": dict(polls),
        "failures": failures,
        "dependencies": deps,
        "assets": assets[:ASSET_ROWS],
        "more_assets": max(len(assets) - ASSET_ROWS, 0),
        "plans": rows,
        "status": status,
        "plan": _plan_info(plan),
        "has_plan": plan is not None,
        "class_chart": figures.status_by_class_chart(
            [(a.device_class, status.get(a.id or 0, "unknown")) for a in assets]
        ),
        "eos_chart": eos,
        "undated": undated,
        "without_data": by_status.get("unknown", 0),
    }


def factor_bar(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Segments of a debt bar: each factor's points (of 100) with its colour."""
    return [
        {
            "name": f["name"],
            "points": f["points"],
            "colour": FACTOR_COLOURS.get(f["name"], "#6e7781"),
        }
        for f in detail.get("factors", [])
        if f.get("points")
    ]


def debt(store: Store, limit: int = 200) -> dict[str, Any]:
    with store.session() as s:
        plan = _plan_row(s)
        if plan is None:
            return {"rows": [], "has_plan": False, "plan": None, "total": 0, "factors": []}
        found = s.exec(
            select(m.AssetPlan, m.Asset, m.PlanDetail.detail, m.PlanDetail.detail_zlib)
            .join(m.Asset, col(m.Asset.id) == m.AssetPlan.asset_id)
            .join(m.PlanDetail, col(m.PlanDetail.id) == m.AssetPlan.detail_id)
            .where(m.AssetPlan.plan_id == plan.id)
            .order_by(col(m.AssetPlan.debt).desc(), col(m.Asset.name))
            .limit(limit)
        ).all()
        rows = [(p, a, detail_dict(text, packed) or {}) for p, a, text, packed in found]
        total = int(
            s.exec(
                select(func.count()).select_from(m.AssetPlan).where(m.AssetPlan.plan_id == plan.id)
            ).one()
        )
    weights: dict[str, float] = {}
    for _, _, detail in rows:
        for f in detail.get("factors", []):
            weights.setdefault(f["name"], f["weight"])
    return {
        "rows": [(p, a, detail, factor_bar(detail)) for p, a, detail in rows],
        "total": total,
        "has_plan": True,
        "plan": _plan_info(plan),
        "factors": [(n, w, FACTOR_COLOURS.get(n, "#6e7781")) for n, w in weights.items()],
        "factor_colours": FACTOR_COLOURS,
    }


def waves(store: Store) -> dict[str, Any]:
    with store.session() as s:
        plan = _plan_row(s)
        if plan is None:
            return {"waves": [], "has_plan": False, "plan": None}
        rows = s.exec(
            select(m.WaveRow).where(m.WaveRow.plan_id == plan.id).order_by(col(m.WaveRow.number))
        ).all()
        left = s.exec(
            select(m.AssetPlan.strategy, func.count())
            .where(m.AssetPlan.plan_id == plan.id, col(m.AssetPlan.wave).is_(None))
            .group_by(col(m.AssetPlan.strategy))
        ).all()
        ids = {n: i for i, n in s.exec(select(m.Asset.id, m.Asset.name)).all()}
    bars = [
        {
            "number": w.number,
            "kind": w.detail.get("kind", ""),
            "start": w.start,
            "end": w.end,
            "assets": w.assets,
            "groups": w.groups,
        }
        for w in rows
    ]
    return {
        "waves": rows,
        "has_plan": True,
        "plan": _plan_info(plan),
        "chart": figures.wave_chart(bars, date.fromisoformat(plan.as_of), link=True),
        "ids": ids,
        "not_moving": sorted((str(k or "none"), int(n)) for k, n in left),
        "colours": figures.WAVE_COLOURS,
    }


def _norm(name: str | None) -> str:
    return (name or "").strip().lower().split(".")[0]


def asset(store: Store, asset_id: int) -> dict[str, Any] | None:
    detail = asset_detail(store, asset_id)
    if detail is None:
        return None
    with store.session() as s:
        named = s.exec(select(m.Asset.id, m.Asset.name, m.Asset.sys_name)).all()
        plan = _plan_row(s)
        group = wave = None
        if plan is not None:
            row = s.exec(
                select(m.AssetPlan).where(
                    m.AssetPlan.plan_id == plan.id, m.AssetPlan.asset_id == asset_id
                )
            ).first()
            if row is not None and row.move_group:
                mates = s.exec(
                    select(m.Asset.id, m.Asset.name)
                    .join(m.AssetPlan, col(m.AssetPlan.asset_id) == m.Asset.id)
                    .where(m.AssetPlan.plan_id == plan.id, m.AssetPlan.move_group == row.move_group)
                    .order_by(col(m.Asset.name))
                ).all()
                group = {"name": row.move_group, "members": [(i, n) for i, n in mates]}
            if row is not None and row.wave is not None:
                wave = s.exec(
                    select(m.WaveRow).where(
                        m.WaveRow.plan_id == plan.id, m.WaveRow.number == row.wave
                    )
                ).first()
    names = {i: n for i, n, _ in named if i is not None}
    by_name: dict[str, int] = {}
    for i, n, sys_name in named:
        for key in (n, sys_name):
            if key and i is not None:
                by_name.setdefault(_norm(key), i)
    for nb in detail["neighbors"]:
        nb["asset_id"] = by_name.get(_norm(nb.get("remote_sys_name")))
    deps = detail["dependencies"]
    plan_detail = detail.get("plan") or {}
    return {
        "services": listening_services(detail["listening"], deps, asset_id),
        "support": plan_detail.get("support", []),
        "a": detail,
        "names": names,
        "uses": [d for d in deps if d["src_asset_id"] == asset_id],
        "used_by": [d for d in deps if d["dst_asset_id"] == asset_id],
        "bar": factor_bar(plan_detail),
        "factor_colours": FACTOR_COLOURS,
        "group": group,
        "wave": wave,
        "plan": _plan_info(plan),
        "software_kinds": Counter(s["kind"] for s in detail["software"]),
    }


def listening_services(
    listening: list[dict[str, Any]], deps: list[dict[str, Any]], asset_id: int
) -> list[dict[str, Any]]:
    """What listens on the asset, one row per protocol and port: the service the port is known
    as, the processes, the addresses bound, who saw it, and how many clients were seen using it.
    Ordered by protocol, then port."""
    from agent.inventory.dependencies import service_names

    names = service_names()
    clients: dict[int, set[str]] = {}
    used: dict[int, str] = {}
    for d in deps:
        if d["dst_asset_id"] == asset_id:
            clients.setdefault(d["port"], set()).add(str(d["src_asset_id"] or d["src_address"]))
            if d.get("service"):
                used.setdefault(d["port"], d["service"])
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for li in listening:
        key = (li["proto"], li["port"])
        row = rows.setdefault(
            key,
            {
                "proto": li["proto"],
                "port": li["port"],
                "service": (used.get(li["port"]) or names.get(li["port"]))
                if li["proto"] == "tcp"
                else None,
                "processes": set(),
                "addresses": set(),
                "sources": set(),
                "clients": len(clients.get(li["port"], ())) if li["proto"] == "tcp" else 0,
            },
        )
        for field, value in (
            ("processes", li.get("process")),
            ("addresses", li.get("address")),
            ("sources", li.get("source")),
        ):
            if value:
                row[field].add(value)
    return [
        {**r, **{k: sorted(r[k]) for k in ("processes", "addresses", "sources")}}
        for _, r in sorted(rows.items())
    ]
