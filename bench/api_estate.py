"""The store behind the ``api`` benchmark: a planned synthetic estate, replicated to N assets.

Planning 100,000 assets with the real planner takes minutes, so a base estate of ``BASE``
assets (the ``plan`` benchmark's generator: applications of 5-200 servers and shared
infrastructure hubs, with a share turned into switches, firewalls, hypervisors, storage, UPSs
and printers, spread over ten sites) is planned once with :func:`planner.plan` and stored with
:func:`agent.bridge.plan_runs.save_plan`, the daemon's own code path. Its rows are then copied until
the store holds N assets: each copy gets new asset ids, names and addresses, its own per-asset
plan rows and, in the stored plan body, its own assets and move groups (added to the same
waves). Rows go in with SQLAlchemy core bulk inserts into the schema the store created.
Per asset this keeps what the planner really writes (about 3.2 kB of plan body and 2 kB of
per-asset plan detail), so the plan body of 100,000 assets is about 320 MB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = 2000
SITES = tuple(f"site-{i:02d}" for i in range(10))
# (device class, vendor, model, os name, os versions) for every 20 assets in turn; servers fill
# the rest, as the generator made them.
KINDS: dict[int, tuple[str, str, str, str, tuple[str, ...]]] = {
    0: ("switch", "Cisco", "WS-C3850-48P", "IOS-XE", ("16.9.8", "17.9.4a")),
    1: ("switch", "Cisco", "WS-C2960X-48FPD-L", "IOS", ("15.2(7)E4",)),
    2: ("firewall", "Fortinet", "FortiGate-100F", "FortiOS", ("6.4.9", "7.2.5")),
    3: ("hypervisor", "Dell Inc.", "PowerEdge R740", "VMware ESXi", ("6.7.0", "7.0.3")),
    4: ("storage", "NetApp", "FAS2750", "ONTAP", ("9.8", "9.12.1")),
    5: ("ups", "APC", "Smart-UPS 3000", "AOS", ("6.8.2",)),
    6: ("printer", "HP", "LaserJet M607", "FutureSmart", ("4.11",)),
}


def base_plan(base: int = BASE) -> tuple[Any, Any]:
    """The base estate and its plan (``planner.Estate``, ``planner.Plan``); ids "1".."base"."""
    from bench.plan import TODAY, generate, settings_for
    from planner import catalogue_from_mapping, plan

    estate, _truth = generate(base, base * 10)
    ids = {a.id: str(i + 1) for i, a in enumerate(estate.assets)}
    assets = []
    for i, a in enumerate(estate.assets):
        kind = KINDS.get(i % 20) if not a.listening else None  # hubs stay servers
        extra: dict[str, Any] = {"id": ids[a.id], "site": SITES[(i // 37) % len(SITES)]}
        if kind is not None:
            klass, vendor, model, os_name, versions = kind
            extra.update(
                device_class=klass,
                vendor=vendor,
                model=model,
                os_name=os_name,
                os_version=versions[(i // 20) % len(versions)],
                virtual=False,
            )
        assets.append(dataclasses.replace(a, **extra))
    deps = tuple(
        dataclasses.replace(d, src=ids[d.src], dst=ids[d.dst]) for d in estate.dependencies
    )
    lifecycle = catalogue_from_mapping(
        yaml.safe_load((ROOT / "config" / "lifecycle" / "catalogue.yaml").read_text())
    )
    estate = dataclasses.replace(estate, assets=tuple(assets), dependencies=deps)
    return estate, plan(estate, settings_for("igraph"), TODAY, lifecycle)


def _asset_rows(estate: Any) -> list[dict[str, Any]]:
    """cw_asset rows for the base estate, as an inventory would have stored them."""
    now = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    rows = []
    for n, a in enumerate(estate.assets):
        i = int(a.id)
        rows.append(
            {
                "id": i,
                "name": a.name or f"asset{i}",
                "sys_name": a.name,
                "device_class": a.device_class,
                "vendor": a.vendor or "unknown",
                "model": a.model,
                "os_name": a.os_name,
                "os_version": a.os_version,
                "serial": f"SN{i:08d}",
                "mgmt_address": _address(i),
                "site": a.site,
                "cpu_count": a.cpu_count,
                "memory_bytes": a.memory_bytes,
                "tags": [],
                "sources": ["snmp", "ssh"] if n % 3 else ["snmp"],
                "evidence": {},
                "planning": {},
                "exposures": [],
                "field_sources": {},
                "first_seen": now - timedelta(days=400 + n % 2000),
                "last_seen": now,
            }
        )
    return rows


def _copy_id(asset_id: str, k: int, base: int) -> str:
    return str(int(asset_id) + k * base) if asset_id.isdigit() else asset_id


def _copy_group(group: str | None, k: int) -> str | None:
    return group if group is None or k == 0 else f"{group}~{k}"


def replicate_body(body: dict[str, Any], copies: int, base: int) -> dict[str, Any]:
    """The plan body with every asset and move group repeated ``copies`` times."""
    assets, groups, loads, links = [], [], [], []
    for k in range(copies):
        for a in body["assets"]:
            new = dict(a, asset_id=_copy_id(a["asset_id"], k, base))
            new["name"] = _copy_name(a["name"], k)
            new["group"] = _copy_group(a.get("group"), k)
            for part in ("cost", "debt", "strategy", "support"):
                if isinstance(a.get(part), dict) and "asset_id" in a[part]:
                    new[part] = dict(a[part], asset_id=new["asset_id"])
            assets.append(new)
        for g in body["groups"]:
            groups.append(
                dict(
                    g,
                    id=_copy_group(g["id"], k),
                    assets=[_copy_id(x, k, base) for x in g["assets"]],
                )
            )
        loads.extend(dict(g, group=_copy_group(g["group"], k)) for g in body["group_loads"])
        links.extend(
            dict(x, src=_copy_group(x["src"], k), dst=_copy_group(x["dst"], k))
            for x in body["links"]
        )
    waves = []
    for w in body["waves"]:
        wave = dict(w["wave"])
        wave["groups"] = [_copy_group(g, k) for k in range(copies) for g in w["wave"]["groups"]]
        wave["assets"] = [_copy_id(x, k, base) for k in range(copies) for x in w["wave"]["assets"]]
        waves.append(dict(w, wave=wave))
    summary = dict(body["summary"], assets=len(assets), groups=len(groups))
    return dict(
        body,
        assets=assets,
        groups=groups,
        group_loads=loads,
        links=links,
        waves=waves,
        summary=summary,
    )


def _copy_detail(stored: dict[str, Any], k: int) -> dict[str, Any]:
    """Copy ``k``'s own plan detail: the text with the copy named first, its digest, and the
    text packed as a plan saves it."""
    from agent.bridge.plan_runs import detail_digest
    from agent.store import jsontext

    text = jsontext.detail_text(stored["detail"], stored["detail_zlib"])
    text = text.decode() if isinstance(text, bytes) else text
    own = f'{{"copy":{k},{text[1:]}' if text.startswith("{") and text != "{}" else text
    data = own.encode()
    return {"detail": "", "detail_zlib": jsontext.pack_detail(data), "digest": detail_digest(data)}


def _copy_name(name: str | None, k: int) -> str | None:
    return name if name is None or k == 0 else f"{name}-{k:03d}"


def build(
    store: Any, n: int, base: int = BASE, planned: tuple[Any, Any] | None = None
) -> dict[str, Any]:
    """Fill an empty store with ``n`` planned assets (``planned``: :func:`base_plan`'s)."""
    from sqlalchemy import insert, select, update

    from agent.bridge.plan_runs import save_plan
    from agent.bridge.plan_views import build_views
    from agent.store import jsontext
    from agent.store import tables as m

    if n % base:
        raise ValueError(f"the number of assets ({n}) must be a multiple of {base}")
    copies = n // base
    estate, result = planned or base_plan(base)
    if len(estate.assets) != base:
        raise ValueError(f"the base estate has {len(estate.assets)} assets, not {base}")
    rows = _asset_rows(estate)
    asset_t, plan_t = m.Asset.__table__, m.AssetPlan.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(insert(asset_t), rows)
    plan_id = save_plan(store, result)
    detail_t = m.PlanDetail.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        plan_rows = [dict(r._mapping) for r in conn.execute(select(plan_t))]
        details = [dict(r._mapping) for r in conn.execute(select(detail_t))]
        next_detail = 1 + max((d["id"] for d in details), default=0)
        for k in range(1, copies):
            shift = k * base
            # each copy its own details, as each asset of an estate mostly has (a key naming
            # the copy makes their texts, hence digests, differ)
            own = {d["id"]: next_detail + i for i, d in enumerate(details)}
            next_detail += len(details)
            conn.execute(
                insert(detail_t),
                [{"id": own[d["id"]], **_copy_detail(d, k)} for d in details],
            )
            conn.execute(
                insert(asset_t),
                [
                    dict(
                        r,
                        id=r["id"] + shift,
                        name=_copy_name(r["name"], k),
                        sys_name=_copy_name(r["sys_name"], k),
                        serial=f"SN{r['id'] + shift:08d}",
                        mgmt_address=_address(r["id"] + shift),
                    )
                    for r in rows
                ],
            )
            conn.execute(
                insert(plan_t),
                [
                    {
                        **{c: v for c, v in r.items() if c != "id"},
                        "asset_id": r["asset_id"] + shift,
                        "move_group": _copy_group(r["move_group"], k),
                        "detail_id": own[r["detail_id"]],
                    }
                    for r in plan_rows
                ],
            )
        plan_t = m.PlanRow.__table__  # type: ignore[attr-defined]
        stored = conn.execute(
            select(plan_t.c.body, plan_t.c.body_zlib).where(plan_t.c.id == plan_id)
        ).one()
        body = replicate_body(json.loads(jsontext.plan_text(*stored)), copies, base)
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        created = conn.execute(
            select(m.PlanRow.__table__.c.created_at).where(  # type: ignore[attr-defined]
                m.PlanRow.__table__.c.id == plan_id  # type: ignore[attr-defined]
            )
        ).scalar_one()
        # the views kept with the plan, as save_plan makes them, of the replicated body
        views = build_views({**body, "plan_id": plan_id, "created_at": created.isoformat()})
        conn.execute(
            update(m.PlanRow.__table__)  # type: ignore[attr-defined]
            .where(m.PlanRow.__table__.c.id == plan_id)  # type: ignore[attr-defined]
            .values(
                body="",
                body_zlib=jsontext.packed(text.encode()),
                assets=n,
                summary=body["summary"],
                digest=hashlib.sha256(text.encode()).hexdigest(),
                views=json.dumps(views),
            )
        )
    return {
        "assets": n,
        "plan_id": plan_id,
        "body_mb": len(text) / 1e6,
        "waves": len(body["waves"]),
    }


def _address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
