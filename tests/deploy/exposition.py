"""A real cloudward metrics registry filled so that every family has samples, and the series
(names and label names) its exposition really contains.

The registry is :func:`agent.telemetry.metrics.new_registry`, the one the daemon serves on
``/metrics``; the estate snapshot has assets at several sites, in every support status and every
end-of-support range, scored debt, waves and a plan; the live metrics have polls that
succeeded, failed and went stale. Names are read back from ``generate_latest``, never listed
by hand, so a metric added to or removed from the agent is seen here.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.runtime.lease_loop import LeaseMetrics
from agent.runtime.roles import overdue_gauge
from agent.telemetry.metrics import (
    DAY,
    AssetPoint,
    CollectorMetrics,
    EstateCollector,
    EstateSnapshot,
    WavePoint,
    new_registry,
)

STALE_TARGET = "snmp://10.30.1.20:161"

# (name, class, site, support status, days to end of support, debt score)
ASSETS = (
    ("th-core-01", "switch", "town-hall", "eol", -500, 82.0),
    ("th-fw-01", "firewall", "town-hall", "extended", 30, 64.5),
    ("th-esx-01", "hypervisor", "town-hall", "supported", 120, 35.0),
    ("th-app-07", "server", "town-hall", "eol", -100, 71.0),
    ("th-ups-01", "ups", "town-hall", "unknown", None, None),
    ("depot-sw-01", "switch", "depot", "supported", 200, 22.0),
    ("depot-fs-01", "server", "depot", "supported", 500, 18.0),
    ("lib-central-prn-02", "printer", "central-library", "eol", -20, 55.0),
    ("lib-central-sw-01", "switch", "central-library", "supported", 1000, 9.0),
)


def sample_snapshot(now: float) -> EstateSnapshot:
    day0 = now - now % DAY
    waves = [
        WavePoint(
            str(n),
            assets=a,
            groups=g,
            start_ts=day0 + s * DAY,
            end_ts=day0 + e * DAY,
            debt_retired=d,
        )
        for n, a, g, s, e, d in (
            (1, 2, 1, 30, 90, 53.0),
            (2, 4, 2, 120, 240, 188.5),
            (3, 3, 2, 270, 360, 81.0),
        )
    ]
    return EstateSnapshot(
        assets=[AssetPoint(n, c, s, st, d, debt) for n, c, s, st, d, debt in ASSETS],
        waves=waves,
        plan_ts=now - 3600,
        plan_day_ts=day0,
        plan_seconds=4.2,
        refreshed_ts=now,
        history_rows=1234,
    )


def record_polls(live: CollectorMetrics, now: float) -> None:
    """Polls that succeeded, failed, were cancelled, and one target that went stale."""
    live.observe("snmp", "snmp://10.10.0.1:161", True, 0.4, 812, None, now)
    live.observe("ssh", "ssh://10.10.20.7:22", True, 2.1, 64, None, now)
    live.observe("snmp", "snmp://10.20.0.9:161", False, 2.0, 0, "timeout", now)
    live.observe("ssh", "ssh://10.10.20.8:22", False, 0.3, 0, "auth", now)
    live.observe("snmp", STALE_TARGET, True, 0.9, 300, None, now - 10 * DAY)
    live.observe("snmp", "snmp://10.10.0.2:161", False, 0.0, 0, "cancelled", now)
    live.set_targets(
        [
            ("snmp://10.10.0.1:161", "snmp", 900.0),
            ("ssh://10.10.20.7:22", "ssh", 900.0),
            (STALE_TARGET, "snmp", 900.0),
        ]
    )
    live.targets.labels("snmp").set(40)
    live.targets.labels("ssh").set(12)
    live.in_flight.inc()


@dataclass
class SampleAgent:
    registry: CollectorRegistry
    live: CollectorMetrics
    estate: EstateCollector

    def scrape(self) -> bytes:
        return generate_latest(self.registry)


def sample_agent(now: float) -> SampleAgent:
    registry, live, estate = new_registry()
    estate.snapshot = sample_snapshot(now)
    record_polls(live, now)
    # What agents sharing a PostgreSQL schedule add (a collector's leases, a planner's view).
    leases = LeaseMetrics(registry)
    leases.held.set(12)
    leases.claims.inc(40)
    leases.takeovers.inc(3)
    overdue_gauge(registry).set(2)
    return SampleAgent(registry, live, estate)


@dataclass(frozen=True)
class Exported:
    """What an exposition offers PromQL: series names with their label names, and for each
    metric family the series names it produced (``_bucket``, ``_sum``, ``_total``...)."""

    series: dict[str, frozenset[str]]
    families: dict[str, frozenset[str]]

    def family_of(self, name: str) -> str | None:
        for family, names in self.families.items():
            if name in names:
                return family
        for suffix in ("_bucket", "_sum", "_count", "_total", "_created", "_info"):
            if name.endswith(suffix) and name.removesuffix(suffix) in self.families:
                return name.removesuffix(suffix)
        return name if name in self.families else None


def exported(text: str) -> Exported:
    series: dict[str, set[str]] = {}
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        names = families.setdefault(family.name, set())
        for sample in family.samples:
            names.add(sample.name)
            series.setdefault(sample.name, set()).update(sample.labels)
    return Exported(
        {k: frozenset(v) for k, v in series.items()},
        {k: frozenset(v) for k, v in families.items()},
    )
