"""Stable re-plans: a re-plan keeps groups and waves unless something forces a change, says why
anything moved, and keeps waves already under way."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from bench.plan_groups import generate
from planner import (
    AssetInput,
    Dependency,
    Estate,
    Lifecycle,
    Plan,
    PreviousPlan,
    Settings,
    diff_plan_dicts,
    diff_plans,
    plan,
)
from planner.settings import merge
from tests.planner.conftest import TODAY
from tests.planner.test_diff import council


def waves(result: Plan) -> dict[str, int | None]:
    return {a.asset_id: a.wave for a in result.assets}


def previous(result: Plan) -> PreviousPlan:
    return PreviousPlan.from_dict(json.loads(json.dumps(result.to_dict())))


def without(estate: Estate, asset_id: str) -> Estate:
    return Estate(
        tuple(a for a in estate.assets if a.id != asset_id),
        tuple(d for d in estate.dependencies if asset_id not in (d.src, d.dst)),
    )


def test_removing_one_asset_moves_under_a_thousandth(
    settings: Settings, catalogue: Lifecycle
) -> None:
    """5,000 unlabelled servers grouped by traffic alone; five assets drawn at random are each
    removed in turn. Without the previous plan one removal can reshuffle hundreds of waves."""
    estate, _ = generate(5_000)
    before = plan(estate, settings, TODAY, catalogue)
    start = previous(before)
    had = waves(before)
    for drop in random.Random(7).sample(sorted(had), 5):
        after = plan(without(estate, drop), settings, TODAY, catalogue, start)
        moved = [a for a, w in waves(after).items() if w != had[a]]
        share = len(moved) / (len(had) - 1)
        assert share < 0.001, f"removing {drop} moved {len(moved)} assets: {moved[:10]}"
        assert after.replan is not None and after.replan.previous == TODAY


def test_the_same_estate_gives_the_same_plan(settings: Settings, catalogue: Lifecycle) -> None:
    first = plan(council(), settings, TODAY, catalogue)
    again = plan(council(), settings, TODAY, catalogue, previous(first))
    assert again.replan is not None and not again.replan.moved and not again.replan.new_groups
    body, same = first.to_dict(), again.to_dict()
    assert same.pop("replan")["previous"] == TODAY.isoformat()
    assert body.pop("replan") is None and body == same
    assert diff_plans(first, again).empty


def small(sizes: list[int], links: tuple[tuple[str, str], ...] = ()) -> Estate:
    """Labelled test applications ``aNN`` of the given sizes, optional hard links (port 1433)
    between the first servers of two applications."""
    assets, deps = [], []
    for a, size in enumerate(sizes):
        ids = [f"a{a:02d}-{i}" for i in range(size)]
        assets += [
            AssetInput(
                x, application=f"a{a:02d}", environment="test", os_name="Ubuntu", os_version="22.04"
            )
            for x in ids
        ]
        deps += [Dependency(ids[i], ids[i + 1], 8080) for i in range(size - 1)]
    deps += [Dependency(f"{src}-0", f"{dst}-0", 1433) for src, dst in links]
    return Estate(tuple(assets), tuple(deps))


def tight(mappings: dict[str, Any], room: int) -> Settings:
    extra = {"groups": {"max_group_size": room}, "waves": {"ramp": [room], "max_assets": room}}
    return Settings.from_mapping(merge(mappings, extra))


def test_capacity_moves_a_group_and_the_diff_says_so(
    mappings: dict[str, Any], catalogue: Lifecycle
) -> None:
    config = tight(mappings, 6)
    before = plan(small([3] * 6), config, TODAY, catalogue)
    assert all(len(o.wave.groups) == 2 for o in before.waves), "two groups of 3 per wave"
    app = int(before.waves[1].wave.groups[0].removeprefix("app:a"))  # one of wave 2
    sizes = [5 if i == app else 3 for i in range(6)]
    grown = plan(small(sizes), config, TODAY, catalogue, previous(before))
    assert grown.replan is not None
    (move,) = grown.replan.moved
    assert move.reason.startswith("capacity: wave 2 takes at most 6 assets"), move
    assert move.after > move.before == 2
    had, now = waves(before), waves(grown)
    group = grown.groups.group(move.group)
    assert {a for a in had if had[a] != now[a]} == set(group.assets) & set(had), "only it moved"
    diff = diff_plans(before, grown)
    assert diff.added == (f"a{app:02d}-3", f"a{app:02d}-4")
    for change in (c for c in diff.changes if c.field == "wave"):
        assert change.reason == (
            f"{move.reason}; its group app:a{app:02d} changed: joined: a{app:02d}-3 (new), "
            f"a{app:02d}-4 (new)"
        )
    stored = diff_plan_dicts(
        json.loads(json.dumps(before.to_dict())), json.loads(json.dumps(grown.to_dict()))
    )
    assert stored.to_dict() == json.loads(json.dumps(diff.to_dict()))


def test_a_dependency_moves_its_dependants_later(
    mappings: dict[str, Any], catalogue: Lifecycle
) -> None:
    """One group per wave; new hard links make the second wave's group wait for the fifth's,
    and the third's wait for the second's. Each says which dependency moved it."""
    config = tight(mappings, 3)
    before = plan(small([3] * 6), config, TODAY, catalogue)
    order = [o.wave.groups[0].removeprefix("app:") for o in before.waves]
    second, third, fifth = order[1], order[2], order[4]
    linked = small([3] * 6, ((third, second), (second, fifth)))
    after = plan(linked, config, TODAY, catalogue, previous(before))
    assert after.replan is not None
    moves = {m.group: m for m in after.replan.moved}
    assert moves[f"app:{second}"].reason.startswith(
        f"dependency: it depends (hard) on group app:{fifth}, which is in wave 5"
    )
    assert moves[f"app:{third}"].reason.startswith(
        f"dependency: it depends (hard) on group app:{second}, which moved from wave 2 to"
    )
    assert moves[f"app:{third}"].after > moves[f"app:{second}"].after > 5
    for change in diff_plans(before, after).changes:
        if change.field == "wave":
            assert "dependency: it depends (hard) on group" in change.reason, change


def test_waves_under_way_are_kept(mappings: dict[str, Any], catalogue: Lifecycle) -> None:
    config = tight(mappings, 6)
    before = plan(small([3] * 6), config, TODAY, catalogue)
    second = before.waves[1].wave
    later = second.start + timedelta(days=3)
    gone = before.waves[0].wave.assets[0]
    changed = without(small([3] * 7), gone)  # one asset of the first wave gone, one new app
    after = plan(changed, config, later, catalogue, previous(before))
    assert after.replan is not None and after.replan.kept_waves == (1, 2)
    for old, new in zip(before.waves[:2], after.waves[:2], strict=True):
        assert (new.wave.number, new.wave.start, new.wave.end, new.wave.groups) == (
            old.wave.number,
            old.wave.start,
            old.wave.end,
            old.wave.groups,
        )
        assert "kept as planned" in new.wave.reasons[0]
    assert gone not in after.waves[0].wave.assets
    assert after.replan.new_groups == ("app:a06",)
    assert after.asset("a06-0").wave == len(before.waves) + 1, "new work goes after the rest"
    had = waves(before)
    assert all(w == had[a] for a, w in waves(after).items() if a in had)


def test_a_fresh_replan_says_it_was_laid_afresh(settings: Settings, catalogue: Lifecycle) -> None:
    estate, _ = generate(2_000)
    before = plan(estate, settings, TODAY, catalogue)
    drop = next(a for a in sorted(waves(before)) if before.asset(a).wave)
    fresh = plan(without(estate, drop), settings, TODAY, catalogue)
    stable = plan(without(estate, drop), settings, TODAY, catalogue, previous(before))
    assert len(diff_plans(before, stable).changes) <= len(diff_plans(before, fresh).changes)
    for change in diff_plans(before, fresh).changes:
        if change.field in ("wave", "group"):
            assert change.reason, change
