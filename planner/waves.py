"""Waves: ordered, capacity-limited sets of move groups with dates.

Greedy list scheduling on the acyclic graph of hard group links (the published rules, in order):
the landing zone (shared infrastructure) is wave 0; a group goes in a wave only when everything
it hard-depends on is in that wave or an earlier one; wave 1 is a pilot of low-risk, loosely
coupled, preferably non-production groups; dev/test before production and never both in one
wave; each wave stays within its asset limit (ramping up), its risk limit and the team's
capacity (a wave is stretched, never overfilled, when one group needs more). A freeze moves only
what overlaps it (:mod:`planner.schedule`): a wave due to run into one is shortened to end
before it, or paused through it when too little time is left; nothing is pushed whole past a
freeze. Groups held by a constraint (data residency, say) never join the pilot. Ties go by
environment, risk band and group id, so the same input gives the same plan.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from planner.dates import next_monday
from planner.errors import ScheduleError
from planner.movegroup import LANDING_ZONE, MoveGroup, MoveGroups
from planner.schedule import Calendar
from planner.wave_settings import RISK_FACTORS, WaveSettings, WavesFile

__all__ = [
    "RISK_FACTORS",
    "GroupLoad",
    "Wave",
    "WaveSettings",
    "WavesFile",
    "group_loads",
    "plan_waves",
]


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
    calendar = Calendar.of(settings.freeze_windows, today)
    if LANDING_ZONE in by_id:
        lz = by_id[LANDING_ZONE]
        weeks = settings.landing_zone_weeks
        start, pushed = calendar.place(day, weeks * 7)
        end = start + timedelta(days=weeks * 7 - 1)
        load = loads[LANDING_ZONE]
        reasons = [
            "shared infrastructure first: extend it into the landing zone; not capacity-limited",
            *(f"moved after freeze: {p}" for p in pushed),
        ]
        waves.append(
            Wave(
                0,
                "landing-zone",
                start,
                end,
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
        day = end + timedelta(days=1 + settings.gap_days)
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
        wave, day = _fill(
            number, ready, waiting, dependants, todo, by_id, loads, settings, day, calendar
        )
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
    calendar: Calendar,
) -> tuple[Wave, date]:
    limit_assets = s.asset_limit(number)
    reasons: list[str] = []
    start, inside = calendar.clear_start(day)
    notes = [f"starts after freeze: {p}" for p in inside]
    base_weeks = s.wave_weeks
    room = calendar.room(start)
    if room is not None and s.freeze_min_weeks * 7 <= room < s.wave_weeks * 7:
        base_weeks = room // 7
        notes.append(f"shortened to {base_weeks} weeks to end before the next freeze")
    capacity = s.team_days_per_week * base_weeks
    pilot = number == 1
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
    reasons.extend(notes)
    weeks = max(base_weeks, math.ceil(effort / s.team_days_per_week))
    if weeks > base_weeks:
        reasons.append(
            f"stretched to {weeks} weeks: {effort:.0f} days of work at "
            f"{s.team_days_per_week:g} days a week"
        )
    start, pushed = calendar.place(start, weeks * 7)
    reasons.extend(f"moved after freeze: {p}" for p in pushed)
    end = start + timedelta(days=weeks * 7 - 1)
    kind = "pilot" if pilot else ("nonprod" if env == 0 else "prod")
    members = tuple(a for g in sorted(chosen) for a in by_id[g].assets)
    wave = Wave(
        number,
        kind,
        start,
        end,
        tuple(sorted(chosen)),
        members,
        round(risk, 1),
        round(effort, 1),
        limit_assets,
        s.max_risk,
        round(s.team_days_per_week * weeks, 1),
        tuple(reasons),
    )
    return wave, end + timedelta(days=1 + s.gap_days)


def _pilot_ok(group: MoveGroup, load: GroupLoad, s: WaveSettings) -> bool:
    return (
        load.assets <= s.pilot_max_assets
        and load.risk <= s.pilot_max_risk
        and load.links <= s.pilot_max_links
        and group.strategy not in ("retire", "retain")
        and not group.constrained
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
