"""Comparing plans: no change gives an empty diff; a small change gives a small one."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

from planner import (
    AssetInput,
    Dependency,
    Estate,
    Lifecycle,
    Settings,
    diff_plans,
    parse_import,
    plan,
)
from tests.planner.conftest import DATA, TODAY


def council() -> Estate:
    assets, deps = parse_import((DATA / "estate" / "council.json").read_text(), "json")
    return Estate(assets, deps)


def test_same_input_gives_an_empty_diff(settings: Settings, catalogue: Lifecycle) -> None:
    a = plan(council(), settings, TODAY, catalogue)
    b = plan(council(), settings, TODAY, catalogue)
    diff = diff_plans(a, b)
    assert diff.empty and diff.counts() == {"added": 0, "removed": 0}
    json.dumps(diff.to_dict())


def test_a_small_change_gives_a_small_diff(settings: Settings, catalogue: Lifecycle) -> None:
    estate = council()
    before = plan(estate, settings, TODAY, catalogue)
    changed = tuple(
        replace(a, idle_days=200, cpu_util_pct=0.1) if a.id == "dev-app01" else a
        for a in estate.assets
    )
    gone = tuple(a for a in changed if a.id != "prn02")
    after = plan(Estate(gone, estate.dependencies), settings, TODAY, catalogue)
    diff = diff_plans(before, after)
    assert diff.removed == ("prn02",)
    touched = {c.asset_id for c in diff.changes}
    assert "dev-app01" in touched, "its utilisation debt changed"
    assert len(touched) <= 3, f"one idle VM and one printer change little: {diff.counts()}"
    data = diff.to_dict()
    assert data["removed"] == ["prn02"] and data["counts"]["removed"] == 1


def test_a_renamed_group_is_one_rename_not_many_moves(
    settings: Settings, catalogue: Lifecycle
) -> None:
    """Groups found by traffic are named after their lowest asset id: removing that asset
    renames the group, which the diff reports once."""
    ids = ["a1", "a2", "a3", "a4"]
    assets = tuple(AssetInput(x, os_name="Ubuntu", os_version="22.04") for x in ids)
    deps = tuple(Dependency(x, y, 8080) for x, y in itertools.pairwise(ids))
    before = plan(Estate(assets, deps), settings, TODAY, catalogue)
    after = plan(Estate(assets[1:], deps[1:]), settings, TODAY, catalogue)
    diff = diff_plans(before, after)
    assert diff.groups_renamed == (("grp:a1", "grp:a2"),)
    assert not [c for c in diff.changes if c.field == "group"]
    assert diff.removed == ("a1",)


def test_stored_plans_diff_like_live_ones(settings: Settings, catalogue: Lifecycle) -> None:
    """Plans stored as JSON (to_dict) give exactly the diff of the live Plan objects."""
    from planner import diff_plan_dicts

    estate = council()
    before = plan(estate, settings, TODAY, catalogue)
    changed = tuple(
        replace(a, idle_days=200, cpu_util_pct=0.1) if a.id == "dev-app01" else a
        for a in estate.assets
    )
    after = plan(Estate(changed, estate.dependencies), settings, TODAY, catalogue)
    live = diff_plans(before, after)
    stored = diff_plan_dicts(
        json.loads(json.dumps(before.to_dict())), json.loads(json.dumps(after.to_dict()))
    )
    assert not live.empty
    assert stored.to_dict() == json.loads(json.dumps(live.to_dict()))
