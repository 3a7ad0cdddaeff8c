"""The difference between two plans: what moved to another wave, group or strategy, and why it
matters (a small change in the estate should give a small change in the plan)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planner.plan import Plan, plain

DEBT_EPSILON = 0.5  # debt score changes smaller than this are not reported


@dataclass(frozen=True, slots=True)
class AssetChange:
    asset_id: str
    field: str  # wave | group | strategy | status | debt
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class WaveChange:
    number: int
    field: str  # start | end | assets | groups | kind
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class PlanDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changes: tuple[AssetChange, ...]
    groups_renamed: tuple[tuple[str, str], ...]  # same members (mostly), new name
    groups_added: tuple[str, ...]
    groups_removed: tuple[str, ...]
    waves: tuple[WaveChange, ...]
    waves_before: int
    waves_after: int

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changes
            or self.groups_added
            or self.groups_removed
            or self.waves
        )

    def counts(self) -> dict[str, int]:
        out = Counter(c.field for c in self.changes)
        out["added"] = len(self.added)
        out["removed"] = len(self.removed)
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        data = plain(self)
        data["counts"] = self.counts()
        return dict(sorted(data.items()))


@dataclass(frozen=True, slots=True)
class _AssetView:
    wave: int | None
    group: str | None
    strategy: str
    status: str
    debt: float


@dataclass(frozen=True, slots=True)
class _PlanView:
    """What a diff compares, read from a :class:`Plan` or from its ``to_dict()`` JSON."""

    assets: dict[str, _AssetView]
    groups: dict[str, tuple[str, ...]]
    waves: dict[int, tuple[str, Any, Any, int, int]]  # kind, start, end, #assets, #groups

    @classmethod
    def of(cls, p: Plan) -> _PlanView:
        return cls(
            {
                x.asset_id: _AssetView(
                    x.wave, x.group, x.strategy.strategy, x.support.status, x.debt.score
                )
                for x in p.assets
            },
            {g.id: g.assets for g in p.groups.groups},
            {
                w.wave.number: (
                    w.wave.kind,
                    w.wave.start,
                    w.wave.end,
                    len(w.wave.assets),
                    len(w.wave.groups),
                )
                for w in p.waves
            },
        )

    @classmethod
    def of_dict(cls, d: Mapping[str, Any]) -> _PlanView:
        return cls(
            {
                str(x["asset_id"]): _AssetView(
                    x.get("wave"),
                    x.get("group"),
                    x["strategy"]["strategy"],
                    x["support"]["status"],
                    float(x["debt"]["score"]),
                )
                for x in d["assets"]
            },
            {g["id"]: tuple(g["assets"]) for g in d.get("groups", [])},
            {
                w["wave"]["number"]: (
                    w["wave"]["kind"],
                    w["wave"]["start"],
                    w["wave"]["end"],
                    len(w["wave"]["assets"]),
                    len(w["wave"]["groups"]),
                )
                for w in d.get("waves", [])
            },
        )


def diff_plans(a: Plan, b: Plan) -> PlanDiff:
    """What changed from plan ``a`` to plan ``b`` (asset by asset, group by group, wave by wave)."""
    return _diff(_PlanView.of(a), _PlanView.of(b))


def diff_plan_dicts(a: Mapping[str, Any], b: Mapping[str, Any]) -> PlanDiff:
    """The same diff for two stored plans (the JSON of :meth:`Plan.to_dict`)."""
    return _diff(_PlanView.of_dict(a), _PlanView.of_dict(b))


def _diff(a: _PlanView, b: _PlanView) -> PlanDiff:
    before, after = a.assets, b.assets
    renamed = match_groups(a, b)
    changes: list[AssetChange] = []
    for asset_id in sorted(before.keys() & after.keys()):
        x, y = before[asset_id], after[asset_id]
        pairs = (
            ("wave", x.wave, y.wave),
            ("group", renamed.get(x.group or "", x.group), y.group),
            ("strategy", x.strategy, y.strategy),
            ("status", x.status, y.status),
        )
        for field, old, new in pairs:
            if old != new:
                shown = x.group if field == "group" else old
                changes.append(AssetChange(asset_id, field, shown, new))
        if abs(x.debt - y.debt) >= DEBT_EPSILON:
            changes.append(AssetChange(asset_id, "debt", x.debt, y.debt))
    groups_a = {renamed.get(g, g) for g in a.groups}
    groups_b = set(b.groups)
    waves: list[WaveChange] = []
    for number in sorted(a.waves.keys() & b.waves.keys()):
        p, q = a.waves[number], b.waves[number]
        for name, was, now in zip(("kind", "start", "end", "assets", "groups"), p, q, strict=True):
            if was != now:
                waves.append(WaveChange(number, name, was, now))
    return PlanDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changes=tuple(changes),
        groups_renamed=tuple(sorted((o, n) for o, n in renamed.items() if o != n)),
        groups_added=tuple(sorted(groups_b - groups_a)),
        groups_removed=tuple(sorted(groups_a - groups_b)),
        waves=tuple(waves),
        waves_before=len(a.waves),
        waves_after=len(b.waves),
    )


def match_groups(a: _PlanView, b: _PlanView) -> dict[str, str]:
    """Each group of ``a`` -> the group of ``b`` holding most of its assets (at least half).

    A group is named after its lowest asset id, so removing that asset renames the group; the
    diff reports such a rename once instead of as a group change for every member.
    """
    where = {aid: x.group for aid, x in b.assets.items() if x.group}
    out: dict[str, str] = {}
    for gid, members in a.groups.items():
        votes = Counter(where[x] for x in members if x in where)
        if not votes:
            continue
        best, count = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        if count * 2 >= len(members):
            out[gid] = best
    return out
