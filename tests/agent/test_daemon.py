"""`cloudward run` as a subprocess against a real snmpd: metrics (checked by promtool), API,
pages, SIGHUP reload, and a clean SIGTERM exit with every poll run recorded."""

from __future__ import annotations

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
