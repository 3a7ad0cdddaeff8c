"""Read-only JSON endpoints under /api/v1. Lists are paged: ``limit`` (max 1000), ``offset``."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlmodel import col

from agent.store import jsontext
from agent.store import tables as m
from agent.store.queries import AssetFilter, asset_detail, list_assets_page, list_poll_runs

router = APIRouter(prefix="/api/v1", tags=["estate"])

MAX_LIMIT = 1000
MAX_ID = 2**63 - 1  # ids are 64-bit in both databases: larger ones are refused, not looked up
MAX_OFFSET = 10_000_000  # past any real list; larger offsets are refused (422), not run
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such item, or no plan yet"}}
_JSON = TypeAdapter(dict[str, Any])  # how FastAPI renders a dict[str, Any] response


def _store(request: Request) -> Any:
    return request.app.state.daemon.store


class PlanViews:
    """Views of stored plans (the waves, the summary) rendered once, served as bytes after.

    A stored plan never changes, so a view is kept under the plan's id, digest and creation
    time. Building one parses the whole plan body (hundreds of MB for 100,000 assets), so one
    is built at a time and the few most recent are kept, per application."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._views: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], dict[str, Any]]) -> bytes:
        with self._lock:
            data = self._views.get(key)
            if data is None:
                data = self._views[key] = _JSON.dump_json(build())
                while len(self._views) > self._size:
                    self._views.popitem(last=False)
            self._views.move_to_end(key)
            return data


_views_lock = threading.Lock()


def plan_views_of(state: Any) -> PlanViews:
    """The application's kept plan views (``app.state``), made on first use."""
    with _views_lock:
        if not isinstance(getattr(state, "plan_views", None), PlanViews):
            state.plan_views = PlanViews()
        views: PlanViews = state.plan_views
        return views


def _plan_view(request: Request, name: str, plan_id: int | None) -> Response:
    """The view ``name`` of the stored plan (the newest when None), kept per plan."""
    from agent.bridge.plan_runs import plan_stamp

    store = _store(request)
    stamp = plan_stamp(store, plan_id)
    if stamp is None:
        raise HTTPException(404, "no plan yet" if plan_id is None else f"no plan {plan_id}")
    data = plan_views_of(request.app.state).get((name, *stamp), _view_of(store, stamp[0], name))
    return Response(data, media_type="application/json")


def _view_of(
    store: Any, plan_id: int, name: str, read: Callable[[], dict[str, Any]] | None = None
) -> Callable[[], dict[str, Any]]:
    """A builder of the view ``name`` of plan ``plan_id``: the one stored with the plan, else
    built from its body (``read``: a shared reader of that body, else it is read here)."""
    from agent.bridge.plan_views import PLAN_VIEWS, stored_view

    def build() -> dict[str, Any]:
        found = stored_view(store, plan_id, name)
        if found is not None:
            return found
        body = read() if read is not None else _plan_or_404(store, plan_id)
        return PLAN_VIEWS[name](body)

    return build


def warm_plan_views(state: Any, store: Any) -> int | None:
    """Have the views of the newest plan ready (those stored with it, or built from its body
    read once), so that the first request after a new plan does not wait for them; return the
    plan's id (None: no plan)."""
    from agent.bridge.plan_runs import plan_stamp
    from agent.bridge.plan_views import PLAN_VIEWS

    stamp = plan_stamp(store, None)
    if stamp is None:
        return None
    views = plan_views_of(state)
    body: dict[str, Any] | None = None

    def read() -> dict[str, Any]:
        nonlocal body
        if body is None:
            body = _plan_or_404(store, stamp[0])
        return body

    for name in PLAN_VIEWS:
        views.get((name, *stamp), _view_of(store, stamp[0], name, read))
    return stamp[0]


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _rendered(doc: dict[str, Any]) -> Response:
    """``doc`` as FastAPI renders a ``dict[str, Any]`` response (the same bytes), without its
    validating the dict first and then encoding it a second time: the hot lists (assets,
    debt) answer most requests."""
    return Response(_JSON.dump_json(doc), media_type="application/json")


@router.get("/assets", summary="List assets, filtered and paged", response_model=dict[str, Any])
def assets(
    request: Request,
    device_class: str | None = Query(None, max_length=32),
    site: str | None = Query(None, max_length=128),
    support_status: str | None = Query(None, pattern="^(supported|extended|eol|unknown)$"),
    min_debt: float | None = Query(None, ge=0, le=100),
    q: str | None = Query(None, max_length=128, description="Substring of name or address"),
    status: str = Query(
        "active",
        pattern="^(active|replaced|gone|all)$",
        description="active (default), replaced (another box answers where it did), gone "
        "(an endpoint no longer seen on any switch), or all",
    ),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Response:
    f = AssetFilter(
        device_class=device_class,
        site=site,
        support_status=support_status,
        min_debt=min_debt,
        q=q,
        status=status,
    )
    items, total = list_assets_page(_store(request), f, limit=limit, offset=offset)
    return _rendered(page(items, total, limit, offset))


@router.get(
    "/assets/{asset_id}",
    summary="One asset with its parts, history and dependencies",
    responses=NOT_FOUND,
)
def asset(request: Request, asset_id: int = Path(ge=1, le=MAX_ID)) -> dict[str, Any]:
    detail = asset_detail(_store(request), asset_id)
    if detail is None:
        raise HTTPException(404, f"no asset {asset_id}")
    return detail


@router.get("/poll-runs", summary="Poll runs, newest first")
def poll_runs(
    request: Request,
    target: str | None = Query(None, max_length=255),
    status: str | None = Query(None, pattern="^(running|ok|failed|cancelled|abandoned)$"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    items, total = list_poll_runs(
        _store(request), target=target, status=status, limit=limit, offset=offset
    )
    return page(items, total, limit, offset)


@router.get("/events", summary="Events: host key or engine ID changes, identity conflicts")
def events(
    request: Request,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    from sqlmodel import col, func, select

    store = _store(request)
    with store.session() as s:
        total = int(s.exec(select(func.count()).select_from(m.Event)).one())
        rows = s.exec(
            select(m.Event).order_by(col(m.Event.id).desc()).offset(offset).limit(limit)
        ).all()
        return page([r.model_dump(mode="json") for r in rows], total, limit, offset)


def _plan_or_404(store: Any, plan_id: int | None = None) -> dict[str, Any]:
    from agent.bridge.plan_runs import plan_body

    body = plan_body(store, plan_id)
    if body is None:
        raise HTTPException(404, "no plan yet" if plan_id is None else f"no plan {plan_id}")
    return dict(body)


@router.get("/plans", summary="Stored plans, newest first")
def plans(
    request: Request,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    from sqlmodel import col, func, select

    store = _store(request)
    with store.session() as s:
        total = int(s.exec(select(func.count()).select_from(m.PlanRow)).one())
        rows = s.exec(
            select(m.PlanRow).order_by(col(m.PlanRow.id).desc()).offset(offset).limit(limit)
        ).all()
        items = [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(),
                "as_of": r.as_of,
                "assets": r.assets,
                "waves": r.waves,
                "digest": r.digest,
                "summary": r.summary,
            }
            for r in rows
        ]
    return page(items, total, limit, offset)


@router.get(
    "/plan",
    summary="The current plan (summary; full=true for everything)",
    response_model=dict[str, Any],
    responses=NOT_FOUND,
)
def current_plan(
    request: Request,
    full: bool = False,
    plan_id: int | None = Query(None, alias="id", ge=1, le=MAX_ID),
) -> dict[str, Any] | Response:
    if full:
        return _plan_or_404(_store(request), plan_id)
    return _plan_view(request, "summary", plan_id)


@router.get(
    "/waves",
    summary="Waves of the current plan with their groups and assets",
    response_model=dict[str, Any],
    responses=NOT_FOUND,
)
def waves(
    request: Request, plan_id: int | None = Query(None, alias="plan", ge=1, le=MAX_ID)
) -> Response:
    return _plan_view(request, "waves", plan_id)


def newest_waves_view(state: Any, store: Any) -> dict[str, Any] | None:
    """The waves view of the newest plan (kept like the API's), or None without a plan."""
    from agent.bridge.plan_runs import plan_stamp

    stamp = plan_stamp(store, None)
    if stamp is None:
        return None
    data = plan_views_of(state).get(("waves", *stamp), _view_of(store, stamp[0], "waves"))
    view: dict[str, Any] = jsontext.loads(data)
    return view


@router.get(
    "/debt",
    summary="Debt ranking with every factor (paged)",
    responses=NOT_FOUND,
    response_model=dict[str, Any],
)
def debt(
    request: Request,
    site: str | None = Query(None, max_length=128),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Response:
    from sqlmodel import col, func, select

    from agent.store.queries import current_plan_id, detail_dict

    store = _store(request)
    with store.session() as s:
        plan_id = current_plan_id(s)
        if plan_id is None:
            raise HTTPException(404, "no plan yet")
        # Every plan row has its asset (a foreign key; assets are never deleted), so without
        # a site to filter on, counting the plan's rows counts the join.
        counted = select(func.count()).select_from(m.AssetPlan)
        if site:
            counted = counted.join(m.Asset, col(m.Asset.id) == m.AssetPlan.asset_id).where(
                m.Asset.site == site
            )
        total = int(s.exec(counted.where(m.AssetPlan.plan_id == plan_id)).one())
        q = (
            select(*_DEBT_COLUMNS)
            .join(m.Asset, col(m.Asset.id) == m.AssetPlan.asset_id)
            .join(m.PlanDetail, col(m.PlanDetail.id) == m.AssetPlan.detail_id)
            .where(m.AssetPlan.plan_id == plan_id)
        )
        if site:
            q = q.where(m.Asset.site == site)
        rows = s.exec(
            q.order_by(col(m.AssetPlan.debt).desc(), col(m.Asset.id)).offset(offset).limit(limit)
        ).all()
        items = [
            {
                "asset_id": aid,
                "name": name,
                "device_class": device_class,
                "site": asset_site,
                "debt": score,
                "support_status": status,
                "days_to_end_of_support": days,
                "strategy": strategy,
                "wave": wave,
                "factors": detail.get("factors", []),
                "support": detail.get("support", []),
            }
            for (
                aid,
                name,
                device_class,
                asset_site,
                score,
                status,
                days,
                strategy,
                wave,
                detail,
            ) in ((*row[:-2], detail_dict(row[-2], row[-1]) or {}) for row in rows)
        ]
    return _rendered({**page(items, total, limit, offset), "plan_id": plan_id})


_DEBT_COLUMNS: tuple[Any, ...] = (
    col(m.AssetPlan.asset_id),
    col(m.Asset.name),
    col(m.Asset.device_class),
    col(m.Asset.site),
    col(m.AssetPlan.debt),
    col(m.AssetPlan.support_status),
    col(m.AssetPlan.days_to_eos),
    col(m.AssetPlan.strategy),
    col(m.AssetPlan.wave),
    col(m.PlanDetail.detail),
    col(m.PlanDetail.detail_zlib),
)


@router.get("/plans/diff", summary="What changed between two stored plans", responses=NOT_FOUND)
def plan_diff(
    request: Request, a: int = Query(..., ge=1, le=MAX_ID), b: int = Query(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    from planner import diff_plan_dicts

    store = _store(request)
    first, second = _plan_or_404(store, a), _plan_or_404(store, b)
    return {"a": a, "b": b, **diff_plan_dicts(first, second).to_dict()}


@router.get("/graph", summary="The asset graph as node-link JSON")
def graph(request: Request) -> dict[str, Any]:
    import networkx as nx

    from agent.inventory.asset_graph import build_graph

    g = build_graph(_store(request))
    data: dict[str, Any] = nx.node_link_data(g, edges="links")
    return data
