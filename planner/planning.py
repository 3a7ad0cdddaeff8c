"""The whole plan: lifecycle -> debt -> strategy -> move groups -> waves -> cost and carbon.

:func:`plan` is pure: the same estate, settings, day and lifecycle facts give the same
:class:`Plan`, and the input is never changed. :meth:`Plan.to_dict` is JSON-ready and stable
(keys sorted, lists in id or wave order, floats rounded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from planner.budget import FinancialYear, lay_out_years
from planner.costing import AssetCost, price_assets
from planner.debt import AssetDebt, rank_key, score_debt
from planner.graphcore import index_estate
from planner.groups import form_move_groups
from planner.hubs import detect_hubs
from planner.lifecycle import Lifecycle
from planner.model import Estate
from planner.movegroup import LANDING_ZONE, MoveGroups, restrategise
from planner.plaindata import plain
from planner.replan import PreviousPlan, Replan, carry_over, explain_moves
from planner.review import judge_at_move, keep_what_stays_needs
from planner.schedule import horizon_warning, overlapped_freezes
from planner.settings import Settings
from planner.strategy import StrategyChoice, choose_strategy
from planner.support import AssetSupport, assess_support
from planner.waves import GroupLoad, Wave, group_loads, schedule_waves

_REVIEWS = 5  # passes of the move-date check; each can only move later waves later


@dataclass(frozen=True, slots=True)
class AssetPlan:
    asset_id: str
    name: str
    support: AssetSupport
    debt: AssetDebt
    strategy: StrategyChoice
    group: str | None  # None: retained or outside the estate
    wave: int | None
    debt_retired: float
    cost: AssetCost
    hub: bool
    debt_ranking: str = "migration"  # migration | refresh (stays on premise) | outside

    @property
    def external(self) -> bool:
        """A peer outside the estate (a dependency end nobody inventoried): planned around,
        never counted as an asset."""
        return self.debt_ranking == "outside"


@dataclass(frozen=True, slots=True)
class WaveOutcome:
    """A wave with what it achieves (annual run-rate deltas: cloud minus on premise)."""

    wave: Wave
    debt_retired: float
    onprem_annual: float
    cloud_annual: float
    cost_delta: float
    kwh_delta: float
    kgco2e_delta: float


@dataclass(frozen=True, slots=True)
class Plan:
    today: date
    assets: tuple[AssetPlan, ...]  # sorted by id
    groups: MoveGroups
    loads: tuple[GroupLoad, ...]
    waves: tuple[WaveOutcome, ...]
    years: tuple[FinancialYear, ...]
    currency: str
    sources: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    replan: Replan | None = None  # how it relates to the plan it started from, if any

    def asset(self, asset_id: str) -> AssetPlan:
        for item in self.assets:
            if item.asset_id == asset_id:
                return item
        raise KeyError(asset_id)

    def ranking(self, kind: str = "migration") -> tuple[AssetPlan, ...]:
        """One debt ranking, highest first: ``migration`` (what moves or retires) or ``refresh``
        (kit that stays on premise and is replaced in place). Ties go by criticality,
        dependants, name and id (:func:`planner.debt.rank_key`)."""
        chosen = [a for a in self.assets if a.debt_ranking == kind]
        return tuple(sorted(chosen, key=lambda a: rank_key(a.debt, a.name)))

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values (the stored body), built in one pass."""
        groups = self.groups
        data: dict[str, Any] = plain(
            {
                "today": self.today,
                "currency": self.currency,
                "sources": dict(self.sources),
                "summary": self.summary(),
                "assets": self.assets,
                "hubs": groups.hubs.hubs,
                "hub_candidates": groups.hubs.candidates,
                "groups": groups.groups,
                "group_loads": self.loads,
                "links": groups.links,
                "link_summary": [
                    {"kind": k, "reason": r, "dependencies": c} for k, r, c in groups.link_summary
                ],
                "retained": list(groups.retained),
                "outside": list(groups.outside),
                "waves": self.waves,
                "years": self.years,
                "warnings": list(self.warnings),
                "replan": self.replan,
            }
        )
        return data

    def summary(self) -> dict[str, Any]:
        """Counts over the estate's own assets: external peers are counted apart
        (``external_peers``), never as assets, statuses, strategies or debt."""
        counts: dict[str, dict[str, int]] = {"status": {}, "strategy": {}}
        ours = [a for a in self.assets if not a.external]
        for a in ours:
            counts["status"][a.support.status] = counts["status"].get(a.support.status, 0) + 1
            counts["strategy"][a.strategy.strategy] = (
                counts["strategy"].get(a.strategy.strategy, 0) + 1
            )
        return {
            "assets": len(ours),
            "external_peers": len(self.assets) - len(ours),
            "groups": len(self.groups.groups),
            "waves": len(self.waves),
            "hubs": len(self.groups.hubs.hubs),
            "cycle_breaks": len(self.groups.cycle_breaks),
            "support_status": counts["status"],
            "strategies": counts["strategy"],
            "debt_total": round(sum(a.debt.score for a in ours), 1),
            "debt_retired": round(sum(w.debt_retired for w in self.waves), 1),
        }


def plan(
    estate: Estate,
    settings: Settings,
    today: date,
    lifecycle: Lifecycle | None = None,
    previous: PreviousPlan | None = None,
) -> Plan:
    """Plan the estate as of ``today`` with the given settings and lifecycle facts.

    With ``previous`` (the plan before this one) the plan starts from it: groups keep their ids
    and waves unless the estate or a rule forces a change, waves under way by ``today`` are
    kept as they were, and :attr:`Plan.replan` says what moved and why
    (:mod:`planner.replan`)."""
    facts = lifecycle or Lifecycle()
    graph = index_estate(estate)
    support = assess_support(estate, facts, settings.matching, today, settings.hardware)
    hubs = detect_hubs(graph, settings.hubs)
    debt = score_debt(
        graph,
        support,
        settings.debt,
        today,
        infrastructure=hubs.ids,
        backend=settings.groups.backend,
    )
    rules = settings.strategy
    strategies = choose_strategy(graph, support, debt, rules, hubs=hubs.ids)
    strategies = keep_what_stays_needs(graph, strategies, rules, hubs.ids)
    prior = None
    if previous is not None:
        prior = {a: g for a, (g, _) in previous.assets.items() if g and g != LANDING_ZONE}
    groups = form_move_groups(graph, strategies, hubs, settings.groups, rules.precedence, prior)
    carried = None
    if previous is not None:
        groups, carried = carry_over(groups, previous, today)
    pins = carried.pins if carried else None
    criticality = {d.asset_id: d.factor("criticality").value for d in debt}
    chosen = {c.asset_id: c.strategy for c in strategies}
    loads = group_loads(groups, criticality, chosen, settings.waves)
    waves, why = schedule_waves(groups, loads, settings.waves, today, pins)
    for _ in range(_REVIEWS):  # judged at the move date: each pass only turns rehosts into rebuilds
        dated = {a: (w.number, w.end) for w in waves for a in w.assets}
        strategies, changed = judge_at_move(strategies, support, dated)
        if not changed:
            break
        groups = restrategise(groups, strategies, rules.precedence)
        chosen = {c.asset_id: c.strategy for c in strategies}
        loads = group_loads(groups, criticality, chosen, settings.waves)
        waves, why = schedule_waves(groups, loads, settings.waves, today, pins)
    replan = explain_moves(carried, groups, waves, why) if carried else None
    costs = price_assets(graph, strategies, settings.costs, today)
    ws = settings.waves
    late = horizon_warning(
        len(waves),
        max((w.end for w in waves), default=None),
        sum(loads[g].effort_days for g in loads),
        today,
        horizon_years=ws.horizon_years,
        horizon_waves=ws.horizon_waves,
        team_days_per_week=ws.team_days_per_week,
    )
    wave_of = {a: w.number for w in waves for a in w.assets}
    moves = {a: w.end for w in waves for a in w.assets}
    effort = settings.waves.effort_days or {}
    years = lay_out_years(
        costs, moves, {a: effort.get(s, 0.0) for a, s in chosen.items()}, settings.costs, today
    )
    hub_ids = hubs.ids
    assets = []
    for node, asset in enumerate(graph.assets):
        choice = strategies[node]
        in_wave = asset.id in wave_of
        retired = settings.strategy.debt_retired(choice.strategy, debt[node]) if in_wave else 0.0
        assets.append(
            AssetPlan(
                asset.id,
                asset.label,
                support[node],
                debt[node],
                choice,
                groups.group_of.get(asset.id),
                wave_of.get(asset.id),
                retired,
                costs[node],
                asset.id in hub_ids,
                "outside"
                if asset.external
                else ("refresh" if choice.strategy == "retain" else "migration"),
            )
        )
    by_id = {a.asset_id: a for a in assets}
    outcomes = tuple(_outcome(w, by_id) for w in waves)
    c = settings.costs
    sources = {
        "energy_price": c.energy_source,
        "pue": c.pue_source,
        "grid_carbon": f"{c.grid_source} ({c.grid_year})",
        "power": c.power_source,
        "support": c.support_source,
        "refresh": c.refresh_source,
        "cloud_prices": f"{c.cloud_source} ({c.cloud_date})" if c.cloud_date else c.cloud_source,
        "cloud_carbon": c.cloud_carbon_source,
    }
    return Plan(
        today,
        tuple(assets),
        groups,
        tuple(loads[g] for g in sorted(loads)),
        outcomes,
        years,
        c.currency,
        sources,
        tuple(w for w in (late, *_freeze_overlaps(waves)) if w),
        replan,
    )


def _freeze_overlaps(waves: Sequence[Wave]) -> list[str]:
    """A warning for each wave that overlaps a change freeze (no gap between the freezes holds
    its work: see planner.schedule.Calendar.place)."""
    out = []
    for w in waves:
        names = overlapped_freezes(w.reasons)
        if names:
            out.append(
                f"wave {w.number} ({w.start} to {w.end}) overlaps the change "
                f"freeze{'s' if len(names) > 1 else ''} {'; '.join(names)}: no gap between "
                "the freezes holds its work; see the wave's reasons for what would avoid it"
            )
    return out


def _outcome(wave: Wave, by_id: Mapping[str, AssetPlan]) -> WaveOutcome:
    items = [by_id[a] for a in wave.assets]
    onprem = sum(a.cost.onprem_annual for a in items)
    cloud = sum(a.cost.cloud_annual for a in items if a.cost.moves)
    kwh = sum((a.cost.cloud_kwh if a.cost.moves else 0.0) - a.cost.onprem_kwh for a in items)
    co2 = sum((a.cost.cloud_kgco2e if a.cost.moves else 0.0) - a.cost.onprem_kgco2e for a in items)
    return WaveOutcome(
        wave,
        round(sum(a.debt_retired for a in items), 1),
        round(onprem, 2),
        round(cloud, 2),
        round(cloud - onprem, 2),
        round(kwh, 1),
        round(co2, 1),
    )
