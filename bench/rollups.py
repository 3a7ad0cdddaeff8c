"""``rollups``: what utilisation history costs the store, in bytes per asset per day kept.

Ours: the steady state the default retention keeps in SQLite for N assets: 90 days of daily
rollups and 14 days of hourly rollups of the five metrics (cpu, memory, disk, network in and
out), and one hour of raw samples (12 at the 300 s default). Baseline: the raw samples of the
same 90 days at 300 s, kept instead of rollups. Each is written into the real schema of a fresh
SQLite file (``Store.open``), vacuumed, and measured as the growth of the file over the same
file holding the assets alone, divided by assets and by the 90 days the history covers.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from agent.store import Store
from agent.store import tables as m
from bench import Result, registry
from planner.usage import METRICS

DAYS = 90
HOURLY_DAYS = 14
INTERVAL_S = 300
START = datetime(2026, 1, 1, tzinfo=UTC)


def _store(folder: Path, name: str, assets: int) -> tuple[Store, int]:
    """A fresh store holding ``assets`` assets, and its vacuumed size."""
    store = Store.open(f"sqlite:///{folder / name}")
    with store.session() as s:
        for i in range(assets):
            s.add(m.Asset(name=f"host{i:05d}", first_seen=START, last_seen=START))
        s.commit()
    return store, _size(store)


def _size(store: Store) -> int:
    with store.engine.connect() as conn:
        conn.execute(text("VACUUM"))
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        page = conn.execute(text("PRAGMA page_size")).scalar_one()
    return int(pages) * int(page)


def _write(store: Store, table: Any, rows: list[dict[str, Any]]) -> None:
    with store.engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            conn.execute(insert(table), rows[i : i + 50_000])


def _rollup_rows(asset: int, rnd: random.Random) -> list[dict[str, Any]]:
    rows = []
    for metric in METRICS:
        for period, step, count in (
            ("day", timedelta(days=1), DAYS),
            ("hour", timedelta(hours=1), HOURLY_DAYS * 24),
        ):
            first = START + timedelta(days=DAYS) - count * step
            for k in range(count):
                p50 = round(rnd.uniform(1, 60), 1)
                rows.append(
                    {
                        "asset_id": asset,
                        "metric": metric,
                        "period": period,
                        "start": first + k * step,
                        "count": 288 if period == "day" else 12,
                        "p50": p50,
                        "p95": p50 + round(rnd.uniform(0, 30), 1),
                        "max": p50 + round(rnd.uniform(30, 40), 1),
                    }
                )
    return rows


def _sample_rows(
    asset: int, count: int, rnd: random.Random, first: datetime
) -> list[dict[str, Any]]:
    rows = []
    octets = rnd.randrange(1 << 40)
    for k in range(count):
        octets += rnd.randrange(1 << 24)
        rows.append(
            {
                "asset_id": asset,
                "at": first + timedelta(seconds=k * INTERVAL_S),
                "source": "snmp",
                "cpu_pct": round(rnd.uniform(0, 100), 1),
                "mem_pct": round(rnd.uniform(0, 100), 1),
                "disk_pct": round(rnd.uniform(0, 100), 1),
                "net_in_bps": rnd.uniform(0, 1e9),
                "net_out_bps": rnd.uniform(0, 1e9),
                "net_in_octets": octets,
                "net_out_octets": octets // 3,
                "counter_bits": 64,
                "interfaces": 2,
                "cpu_busy_ticks": None,
                "cpu_total_ticks": None,
            }
        )
    return rows


def measure(assets: int) -> dict[str, float]:
    rnd = random.Random(16)
    per_hour = 3600 // INTERVAL_S
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours, empty_ours = _store(folder, "rollups.db", assets)
        base, empty_base = _store(folder, "raw.db", assets)
        try:
            started = time.perf_counter()
            for a in range(1, assets + 1):
                _write(ours, m.UsageRollup.__table__, _rollup_rows(a, rnd))
                last_hour = START + timedelta(days=DAYS) - timedelta(hours=1)
                _write(ours, m.UsageSample.__table__, _sample_rows(a, per_hour, rnd, last_hour))
            written = time.perf_counter() - started
            for a in range(1, assets + 1):
                _write(
                    base,
                    m.UsageSample.__table__,
                    _sample_rows(a, DAYS * 86400 // INTERVAL_S, rnd, START),
                )
            rollup_bytes = _size(ours) - empty_ours
            raw_bytes = _size(base) - empty_base
            rows = ours.count(m.UsageRollup) / assets
        finally:
            ours.close()
            base.close()
    return {
        "ours": rollup_bytes / assets / DAYS,
        "baseline": raw_bytes / assets / DAYS,
        "bytes_per_asset": rollup_bytes / assets,
        "rows_per_asset": rows,
        "write_s": written,
    }


@registry.register("rollups")
def run(quick: bool) -> Result:
    assets = 10 if quick else 100
    got = measure(assets)
    return Result(
        "rollups",
        got["ours"],
        got["baseline"],
        "bytes/asset/day",
        {
            "assets": assets,
            "days": DAYS,
            "bytes_per_asset": int(got["bytes_per_asset"]),
            "rollup_rows_per_asset": int(got["rows_per_asset"]),
        },
    )
