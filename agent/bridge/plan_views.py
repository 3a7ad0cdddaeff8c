"""The small views the API and pages serve of a stored plan, built from its body.

``summary`` (the plan's headline figures) and ``waves`` (each wave with its groups' asset names
and money by UK financial year) are built once, when the plan is stored
(:func:`agent.bridge.plan_runs.save_plan` keeps them in ``cw_plan.views``), so they are ready
as soon as the plan is; a plan stored before that is built from its body on first use. The body
given to a builder is the stored document with ``plan_id`` and ``created_at`` added, as
:func:`agent.bridge.plan_runs.plan_body` returns it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agent.store import Store, jsontext

PLAN_SUMMARY_KEYS = (
    "plan_id",
    "created_at",
    "today",
    "currency",
    "summary",
    "sources",
    "years",
    "hubs",
)


def summary_view(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in PLAN_SUMMARY_KEYS}


def waves_view(body: Mapping[str, Any]) -> dict[str, Any]:
    """The waves with their groups' asset names, and money by UK financial year: the plan's
    (``years``: capital and revenue, the plan's and doing nothing's) and each wave's own
    (``money``: what it changes against doing nothing, negative is a saving)."""
    from agent.web.money import plan_years, wave_years

    names = {a["asset_id"]: a["name"] for a in body["assets"]}
    groups = {g["id"]: g for g in body["groups"]}
    years = plan_years(body)
    money = wave_years(body, years)
    out = []
    for w in body["waves"]:
        wave = dict(w["wave"])
        wave["groups"] = [
            {**groups[g], "asset_names": [names.get(x, x) for x in groups[g]["assets"]]}
            if g in groups
            else {"id": g}
            for g in wave["groups"]
        ]
        out.append({**w, "wave": wave, "money": money.get(int(wave["number"]), [])})
    return {
        "plan_id": body["plan_id"],
        "today": body["today"],
        "currency": body.get("currency", "GBP"),
        "years": years,
        "waves": out,
    }


PLAN_VIEWS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "summary": summary_view,
    "waves": waves_view,
}


def build_views(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every view of :data:`PLAN_VIEWS` of ``body`` (``cw_plan.views`` keeps them as JSON)."""
    return {name: build(body) for name, build in PLAN_VIEWS.items()}


def stored_view(store: Store, plan_id: int, name: str) -> dict[str, Any] | None:
    """The view ``name`` kept with plan ``plan_id``; None when the plan has none (stored before
    views were kept) or the text does not hold it."""
    rows = store.rows("SELECT views FROM cw_plan WHERE id = :id", {"id": plan_id})
    if not rows or rows[0][0] is None:
        return None
    try:
        views = jsontext.loads(rows[0][0])
    except ValueError:
        return None
    view = views.get(name) if isinstance(views, dict) else None
    if not isinstance(view, dict):
        return None
    if "plan_id" in view:  # kept without it: the plan had no id yet when they were built
        view["plan_id"] = plan_id
    return view
