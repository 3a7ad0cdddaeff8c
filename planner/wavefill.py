"""Filling one wave: which ready groups join it, within its limits and rules.

:func:`fill_wave` takes ready groups in the order :func:`rank_for` gives (see
:mod:`planner.waves` for the rules) and returns the wave and the day the next one may start.
On a re-plan it records, for each group that had this wave and could not keep it, the limit or
rule that held it back.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from planner.movegroup import MoveGroup
from planner.schedule import Calendar, overlap_reasons
from planner.wave_settings import WaveSettings


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


Key = tuple[int, int, int, int, str]  # tier, wave it had, environment, risk band, group
OWN, OWN_NEW, LATE, NEW, WAIT = range(5)  # tiers: see rank_for


def rank_for(
    by_id: Mapping[str, MoveGroup],
    loads: Mapping[str, GroupLoad],
    target: Mapping[str, int],
    soft: frozenset[str],
    number: int,
) -> Callable[[str], Key]:
    """Order of the ready groups for wave ``number``: its own groups, then new groups whose
    assets were mostly in it, then groups held back from earlier waves, then other new groups;
    groups of later waves wait. Without pins every group is ``NEW`` and the order is
    environment, risk band, id."""

    def rank(gid: str) -> Key:
        had = target.get(gid)
        if had is None:
            tier = NEW
        elif had > number:
            tier = WAIT
        elif had < number:
            tier = LATE
        else:
            tier = OWN_NEW if gid in soft else OWN
        env = 0 if by_id[gid].environment == "nonprod" else 1
        return (tier, had or 0, env, int(loads[gid].risk // 10), gid)

    return rank


@dataclass(slots=True)
class Step:
    """The scheduling state one wave works on."""

    number: int
    dependants: Mapping[str, set[str]]
    waiting: dict[str, int]
    todo: set[str]
    rank: Callable[[str], Key]
    why: dict[str, str]
    pinned: bool


def _env(ready: list[Key], loads: Mapping[str, GroupLoad], pinned: bool) -> int:
    """The environment of the wave: that of the first group in order, or on a re-plan that of
    most assets among the groups the wave had."""
    own = [k for k in ready if k[0] in (OWN, OWN_NEW)]
    if not pinned or not own:
        return min((k for k in ready if k[0] != WAIT), default=ready[0])[2]
    weight = [0, 0]
    for k in own:
        weight[k[2]] += loads[k[-1]].assets
    return 0 if weight[0] >= weight[1] else 1


def fill_wave(
    step: Step,
    ready: list[Key],
    by_id: Mapping[str, MoveGroup],
    loads: Mapping[str, GroupLoad],
    s: WaveSettings,
    day: date,
    calendar: Calendar,
) -> tuple[Wave, date]:
    number = step.number
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
    env = _env(ready, loads, step.pinned)
    if pilot:
        limit_assets = min(limit_assets, s.pilot_max_assets)
        fit = [k for k in ready if k[0] != WAIT and pilot_ok(by_id[k[-1]], loads[k[-1]], s)]
        if fit:
            env = min(fit)[2]
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
    skipped: list[Key] = []
    alone: Key | None = None
    while ready:
        key = heapq.heappop(ready)
        gid = key[-1]
        load = loads[gid]
        if key[0] == WAIT:
            skipped.append(key)
            continue
        lone = step.pinned and key[0] == OWN and not chosen and key[2] == env
        if lone and not _alone_fits(load, limit_assets, capacity, s):
            alone = key  # it needed the whole wave before: it keeps it (limits raised below)
            break
        miss = None
        if key[2] != env and s.separate_production:
            miss = (
                f"constraint: production and non-production never share a wave, and wave "
                f"{number} is {'production' if env else 'non-production'}"
            )
        elif pilot and not pilot_ok(by_id[gid], load, s):
            miss = f"constraint: wave 1 is the pilot and the group {_unfit(by_id[gid], load, s)}"
        elif assets + load.assets > limit_assets:
            miss = (
                f"capacity: wave {number} takes at most {limit_assets} assets; "
                f"{assets} were placed before it and it has {load.assets}"
            )
        elif risk + load.risk > s.max_risk:
            miss = (
                f"capacity: wave {number} takes a risk of at most {s.max_risk:g}; "
                f"{risk:g} was placed before it and it carries {load.risk:g}"
            )
        elif effort + load.effort_days > capacity:
            miss = (
                f"capacity: wave {number} has {capacity:g} days of work; {effort:g} were "
                f"placed before it and it needs {load.effort_days:g}"
            )
        if miss is not None:
            if step.pinned and key[0] in (OWN, OWN_NEW):
                step.why.setdefault(gid, miss)
            skipped.append(key)
            continue
        chosen.append(gid)
        assets += load.assets
        risk += load.risk
        effort += load.effort_days
        _release(gid, step, ready)
    if not chosen:  # nothing fits the limits: the first ready group goes alone, limits raised
        skipped.extend(ready)
        ready.clear()
        skipped.sort()
        key = alone or next(k for k in skipped if k[0] != WAIT)
        if alone is None:
            skipped.remove(key)
        gid = key[-1]
        load = loads[gid]
        chosen.append(gid)
        assets, risk, effort = load.assets, load.risk, load.effort_days
        env = key[2]
        if assets > limit_assets:
            reasons.append(
                f"asset limit raised from {limit_assets} to {assets}: the next group "
                "cannot be split further"
            )
            limit_assets = assets
        pilot = False
        _release(gid, step, ready)
    for key in skipped:
        heapq.heappush(ready, key)
    if step.pinned:
        _held_back(step, ready, chosen, env, loads)
    reasons.extend(notes)
    weeks = max(base_weeks, math.ceil(effort / s.team_days_per_week))
    if weeks > base_weeks:
        reasons.append(
            f"stretched to {weeks} weeks: {effort:.0f} days of work at "
            f"{s.team_days_per_week:g} days a week"
        )
    start, pushed, overlapped = calendar.place(start, weeks * 7)
    reasons.extend(f"moved after freeze: {p}" for p in pushed)
    reasons.extend(overlap_reasons(overlapped, weeks))
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


def _held_back(
    step: Step, ready: list[Key], chosen: list[str], env: int, loads: Mapping[str, GroupLoad]
) -> None:
    """Why groups of this wave that were never tried (one group took the wave whole) wait."""
    for key in ready:
        gid = key[-1]
        if key[0] not in (OWN, OWN_NEW) or gid in step.why:
            continue
        if key[2] != env:
            step.why[gid] = (
                f"constraint: production and non-production never share a wave, and wave "
                f"{step.number} is {'production' if env else 'non-production'}"
            )
        else:
            took = ", ".join(chosen)
            days = sum(loads[g].effort_days for g in chosen)
            step.why[gid] = (
                f"capacity: wave {step.number} went whole to {took} ({days:g} days of work, "
                "more than a wave holds)"
            )


def _alone_fits(load: GroupLoad, limit_assets: int, capacity: float, s: WaveSettings) -> bool:
    return load.assets <= limit_assets and load.risk <= s.max_risk and load.effort_days <= capacity


def pilot_ok(group: MoveGroup, load: GroupLoad, s: WaveSettings) -> bool:
    return (
        load.assets <= s.pilot_max_assets
        and load.risk <= s.pilot_max_risk
        and load.links <= s.pilot_max_links
        and group.strategy not in ("retire", "retain")
        and not group.constrained
    )


def _unfit(group: MoveGroup, load: GroupLoad, s: WaveSettings) -> str:
    """Which pilot rule a group breaks."""
    if group.constrained:
        return f"is held by {', '.join(group.constrained)}"
    if group.strategy in ("retire", "retain"):
        return f"is to {group.strategy}"
    if load.assets > s.pilot_max_assets:
        return f"has {load.assets} assets (at most {s.pilot_max_assets})"
    if load.risk > s.pilot_max_risk:
        return f"carries a risk of {load.risk:g} (at most {s.pilot_max_risk:g})"
    return f"has {load.links} links to other groups (at most {s.pilot_max_links})"


def _release(gid: str, step: Step, ready: list[Key]) -> None:
    """``gid`` is placed: groups waiting only on it may join this wave or a later one."""
    step.todo.discard(gid)
    for other in sorted(step.dependants[gid]):
        if other in step.todo:
            step.waiting[other] -= 1
            if step.waiting[other] == 0:
                heapq.heappush(ready, step.rank(other))
