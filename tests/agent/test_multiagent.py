"""Several agents sharing one PostgreSQL store: the lease table (claims with SKIP LOCKED, the
schedule, takeover of a dead holder's targets), the collector loop, the planner lock, and
three `cloudward run --role collector` processes plus a planner polling a simulated estate
while one collector is killed."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from agent.cli import cli
from agent.configuration.config_file import parse_settings, with_agent
from agent.errors import ConfigError
from agent.inventory.targets import PollJob
from agent.runtime import leases, roles
from agent.runtime.lease_loop import LeaseCollector, LeaseMetrics
from agent.store import Store
from agent.store import tables as m
from collectors.facts import Facts, Identity
from tests.peers import free_port, need, tcp_open, wait_for

# --- fixtures and helpers ------------------------------------------------------------------


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


@pytest.fixture()
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A database URL whose connections use a fresh, empty schema (dropped afterwards)."""
    import psycopg

    schema = f"cwmulti_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(pg_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_plain(pg_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture()
def pg_store(pg_schema_url: str) -> Iterator[Store]:
    store = Store.open(pg_schema_url)
    try:
        yield store
        assert store.engine.pool.checkedout() == 0, "a connection was left checked out"
    finally:
        store.close()


def job(i: int, interval: float = 60.0, site: str = "depot") -> PollJob:
    return PollJob(f"10.9.0.{i}", "snmp", 161, ("c",), site, (), interval)


def make_due(store: Store, seconds_ago: float = 1.0) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE cw_poll_lease SET next_due = now() - make_interval(secs => :s)"),
            {"s": seconds_ago},
        )


def expire(store: Store, agent: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE cw_poll_lease SET lease_expires = now() - interval '1 second' "
                "WHERE leased_by = :a"
            ),
            {"a": agent},
        )


def lease_rows(store: Store) -> dict[str, m.PollLease]:
    with store.session() as s:
        from sqlmodel import select

        return {r.target: r for r in s.exec(select(m.PollLease)).all()}


def db_now(store: Store) -> datetime:
    with store.engine.connect() as conn:
        value: datetime = conn.execute(text("SELECT now()")).scalar_one()
        return value


# --- the lease table -----------------------------------------------------------------------


def test_two_sessions_claim_disjoint_targets(pg_store: Store) -> None:
    """SKIP LOCKED: while one claim is uncommitted, a second skips its rows and takes others."""
    jobs = [job(i) for i in range(5)]
    leases.upsert_leases(pg_store, jobs)
    make_due(pg_store)
    keys = [j.key for j in jobs]
    with pg_store.engine.connect() as one, pg_store.engine.connect() as two:
        first = leases.claim_in(one, "a", keys, 3, 30.0)
        second = leases.claim_in(two, "b", keys, 5, 30.0)  # does not wait for `one`
        one.commit()
        two.commit()
    got_a = {c.target for c in first.claims}
    got_b = {c.target for c in second.claims}
    assert len(got_a) == 3 and len(got_b) == 2
    assert got_a.isdisjoint(got_b) and got_a | got_b == set(keys)
    rows = lease_rows(pg_store)
    assert {k for k, r in rows.items() if r.leased_by == "a"} == got_a
    assert {k for k, r in rows.items() if r.leased_by == "b"} == got_b
    # Nothing is left to claim while the leases hold, whoever asks.
    assert leases.claim(pg_store, "c", keys, 5, 30.0).claims == []


def test_upsert_keeps_the_schedule_of_known_targets(pg_store: Store) -> None:
    leases.upsert_leases(pg_store, [job(1, interval=600), job(2, interval=600)])
    first = lease_rows(pg_store)
    now = db_now(pg_store)
    for row in first.values():  # new targets are first due within min(interval, spread)
        assert now <= row.next_due <= now + timedelta(seconds=leases.FIRST_POLL_SPREAD)
    # A longer interval and a new site: the next poll stays where it was.
    leases.upsert_leases(pg_store, [job(1, interval=900, site="library"), job(2, interval=60)])
    second = lease_rows(pg_store)
    key1, key2 = job(1).key, job(2).key
    assert second[key1].next_due == first[key1].next_due
    assert (second[key1].site, second[key1].interval_s) == ("library", 900)
    # A shorter interval brings the next poll forward to at most one new interval away.
    assert second[key2].next_due <= min(first[key2].next_due, db_now(pg_store) + timedelta(60))
    assert second[key2].interval_s == 60


def test_release_moves_next_due_to_the_next_boundary(pg_store: Store) -> None:
    leases.upsert_leases(pg_store, [job(1, interval=60)])
    make_due(pg_store, seconds_ago=150)  # two and a half intervals late
    before = lease_rows(pg_store)[job(1).key].next_due
    [claim] = leases.claim(pg_store, "a", [job(1).key], 5, 30.0).claims
    assert leases.release(pg_store, "a", claim.target, ok=True)
    row = lease_rows(pg_store)[claim.target]
    assert row.next_due == before + timedelta(seconds=180)  # on the grid, after now
    assert (row.leased_by, row.last_status, row.last_agent, row.failures) == (None, "ok", "a", 0)
    # A failure backs off to twice the interval, still counted from the previous due time.
    make_due(pg_store, seconds_ago=10)
    before = lease_rows(pg_store)[claim.target].next_due
    leases.claim(pg_store, "a", [claim.target], 5, 30.0)
    assert leases.release(pg_store, "a", claim.target, ok=False)
    row = lease_rows(pg_store)[claim.target]
    assert row.next_due == before + timedelta(seconds=120) and row.failures == 1
    # A poll that ends past the next boundary: the next one is due at that boundary (at once),
    # one interval after the window the slow poll started in.
    make_due(pg_store, seconds_ago=130)
    before = lease_rows(pg_store)[claim.target].next_due
    leases.claim(pg_store, "a", [claim.target], 5, 30.0)
    with pg_store.engine.begin() as conn:  # claimed 80 s ago, in the window it was due in
        conn.execute(text("UPDATE cw_poll_lease SET leased_at = now() - interval '80 seconds'"))
    assert leases.release(pg_store, "a", claim.target, ok=True)
    row = lease_rows(pg_store)[claim.target]
    assert row.next_due == before + timedelta(seconds=60) and row.next_due < db_now(pg_store)
    # Handing back without polling (shutdown) leaves it due.
    make_due(pg_store)
    before = lease_rows(pg_store)[claim.target].next_due
    leases.claim(pg_store, "a", [claim.target], 5, 30.0)
    assert leases.release(pg_store, "a", claim.target, ok=False, advance=False)
    row = lease_rows(pg_store)[claim.target]
    assert row.next_due == before and row.last_status == "ok" and row.leased_by is None


def test_expired_lease_is_taken_over_and_its_cut_off_run_closed(pg_store: Store) -> None:
    key = job(1).key
    leases.upsert_leases(pg_store, [job(1)])
    make_due(pg_store)
    assert [c.target for c in leases.claim(pg_store, "a", [key], 5, 30.0).claims] == [key]
    run_id = pg_store.start_poll(key, "snmp", agent="a")  # "a" is killed mid-poll
    assert leases.claim(pg_store, "b", [key], 5, 30.0).claims == []  # still held
    expire(pg_store, "a")
    [taken] = leases.claim(pg_store, "b", [key], 5, 30.0).claims
    assert taken.taken_from == "a"
    [run] = pg_store.poll_runs(target=key)
    assert (
        run.id == run_id and run.status == "abandoned" and "lease of a expired" in (run.error or "")
    )
    assert leases.renew(pg_store, "a", [key], 30.0) == set()  # "a" lost it
    assert not leases.release(pg_store, "a", key, ok=True)
    assert leases.renew(pg_store, "b", [key], 30.0) == {key}
    assert leases.release(pg_store, "b", key, ok=True)


def test_poll_finished_by_a_dead_holder_is_not_repeated(pg_store: Store) -> None:
    """The holder stored its result and died before releasing: the taker does not poll."""
    key = job(1).key
    leases.upsert_leases(pg_store, [job(1)])
    old_run = pg_store.start_poll(key, "snmp", agent="x")  # before the lease: not counted
    pg_store.fail_poll(old_run, kind="timeout", error="x")
    make_due(pg_store, seconds_ago=5)
    due = lease_rows(pg_store)[key].next_due
    leases.claim(pg_store, "a", [key], 5, 30.0)
    run_id = pg_store.start_poll(key, "snmp", agent="a")
    facts = Facts(
        target=key,
        protocol="snmp",
        address="10.9.0.1",
        sys_name="sw1",
        identity=Identity(vendor="Cisco", device_class="switch", serial="FOC1"),
    )
    pg_store.save_facts(facts, run_id=run_id)
    expire(pg_store, "a")
    got = leases.claim(pg_store, "b", [key], 5, 30.0)
    assert got.claims == [] and got.recovered == [key]
    row = lease_rows(pg_store)[key]
    assert (row.leased_by, row.last_status, row.last_agent) == (None, "recovered", "a")
    assert row.next_due == due + timedelta(seconds=60)
    assert [r.status for r in pg_store.poll_runs(target=key)] == ["ok", "failed"]


def test_one_planner_at_a_time_and_new_data(pg_store: Store) -> None:
    with roles.planning_lock(pg_store) as first, roles.planning_lock(pg_store) as second:
        assert first and not second
    with roles.planning_lock(pg_store) as again:
        assert again  # released on the way out
    assert not roles.has_new_data(pg_store)
    run = pg_store.start_poll(job(1).key, "snmp", agent="a")
    pg_store.fail_poll(run, kind="timeout", error="no answer")
    assert not roles.has_new_data(pg_store)  # a failed poll changes nothing to plan
    facts = Facts(target=job(1).key, protocol="snmp", address="10.9.0.1", sys_name="sw1")
    pg_store.save_facts(facts, run_id=pg_store.start_poll(job(1).key, "snmp", agent="a"))
    assert roles.has_new_data(pg_store)
    with pg_store.session() as s:
        s.add(m.PlanRow(created_at=datetime.now(UTC), as_of="2026-01-01", body="{}"))
        s.commit()
    assert not roles.has_new_data(pg_store)


def test_one_live_agent_per_name_and_overdue_targets(pg_store: Store) -> None:
    held = roles.hold_agent_name(pg_store, "col-1")
    try:
        with pytest.raises(ConfigError, match="another agent named 'col-1'"):
            roles.hold_agent_name(pg_store, "col-1")
        roles.hold_agent_name(pg_store, "col-2").close()
    finally:
        held.close()
    roles.hold_agent_name(pg_store, "col-1").close()  # free again once its holder is gone
    leases.upsert_leases(pg_store, [job(1, interval=60), job(2, interval=60)])
    assert leases.overdue(pg_store) == 0
    make_due(pg_store, seconds_ago=90)  # due for more than an interval, nobody on it
    assert leases.overdue(pg_store) == 2
    assert leases.overdue(pg_store, [job(1).key]) == 1
    leases.claim(pg_store, "a", [job(1).key], 5, 30.0)
    assert leases.overdue(pg_store) == 1  # being polled now


# --- configuration and command line ------------------------------------------------------


def test_roles_refuse_sqlite_with_the_fix(tmp_path: Path) -> None:
    cfg = tmp_path / "cw.yaml"
    cfg.write_text(yaml.safe_dump({"database": f"sqlite:///{tmp_path / 'cw.db'}"}))
    for role in ("collector", "planner"):
        result = CliRunner().invoke(cli, ["run", "--role", role, "--config", str(cfg)])
        assert result.exit_code == 2, result.output
        assert f"--role {role}" in result.output and "PostgreSQL" in result.output
        assert "--role all" in result.output
    assert not (tmp_path / "cw.db").exists()  # refused before opening anything
    with pytest.raises(ConfigError, match="PostgreSQL"):
        leases.require_postgresql("sqlite:///x.db", "collector")
    leases.require_postgresql("postgresql://u@h/db", "planner")


def test_agent_section_is_validated() -> None:
    base: dict[str, Any] = {
        "credentials": {"c": {"type": "snmp-community", "community": "env:C"}},
        "targets": [{"host": "10.0.0.1", "site": "depot", "credentials": ["c"]}],
    }
    ok = parse_settings(
        {**base, "agent": {"name": "col-1", "sites": ["depot"], "lease_seconds": "45s"}}
    )
    assert (ok.agent.name, ok.agent.sites, ok.agent.lease_seconds) == ("col-1", ["depot"], 45)
    with pytest.raises(ConfigError) as err:
        parse_settings({**base, "agent": {"name": "col 1", "sites": ["dpot"], "lease_seconds": 0}})
    text_ = str(err.value)
    assert "agent.name: 'col 1'" in text_
    assert "agent.sites[0]: no target has site 'dpot' (sites of the targets: depot)" in text_
    assert "agent.lease_seconds" in text_


def test_name_and_site_flags_let_agents_share_one_file(tmp_path: Path) -> None:
    base: dict[str, Any] = {
        "credentials": {"c": {"type": "snmp-community", "community": "env:C"}},
        "groups": {"dep": {"site": "depot", "credentials": ["c"]}},
        "targets": [
            {"host": "10.0.0.1", "group": "dep"},
            {"host": "10.0.1.1", "site": "town-hall", "credentials": ["c"]},
        ],
        "agent": {"name": "from-file", "lease_seconds": "45s"},
    }
    settings = parse_settings(base)
    assert with_agent(settings) is settings
    depot = with_agent(settings, "depot-1", ["depot"])
    assert (depot.agent.name, depot.agent.sites, depot.agent.lease_seconds) == (
        "depot-1",
        ["depot"],
        45,
    )
    assert settings.agent.sites == []  # the loaded settings are not changed
    with pytest.raises(ConfigError) as err:
        with_agent(settings, "depot 1", ["dpot", "town-hall"])
    assert "--name: " in str(err.value) and "depot 1" in str(err.value)
    with pytest.raises(ConfigError) as err:
        with_agent(settings, None, ["dpot", "town-hall"])
    assert "--site dpot: no target has this site (sites of the targets: depot, town-hall)" in str(
        err.value
    )
    # The command refuses them before opening anything, with exit code 2.
    cfg = tmp_path / "cw.yaml"
    cfg.write_text(yaml.safe_dump({**base, "database": "postgresql://u@127.0.0.1:1/x"}))
    result = CliRunner().invoke(
        cli, ["run", "--role", "collector", "--config", str(cfg), "--site", "dpot"]
    )
    assert result.exit_code == 2 and "--site dpot" in result.output, result.output


# --- the collector loop, in process ------------------------------------------------------


def test_collectors_never_poll_one_target_at_once_and_take_over(pg_store: Store) -> None:
    """Two claim loops on eight 1-second targets; one then hangs (stops renewing, its polls
    never return) and the other takes its targets over once the leases expire."""
    jobs = [job(i, interval=1.0) for i in range(8)]
    leases.upsert_leases(pg_store, jobs)
    make_due(pg_store)
    polling: dict[str, str] = {}
    clashes: list[str] = []
    done: list[tuple[str, str, float]] = []
    hang = asyncio.Event()
    hung: set[str] = set()  # targets whose poll by "a" never returns

    def poller(agent: str) -> Any:
        async def poll(j: PollJob) -> bool:
            if j.key in polling:
                clashes.append(f"{j.key}: {polling[j.key]} and {agent} at once")
            polling[j.key] = agent
            if agent == "a" and hang.is_set():
                del polling[j.key]  # as good as dead: its lease will expire
                hung.add(j.key)
                await asyncio.Event().wait()
            await asyncio.sleep(0.05)
            del polling[j.key]
            done.append((agent, j.key, time.time()))
            return True

        return poll

    registries = {n: CollectorRegistry() for n in ("a", "b")}
    metrics = {n: LeaseMetrics(r) for n, r in registries.items()}

    async def scenario() -> set[str]:
        cols = {
            n: LeaseCollector(
                pg_store,
                poller(n),
                n,
                lease_seconds=1.0,
                capacity={"snmp": 4},
                metrics=metrics[n],
                max_idle=0.5,
            )
            for n in ("a", "b")
        }
        for c in cols.values():
            c.set_jobs(jobs)
        runs = {n: asyncio.create_task(c.run()) for n, c in cols.items()}

        async def until(cond: Any, timeout: float = 30.0) -> None:
            deadline = time.monotonic() + timeout
            while not cond():
                assert time.monotonic() < deadline, "the collectors did not get there"
                await asyncio.sleep(0.05)

        await until(lambda: all(sum(1 for _, k, _ in done if k == j.key) >= 2 for j in jobs))
        hang.set()
        # "a" is stuck holding a lease: one of its polls hangs (its in-flight set may also
        # hold finished polls not yet released, which are not stuck)
        await until(lambda: bool(hung))
        runs["a"].cancel()  # ... and stops renewing
        stuck = set(cols["a"]._busy)
        killed = time.time()
        await until(
            lambda: all(
                any(a == "b" and k == key and t > killed for a, k, t in done) for key in stuck
            )
        )
        cols["b"].stop_accepting()
        await runs["b"]
        await asyncio.gather(*cols["b"].in_flight, return_exceptions=True)
        await cols["b"].finish()
        for t in cols["a"].in_flight:
            t.cancel()
        await asyncio.gather(*cols["a"].in_flight, runs["a"], return_exceptions=True)
        return stuck

    stuck = asyncio.run(scenario())
    assert clashes == []
    takeovers = registries["b"].get_sample_value("cloudward_poll_lease_takeovers_total")
    assert stuck and takeovers is not None and takeovers >= len(stuck)
    assert {a for a, _, _ in done} == {"a", "b"}
    # Never twice in one interval: count polls per window of the target's own schedule.
    rows = lease_rows(pg_store)
    for j in jobs:
        anchor = rows[j.key].next_due.timestamp()
        windows = [math.floor(t - anchor) for a, k, t in done if k == j.key]
        assert len(windows) == len(set(windows)), (j.key, windows)
    assert all(r.leased_by is None for k, r in rows.items() if k not in stuck)


# --- three collectors and a planner, as processes, against snmpsim -------------------------

INTERVAL = 20.0
LEASE = 8.0
SITES = {
    "col-1": ["town-hall", "depot"],
    "col-2": ["depot", "library"],
    "col-3": ["library", "town-hall"],
}


def _devices() -> list[Any]:
    from simulator.estate import load_estate

    recorded = [d for d in load_estate().devices if d.record]
    th = [d for d in recorded if d.site == "town-hall"][:8]
    return th + [d for d in recorded if d.site != "town-hall"]  # 8 + 11 + 5 = 24


def _sys_name(path: Path) -> str:
    from tests.snmprec import load

    value = load(path)["1.3.6.1.2.1.1.5.0"]
    assert isinstance(value, bytes)
    return value.decode()


def _story(runs: list[m.PollRun], window: Any, killed_at: datetime, victim: str) -> str:
    """A target's poll runs, one a line, for the message of a failed check."""
    lines = [f"{victim} killed at {killed_at:%H:%M:%S.%f} (window {window(killed_at)})"]
    for r in sorted(runs, key=lambda r: r.started_at):
        lines.append(
            f"  {r.target} window {window(r.started_at)}: {r.agent} {r.status} "
            f"started {r.started_at:%H:%M:%S.%f} took {r.duration_s}"
        )
    return "\n".join(lines)


def _metric(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


@pytest.mark.peer
@pytest.mark.slow
def test_three_collectors_and_a_planner_survive_a_killed_collector(
    pg_schema_url: str, tmp_path: Path
) -> None:
    from agent.runtime.demo_run import free_udp_ports, start_snmpsim, wait_snmpsim
    from simulator.estate import recordings_dir
    from tests.snmpsim import responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    devices = _devices()
    data = tmp_path / "recordings"
    data.mkdir()
    for d in devices:
        shutil.copy(recordings_dir() / f"{d.name}.snmprec", data)
    ports = free_udp_ports(len(devices))
    sim = start_snmpsim(data, ports, tmp_path)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: list[Any] = []
    try:
        wait_snmpsim(sim, ports[0], devices[0].name)
        env = dict(os.environ)
        base: dict[str, Any] = {
            "database": pg_schema_url,
            "state_dir": str(tmp_path / "state"),
            "defaults": {"snmp": {"timeout": "3s", "retries": 2, "concurrency": 8}},
            "credentials": {},
            "targets": [],
            "replan_interval": "10s",
        }
        for i, (d, port) in enumerate(zip(devices, ports, strict=True)):
            env[f"CW_MA_COMM_{i}"] = d.name
            base["credentials"][f"c{i}"] = {
                "type": "snmp-community",
                "community": {"env": f"CW_MA_COMM_{i}"},
            }
            base["targets"].append(
                {
                    "host": "127.0.0.1",
                    "snmp_port": port,
                    "name": d.name,
                    "credentials": [f"c{i}"],
                    "site": d.site,
                    "poll_interval": INTERVAL,
                }
            )
        api: dict[str, int] = {}
        # One configuration file for all four; each agent's name and sites come from flags,
        # except the planner's, which its own file gives.
        shared = tmp_path / "shared.yaml"
        shared.write_text(yaml.safe_dump(dict(base, agent={"lease_seconds": LEASE})))
        own = tmp_path / "planner.yaml"
        own.write_text(
            yaml.safe_dump(dict(base, agent={"name": "planner", "lease_seconds": LEASE}))
        )
        for name, role in [
            ("col-1", "collector"),
            ("col-2", "collector"),
            ("col-3", "collector"),
            ("planner", "planner"),
        ]:
            path = own if role == "planner" else shared
            flags = [] if role == "planner" else ["--name", name]
            for site in SITES.get(name, []):
                flags += ["--site", site]
            api[name] = free_port()
            log = (tmp_path / f"{name}.log").open("wb")
            logs.append(log)
            procs[name] = subprocess.Popen(
                [
                    "cloudward",
                    "run",
                    "--role",
                    role,
                    "--config",
                    str(path),
                    "--listen",
                    f"127.0.0.1:{api[name]}",
                    "--log-format",
                    "json",
                    *flags,
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        for name, port in api.items():
            wait_for(lambda p=port: tcp_open(p), 60, f"{name} API")  # type: ignore[misc]
        store = Store.open(pg_schema_url)
        keys = {f"snmp://127.0.0.1:{p}" for p in ports}

        def polled_once() -> bool:
            with store.engine.connect() as c:
                n = c.execute(
                    text("SELECT count(DISTINCT target) FROM cw_poll_run WHERE status = 'ok'")
                ).scalar_one()
            return bool(n == len(keys))

        wait_for(polled_once, 120, "a first successful poll of every target")

        # Kill -9 a collector while it holds leases (mid-poll).
        def holder() -> str | None:
            with store.engine.connect() as c:
                row = c.execute(
                    text(
                        "SELECT leased_by FROM cw_poll_lease WHERE lease_expires > now() "
                        "AND leased_by LIKE 'col-%' GROUP BY leased_by ORDER BY count(*) DESC"
                    )
                ).first()
            return None if row is None else str(row[0])

        wait_for(lambda: holder() is not None, 60, "a collector holding a lease")
        victim = holder() or "col-1"
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(timeout=10)
        killed_at = datetime.now(UTC)
        with store.engine.connect() as c:
            held_at_kill = {
                r[0]
                for r in c.execute(
                    text("SELECT target FROM cw_poll_lease WHERE leased_by = :v"), {"v": victim}
                )
            }

        time.sleep(3 * INTERVAL)  # three more intervals with two collectors

        survivors = [n for n in ("col-1", "col-2", "col-3") if n != victim]
        bodies = {}
        for n in [*survivors, "planner"]:
            with urllib.request.urlopen(f"http://127.0.0.1:{api[n]}/metrics", timeout=10) as r:
                bodies[n] = r.read().decode()
        stop_at = datetime.now(UTC)
        for n in [*survivors, "planner"]:
            procs[n].send_signal(signal.SIGTERM)
        for n in [*survivors, "planner"]:
            assert procs[n].wait(timeout=60) == 0, (tmp_path / f"{n}.log").read_text()[-3000:]

        runs = store.poll_runs(limit=100_000)
        rows = lease_rows(store)
        assert set(rows) == keys
        assert not [r for r in runs if r.status == "running"], "a poll run was left running"
        by_target: dict[str, list[m.PollRun]] = defaultdict(list)
        for r in runs:
            by_target[r.target].append(r)

        # Every target: at most one completed poll per interval window of its schedule, and a
        # successful one in every window after its first, up to the last whole one. The one
        # exception: the window of a poll cut off by the kill, when the lease expired after
        # that window ended; the target is then polled in the next window.
        for key in keys:
            row = rows[key]
            anchor, step = row.next_due, row.interval_s

            def window(t: datetime, anchor: datetime = anchor, step: float = step) -> int:
                return math.floor((t - anchor).total_seconds() / step)

            done = [r for r in by_target[key] if r.status in ("ok", "failed")]
            windows = [window(r.started_at) for r in done]
            story = _story(by_target[key], window, killed_at, victim)
            assert len(windows) == len(set(windows)), story
            ok_windows = {window(r.started_at) for r in done if r.status == "ok"}
            last_whole = window(stop_at) - 1
            missing = set(range(min(ok_windows) + 1, last_whole + 1)) - ok_windows
            cut_off = {
                window(r.started_at)
                for r in by_target[key]
                if r.agent == victim and r.status == "abandoned"
            }
            excused = {w for w in missing & cut_off if w + 1 in ok_windows}
            assert missing == excused, f"windows {sorted(missing)} of {last_whole} missed:\n{story}"
            assert row.leased_by is None  # handed back at the clean stops / taken from victim

        # The killed collector's targets were taken over by the others.
        before = {r.target for r in runs if r.agent == victim and r.status == "ok"}
        assert before, f"{victim} had polled nothing before it was killed"
        after = {
            r.target
            for r in runs
            if r.agent != victim and r.status == "ok" and r.started_at > killed_at
        }
        assert before <= after
        assert not [r for r in runs if r.agent == victim and r.started_at > killed_at]
        assert {r.agent for r in runs} <= {"col-1", "col-2", "col-3"}
        for key in held_at_kill:  # its leases in hand: polled again, or its result kept
            taken = any(r.agent != victim and r.started_at > killed_at for r in by_target[key])
            assert taken or rows[key].last_status == "recovered", key
        assert sum(
            _metric(bodies[n], "cloudward_poll_lease_takeovers_total") for n in survivors
        ) >= len(held_at_kill)
        for n in survivors:
            assert _metric(bodies[n], "cloudward_poll_lease_claims_total") > 0
            assert "cloudward_poll_leases_held " in bodies[n]
            assert "cloudward_assets{" not in bodies[n]  # the estate is the planner's to export
        assert _metric(bodies["planner"], "cloudward_poll_targets_overdue") == 0
        assert "cloudward_plan_last_timestamp_seconds" in bodies["planner"]

        # The stored data is complete: one asset per device, named as the device reports.
        assets = store.list_assets()
        assert len(assets) == len(devices)
        assert {a.sys_name for a in assets} == {
            _sys_name(data / f"{d.name}.snmprec") for d in devices
        }
        assert all(r.asset_id is not None for r in runs if r.status == "ok")
        latest = store.latest_plan()
        assert latest is not None
        assert store.count(m.AssetPlan, plan_id=latest.id) == len(devices)
        for n in [*survivors, "planner"]:
            lines = [
                json.loads(x)
                for x in (tmp_path / f"{n}.log").read_text().splitlines()
                if x.startswith("{")
            ]
            assert any(x["msg"] == "stopped cleanly" for x in lines), n
            errors = [x for x in lines if x["level"] in ("error", "critical")]
            assert not errors, f"{n}: {errors}"
        store.close()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
        if sim.poll() is None:
            sim.terminate()
            try:
                sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sim.kill()
                sim.wait()
