"""The daemon and CLI as people meet them: JSON logs whole (the web server's lines too), a
private SQLite file, and money by financial year in the waves view."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.store import Store
from tests.peers import free_port, wait_for
from tests.web.conftest import get_json
from tests.web.estate import REPO, council_store


def test_json_logs_include_the_web_servers_lines(tmp_path: Path) -> None:
    store, _ = council_store(tmp_path / "cw.db")
    store.close()
    config = tmp_path / "cw.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'cw.db'}\nstate_dir: {tmp_path}/state\n")
    port = free_port()
    listen = f"127.0.0.1:{port}"
    args = ["--log-level", "info", "run", "--config", str(config), "--listen", listen]
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", *args, "--log-format", "json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok", 60)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn logs this itself
            s.recv(1024)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = Counter(r["logger"].split(".")[0] for r in records)
    assert loggers["uvicorn"] >= 1, loggers
    assert any("Invalid HTTP request" in r["msg"] for r in records)
    assert any(r["msg"].startswith("cloudward running") for r in records)


def test_sqlite_file_and_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "cw.db"
        store = Store.open(f"sqlite:///{path}")
        with store.session() as s:
            s.connection().exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x)")
            s.connection().exec_driver_sql("INSERT INTO t VALUES (1)")
            s.commit()
        made = [p for p in path.parent.iterdir() if p.name.startswith("cw.db")]
        assert {p.name for p in made} >= {"cw.db", "cw.db-wal"}
        for p in made:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        store.close()
    finally:
        os.umask(old)


def test_waves_view_money_adds_up_to_the_plan(tmp_path: Path) -> None:
    from agent.bridge.plan_runs import plan_body
    from agent.bridge.plan_views import waves_view

    store, _ = council_store(tmp_path / "cw.db")
    try:
        body = plan_body(store, None)
        assert body is not None
        view = waves_view(dict(body))
    finally:
        store.close()
    assert view["currency"] == "GBP" and view["years"]
    for year in view["years"]:
        assert year["label"][:4].isdigit() and "/" in year["label"]
        waves = [m for w in view["waves"] for m in w["money"] if m["label"] == year["label"]]
        assert len(waves) == len(view["waves"])
        assert sum(m["capital"] for m in waves) == pytest.approx(year["capital_change"], abs=1)
        assert sum(m["revenue"] for m in waves) == pytest.approx(year["revenue_change"], abs=1)
    assert any(m["revenue"] for w in view["waves"] for m in w["money"])


def test_a_plan_is_stored_with_its_views_as_its_body_gives_them(tmp_path: Path) -> None:
    """The views written with a plan are the ones its stored body gives (what a plan stored
    before views were kept is served from), so the API answers the same either way."""
    from agent.bridge.plan_runs import plan_body
    from agent.bridge.plan_views import PLAN_VIEWS, stored_view

    store, _ = council_store(tmp_path / "cw.db")
    try:
        body = plan_body(store, None)
        assert body is not None
        for name, build in PLAN_VIEWS.items():
            kept = stored_view(store, int(body["plan_id"]), name)
            assert kept is not None, name
            assert kept == json.loads(json.dumps(build(dict(body)))), name
        with store.session() as s:  # as a plan stored before: no views, built from the body
            s.connection().exec_driver_sql("UPDATE cw_plan SET views = NULL")
            s.commit()
        assert stored_view(store, int(body["plan_id"]), "waves") is None
    finally:
        store.close()
