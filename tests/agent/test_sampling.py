"""The sampling job against a real net-snmp snmpd: after a good inventory, a round of samples
lands as hourly and daily rollups, and the newest sample shows on /metrics; a target whose
inventory failed is not sampled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from agent.configuration.config_file import parse_settings
from agent.inventory.polling import Poller
from agent.inventory.sampling import Sampler, ssh_sample_platform
from agent.inventory.targets import expand_targets
from agent.runtime.daemon import build_snapshot
from agent.store import Store
from agent.store import tables as m
from agent.store.usage_history import latest_samples, rollups
from agent.telemetry.metrics import new_registry
from collectors.snmp.identify import load_rules
from tests.peers import free_port


@pytest.mark.peer
def test_sampling_round_stores_rollups_of_inventoried_targets(
    snmpd: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_S_COMM", snmpd.community)
    settings = parse_settings(
        {
            "database": f"sqlite:///{tmp_path / 'cw.db'}",
            "defaults": {"snmp": {"timeout": "2s", "retries": 0}},
            "credentials": {"c": {"type": "snmp-community", "community": {"env": "CW_S_COMM"}}},
            "targets": [
                {"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["c"]},
                {"host": "127.0.0.1", "snmp_port": free_port(), "credentials": ["c"]},
            ],
        }
    )
    store = Store.open(settings.database)
    jobs = expand_targets(settings)

    async def run() -> tuple[list[int | None], list[list[int]], list[int]]:
        poller = Poller(settings, store, load_rules())
        try:
            polled = [(await poller.poll(j)).asset_id for j in jobs]
            sampler = Sampler(settings, store, poller.client)
            rounds = [(await sampler.run_once(jobs)).stored for _ in range(2)]
            skipped = [(await sampler.run_once(jobs)).skipped]
            return polled, rounds, skipped
        finally:
            poller.close()

    try:
        (asset, silent), rounds, skipped = asyncio.run(run())
        assert asset is not None and silent is None, "one box answers, the other port is shut"
        assert rounds == [[asset], [asset]], "each round samples the inventoried box once"
        assert skipped == [1], "the target whose inventory failed is not sampled"
        hours = rollups(store, "hour")[asset]
        days = rollups(store, "day")[asset]
        for metric in ("mem_pct", "disk_pct"):  # three rounds (two hours, if one just began)
            assert sum(h.count for h in hours[metric]) == sum(d.count for d in days[metric]) == 3
            assert all(0 < h.p50 <= h.p95 <= h.max <= 100 for h in hours[metric])
        # the octet counters of consecutive samples become a rate
        assert sum(h.count for h in hours["net_in_bps"]) >= 1
        assert min(h.p50 for h in hours["net_in_bps"]) >= 0
        assert store.count(m.UsageSample, asset_id=asset) <= 3
        (now,) = latest_samples(store)
        assert now.asset_id == asset and now.mem_pct is not None and 0 < now.mem_pct < 100

        registry, _live, estate = new_registry()
        estate.snapshot = build_snapshot(store)
        text = generate_latest(registry).decode()
        line = next(x for x in text.splitlines() if x.startswith("cloudward_asset_memory_util"))
        assert f'asset="{snmpd.sys_name}"' in line and 0 < float(line.split()[-1]) < 1
        assert "cloudward_asset_sample_timestamp_seconds{" in text
    finally:
        store.close()


@pytest.mark.parametrize(
    ("os_name", "platform"),
    [
        ("Windows", "windows"),
        ("Ubuntu", "linux"),
        ("Debian GNU/Linux", "linux"),
        (None, "linux"),
        ("IOS", None),
        ("IOS-XE", None),
        ("NX-OS", None),
    ],
)
def test_ssh_sample_platform_follows_the_stored_os(os_name: str | None, platform: str) -> None:
    assert ssh_sample_platform(os_name) == platform
