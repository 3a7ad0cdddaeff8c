"""Stable re-plans: start from the previous plan and keep its groups and waves.

A plan is a commitment people organise around, so a re-plan changes only what the estate or a
rule forces. :func:`carry_over` matches the groups found afresh to the previous plan's groups by
membership (each holds at least half of the other's assets still in the plan; most shared
assets first) and gives each match the previous group's id; it pins every matched group to the
wave it had, and keeps waves that started on or before ``today`` exactly as they were (dates,
kind, groups). :func:`plan_waves <planner.waves.schedule_waves>` then keeps each group in its
wave unless a dependency, a limit or a rule moves it, and :func:`explain_moves` says which.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from planner.movegroup import LANDING_ZONE, MoveGroups
from planner.waves import KeptWave, Pins, Wave


@dataclass(frozen=True, slots=True)
class PreviousPlan:
    """What a re-plan starts from: the previous plan's date, each asset's group and wave, and
    the dates and kind of each wave."""

    as_of: date
    assets: Mapping[str, tuple[str | None, int | None]]  # asset id -> (group id, wave number)
    waves: Mapping[int, tuple[date, date, str]] = field(default_factory=dict)  # start, end, kind

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> PreviousPlan:
        """The previous plan from a stored plan's JSON (:meth:`planner.Plan.to_dict`)."""
        waves = {}
        for item in body.get("waves", []):
            w = item["wave"]
            waves[int(w["number"])] = (
                date.fromisoformat(w["start"]),
                date.fromisoformat(w["end"]),
                str(w["kind"]),
            )
        return cls(
            date.fromisoformat(str(body["today"])[:10]),
            {str(a["asset_id"]): (a.get("group"), a.get("wave")) for a in body["assets"]},
            waves,
        )


@dataclass(frozen=True, slots=True)
class GroupMove:
    """A group carried over from the previous plan that is in another wave now, and why."""

    group: str
    before: int
    after: int
    reason: str


@dataclass(frozen=True, slots=True)
class Replan:
    """How a plan relates to the one it started from."""

    previous: date
    kept_waves: tuple[int, ...]  # under way by ``today``: kept as they were
    renamed: tuple[tuple[str, str], ...]  # (id found afresh, id kept from the previous plan)
    new_groups: tuple[str, ...]  # groups with no match in the previous plan
    moved: tuple[GroupMove, ...]


@dataclass(frozen=True, slots=True)
class Carried:
    """The result of :func:`carry_over`, kept until the waves are laid."""

    previous: PreviousPlan
    pins: Pins
    renamed: tuple[tuple[str, str], ...]
    new_groups: tuple[str, ...]


def carry_over(
    groups: MoveGroups, previous: PreviousPlan, today: date
) -> tuple[MoveGroups, Carried]:
    """The groups under the ids of the previous plan's groups they match, and the waves to keep.

    Matching is by shared assets: a fresh group and a previous group match when each holds at
    least half of the other's assets (counting only previous members still in a group now);
    pairs sharing most assets are matched first, ties by id. The landing zone stays itself.
    """
    before: dict[str, list[str]] = {}
    wave_votes: dict[str, Counter[int]] = {}
    for asset_id in sorted(previous.assets):
        gid, wave = previous.assets[asset_id]
        if gid is None or wave is None:
            continue
        before.setdefault(gid, []).append(asset_id)
        wave_votes.setdefault(gid, Counter())[wave] += 1
    had = {g: min(v.items(), key=lambda kv: (-kv[1], kv[0]))[0] for g, v in wave_votes.items()}
    still = Counter(
        previous.assets[a][0] for a in groups.group_of if a in previous.assets
    )  # previous group -> its members still in a group
    pairs: list[tuple[int, str, str]] = []
    for g in groups.groups:
        if g.id == LANDING_ZONE:
            continue
        votes = Counter(
            previous.assets[a][0]
            for a in g.assets
            if a in previous.assets and previous.assets[a][0] not in (None, LANDING_ZONE)
        )
        for old, shared in votes.items():
            assert old is not None
            if 2 * shared >= len(g.assets) and 2 * shared >= still[old]:
                pairs.append((-shared, g.id, old))
    names: dict[str, str] = {}
    taken: set[str] = set()
    for _, new, old in sorted(pairs):
        if new not in names and old not in taken:
            names[new] = old
            taken.add(old)
    if any(g.id == LANDING_ZONE for g in groups.groups) and LANDING_ZONE in before:
        names[LANDING_ZONE] = LANDING_ZONE
        taken.add(LANDING_ZONE)
    fresh = [g.id for g in groups.groups if g.id not in names]
    for gid in fresh:  # a new group never takes an id a carried-over group keeps
        name, k = gid, 1
        while name in taken:
            k += 1
            name = f"{gid}~{k}"
        names[gid] = name
        taken.add(name)
    renamed = _rename(groups, names)
    started = {n for n, (start, _, _) in previous.waves.items() if start <= today}
    target = {names[g]: had[old] for g, old in names.items() if old in had and g not in fresh}
    soft = set()
    for g in groups.groups:  # a new group goes where most of its assets were, if they were
        if g.id not in fresh:
            continue
        waves = Counter(
            w for a in g.assets if a in previous.assets for w in [previous.assets[a][1]] if w
        )
        if waves:
            wave, count = min(waves.items(), key=lambda kv: (-kv[1], kv[0]))
            if 2 * count >= len(g.assets) and wave not in started:
                target[names[g.id]] = wave
                soft.add(names[g.id])
    kept = tuple(
        KeptWave(
            n,
            previous.waves[n][2],
            previous.waves[n][0],
            previous.waves[n][1],
            tuple(sorted(g for g, w in target.items() if w == n and g not in soft)),
        )
        for n in sorted(started)
    )
    carried = Carried(
        previous,
        Pins(target, kept, frozenset(soft)),
        tuple(sorted((g, n) for g, n in names.items() if g != n and g not in fresh)),
        tuple(sorted(names[g] for g in fresh)),
    )
    return renamed, carried


def _rename(groups: MoveGroups, names: Mapping[str, str]) -> MoveGroups:
    if all(k == v for k, v in names.items()):
        return groups
    out = [replace(g, id=names[g.id]) for g in groups.groups]
    lz = [g for g in out if g.id == LANDING_ZONE]
    links = [replace(x, src=names[x.src], dst=names[x.dst]) for x in groups.links]
    return replace(
        groups,
        groups=tuple(lz + sorted((g for g in out if g.id != LANDING_ZONE), key=lambda g: g.id)),
        links=tuple(sorted(links, key=lambda x: (x.src, x.dst))),
        group_of={a: names[g] for a, g in groups.group_of.items()},
    )


def explain_moves(
    carried: Carried, groups: MoveGroups, waves: tuple[Wave, ...], why: Mapping[str, str]
) -> Replan:
    """Each carried-over group in another wave than before, with the reason: the limit or rule
    that held it back at its wave (``why``), or the hard dependency that was not placed yet."""
    placed = {g: w.number for w in waves for g in w.groups}
    deps: dict[str, list[str]] = {}
    for link in groups.links:
        if link.kind == "hard" and LANDING_ZONE not in (link.src, link.dst):
            deps.setdefault(link.src, []).append(link.dst)
    moved = []
    target = carried.pins.target
    for gid, had in sorted(target.items()):
        now = placed.get(gid)
        if now is None or now == had:
            continue
        late = sorted((placed[d], d) for d in deps.get(gid, ()) if placed.get(d, -1) >= had)
        if late:
            wave, dep = late[-1]
            if dep not in target:
                was = f"is new (wave {wave})"
            elif target[dep] != wave:
                was = f"moved from wave {target[dep]} to {wave}"
            else:
                was = f"is in wave {wave}: the link is new or has become hard"
            reason = f"dependency: it depends (hard) on group {dep}, which {was}"
            if wave < now and gid in why:
                reason += f"; then {why[gid]}"
        else:
            reason = why.get(gid, "dependency: groups it waits for were held back")
        moved.append(GroupMove(gid, had, now, reason))
    return Replan(
        carried.previous.as_of,
        tuple(sorted({w.number for w in waves} & {k.number for k in carried.pins.kept})),
        carried.renamed,
        carried.new_groups,
        tuple(moved),
    )
