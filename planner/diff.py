"""The difference between two plans: what moved to another wave, group or strategy, and why it
matters (a small change in the estate should give a small change in the plan).

Each change of wave or group carries a reason: the group changed (naming the assets that joined
or left it, and whether they are new to or gone from the estate), a strategy changed (and why),
or the reason the later plan gives for moving a group it carried over (a dependency, a limit, a
rule; :mod:`planner.replan`). A plan made without the previous one lays its waves afresh, and
the reason says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planner.plaindata import plain
from planner.planning import Plan

DEBT_EPSILON = 0.5  # debt score changes smaller than this are not reported


@dataclass(frozen=True, slots=True)
class AssetChange:
    asset_id: str
    field: str  # wave | group | strategy | status | debt
    before: Any
    after: Any
    reason: str = ""  # why it moved (wave, group) or what the new strategy rests on


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
    why: str = ""  # what the strategy rests on


@dataclass(frozen=True, slots=True)
class _PlanView:
    """What a diff compares, read from a :class:`Plan` or from its ``to_dict()`` JSON."""

    assets: dict[str, _AssetView]
    groups: dict[str, tuple[str, ...]]
    waves: dict[int, tuple[str, Any, Any, int, int]]  # kind, start, end, #assets, #groups
    hard: tuple[tuple[str, str], ...] = ()  # hard group links (src depends on dst)
    moved: dict[str, str] | None = None  # group -> why it moved; None: laid afresh

    @classmethod
    def of(cls, p: Plan) -> _PlanView:
        return cls(
            {
                x.asset_id: _AssetView(
                    x.wave,
                    x.group,
                    x.strategy.strategy,
                    x.support.status,
                    x.debt.score,
                    _why(x.strategy.rule, x.strategy.reasons),
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
            tuple((x.src, x.dst) for x in p.groups.links if x.kind == "hard"),
            None if p.replan is None else {m.group: m.reason for m in p.replan.moved},
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
                    _why(x["strategy"].get("rule", ""), x["strategy"].get("reasons", ())),
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
            tuple((x["src"], x["dst"]) for x in d.get("links", []) if x["kind"] == "hard"),
            None
            if d.get("replan") is None
            else {m["group"]: m["reason"] for m in d["replan"]["moved"]},
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
    explain = _Reasons(a, b, renamed)
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
                why = ""
                if field in ("wave", "group"):
                    why = explain(asset_id)
                elif field == "strategy":
                    why = y.why
                changes.append(AssetChange(asset_id, field, shown, new, why))
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


def _why(rule: str, reasons: Any) -> str:
    return "; ".join(str(r) for r in reasons) or rule


class _Reasons:
    """Why an asset is in another wave or group in ``b`` than in ``a`` (cached per group)."""

    def __init__(self, a: _PlanView, b: _PlanView, renamed: Mapping[str, str]) -> None:
        self.a, self.b, self.renamed = a, b, renamed
        self._waves: tuple[dict[str, int], dict[str, int]] | None = None
        self._changes: dict[tuple[str, str], str] = {}

    def __call__(self, asset_id: str) -> str:
        a, b = self.a, self.b
        x, y = a.assets[asset_id], b.assets[asset_id]
        parts: list[str] = []
        if x.strategy != y.strategy:
            parts.append(f"strategy changed from {x.strategy} to {y.strategy} ({y.why})")
        old, new = x.group, y.group
        if old is None or new is None:
            if new is not None:
                parts.append(f"it joined group {new}")
            elif old is not None:
                parts.append("it is no longer in a move group (retained or outside the estate)")
            return "; ".join(parts) or "its strategy changed"
        change = self.membership(old, new)
        if self.renamed.get(old, old) != new:
            parts.append(
                f"its group changed from {old} to {new}" + (f": {change}" if change else "")
            )
            if b.moved is not None and new in b.moved and x.wave != y.wave:
                parts.append(b.moved[new])
            return "; ".join(parts)
        if x.wave == y.wave:
            return "; ".join(parts) or "its group was renamed"
        if b.moved is not None:
            parts.append(b.moved.get(new, "its wave was renumbered"))
            if change:
                parts.append(f"its group {new} changed: {change}")
            return "; ".join(parts)
        parts.append("the waves were laid afresh (made without the previous plan)")
        wave_a, wave_b = self.group_waves()
        later = sorted(
            (wave_b[dst], dst)
            for src, dst in b.hard
            if src == new
            and dst in wave_b
            and wave_b[dst] >= (y.wave or 0)
            and wave_a.get(dst, wave_b[dst]) < wave_b[dst]
        )
        for now, dst in later[-1:]:
            parts.append(
                f"a dependency moved later: group {dst} went from wave {wave_a[dst]} to {now}"
            )
        if change:
            parts.append(f"its group {new} changed: {change}")
        return "; ".join(parts)

    def membership(self, old: str, new: str) -> str:
        if (old, new) not in self._changes:
            before, after = set(self.a.groups.get(old, ())), set(self.b.groups.get(new, ()))
            self._changes[(old, new)] = _membership(before, after, self.a, self.b)
        return self._changes[(old, new)]

    def group_waves(self) -> tuple[dict[str, int], dict[str, int]]:
        if self._waves is None:
            self._waves = (_group_waves(self.a), _group_waves(self.b))
        return self._waves


def _membership(before: set[str], after: set[str], a: _PlanView, b: _PlanView) -> str:
    """Who joined and who left a group, naming assets new to or gone from the estate."""

    def shown(ids: set[str]) -> str:
        tagged = [
            f"{i} (removed from the estate)"
            if i not in b.assets
            else (f"{i} (new)" if i not in a.assets else i)
            for i in sorted(ids, key=lambda i: (i in a.assets and i in b.assets, i))
        ]
        more = f" and {len(tagged) - 3} more" if len(tagged) > 3 else ""
        return ", ".join(tagged[:3]) + more

    out = []
    if after - before:
        out.append(f"joined: {shown(after - before)}")
    if before - after:
        out.append(f"left: {shown(before - after)}")
    return "; ".join(out)


def _group_waves(view: _PlanView) -> dict[str, int]:
    return {x.group: x.wave for x in view.assets.values() if x.group and x.wave is not None}
