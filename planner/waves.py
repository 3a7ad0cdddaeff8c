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
from typing import Annotated, Any

from pydantic import Field, field_validator

from planner.dates import FreezeWindow, FreezeWindowFile, first_clear, next_monday
from planner.errors import ScheduleError
from planner.fields import Note, Number, Strict, every_key, known, validated
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
        return validated(WavesFile, data, ("waves",)).build()

    def asset_limit(self, number: int) -> int:
        step = self.ramp[min(number, len(self.ramp)) - 1]
        return min(step, self.max_assets)


RISK_FACTORS = ("criticality", "production", "coupling", "size")


class PilotFile(Strict):
    max_assets: int = Field(10, ge=1)
    max_risk: Number = Field(40.0, ge=0)
    max_links: int = Field(2, ge=0)


class RiskFile(Strict):
    weights: dict[Annotated[str, known(RISK_FACTORS, "risk factor")], Number] = {}
    coupling_ref: Number = Field(10.0, ge=1)  # links to other groups at full coupling weight
    size_ref: Number = Field(50.0, ge=1)  # assets at full size weight

    @field_validator("weights")
    @classmethod
    def _at_most_100(cls, weights: dict[str, float]) -> dict[str, float]:
        if sum(weights.values()) > 100:
            raise ValueError("their sum must not exceed 100 (a group's risk is 0-100)")
        return weights


class WavesFile(Strict):
    """``config/planner/waves.yaml``."""

    start_lead_days: int = Field(28, ge=0)
    landing_zone_weeks: int = Field(8, ge=1)
    wave_weeks: int = Field(6, ge=1)
    gap_days: int = Field(7, ge=0)
    ramp: list[int] = Field([10, 25, 50, 100])
    max_assets: int = Field(100, ge=1)
    max_risk: Number = Field(300.0, ge=100.0)
    team_days_per_week: Number = Field(10.0, ge=0.1)
    group_overhead_days: Number = Field(2.0, ge=0)
    effort_days: dict[str, Number] = Field({}, validate_default=True)
    pilot: PilotFile = Field(default_factory=PilotFile)
    risk: RiskFile = Field(default_factory=RiskFile)
    separate_production: bool = True
    freeze_windows: list[FreezeWindowFile] = Field(default_factory=list)
    notes: Note = None

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, ramp: list[int]) -> list[int]:
        if not ramp or min(ramp) < 1:
            raise ValueError("needs at least one limit, each 1 or more")
        return ramp

    @field_validator("effort_days")
    @classmethod
    def _every_strategy(cls, effort: dict[str, float]) -> dict[str, float]:
        every_key(effort, STRATEGIES, "strategy", "days of work per asset")
        return effort

    def build(self) -> WaveSettings:
        risk_weights = dict(self.risk.weights)
        risk_weights["coupling_ref"] = self.risk.coupling_ref
        risk_weights["size_ref"] = self.risk.size_ref
        return WaveSettings(
            start_lead_days=self.start_lead_days,
            landing_zone_weeks=self.landing_zone_weeks,
            wave_weeks=self.wave_weeks,
            gap_days=self.gap_days,
            ramp=tuple(self.ramp),
            max_assets=self.max_assets,
            max_risk=self.max_risk,
            team_days_per_week=self.team_days_per_week,
            group_overhead_days=self.group_overhead_days,
            effort_days=dict(self.effort_days),
            pilot_max_assets=self.pilot.max_assets,
            pilot_max_risk=self.pilot.max_risk,
            pilot_max_links=self.pilot.max_links,
            risk_weights=risk_weights,
            separate_production=self.separate_production,
            freeze_windows=tuple(w.build() for w in self.freeze_windows),
        )


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
