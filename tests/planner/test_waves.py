"""Waves: limits, ramp, pilot, environments, freeze windows, stretching."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from planner import AssetInput, Dependency, Estate, Lifecycle, Settings, SettingsError, plan
from planner.dates import (
    FreezeWindow,
    FreezeWindowFile,
    financial_year,
    financial_year_bounds,
)
from planner.fields import validated
from planner.schedule import Calendar, overlapped_freezes
from planner.settings import merge
from tests.planner.conftest import TODAY


def estate(apps: int, size: int, env: str = "prod") -> Estate:
    assets, deps = [], []
    for a in range(apps):
        ids = [f"a{a:02d}-{i}" for i in range(size)]
        assets += [
            AssetInput(
                x, application=f"a{a:02d}", environment=env, os_name="Ubuntu", os_version="22.04"
            )
            for x in ids
        ]
        deps += [Dependency(ids[i], ids[i + 1], 8080) for i in range(size - 1)]
    return Estate(tuple(assets), tuple(deps))


def test_ramp_and_limits(mappings: dict[str, Any], catalogue: Lifecycle) -> None:
    settings = Settings.from_mapping(merge(mappings, {"waves": {"ramp": [3, 6, 9]}}))
    result = plan(estate(10, 3, env="test"), settings, TODAY, catalogue)
    waves = [o.wave for o in result.waves]
    assert [w.limit_assets for w in waves[:4]] == [3, 6, 9, 9], "the last ramp step repeats"
    for w in waves:
        assert len(w.assets) <= w.limit_assets and w.risk <= w.limit_risk
        assert w.effort_days <= w.limit_effort_days
    assert sum(len(w.assets) for w in waves) == 30
    for a, b in itertools.pairwise(waves):
        assert b.start > a.end, "waves follow one another"


def test_pilot_prefers_small_loose_nonproduction(settings: Settings, catalogue: Lifecycle) -> None:
    prod, dev = estate(3, 3, "prod"), estate(2, 2, "dev")
    dev = Estate(
        tuple(
            AssetInput("d" + a.id, application="d" + (a.application or ""), environment="dev")
            for a in dev.assets
        )
    )
    result = plan(Estate(prod.assets + dev.assets, prod.dependencies), settings, TODAY, catalogue)
    first = result.waves[0].wave
    assert first.kind == "pilot" and all(a.startswith("d") for a in first.assets)
    kinds = [o.wave.kind for o in result.waves]
    assert kinds.index("prod") > kinds.index("pilot"), "dev/test before production"
    assert "pilot: groups of at most 10 assets" in first.reasons[0]


def test_production_and_nonproduction_never_share_a_wave(
    settings: Settings, catalogue: Lifecycle
) -> None:
    mixed = Estate(
        estate(4, 2, "prod").assets
        + tuple(AssetInput(f"t{i}", application=f"t{i}", environment="test") for i in range(4))
    )
    result = plan(mixed, settings, TODAY, catalogue)
    env = {a.id: a.production for a in mixed.assets}
    for o in result.waves:
        assert len({env[a] for a in o.wave.assets}) == 1, f"wave {o.wave.number} mixes"


def test_a_heavy_group_stretches_its_wave(mappings: dict[str, Any], catalogue: Lifecycle) -> None:
    settings = Settings.from_mapping(
        merge(mappings, {"waves": {"team_days_per_week": 1, "ramp": [100]}})
    )
    result = plan(estate(1, 20), settings, TODAY, catalogue)
    wave = result.waves[0].wave
    weeks = ((wave.end - wave.start).days + 1) // 7
    assert weeks > settings.waves.wave_weeks
    assert wave.effort_days <= wave.limit_effort_days
    assert any("stretched" in r for r in wave.reasons)


def test_a_wave_longer_than_every_gap_between_freezes_starts_when_due(
    mappings: dict[str, Any], catalogue: Lifecycle
) -> None:
    """Yearly freezes closer together than a wave's work: pushing it past them all would move
    it past every freeze the calendar knows (it once started years away, in a year whose freezes
    were never laid out, overlapping them). It starts when due and names what it overlaps."""
    settings = Settings.from_mapping(
        merge(mappings, {"waves": {"team_days_per_week": 1, "ramp": [100]}})
    )
    result = plan(estate(1, 20), settings, TODAY, catalogue)
    wave = result.waves[0].wave
    assert wave.end - wave.start > timedelta(days=366), "longer than any gap"
    assert wave.start - TODAY < timedelta(days=60), wave.start
    overlapped = [r for r in wave.reasons if r.startswith("overlaps freeze: ")]
    names = {fw.name for fw in settings.waves.freeze_windows}
    assert set(overlapped_freezes(wave.reasons)) == names
    assert "raise waves.team_days_per_week" in overlapped[0]
    warning = [w for w in result.warnings if w.startswith(f"wave {wave.number} (")]
    assert len(warning) == 1 and "financial year-end close" in warning[0], result.warnings


def test_the_calendar_lays_yearly_freezes_out_as_far_as_a_wave_reaches() -> None:
    """Decades ahead (a large estate's later waves), a freeze is waited out as in the first
    year, never reported as overlapped because the calendar stopped short of it."""
    xmas = FreezeWindow("xmas", "12-18", "01-04", recurring=True)
    polls = FreezeWindow("polls", "2090-04-26", "2090-05-10", recurring=False)
    calendar = Calendar.of([xmas, polls])
    assert calendar.place(date(2070, 12, 20), 42) == (date(2071, 1, 5), ("xmas",), ())
    assert calendar.place(date(2090, 4, 1), 42) == (date(2090, 5, 11), ("polls",), ())
    assert calendar.place(date(2199, 11, 20), 60) == (date(2200, 1, 5), ("xmas",), ())
    assert calendar.clear_start(date(2080, 12, 25)) == (date(2081, 1, 5), ("xmas",))
    assert calendar.room(date(2080, 12, 1)) == 17
    assert calendar.room(date(2090, 4, 20)) == 6  # the one-off comes first
    # a one-off freeze decades on does not stop the search for a gap short of it
    assert calendar.place(date(2027, 1, 5), 400) == (date(2027, 1, 5), (), ("xmas",))
    assert Calendar.of([polls]).room(date(2091, 1, 1)) is None


def test_freeze_windows() -> None:
    xmas = FreezeWindow("xmas", "12-18", "01-04", recurring=True)
    calendar = Calendar.of([xmas])
    assert calendar.place(date(2026, 12, 1), 42) == (date(2027, 1, 5), ("xmas",), ())
    assert calendar.place(date(2027, 1, 5), 42) == (date(2027, 1, 5), (), ())
    # no gap between the yearly freezes holds 400 days: it starts when due, naming the overlap
    assert calendar.place(date(2027, 1, 5), 400) == (date(2027, 1, 5), (), ("xmas",))
    dated = validated(
        FreezeWindowFile, {"name": "polls", "from": "2027-04-26", "to": date(2027, 5, 10)}
    )
    assert dated.build() == FreezeWindow("polls", "2027-04-26", "2027-05-10", recurring=False)
    yearly = validated(FreezeWindowFile, {"from": "12-18", "to": "01-04"}).build()
    assert yearly == FreezeWindow("freeze", "12-18", "01-04", recurring=True)
    for bad, expected in (
        ({"from": "13-01", "to": "01-02"}, "w.from: must be a date (2027-04-26) or a yearly day"),
        ({"from": "2027-05-10", "to": "2027-04-26"}, "w: 'to' (2027-04-26) is before 'from'"),
        ({"from": "2027-05-10", "to": "12-24"}, "w: give 'from' and 'to' both as dates or both"),
        ({"from": "12-18"}, "w.to: required key is missing"),
        (
            {"from": "12-18", "to": "01-04", "until": "01-05"},
            "w.until: unknown key (expected one of name, from, to)",
        ),
    ):
        with pytest.raises(SettingsError) as err:
            validated(FreezeWindowFile, bad, ("w",))
        assert expected in err.value.problems[0], err.value.problems


def test_financial_years() -> None:
    assert financial_year(date(2026, 3, 31)) == "2025/26"
    assert financial_year(date(2026, 4, 1)) == "2026/27"
    assert financial_year(date(2099, 12, 31)) == "2099/00"
    assert financial_year_bounds("2026/27") == (date(2026, 4, 1), date(2027, 3, 31))


def test_wave_settings_are_checked(mappings: dict[str, Any]) -> None:
    bad = merge(
        mappings,
        {
            "waves": {
                "max_risk": 50,
                "ramp": [0],
                "risk": {"weights": {"criticality": 90, "size": 20}},
            },
            "groups": {"max_group_size": 500},
        },
    )
    bad["waves"]["effort_days"] = {"rehost": 1}
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(bad)
    text = "\n".join(err.value.problems)
    assert "waves.max_risk: must be at least 100" in text
    assert "waves.ramp: needs at least one limit, each 1 or more" in text
    assert "waves.effort_days.retire: missing" in text
    assert "must not exceed 100" in text
    # the check across sections runs once both sections are well formed
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(merge(mappings, {"groups": {"max_group_size": 500}}))
    assert err.value.problems == [
        "groups.max_group_size: 500 is larger than waves.max_assets (100): a group must fit "
        "in one wave"
    ]


def test_landing_zone_starts_on_a_monday_after_the_lead_time(
    settings: Settings, catalogue: Lifecycle
) -> None:
    hubbed = Estate(
        (AssetInput("dns1", name="dns1"), AssetInput("x")), (Dependency("x", "dns1", 53),)
    )
    result = plan(hubbed, settings, TODAY, catalogue)
    zero = result.waves[0].wave
    assert zero.number == 0 and zero.start.weekday() == 0
    assert zero.start >= TODAY + timedelta(days=settings.waves.start_lead_days)
