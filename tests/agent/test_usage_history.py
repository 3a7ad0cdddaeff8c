"""Utilisation history in the store (samples -> hourly and daily rollups, bounded by retention)
and right-sizing from it: the p95 over the stored days, not the one poll's figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.bridge.plan_runs import estate_from_store, load_planner_settings
from agent.configuration.config_file import parse_settings
from agent.runtime.scheduling import PeriodicJobs
from agent.store import Store
from agent.store import tables as m
from agent.store.usage_history import (
    Retention,
    latest_samples,
    prune_usage,
    record_sample,
    rollups,
)
from collectors.facts import Facts, Identity, Utilisation
from collectors.sample import Sample
from planner import AssetInput, Estate, StrategyChoice, estimate_costs, index_estate
from planner.usage import daily, hourly

START = datetime(2026, 11, 1, tzinfo=UTC)


def _asset(store: Store, name: str, cpu_pct: float, cores: int = 8) -> int:
    facts = Facts(
        target=f"ssh://{name}:22",
        protocol="ssh",
        address=f"192.0.2.{len(name)}",
        sys_name=name,
        identity=Identity(vendor="Dell", device_class="server", os_name="Ubuntu"),
        cpu_count=cores,
        memory_bytes=32 * 2**30,
        utilisation=Utilisation(cpu_pct=cpu_pct, mem_pct=40.0),
    )
    return store.save_facts(facts, now=START)


def test_samples_roll_up_into_hours_and_days_and_retention_bounds_them(store: Store) -> None:
    aid = _asset(store, "app01", 10.0)
    keep = Retention(hourly_days=3, daily_days=7)
    taken: list[tuple[datetime, float]] = []
    octets = 0
    for i in range(10 * 24 * 4):  # ten days, every 15 minutes
        at = START + timedelta(minutes=15 * i)
        cpu = 80.0 if at.hour == 12 else 5.0 + (i % 4)  # a busy lunch hour every day
        octets += 900 * 125_000  # 1 Mbit/s over the 15 minutes
        sample = Sample(
            cpu_pct=cpu, mem_pct=50.0, disk_pct=70.0, net_in_octets=octets, net_out_octets=0
        )
        sample = replace(sample, interfaces=1)
        assert record_sample(store, aid, sample, at, "snmp", keep)
        taken.append((at, cpu))
    assert not record_sample(store, aid, Sample(cpu_pct=1.0), START, "snmp", keep), "an old one"

    # raw samples: only those of the hour being filled
    assert store.count(m.UsageSample, asset_id=aid) == 4
    hours = rollups(store, "hour")[aid]
    days = rollups(store, "day")[aid]
    last = taken[-1][0]
    # pruned as each hour begins: three days of hours, and the one being filled
    assert len(hours["cpu_pct"]) == 3 * 24 + 1
    assert min(h.start for h in hours["cpu_pct"]) >= last - timedelta(days=3, hours=1)
    assert len(days["cpu_pct"]) == 7  # the daily rows of the last seven days
    expected = {d.start: d for d in daily(hourly(taken))}
    for d in days["cpu_pct"]:
        want = expected[d.start]
        assert (d.count, d.p50, d.p95, d.max) == (want.count, want.p50, want.p95, want.max)
        # one busy hour in twenty-four shows in the day's max, not in its p95
        assert d.count == 96 and d.max == 80.0 and d.p95 < 10.0
    assert days["net_in_bps"][-1].p50 == pytest.approx(1_000_000.0)
    assert days["disk_pct"][-1].max == 70.0

    # nothing sampled for a month: every row goes; the store holds nothing of the asset
    removed = prune_usage(store, last + timedelta(days=30), keep)
    assert removed > 0
    assert store.count(m.UsageRollup, asset_id=aid) == 0
    assert store.count(m.UsageSample, asset_id=aid) == 0


def test_rows_per_asset_are_bounded_whatever_the_rate(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        aid = _asset(store, "db01", 10.0)
        keep = Retention(hourly_days=1, daily_days=2)
        for i in range(4 * 24 * 12):  # four days every five minutes
            sample = Sample(cpu_pct=float(i % 50), mem_pct=30.0)
            record_sample(store, aid, sample, START + timedelta(minutes=5 * i), "snmp", keep)
        per_metric = 24 * keep.hourly_days + 1 + keep.daily_days + 1
        assert store.count(m.UsageRollup, asset_id=aid) <= 2 * per_metric  # cpu and memory
        assert store.count(m.UsageSample, asset_id=aid) <= 12
        (now,) = latest_samples(store)
        assert (now.name, now.cpu_pct, now.mem_pct) == ("db01", float((4 * 24 * 12 - 1) % 50), 30.0)
    finally:
        store.close()


def _month(store: Store, aid: int, cpu_at: Any) -> None:
    """A sample every hour of November 2026; ``cpu_at(time)`` gives the CPU."""
    for i in range(30 * 24):
        at = START + timedelta(hours=i)
        record_sample(store, aid, Sample(cpu_pct=cpu_at(at), mem_pct=40.0), at, "ssh")


def _sized(asset: AssetInput) -> tuple[int, str]:
    costs = load_planner_settings().costs
    graph = index_estate(Estate((asset,)))
    choice = StrategyChoice(asset.id, "rehost", "test", ())
    (cost,) = estimate_costs(graph, (choice,), costs, date(2026, 11, 30)).assets
    vm = next(v for v in costs.sizes if v.name == cost.cloud_size)
    note = next(e for e in cost.evidence if e.startswith("right-sized"))
    return vm.vcpu, note


def test_right_sizing_rests_on_the_p95_of_the_recorded_days(tmp_path: Path) -> None:
    """A payroll box is quiet when polled mid-month and busy the last three days of the month;
    a file server was polled during its one spike of the month. The single poll sizes the first
    too small and the second too big; the month of rollups sizes both right."""
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        payroll = _asset(store, "payroll01", cpu_pct=4.0)
        files = _asset(store, "files01", cpu_pct=95.0)
        _month(store, payroll, lambda t: 85.0 if t.day >= 28 and 9 <= t.hour < 17 else 4.0)
        _month(store, files, lambda t: 95.0 if t.day == 17 and 10 <= t.hour < 13 else 1.5)
        plain = _asset(store, "plain01", cpu_pct=30.0)  # never sampled
        estate = {a.id: a for a in estate_from_store(store, date(2026, 11, 30)).assets}
    finally:
        store.close()

    month_end = estate[str(payroll)]
    assert (month_end.cpu_util_pct, month_end.util_days) == (85.0, 30)
    vcpu, note = _sized(month_end)
    snap_vcpu, snap_note = _sized(replace(month_end, cpu_util_pct=4.0, util_days=None))
    assert vcpu >= 11 > snap_vcpu, "8 cores at 85% need 11 vCPU at the 65% target; 4% needs 1"
    assert "p95 over 30 days of samples" in note
    assert "a single poll's figure, no sampled history" in snap_note

    spiky = estate[str(files)]
    assert (spiky.cpu_util_pct, spiky.util_days) == (1.5, 30)
    vcpu, note = _sized(spiky)
    snap_vcpu, _ = _sized(replace(spiky, cpu_util_pct=95.0, util_days=None))
    # 8 cores at 1.5% need 1 vCPU (the 17 GiB of memory sets the size); at 95%, 12 vCPU
    assert vcpu < 12 <= snap_vcpu, "one spike in thirty days is not the p95"
    assert "CPU 1.5% at p95 over 30 days" not in note and "(p95 over 30 days of samples)" in note

    fallback = estate[str(plain)]
    assert (fallback.cpu_util_pct, fallback.util_days) == (30.0, None)
    assert "a single poll's figure" in _sized(fallback)[1]


def test_sampling_interval_zero_adds_no_job() -> None:
    settings = parse_settings({"sampling": {"interval": 0}})
    assert settings.sampling.interval == 0
    assert parse_settings({}).sampling.interval == 300.0
    assert parse_settings({"sampling": {"interval": "10m"}}).sampling.interval == 600.0
    jobs = PeriodicJobs()

    async def never() -> None:
        raise AssertionError("sampling ran with interval 0")

    jobs.add(never, settings.sampling.interval, "sample")
    assert jobs._scheduler.get_jobs() == []
    jobs.add(never, 60.0, "other")
    assert [j.id for j in jobs._scheduler.get_jobs()] == ["other"]


def test_the_right_sizing_window_follows_the_daily_retention(tmp_path: Path) -> None:
    """`cloudward plan` and the daemon read the rollups of the last
    ``sampling.daily_retention_days``: a box busy early in the month and quiet in its last
    week is sized on the quiet week when only a week is kept."""
    import json

    from agent.bridge.plan_runs import compute_plan

    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        aid = _asset(store, "batch01", cpu_pct=50.0)
        _month(store, aid, lambda t: 90.0 if t.day <= 20 else 3.0)
        week = json.dumps(
            compute_plan(store, date(2026, 11, 30), fresh=True, usage_window_days=7).to_dict()
        )
        default = json.dumps(compute_plan(store, date(2026, 11, 30), fresh=True).to_dict())
    finally:
        store.close()
    assert "p95 over 7 days of samples" in week
    assert "p95 over 30 days of samples" in default
