"""Utilisation history in the store: samples folded into hourly and daily rollups, retention,
and the figures read back (the daily rollups for right-sizing, the newest sample for /metrics).

Each sample is written with the raw samples of its hour; the hour's rollup is recomputed from
them and the day's from its hours (:mod:`planner.usage`), and samples of earlier hours are
deleted, so an asset keeps at most one hour of raw samples. Hourly rows are kept for
``hourly_days`` and daily rows for ``daily_days``: per asset and metric, at most
``24 * hourly_days + daily_days`` rows, whatever the sampling interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, delete, func, select

from agent.store import tables as m
from agent.store.database import Store, guarded
from collectors.sample import Sample, cpu_between, throughput
from planner.usage import METRICS, Rollup, daily, hourly

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_RATE_GAP = timedelta(hours=2)  # a rate over a longer gap says little about the peaks
BIGINT_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Retention:
    hourly_days: int = 14
    daily_days: int = 90


@dataclass(frozen=True, slots=True)
class LatestSample:
    """The newest sample of an asset (the current figures)."""

    asset_id: int
    name: str
    site: str | None
    at: datetime
    cpu_pct: float | None
    mem_pct: float | None


def aware(ts: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives naive times back)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _counter(value: int | None) -> int | None:
    return value if value is not None and 0 <= value <= BIGINT_MAX else None


def _as_sample(row: m.UsageSample) -> Sample:
    return Sample(
        cpu_pct=row.cpu_pct,
        mem_pct=row.mem_pct,
        disk_pct=row.disk_pct,
        net_in_octets=row.net_in_octets,
        net_out_octets=row.net_out_octets,
        counter_bits=row.counter_bits,
        interfaces=row.interfaces,
        cpu_busy_ticks=row.cpu_busy_ticks,
        cpu_total_ticks=row.cpu_total_ticks,
    )


def _roll(s: Session, asset_id: int, hour: datetime, raw: list[m.UsageSample]) -> None:
    """Recompute the hour's rollups from its raw samples and the day's from its hours; the
    rollup rows of the day are read in one query and updated in place."""
    day = hour.replace(hour=0)
    rows = s.exec(
        select(m.UsageRollup)
        .where(m.UsageRollup.asset_id == asset_id)
        .where(col(m.UsageRollup.start) >= day, col(m.UsageRollup.start) < day + DAY)
    ).all()
    kept = {(x.metric, x.period, aware(x.start)): x for x in rows}

    def put(metric: str, period: str, r: Rollup) -> None:
        row = kept.get((metric, period, r.start))
        if row is None:
            row = m.UsageRollup(
                asset_id=asset_id,
                metric=metric,
                period=period,
                start=r.start,
                count=r.count,
                p50=r.p50,
                p95=r.p95,
                max=r.max,
            )
            kept[(metric, period, r.start)] = row
        else:
            row.count, row.p50, row.p95, row.max = r.count, r.p50, r.p95, r.max
        s.add(row)

    for metric in METRICS:
        for r in hourly((aware(x.at), getattr(x, metric)) for x in raw):
            put(metric, "hour", r)
        hours = [
            Rollup(start, x.count, x.p50, x.p95, x.max)
            for (mt, period, start), x in kept.items()
            if mt == metric and period == "hour"
        ]
        for r in daily(hours):
            put(metric, "day", r)


@guarded
def record_sample(
    store: Store,
    asset_id: int,
    sample: Sample,
    at: datetime,
    source: str,
    retention: Retention | None = None,
) -> bool:
    """Store one sample of an asset taken at ``at`` and fold it into its hour and day; False
    (nothing stored) when it is not newer than the asset's newest sample."""
    retention = retention or Retention()
    at = aware(at)
    hour = at.replace(minute=0, second=0, microsecond=0)
    with store.session() as s:
        prev = s.exec(
            select(m.UsageSample)
            .where(m.UsageSample.asset_id == asset_id)
            .order_by(col(m.UsageSample.at).desc())
            .limit(1)
        ).first()
        if prev is not None and aware(prev.at) >= at:
            return False
        cpu = sample.cpu_pct
        rates = None
        if prev is not None and at - aware(prev.at) <= MAX_RATE_GAP:
            before = _as_sample(prev)
            if cpu is None:
                cpu = cpu_between(before, sample)
            rates = throughput(before, sample, (at - aware(prev.at)).total_seconds())
        row = m.UsageSample(
            asset_id=asset_id,
            at=at,
            source=source,
            cpu_pct=cpu,
            mem_pct=sample.mem_pct,
            disk_pct=sample.disk_pct,
            net_in_bps=rates[0] if rates else None,
            net_out_bps=rates[1] if rates else None,
            net_in_octets=_counter(sample.net_in_octets),
            net_out_octets=_counter(sample.net_out_octets),
            counter_bits=sample.counter_bits,
            interfaces=sample.interfaces,
            cpu_busy_ticks=_counter(sample.cpu_busy_ticks),
            cpu_total_ticks=_counter(sample.cpu_total_ticks),
        )
        raw = list(
            s.exec(
                select(m.UsageSample)
                .where(m.UsageSample.asset_id == asset_id)
                .where(col(m.UsageSample.at) >= hour)
            ).all()
        )
        _roll(s, asset_id, hour, [*raw, row])
        if prev is None or aware(prev.at) < hour:  # a new hour: the earlier ones are rolled up
            s.exec(
                delete(m.UsageSample)
                .where(col(m.UsageSample.asset_id) == asset_id)
                .where(col(m.UsageSample.at) < hour)
            )
            _prune(s, at, retention, asset_id)
        s.add(row)
        s.commit()
    return True


def _prune(s: Session, now: datetime, retention: Retention, asset_id: int | None) -> int:
    removed = 0
    for period, days in (("hour", retention.hourly_days), ("day", retention.daily_days)):
        q = delete(m.UsageRollup).where(col(m.UsageRollup.period) == period)
        q = q.where(col(m.UsageRollup.start) < now - timedelta(days=days))
        if asset_id is not None:
            q = q.where(col(m.UsageRollup.asset_id) == asset_id)
        removed += s.exec(q).rowcount or 0
    return removed


@guarded
def prune_usage(store: Store, now: datetime, retention: Retention | None = None) -> int:
    """Apply the retention to every asset (also those no longer sampled): rollups past it, and
    raw samples older than the hourly retention; how many rows went."""
    retention = retention or Retention()
    now = aware(now)
    with store.session() as s:
        removed = _prune(s, now, retention, None)
        cut = now - timedelta(days=retention.hourly_days)
        removed += s.exec(delete(m.UsageSample).where(col(m.UsageSample.at) < cut)).rowcount or 0
        s.commit()
    return removed


def rollups(
    store: Store,
    period: str,
    asset_ids: Iterable[int] | None = None,
    metrics: Iterable[str] | None = None,
) -> dict[int, dict[str, list[Rollup]]]:
    """The stored rollups of ``period`` (hour or day) per asset and metric (those of
    ``metrics`` only, when given), in time order. Read as plain columns: an estate sampled for
    months holds millions of rows."""
    r = m.UsageRollup
    q = select_columns(
        col(r.asset_id),
        col(r.metric),
        col(r.start),
        col(r.count),
        col(r.p50),
        col(r.p95),
        col(r.max),
    ).where(col(r.period) == period)
    if asset_ids is not None:
        q = q.where(col(r.asset_id).in_(list(asset_ids)))
    if metrics is not None:
        q = q.where(col(r.metric).in_(list(metrics)))
    q = q.order_by(col(r.asset_id), col(r.start))
    out: dict[int, dict[str, list[Rollup]]] = {}
    with store.session() as s:
        for aid, metric, start, count, p50, p95, top in s.connection().execute(q):
            out.setdefault(aid, {}).setdefault(metric, []).append(
                Rollup(aware(start), count, p50, p95, top)
            )
    return out


def latest_samples(store: Store) -> list[LatestSample]:
    """The newest sample of each active asset that has one, by asset name."""
    with store.session() as s:
        newest = (
            select(
                col(m.UsageSample.asset_id).label("aid"),
                func.max(m.UsageSample.at).label("at"),
            )
            .group_by(col(m.UsageSample.asset_id))
            .subquery()
        )
        rows = s.exec(
            select(m.UsageSample, m.Asset.name, m.Asset.site)
            .join(
                newest,
                (col(m.UsageSample.asset_id) == newest.c.aid)
                & (col(m.UsageSample.at) == newest.c.at),
            )
            .join(m.Asset, col(m.Asset.id) == col(m.UsageSample.asset_id))
            .where(m.Asset.status == "active")
        ).all()
    out = [
        LatestSample(x.asset_id, name, site, aware(x.at), x.cpu_pct, x.mem_pct)
        for x, name, site in rows
    ]
    return sorted(out, key=lambda p: (p.name, p.asset_id))
