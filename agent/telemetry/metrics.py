"""Prometheus metrics: live collector health, and the estate from a snapshot of store and plan.

Names follow ``cloudward_<subsystem>_<name>_<unit>``; counters end in ``_total``; label sets
that are known at start are created then, so their series begin at 0. Per-asset series are
limited to the top N (``TOP_N``) so that cardinality stays bounded on big estates.

Sample exposition::

    cloudward_assets{device_class="switch",site="town-hall",support_status="eol"} 3.0
    cloudward_poll_duration_seconds_bucket{le="0.5",protocol="snmp"} 12.0
    cloudward_poll_errors_total{kind="timeout",protocol="snmp"} 2.0
    cloudward_wave_assets{wave="1"} 8.0
    cloudward_asset_cpu_utilisation_ratio{asset="app01",site="town-hall"} 0.42
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from agent import __version__

PROTOCOLS = ("snmp", "ssh")
ERROR_KINDS = (
    "timeout",
    "auth",
    "connect",
    "protocol",
    "hostkey",
    "value_cap",
    "credential",
    "store",
    "internal",
    "cancelled",
)
SUPPORT_STATUSES = ("supported", "extended", "eol", "unknown")
TOP_N = 20
USAGE_SERIES = 5000  # per-asset utilisation series: bounded like the other per-asset ones
DAY = 86400.0
EOS_BUCKETS = tuple(d * DAY for d in (-365.0, 0.0, 90.0, 180.0, 365.0, 730.0))
DEBT_BUCKETS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)


class CollectorMetrics:
    """Live metrics updated by the poller as polls finish."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.poll_duration = Histogram(
            "cloudward_poll_duration_seconds",
            "Time to poll one target, by protocol.",
            ["protocol"],
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
        )
        self.polls = Counter(
            "cloudward_polls",
            "Polls finished, by protocol and status.",
            ["protocol", "status"],
            registry=registry,
        )
        self.errors = Counter(
            "cloudward_poll_errors",
            "Failed polls, by protocol and error kind.",
            ["protocol", "kind"],
            registry=registry,
        )
        self.values_read = Counter(
            "cloudward_poll_values_read",
            "Values (SNMP varbinds, SSH parsed items) read.",
            ["protocol"],
            registry=registry,
        )
        self.last_success = Gauge(
            "cloudward_target_last_success_timestamp_seconds",
            "Unix time of the last successful poll of each target.",
            ["target", "protocol"],
            registry=registry,
        )
        self.targets = Gauge(
            "cloudward_targets",
            "Configured poll targets, by protocol.",
            ["protocol"],
            registry=registry,
        )
        self.in_flight = Gauge("cloudward_polls_in_flight", "Polls running now.", registry=registry)
        self.interval = Gauge(
            "cloudward_target_poll_interval_seconds",
            "Configured poll interval of each target.",
            ["target", "protocol"],
            registry=registry,
        )
        self._target_labels: set[tuple[str, str]] = set()
        for p in PROTOCOLS:
            self.poll_duration.labels(p)
            self.values_read.labels(p)
            self.targets.labels(p)
            for status in ("ok", "failed", "cancelled"):
                self.polls.labels(p, status)
            for kind in ERROR_KINDS:
                self.errors.labels(p, kind)

    def set_targets(self, targets: Sequence[tuple[str, str, float]]) -> None:
        """The configured targets and intervals; series of removed targets are dropped."""
        wanted = {(t, p) for t, p, _ in targets}
        for target, proto in self._target_labels - wanted:
            for gauge in (self.interval, self.last_success):
                with contextlib.suppress(KeyError):
                    gauge.remove(target, proto)
        for target, proto, interval in targets:
            self.interval.labels(target, proto).set(interval)
        self._target_labels = wanted

    def observe(
        self,
        protocol: str,
        target: str,
        ok: bool,
        duration: float,
        values: int,
        kind: str | None,
        now: float,
    ) -> None:
        self.poll_duration.labels(protocol).observe(duration)
        status = "ok" if ok else ("cancelled" if kind == "cancelled" else "failed")
        self.polls.labels(protocol, status).inc()
        self.values_read.labels(protocol).inc(values)
        if ok:
            self.last_success.labels(target, protocol).set(now)
        else:
            self.errors.labels(protocol, kind if kind in ERROR_KINDS else "internal").inc()


@dataclass(frozen=True)
class AssetPoint:
    name: str
    device_class: str
    site: str
    support_status: str = "unknown"
    days_to_eos: int | None = None
    debt: float | None = None


@dataclass(frozen=True)
class WavePoint:
    wave: str
    assets: int
    groups: int
    start_ts: float | None
    end_ts: float | None
    debt_retired: float = 0.0


@dataclass(frozen=True)
class UsagePoint:
    """The newest utilisation sample of an asset (the current figures, not the history)."""

    asset: str
    site: str
    cpu_pct: float | None
    mem_pct: float | None
    at_ts: float


@dataclass(frozen=True)
class EstateSnapshot:
    assets: Sequence[AssetPoint] = ()
    waves: Sequence[WavePoint] = ()
    plan_ts: float | None = None
    plan_day_ts: float | None = None  # midnight UTC of the plan's "today"
    plan_seconds: float | None = None
    refreshed_ts: float | None = None
    history_rows: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    usage: Sequence[UsagePoint] = ()


def _hist(
    name: str,
    doc: str,
    values: Iterable[float],
    buckets: Sequence[float],
    labels: dict[str, str] | None = None,
) -> HistogramMetricFamily:
    vals = list(values)
    counts = []
    for b in buckets:
        counts.append((str(b), float(sum(1 for v in vals if v <= b))))
    counts.append(("+Inf", float(len(vals))))
    fam = HistogramMetricFamily(name, doc, labels=list(labels or {}))
    fam.add_metric(list((labels or {}).values()), counts, sum_value=float(sum(vals)))
    return fam


class EstateCollector(Collector):
    """Exposes the latest :class:`EstateSnapshot`; swapping the snapshot is atomic."""

    def __init__(self) -> None:
        self.snapshot = EstateSnapshot()

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        build = GaugeMetricFamily(
            "cloudward_build_info", "Version of this cloudward.", labels=["version"]
        )
        build.add_metric([__version__], 1.0)
        yield build
        assets = GaugeMetricFamily(
            "cloudward_assets",
            "Assets by class, site and support status.",
            labels=["device_class", "site", "support_status"],
        )
        counts: dict[tuple[str, str, str], int] = {}
        for a in snap.assets:
            key = (a.device_class, a.site, a.support_status)
            counts[key] = counts.get(key, 0) + 1
        for key, n in sorted(counts.items()):
            assets.add_metric(list(key), float(n))
        yield assets
        past = GaugeMetricFamily(
            "cloudward_lifecycle_assets_past_end_of_support",
            "Assets whose OS or firmware is past end of security support.",
            labels=["site"],
        )
        by_site: dict[str, int] = {}
        for a in snap.assets:
            by_site.setdefault(a.site, 0)
            if a.support_status == "eol":
                by_site[a.site] += 1
        for site, n in sorted(by_site.items()):
            past.add_metric([site], float(n))
        yield past
        secs = [a.days_to_eos * DAY for a in snap.assets if a.days_to_eos is not None]
        yield _hist(
            "cloudward_lifecycle_seconds_to_end_of_support",
            "Time from the plan date to end of security support (negative: past it).",
            secs,
            EOS_BUCKETS,
        )
        top = GaugeMetricFamily(
            "cloudward_lifecycle_top_end_of_support_timestamp_seconds",
            f"End of security support (Unix time) of the {TOP_N} assets "
            "nearest to or furthest past it.",
            labels=["asset", "device_class", "site"],
        )
        ranked = sorted(
            (a for a in snap.assets if a.days_to_eos is not None),
            key=lambda a: (a.days_to_eos or 0, a.name),
        )[:TOP_N]
        base = snap.plan_day_ts if snap.plan_day_ts is not None else snap.refreshed_ts or 0.0
        for a in ranked:
            top.add_metric([a.name, a.device_class, a.site], base + (a.days_to_eos or 0) * DAY)
        yield top
        debts = [a.debt for a in snap.assets if a.debt is not None]
        yield _hist(
            "cloudward_debt_score",
            "Technical debt score (0-100) of assets.",
            [float(d) for d in debts],
            DEBT_BUCKETS,
        )
        site_debt = GaugeMetricFamily(
            "cloudward_debt_score_sum_by_site",
            "Sum of asset debt scores per site.",
            labels=["site"],
        )
        sums: dict[str, float] = {}
        for a in snap.assets:
            sums[a.site] = sums.get(a.site, 0.0) + (a.debt or 0.0)
        for site, total in sorted(sums.items()):
            site_debt.add_metric([site], total)
        yield site_debt
        top_debt = GaugeMetricFamily(
            "cloudward_debt_top_asset_score",
            f"Debt score of the {TOP_N} most indebted assets.",
            labels=["asset", "device_class", "site"],
        )
        for a in sorted(
            (a for a in snap.assets if a.debt is not None), key=lambda a: (-(a.debt or 0.0), a.name)
        )[:TOP_N]:
            top_debt.add_metric([a.name, a.device_class, a.site], float(a.debt or 0.0))
        yield top_debt
        w_assets = GaugeMetricFamily(
            "cloudward_wave_assets", "Assets planned per wave.", labels=["wave"]
        )
        w_groups = GaugeMetricFamily(
            "cloudward_wave_groups", "Move groups planned per wave.", labels=["wave"]
        )
        w_start = GaugeMetricFamily(
            "cloudward_wave_start_timestamp_seconds",
            "Planned start of each wave (Unix time).",
            labels=["wave"],
        )
        w_end = GaugeMetricFamily(
            "cloudward_wave_end_timestamp_seconds",
            "Planned end of each wave (Unix time).",
            labels=["wave"],
        )
        w_debt = GaugeMetricFamily(
            "cloudward_wave_debt_retired",
            "Sum of debt scores retired by each wave.",
            labels=["wave"],
        )
        for w in snap.waves:
            w_assets.add_metric([w.wave], float(w.assets))
            w_groups.add_metric([w.wave], float(w.groups))
            w_debt.add_metric([w.wave], w.debt_retired)
            if w.start_ts is not None:
                w_start.add_metric([w.wave], w.start_ts)
            if w.end_ts is not None:
                w_end.add_metric([w.wave], w.end_ts)
        yield from (w_assets, w_groups, w_start, w_end, w_debt)
        if snap.plan_ts is not None:
            yield GaugeMetricFamily(
                "cloudward_plan_last_timestamp_seconds",
                "Unix time the current plan was computed.",
                value=snap.plan_ts,
            )
        if snap.plan_seconds is not None:
            yield GaugeMetricFamily(
                "cloudward_plan_duration_seconds",
                "Time the last plan took.",
                value=snap.plan_seconds,
            )
        yield from _usage(snap.usage)
        yield GaugeMetricFamily(
            "cloudward_store_history_rows",
            "Rows of per-asset change history kept.",
            value=float(snap.history_rows),
        )


def _usage(points: Sequence[UsagePoint]) -> Iterator[Metric]:
    """The newest sample per sampled asset (at most ``USAGE_SERIES`` assets, by name)."""
    labels = ["asset", "site"]
    cpu = GaugeMetricFamily(
        "cloudward_asset_cpu_utilisation_ratio",
        "CPU busy (0-1) in the newest utilisation sample of each asset.",
        labels=labels,
    )
    mem = GaugeMetricFamily(
        "cloudward_asset_memory_utilisation_ratio",
        "Memory in use (0-1) in the newest utilisation sample of each asset.",
        labels=labels,
    )
    at = GaugeMetricFamily(
        "cloudward_asset_sample_timestamp_seconds",
        "Unix time of the newest utilisation sample of each asset.",
        labels=labels,
    )
    for p in sorted(points, key=lambda p: (p.asset, p.site))[:USAGE_SERIES]:
        if p.cpu_pct is not None:
            cpu.add_metric([p.asset, p.site], p.cpu_pct / 100.0)
        if p.mem_pct is not None:
            mem.add_metric([p.asset, p.site], p.mem_pct / 100.0)
        at.add_metric([p.asset, p.site], p.at_ts)
    yield from (cpu, mem, at)


def new_registry() -> tuple[CollectorRegistry, CollectorMetrics, EstateCollector]:
    """A fresh registry with process/platform metrics, live collector metrics and the estate."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    live = CollectorMetrics(registry)
    estate = EstateCollector()
    registry.register(estate)
    return registry, live, estate
