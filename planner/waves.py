"""Waves: ordered, capacity-limited sets of move groups with dates.

Greedy list scheduling on the acyclic graph of hard group links (the published rules, in order):
the landing zone (shared infrastructure) is wave 0; a group goes in a wave only when everything
it hard-depends on is in that wave or an earlier one; wave 1 is a pilot of low-risk, loosely
coupled, preferably non-production groups; dev/test before production and never both in one
wave; each wave stays within its asset limit (ramping up), its risk limit and the team's
capacity (a wave is stretched, never overfilled, when one group needs more); waves never overlap
a freeze window. Ties go by environment, risk band and group id, so the same input gives the
same plan.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from planner.dates import FreezeWindow, first_clear, next_monday
from planner.errors import ScheduleError
from planner.fields import Reader, finish
from planner.movegroup import LANDING_ZONE, MoveGroup, MoveGroups
from planner.strategy import STRATEGIES


@dataclass(frozen=True, slots=True)
class WaveSettings:
    start_lead_days: int = 28
    landing_zone_weeks: int = 8
    wave_weeks: int = 6
    gap_days: int = 7
    ramp: tuple[int, ...] = (10, 25, 50, 100)
    max_assets: int = 100
    max_risk: float = 300.0
    team_days_per_week: float = 10.0
    group_overhead_days: float = 2.0
    effort_days: Mapping[str, float] | None = None
    pilot_max_assets: int = 10
    pilot_max_risk: float = 40.0
    pilot_max_links: int = 2
    risk_weights: Mapping[str, float] | None = None
    separate_production: bool = True
    freeze_windows: tuple[FreezeWindow, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> WaveSettings:
        problems: list[str] = []
        out = cls.read(Reader(data, "waves", problems))
        finish(problems)
        return out

    @classmethod
    def read(cls, r: Reader) -> WaveSettings:
        r.allow(
            "start_lead_days",
            "landing_zone_weeks",
            "wave_weeks",
            "gap_days",
            "ramp",
            "max_assets",
            "max_risk",
            "team_days_per_week",
            "group_overhead_days",
            "effort_days",
            "pilot",
            "risk",
            "separate_production",
            "freeze_windows",
            "notes",
        )
        effort = r.numbers("effort_days")
        for name in STRATEGIES:
            if name not in effort:
                r.problem(f"waves.effort_days.{name}: missing (days of work per asset)")
        pilot, risk = r.section("pilot"), r.section("risk")
        pilot.allow("max_assets", "max_risk", "max_links")
        risk.allow("weights", "coupling_ref", "size_ref")
        risk_weights = risk.numbers("weights")
        for key in sorted(set(risk_weights) - {"criticality", "production", "coupling", "size"}):
            risk.problem(
                f"waves.risk.weights.{key}: unknown (criticality, production, coupling, size)"
            )
        if sum(risk_weights.values()) > 100:
            risk.problem(
                "waves.risk.weights: their sum must not exceed 100 (a group's risk is 0-100)"
            )
        risk_weights["coupling_ref"] = risk.number("coupling_ref", 10.0, minimum=1)
        risk_weights["size_ref"] = risk.number("size_ref", 50.0, minimum=1)
        ramp = r.integers("ramp", (10, 25, 50, 100))
        if not ramp or min(ramp) < 1:
            r.problem("waves.ramp: needs at least one limit, each 1 or more")
        max_risk = r.number("max_risk", 300.0, minimum=100.0)
        windows = tuple(w for w in (FreezeWindow.read(x) for x in r.items("freeze_windows")) if w)
        return cls(
            start_lead_days=r.integer("start_lead_days", 28, minimum=0),
            landing_zone_weeks=r.integer("landing_zone_weeks", 8, minimum=1),
            wave_weeks=r.integer("wave_weeks", 6, minimum=1),
            gap_days=r.integer("gap_days", 7, minimum=0),
            ramp=ramp or (1,),
            max_assets=r.integer("max_assets", 100, minimum=1),
            max_risk=max_risk,
            team_days_per_week=r.number("team_days_per_week", 10.0, minimum=0.1),
            group_overhead_days=r.number("group_overhead_days", 2.0, minimum=0),
            effort_days=effort,
            pilot_max_assets=pilot.integer("max_assets", 10, minimum=1),
            pilot_max_risk=pilot.number("max_risk", 40.0, minimum=0),
            pilot_max_links=pilot.integer("max_links", 2, minimum=0),
            risk_weights=risk_weights,
            separate_production=r.boolean("separate_production", True),
            freeze_windows=windows,
        )

    def asset_limit(self, number: int) -> int:
        step = self.ramp[min(number, len(self.ramp)) - 1]
        return min(step, self.max_assets)


@dataclass(frozen=True, slots=True)
class GroupLoad:
    """What a group weighs in a wave."""

    group: str
    assets: int
    risk: float
    effort_days: float
    links: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Wave:
    number: int
    kind: str  # landing-zone | pilot | nonprod | prod
    start: date
    end: date
    groups: tuple[str, ...]
    assets: tuple[str, ...]
    risk: float
    effort_days: float
    limit_assets: int
    limit_risk: float
    limit_effort_days: float
    reasons: tuple[str, ...]


def group_loads(
    groups: MoveGroups,
    criticality: Mapping[str, float],
    strategies: Mapping[str, str],
    settings: WaveSettings,
) -> dict[str, GroupLoad]:
    """Risk (0-100) and effort of each group: criticality, production, coupling and size."""
    weights = settings.risk_weights or {}
    effort = settings.effort_days or {}
    links: dict[str, int] = {}
    for link in groups.links:
        links[link.src] = links.get(link.src, 0) + 1
        links[link.dst] = links.get(link.dst, 0) + 1
    out = {}
    for g in groups.groups:
        crit = max((criticality.get(a, 0.0) for a in g.assets), default=0.0)
        prod = 1.0 if g.environment == "prod" else 0.0
        coupling = min(1.0, links.get(g.id, 0) / max(weights.get("coupling_ref", 10.0), 1.0))
        size = min(1.0, len(g.assets) / max(weights.get("size_ref", 50.0), 1.0))
        risk = (
            weights.get("criticality", 0.0) * crit
            + weights.get("production", 0.0) * prod
            + weights.get("coupling", 0.0) * coupling
            + weights.get("size", 0.0) * size
        )
        days = settings.group_overhead_days + sum(
            effort.get(strategies.get(a, "rehost"), 0.0) for a in g.assets
        )
        out[g.id] = GroupLoad(
            g.id,
            len(g.assets),
            round(risk, 1),
            round(days, 1),
            links.get(g.id, 0),
            f"risk {risk:.0f}: criticality {crit:.2f}, {'production' if prod else 'non-production'}"
            f", {links.get(g.id, 0)} links to other groups, {len(g.assets)} assets; "
            f"effort {days:.1f} days",
        )
    return out


def plan_waves(
    groups: MoveGroups, loads: Mapping[str, GroupLoad], settings: WaveSettings, today: date
) -> tuple[Wave, ...]:
    """Waves over ``groups`` (see the module notes); wave 0 is the landing zone if any."""
    by_id = {g.id: g for g in groups.groups}
    deps: dict[str, set[str]] = {g: set() for g in by_id}
    dependants: dict[str, set[str]] = {g: set() for g in by_id}
    for link in groups.links:
        if (
            link.kind == "hard"
            and link.src != link.dst
            and LANDING_ZONE not in (link.src, link.dst)
        ):
            deps[link.src].add(link.dst)
            dependants[link.dst].add(link.src)
    waves: list[Wave] = []
    day = next_monday(today + timedelta(days=settings.start_lead_days))
    if LANDING_ZONE in by_id:
        lz = by_id[LANDING_ZONE]
        weeks = settings.landing_zone_weeks
        start, pushed = first_clear(day, weeks * 7, settings.freeze_windows)
        load = loads[LANDING_ZONE]
        reasons = [
            "shared infrastructure first: extend it into the landing zone; not capacity-limited"
        ] + [f"moved after freeze: {p}" for p in pushed]
        waves.append(
            Wave(
                0,
                "landing-zone",
                start,
                start + timedelta(days=weeks * 7 - 1),
                (LANDING_ZONE,),
                lz.assets,
                load.risk,
                load.effort_days,
                len(lz.assets),
                load.risk,
                load.effort_days,
                tuple(reasons),
            )
        )
        day = start + timedelta(days=weeks * 7 + settings.gap_days)
    todo = {g for g in by_id if g != LANDING_ZONE}
    waiting = {g: len(deps[g] & todo) for g in todo}
    ready = [_key(by_id[g], loads[g]) for g in sorted(todo) if waiting[g] == 0]
    heapq.heapify(ready)
    number = 1
    while todo:
        if not ready:  # cannot happen once cycles are cut; a clear error beats a hang
            raise ScheduleError(
                f"hard dependencies between {len(todo)} groups form a cycle: "
                f"{', '.join(sorted(todo)[:5])}"
            )
        wave, day = _fill(number, ready, waiting, dependants, todo, by_id, loads, settings, day)
        waves.append(wave)
        number += 1
    return tuple(waves)


def _key(group: MoveGroup, load: GroupLoad) -> tuple[int, int, str]:
    return (0 if group.environment == "nonprod" else 1, int(load.risk // 10), group.id)


def _fill(
    number: int,
    ready: list[tuple[int, int, str]],
    waiting: dict[str, int],
    dependants: dict[str, set[str]],
    todo: set[str],
    by_id: Mapping[str, MoveGroup],
    loads: Mapping[str, GroupLoad],
    s: WaveSettings,
    day: date,
) -> tuple[Wave, date]:
    limit_assets = s.asset_limit(number)
    capacity = s.team_days_per_week * s.wave_weeks
    pilot = number == 1
    reasons: list[str] = []
    env = ready[0][0]
    if pilot:
        limit_assets = min(limit_assets, s.pilot_max_assets)
        fit = [k for k in ready if _pilot_ok(by_id[k[2]], loads[k[2]], s)]
        if fit:
            env = min(fit)[0]
            reasons.append(
                f"pilot: groups of at most {s.pilot_max_assets} assets, risk "
                f"{s.pilot_max_risk:g} and {s.pilot_max_links} links, dev/test first"
            )
        else:
            pilot = False
            reasons.append("no group is small and loose enough for a pilot: wave 1 is ordinary")
    chosen: list[str] = []
    assets = 0
    risk = effort = 0.0
    skipped: list[tuple[int, int, str]] = []
    while ready:
        key = heapq.heappop(ready)
        gid = key[2]
        load = loads[gid]
        fits = (key[0] == env or not s.separate_production) and (
            not pilot or _pilot_ok(by_id[gid], load, s)
        )
        fits = fits and assets + load.assets <= limit_assets and risk + load.risk <= s.max_risk
        fits = fits and effort + load.effort_days <= capacity
        if not fits:
            skipped.append(key)
            continue
        chosen.append(gid)
        assets += load.assets
        risk += load.risk
        effort += load.effort_days
        _release(gid, waiting, dependants, todo, by_id, loads, ready)
    if not chosen:  # nothing fits the limits: the first ready group goes alone, limits raised
        skipped.sort()
        key = skipped.pop(0)
        gid = key[2]
        load = loads[gid]
        chosen.append(gid)
        assets, risk, effort = load.assets, load.risk, load.effort_days
        env = key[0]
        if assets > limit_assets:
            reasons.append(
                f"asset limit raised from {limit_assets} to {assets}: the next group "
                "cannot be split further"
            )
            limit_assets = assets
        pilot = False
        _release(gid, waiting, dependants, todo, by_id, loads, ready)
    for key in skipped:
        heapq.heappush(ready, key)
    weeks = max(s.wave_weeks, math.ceil(effort / s.team_days_per_week))
    if weeks > s.wave_weeks:
        reasons.append(
            f"stretched to {weeks} weeks: {effort:.0f} days of work at "
            f"{s.team_days_per_week:g} days a week"
        )
    start, pushed = first_clear(day, weeks * 7, s.freeze_windows)
    reasons.extend(f"moved after freeze: {p}" for p in pushed)
    kind = "pilot" if pilot else ("nonprod" if env == 0 else "prod")
    members = tuple(a for g in sorted(chosen) for a in by_id[g].assets)
    wave = Wave(
        number,
        kind,
        start,
        start + timedelta(days=weeks * 7 - 1),
        tuple(sorted(chosen)),
        members,
        round(risk, 1),
        round(effort, 1),
        limit_assets,
        s.max_risk,
        round(s.team_days_per_week * weeks, 1),
        tuple(reasons),
    )
    return wave, start + timedelta(days=weeks * 7 + s.gap_days)


def _pilot_ok(group: MoveGroup, load: GroupLoad, s: WaveSettings) -> bool:
    return (
        load.assets <= s.pilot_max_assets
        and load.risk <= s.pilot_max_risk
        and load.links <= s.pilot_max_links
        and group.strategy not in ("retire", "retain")
    )


def _release(
    gid: str,
    waiting: dict[str, int],
    dependants: dict[str, set[str]],
    todo: set[str],
    by_id: Mapping[str, MoveGroup],
    loads: Mapping[str, GroupLoad],
    ready: list[tuple[int, int, str]],
) -> None:
    """``gid`` is placed: groups waiting only on it may join this wave or a later one."""
    todo.discard(gid)
    for other in sorted(dependants[gid]):
        if other in todo:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, _key(by_id[other], loads[other]))
