"""The database misbehaves under a running cloudward: PostgreSQL stopped and started again under
``cloudward run`` (results wait and are written; a SIGTERM meanwhile spools them for the next
start), the disk holding SQLite full or read-only, and ``kill -9`` of the daemon mid-scan on
both backends. Real peers throughout: a private PostgreSQL cluster, tmpfs, snmpd."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from agent.store import Store
from agent.store import tables as m
from tests.peers import free_port, wait_for
from tests.postgres import PgCluster
from tests.reliability.conftest import Tmpfs
from tests.reliability.daemon import Cloudward, metric, snmp_targets, write_config
from tests.reliability.relay import UdpRelay

pytestmark = [pytest.mark.peer, pytest.mark.slow]

ENV = {"CW_REL_COMM": "rel-public"}
CHILD_TABLES = (
    m.AssetKey,
    m.AssetHistory,
    m.Interface,
    m.AddressRow,
    m.SoftwareRow,
    m.HardwareRow,
    m.StorageRow,
    m.NeighborRow,
    m.ListeningRow,
    m.ConnectionRow,
)


def base_config(tmp: Path, database: str, ports: list[int], **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "database": database,
        "state_dir": str(tmp / "state"),
        "replan_interval": "1h",
        "defaults": {"snmp": {"timeout": "1s", "retries": 0}},
        "credentials": {"c": {"type": "snmp-community", "community": {"env": "CW_REL_COMM"}}},
        "targets": snmp_targets(ports),
    }
    cfg.update(extra)
    return cfg


def aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def open_store(url: str) -> Store:
    return Store.open(url, create=False)


def finished_runs(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.session() as s:
            rows = s.exec(select(m.PollRun.status)).all()
    finally:
        store.close()
    out: dict[str, int] = {}
    for status in rows:
        out[status] = out.get(status, 0) + 1
    return out


def asset_rows(url: str) -> list[tuple[Any, ...]]:
    store = open_store(url)
    try:
        return [(a.id, a.name, a.serial, a.sys_name, a.first_seen) for a in store.list_assets()]
    finally:
        store.close()


def assert_consistent(url: str) -> None:
    """No child row without its asset; every SNMP asset complete (no half-written poll)."""
    store = open_store(url)
    try:
        with store.session() as s:
            ids = set(s.exec(select(m.Asset.id)).all())
            for table in CHILD_TABLES:
                owners = set(s.exec(select(table.asset_id)).all())  # type: ignore[attr-defined]
                assert owners <= ids, f"{table.__name__} rows without their asset"
            for run in s.exec(select(m.PollRun).where(m.PollRun.status == "ok")).all():
                assert run.asset_id in ids, f"ok poll run {run.id} points at no asset"
            for asset_id in ids:
                assert store.children(m.Interface, asset_id), f"asset {asset_id} has no interfaces"
                assert store.children(m.SoftwareRow, asset_id), f"asset {asset_id} has no software"
    finally:
        store.close()


def sqlite_integrity(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


# --- PostgreSQL goes away under the daemon ---------------------------------------------------


def settled_counts(cw: Cloudward, url: str) -> tuple[float, float, dict[str, int]] | None:
    """(ok polls, failed polls) from /metrics and the stored run counts, taken while no poll
    finished in between; None when a poll was in flight or finished meanwhile."""
    before = cw.metrics()
    stored = finished_runs(url)
    after = cw.metrics()
    if before != after or metric(after, "cloudward_polls_in_flight") != 0:
        return None
    return (
        metric(after, "cloudward_polls_total", status="ok"),
        metric(after, "cloudward_polls_total", status="failed"),
        stored,
    )


def test_postgresql_outage_loses_no_poll_and_a_stop_meanwhile_spools(
    tmp_path: Path, pg_cluster: PgCluster, agents: list[Any]
) -> None:
    dead = free_port()
    ports = [a.port for a in agents] + [dead]
    config = write_config(tmp_path / "cw.yaml", base_config(tmp_path, pg_cluster.url, ports))
    url = pg_cluster.url
    with Cloudward(config, ENV, tmp_path / "daemon.log") as cw:
        cw.start()
        # every agent stored once (a quick agent's second poll may finish before a slow one's
        # first: counting finished polls alone does not say that)
        wait_for(lambda: len(asset_rows(url)) >= len(agents), 60, "first polls stored")
        assert finished_runs(url).get("ok", 0) >= len(agents)
        before = asset_rows(url)
        assert len(before) == len(agents)

        # Outage 1: the database stops; polls go on and their results wait.
        pg_cluster.stop()
        down_at = datetime.now(UTC)
        waiting = "will be recorded when it is back"
        wait_for(
            lambda: sum(waiting in r.get("msg", "") for r in cw.records()) >= 2 * len(agents),
            60,
            "polls while the database is down",
        )
        assert cw.proc is not None and cw.proc.poll() is None
        assert cw.metrics()  # the API and /metrics keep answering
        pg_cluster.start()
        up_at = datetime.now(UTC)

        # Every poll the daemon counted is stored, once, when the database is back.
        def all_written() -> bool:
            got = settled_counts(cw, url)
            if got is None:
                return False
            ok, failed, stored = got
            return stored.get("ok", 0) == ok and stored.get("failed", 0) == failed

        wait_for(all_written, 90, "results that waited to be written")
        assert cw.said("results that waited for the database")
        store = open_store(url)
        try:
            runs = store.poll_runs(limit=10_000)
        finally:
            store.close()
        during = [r for r in runs if down_at <= aware(r.started_at) <= up_at]
        for agent in agents:
            key = f"snmp://127.0.0.1:{agent.port}"
            mine = [r for r in during if r.target == key]
            assert mine and all(r.status == "ok" and r.asset_id for r in mine), key
        assert any(r.target.endswith(f":{dead}") and r.status == "failed" for r in runs)
        assert [a[:4] for a in asset_rows(url)] == [a[:4] for a in before]  # assets intact
        assert_consistent(url)

        # Outage 2: the database stops and then the daemon is told to stop.
        pg_cluster.stop()
        seen = len(cw.records())
        keys = [f"snmp://127.0.0.1:{a.port}" for a in agents]

        def every_agent_polled_again() -> bool:
            said = [r.get("msg", "") for r in cw.records()[seen:]]
            return all(any(waiting in s and key in s for s in said) for key in keys)

        wait_for(every_agent_polled_again, 60, "polls during the second outage")
        assert cw.terminate() == 0
    spool = tmp_path / "state" / "pending-results.jsonl"
    assert cw.said("spooled to"), cw.log()[-3000:]
    spooled = [json.loads(line) for line in spool.read_text().splitlines() if line.strip()]
    assert set(keys) <= {item["target"] for item in spooled}, cw.log()[-6000:]

    pg_cluster.start()
    with Cloudward(config, ENV, tmp_path / "daemon2.log") as again:
        again.start()
        wait_for(lambda: again.said("results spooled at the last stop"), 60, "spool replay")
        wait_for(lambda: not spool.exists(), 30, "spool file consumed")
        assert again.terminate() == 0
    store = open_store(url)
    try:
        runs = store.poll_runs(limit=10_000)
    finally:
        store.close()
    stored = {(r.target, aware(r.started_at)) for r in runs}
    by_id = {r.id: r for r in runs}
    for item in spooled:
        if item["run_id"] is not None:  # started before the outage: its own run is closed
            run = by_id[item["run_id"]]
            assert run.target == item["target"] and run.status in ("ok", "failed"), item
        else:  # started while the database was down: recorded afterwards, at its real time
            started = aware(datetime.fromisoformat(item["started_at"]))
            assert (item["target"], started) in stored, item
    assert not [r for r in runs if r.status == "running"]
    assert [a[:4] for a in asset_rows(url)] == [a[:4] for a in before]
    assert_consistent(url)


# --- the disk holding SQLite is full or read-only ---------------------------------------------


def scan(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cloudward", "scan", "--config", str(config), "--json"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture()
def on_tmpfs(tmp_path: Path, tmpfs: Tmpfs, agents: list[Any]) -> Iterator[tuple[Tmpfs, Path]]:
    """A database on the tmpfs holding the first agent's asset; the config polls two agents."""
    db = tmpfs.path / "cw.db"
    cfg = base_config(tmp_path, f"sqlite:///{db}", [agents[0].port])
    config = write_config(tmp_path / "cw.yaml", cfg)
    first = scan(config)
    assert first.returncode == 0, first.stderr
    cfg["targets"] = snmp_targets([agents[0].port, agents[1].port])
    write_config(config, cfg)
    yield tmpfs, config


def snapshot(db: Path) -> dict[str, Any]:
    store = open_store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            return {
                t.__name__: sorted(repr(r.model_dump()) for r in s.exec(select(t)).all())
                for t in (m.Asset, m.Interface, m.SoftwareRow, m.StorageRow, m.AssetKey)
            }
    finally:
        store.close()


@pytest.mark.parametrize("room", [0, 64 << 10], ids=["full-at-open", "full-mid-write"])
def test_full_disk_is_a_clear_error_and_corrupts_nothing(
    on_tmpfs: tuple[Tmpfs, Path], room: int
) -> None:
    fs, config = on_tmpfs
    db = fs.path / "cw.db"
    before = snapshot(db)
    filler = fs.fill()
    os.truncate(filler, filler.stat().st_size - room)  # room to open, not to write a poll
    done = scan(config)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "full" in done.stderr and "free some space" in done.stderr, done.stderr
    if room:
        summary = json.loads(done.stdout)
        assert summary["errors"] == {"store": 2}, summary
    filler.unlink()
    sqlite_integrity(db)
    assert snapshot(db) == before  # nothing stored earlier was lost or changed
    again = scan(config)
    assert again.returncode == 0 and json.loads(again.stdout)["ok"] == 2, again.stderr
    sqlite_integrity(db)


def test_read_only_disk_is_a_clear_error_and_corrupts_nothing(
    on_tmpfs: tuple[Tmpfs, Path],
) -> None:
    fs, config = on_tmpfs
    db = fs.path / "cw.db"
    before = snapshot(db)
    fs.remount("ro")
    done = scan(config)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "read-only" in done.stderr and "remount it read-write" in done.stderr, done.stderr
    fs.remount("rw")
    sqlite_integrity(db)
    assert snapshot(db) == before
    again = scan(config)
    assert again.returncode == 0 and json.loads(again.stdout)["ok"] == 2, again.stderr


# --- kill -9 of the daemon in the middle of a scan --------------------------------------------


@pytest.fixture()
def stalled_agent() -> Iterator[Any]:
    """An snmpd that is SIGSTOPped: its polls stay in flight until their timeout."""
    from tests.snmpd import SnmpdPeer

    peer = SnmpdPeer.start(free_port(), community="rel-public", sys_name="rel-stalled")
    assert peer.proc is not None
    peer.proc.send_signal(signal.SIGSTOP)
    try:
        yield peer
    finally:
        peer.proc.send_signal(signal.SIGCONT)
        peer.cleanup()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_mid_scan_leaves_a_consistent_store(
    backend: str,
    tmp_path: Path,
    agents: list[Any],
    stalled_agent: Any,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "postgresql":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.url
    else:
        url = f"sqlite:///{tmp_path / 'cw.db'}"
    ports = [a.port for a in agents] + [stalled_agent.port]
    cfg = base_config(tmp_path, url, ports, defaults={"snmp": {"timeout": "4s", "retries": 0}})
    cfg["targets"] = snmp_targets(ports, interval="1s")
    config = write_config(tmp_path / "cw.yaml", cfg)
    with Cloudward(config, ENV, tmp_path / "daemon.log") as cw:
        cw.start()

        # Kill while polls are being written: some stored, the stalled one still running.
        def mid_scan() -> bool:
            # every agent stored once (some twice, with a 1 s interval), the stalled one running
            counts = finished_runs(url)
            return (
                counts.get("ok", 0) >= len(agents) + 1
                and counts.get("running", 0) >= 1
                and len(asset_rows(url)) >= len(agents)
            )

        wait_for(mid_scan, 90, "a scan in progress")
        cw.kill()
    left_running = finished_runs(url).get("running", 0)
    assert left_running >= 1
    if backend == "sqlite":
        sqlite_integrity(tmp_path / "cw.db")
    assert_consistent(url)
    assets = asset_rows(url)
    assert len(assets) == len(agents)

    with Cloudward(config, ENV, tmp_path / "daemon2.log") as again:
        again.start()
        wait_for(lambda: again.said("left running by an earlier stop"), 30, "abandoned runs closed")
        assert again.terminate() == 0
    counts = finished_runs(url)
    assert counts.get("running", 0) == 0
    assert counts.get("abandoned", 0) >= left_running
    store = open_store(url)
    try:
        with store.session() as s:
            abandoned = s.exec(select(m.PollRun).where(m.PollRun.status == "abandoned")).all()
            assert all(r.error and "stopped before the poll finished" in r.error for r in abandoned)
            if backend == "postgresql":
                orphans = s.exec(  # type: ignore[call-overload]
                    text(
                        "SELECT count(*) FROM cw_interface i LEFT JOIN cw_asset a "
                        "ON a.id = i.asset_id WHERE a.id IS NULL"
                    )
                ).one()[0]
                assert orphans == 0
    finally:
        store.close()
    assert [a[:4] for a in asset_rows(url)] == [a[:4] for a in assets]
    assert_consistent(url)


# --- PostgreSQL goes away in the middle of `cloudward scan` -------------------------------------


def test_scan_spools_what_it_could_not_write_and_the_next_scan_writes_it(
    tmp_path: Path, pg_cluster: PgCluster, agents: list[Any]
) -> None:
    """A relay stops PostgreSQL halfway through the walk of an agent: the poll finishes with
    the database gone, its result is spooled at the end of the scan (not dropped), and the
    next scan writes it before polling again."""
    url = pg_cluster.url
    with UdpRelay(agents[0].port) as relay:
        cfg = base_config(
            tmp_path, url, [relay.port], defaults={"snmp": {"timeout": "5s", "retries": 1}}
        )
        config = write_config(tmp_path / "cw.yaml", cfg)
        relay.arm(after=5, fault=pg_cluster.stop)
        first = scan(config)
        assert relay.fired.is_set()
        assert first.returncode == 0, first.stderr
        assert "Traceback" not in first.stderr, first.stderr
        assert json.loads(first.stdout)["ok"] == 1
        spool = tmp_path / "state" / "pending-results.jsonl"
        [line] = spool.read_text().splitlines()
        assert json.loads(line)["facts"]["sys_name"] == "rel-agent-0"
        assert "1 results spooled" in first.stderr

        pg_cluster.start()
        second = scan(config)
        assert second.returncode == 0, second.stderr
        assert not spool.exists()
    runs = open_store(url)
    try:
        statuses = [r.status for r in runs.poll_runs()]
        assert statuses == ["ok", "ok"], statuses  # the spooled poll and the new one
        assert [a.sys_name for a in runs.list_assets()] == ["rel-agent-0"]
    finally:
        runs.close()
    assert_consistent(url)
