"""`cloudward run` as a subprocess against a real snmpd: metrics (checked by promtool), API,
pages, SIGHUP reload, a clean SIGTERM exit with every poll run recorded, and polls claimed from
the schedule table on SQLite (back-off included)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.store import Store
from tests.peers import free_port, need_binary, tcp_open, wait_for

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def config(tmp: Path, snmpd: Any, **extra: Any) -> Path:
    cfg: dict[str, Any] = {
        "database": f"sqlite:///{tmp / 'cw.db'}",
        "defaults": {"snmp": {"timeout": "1s", "retries": 0}},
        "credentials": {"c": {"type": "snmp-community", "community": {"env": "CW_D_COMM"}}},
        "targets": [
            {
                "host": "127.0.0.1",
                "snmp_port": snmpd.port,
                "credentials": ["c"],
                "poll_interval": "5s",
                "site": "hq",
            },
            {
                "host": "127.0.0.1",
                "snmp_port": free_port(),
                "credentials": ["c"],
                "poll_interval": "5s",
            },
        ],
    }
    cfg.update(extra)
    path = tmp / "cloudward.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture()
def daemon(tmp_path: Path, snmpd: Any) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    port = free_port()
    cfg = config(tmp_path, snmpd)
    env = dict(os.environ, CW_D_COMM=snmpd.community)
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [
            "cloudward",
            "run",
            "--config",
            str(cfg),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-format",
            "json",
        ],
        env=env,
        stdout=log,
        stderr=log,
        text=True,
    )
    try:
        wait_for(lambda: tcp_open(port), 30, "cloudward API")
        yield proc, port, cfg
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_daemon_metrics_api_and_clean_stop(daemon: Any, tmp_path: Path, snmpd: Any) -> None:
    proc, port, cfg = daemon
    base = f"http://127.0.0.1:{port}"

    def inventory_seen() -> bool:
        _, body = get(base + "/metrics")
        return 'cloudward_assets{device_class="server",site="hq"' in body.decode()

    wait_for(inventory_seen, 60, "inventory in /metrics")
    status, body = get(base + "/metrics")
    text = body.decode()
    assert 'cloudward_polls_total{protocol="snmp",status="ok"}' in text
    assert 'cloudward_poll_errors_total{kind="timeout",protocol="snmp"}' in text
    promtool = need_binary("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr

    status, body = get(base + "/api/v1/assets?device_class=server&limit=10")
    assert status == 200
    page = json.loads(body)
    assert page["total"] == 1 and page["items"][0]["name"] == snmpd.sys_name
    asset_id = page["items"][0]["id"]
    status, body = get(f"{base}/api/v1/assets/{asset_id}")
    detail = json.loads(body)
    assert detail["software"] and detail["interfaces"]
    assert get(base + "/api/v1/assets/999999")[0] == 404
    assert get(base + "/api/v1/assets?limit=100000")[0] == 422
    status, body = get(base + "/api/v1/poll-runs?status=failed")
    failed = json.loads(body)["items"]
    assert failed and failed[0]["error_kind"] == "timeout"
    status, body = get(base + "/openapi.json")
    assert status == 200 and "/api/v1/assets" in json.loads(body)["paths"]
    status, body = get(base + "/")
    assert status == 200 and snmpd.sys_name.encode() in body

    # SIGHUP with a broken file: the old configuration keeps running.
    good = cfg.read_text()
    cfg.write_text("targets: [oops\n")
    proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    assert proc.poll() is None and get(base + "/healthz")[0] == 200
    # SIGHUP with a new sampling interval: the sample job runs at the new one from now.
    doc = yaml.safe_load(good)
    doc["sampling"] = {"interval": "10m"}
    cfg.write_text(yaml.safe_dump(doc))
    proc.send_signal(signal.SIGHUP)
    wait_for(
        lambda: "SIGHUP: sampling every 600s (was 300s)" in (tmp_path / "daemon.log").read_text(),
        30,
        "the new sampling interval taken at SIGHUP",
    )
    cfg.write_text(good)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    log = (tmp_path / "daemon.log").read_text()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    assert any("configuration not reloaded" in x["msg"] for x in lines)
    assert any(x["msg"] == "stopped cleanly" for x in lines)
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        runs = store.poll_runs()
        assert runs and all(r.status in ("ok", "failed", "cancelled") for r in runs)
        assert any(r.status == "ok" for r in runs)
    finally:
        store.close()


def test_api_beyond_localhost_needs_a_token(tmp_path: Path, snmpd: Any) -> None:
    port = free_port()
    cfg = config(tmp_path, snmpd)
    env = dict(os.environ, CW_D_COMM=snmpd.community)
    r = subprocess.run(
        ["cloudward", "run", "--config", str(cfg), "--listen", f"0.0.0.0:{port}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "api.token" in r.stderr

    token = "test-token-0123456789abcdef"
    cfg = config(tmp_path, snmpd, api={"token": {"env": "CW_D_TOKEN"}})
    env["CW_D_TOKEN"] = token
    proc = subprocess.Popen(
        ["cloudward", "run", "--config", str(cfg), "--listen", f"0.0.0.0:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: tcp_open(port), 30, "cloudward API")
        base = f"http://127.0.0.1:{port}"
        assert get(base + "/api/v1/assets")[0] == 401
        assert get(base + "/metrics", token="wrong")[0] == 401
        assert get(base + "/api/v1/assets", token=token)[0] == 200
        assert get(base + "/healthz")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert token not in err


def lease_rows(db: Path) -> dict[str, Any]:
    from sqlmodel import select

    from agent.store import tables as m

    store = Store.open(f"sqlite:///{db}", create=False)
    try:
        with store.session() as s:
            return {r.target: r for r in s.exec(select(m.PollLease)).all()}
    finally:
        store.close()


def test_role_all_on_sqlite_polls_through_the_schedule(tmp_path: Path, snmpd: Any) -> None:
    """The daemon alone on SQLite claims its polls from the schedule table: the row of an
    answering target advances, a silent one backs off as agent.runtime.cadence says, and a
    SIGHUP that removes one target and adds another changes the rows."""
    from agent.runtime import cadence

    dead, added = free_port(), free_port()
    cfg = config(tmp_path, snmpd)
    settings = yaml.safe_load(cfg.read_text())
    for target in settings["targets"]:
        target["poll_interval"] = "1s"
    settings["targets"][1]["snmp_port"] = dead
    cfg.write_text(yaml.safe_dump(settings))
    db = tmp_path / "cw.db"
    good, silent = f"snmp://127.0.0.1:{snmpd.port}", f"snmp://127.0.0.1:{dead}"
    port = free_port()
    env = dict(os.environ, CW_D_COMM=snmpd.community)
    with (tmp_path / "daemon.log").open("w") as log:
        proc = subprocess.Popen(
            ["cloudward", "run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=log,
            text=True,
        )
    try:
        wait_for(lambda: tcp_open(port), 30, "cloudward API")

        def failed_runs() -> list[Any]:
            store = Store.open(f"sqlite:///{db}", create=False)
            try:
                return sorted(store.poll_runs(target=silent), key=lambda r: r.started_at)
            finally:
                store.close()

        wait_for(lambda: len(failed_runs()) >= 4, 60, "four polls of the silent target")
        rows = lease_rows(db)
        runs = failed_runs()
        assert all(r.status in ("failed", "running") for r in runs)
        # 1 s, then 2, 4, 8 s between polls (x 1.1 at most for the jitter): the one policy
        starts = [r.started_at for r in runs]
        for n, (a, b) in enumerate(itertools.pairwise(starts), start=1):
            want = cadence.step(1.0, n)
            assert want - 0.5 <= (b - a).total_seconds() <= want * 1.1 + 1.0, (n, starts)
        row = rows[silent]
        done = [r for r in runs if r.status == "failed"]
        assert row.failures == len(done) and row.last_status == "failed"
        since = (row.next_due - done[-1].started_at).total_seconds()
        assert 0 < since <= cadence.step(1.0, row.failures) * 1.1 + 1.0, since
        assert rows[good].failures == 0 and rows[good].last_status == "ok"
        first_due = rows[good].next_due
        wait_for(lambda: lease_rows(db)[good].next_due > first_due, 30, "the next poll")

        # SIGHUP: the silent target leaves the configuration, another one joins.
        settings["targets"][1]["snmp_port"] = added
        cfg.write_text(yaml.safe_dump(settings))
        proc.send_signal(signal.SIGHUP)
        new = f"snmp://127.0.0.1:{added}"
        wait_for(lambda: set(lease_rows(db)) == {good, new}, 30, "the reloaded schedule")
        wait_for(lambda: lease_rows(db)[new].failures >= 1, 30, "a poll of the new target")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert all(r.leased_by is None for r in lease_rows(db).values())  # handed back at the stop
    assert "stopped cleanly" in (tmp_path / "daemon.log").read_text()
