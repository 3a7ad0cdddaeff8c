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

A re-plan (:class:`Pins`, filled by :mod:`planner.replan`) keeps each group in the wave it had:
a wave takes its own groups first, then groups held back from earlier waves, then new groups
where room is left; only a dependency, a limit or a rule moves a group, always later, and
:func:`schedule_waves` says which. Waves under way are kept as they were.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from planner.dates import next_monday
from planner.errors import ScheduleError
from planner.movegroup import LANDING_ZONE, MoveGroup, MoveGroups
from planner.schedule import Calendar, overlap_reasons
from planner.wave_settings import RISK_FACTORS, WaveSettings, WavesFile
from planner.wavefill import GroupLoad, Key, Step, Wave, fill_wave, rank_for

__all__ = [
    "RISK_FACTORS",
    "GroupLoad",
    "Wave",
    "WaveSettings",
    "WavesFile",
    "group_loads",
    "plan_waves",
]


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


@dataclass(frozen=True, slots=True)
class KeptWave:
    """A wave of the previous plan that has started (or ended) by ``today``: kept as it was."""

    number: int
    kind: str
    start: date
    end: date
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pins:
    """What a re-plan keeps from the previous plan: each carried-over group's wave, and the
    waves already under way (see :mod:`planner.replan`)."""

    target: Mapping[str, int]
    kept: tuple[KeptWave, ...] = ()
    soft: frozenset[str] = frozenset()  # new groups, pinned to the wave most of their assets had


def plan_waves(
    groups: MoveGroups,
    loads: Mapping[str, GroupLoad],
    settings: WaveSettings,
    today: date,
    pins: Pins | None = None,
) -> tuple[Wave, ...]:
    """Waves over ``groups`` (see the module notes); wave 0 is the landing zone if any."""
    return schedule_waves(groups, loads, settings, today, pins)[0]


def schedule_waves(
    groups: MoveGroups,
    loads: Mapping[str, GroupLoad],
    settings: WaveSettings,
    today: date,
    pins: Pins | None = None,
) -> tuple[tuple[Wave, ...], dict[str, str]]:
    """The waves, and why each pinned group could not have its wave (group -> reason).

    With ``pins`` a group keeps the wave it had: each wave takes its own groups first, then
    groups held back from earlier waves, then new groups where room is left; a group never
    moves earlier than its wave, and waves already under way are kept as they were. A wave
    number whose groups have all gone is skipped rather than renumbering every later wave.
    """
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
    calendar = Calendar.of(settings.freeze_windows)
    target = dict(pins.target) if pins else {}
    soft = pins.soft if pins else frozenset()
    kept = {g for k in pins.kept for g in k.groups if g in by_id} if pins else set()
    for k in pins.kept if pins else ():
        present = tuple(sorted(g for g in k.groups if g in by_id))
        if present:
            waves.append(_kept(k, present, by_id, loads, settings))
            day = max(day, k.end + timedelta(days=1 + settings.gap_days))
    if LANDING_ZONE in by_id and LANDING_ZONE not in kept:
        lz = by_id[LANDING_ZONE]
        weeks = settings.landing_zone_weeks
        start, pushed, overlapped = calendar.place(day, weeks * 7)
        end = start + timedelta(days=weeks * 7 - 1)
        load = loads[LANDING_ZONE]
        reasons = [
            "shared infrastructure first: extend it into the landing zone; not capacity-limited",
            *(f"moved after freeze: {p}" for p in pushed),
            *overlap_reasons(overlapped, weeks),
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
    todo = {g for g in by_id if g != LANDING_ZONE and g not in kept}
    waiting = {g: len(deps[g] & todo) for g in todo}
    number = max((w.number for w in waves), default=0) + 1
    why: dict[str, str] = {}
    ready: list[Key] = []
    rank = rank_for(by_id, loads, target, soft, number)
    for g in sorted(todo):
        if waiting[g] == 0:
            ready.append(rank(g))
    while todo:
        if not ready:  # cannot happen once cycles are cut; a clear error beats a hang
            raise ScheduleError(
                f"hard dependencies between {len(todo)} groups form a cycle: "
                f"{', '.join(sorted(todo)[:5])}"
            )
        gone = number
        number = max(number, min(target.get(k[-1], number) for k in ready))
        rank = rank_for(by_id, loads, target, soft, number)
        ready = [rank(k[-1]) for k in ready]
        heapq.heapify(ready)
        step = Step(number, dependants, waiting, todo, rank, why, pins is not None)
        wave, day = fill_wave(step, ready, by_id, loads, settings, day, calendar)
        if gone < number:
            skipped = f"{gone}" if gone == number - 1 else f"{gone}-{number - 1}"
            note = f"wave {skipped} is gone: every group it held left the plan or moved"
            wave = replace(wave, reasons=(*wave.reasons, note))
        waves.append(wave)
        number += 1
    return tuple(waves), why


def _kept(
    k: KeptWave,
    present: tuple[str, ...],
    by_id: Mapping[str, MoveGroup],
    loads: Mapping[str, GroupLoad],
    s: WaveSettings,
) -> Wave:
    assets = tuple(a for g in present for a in by_id[g].assets)
    risk = round(sum(loads[g].risk for g in present), 1)
    effort = round(sum(loads[g].effort_days for g in present), 1)
    weeks = max(1, ((k.end - k.start).days + 1) // 7)
    return Wave(
        k.number,
        k.kind,
        k.start,
        k.end,
        present,
        assets,
        risk,
        effort,
        max(len(assets), s.asset_limit(k.number) if k.number else 0),
        max(risk, s.max_risk),
        max(effort, round(s.team_days_per_week * weeks, 1)),
        (f"under way since {k.start}: kept as planned, not re-planned",),
    )
