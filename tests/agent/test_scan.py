"""`cloudward scan` end to end against real peers: snmpd, snmpsim recordings, a dead port,
and a responder that answers with garbage. Failed targets become poll runs with clear errors;
nothing stored earlier is lost."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.store import Store
from agent.store import tables as m
from tests.peers import free_port
from tests.snmpd import imported_modules

pytestmark = pytest.mark.peer
DATA = Path(__file__).resolve().parents[1] / "data" / "snmprec"


@pytest.fixture(scope="module")
def snmpsim_local() -> Iterator[Any]:
    from tests.peers import need
    from tests.snmpsim import SnmpsimPeer, responder_binary

    need(responder_binary() is not None, "snmpsim is not installed")
    peer = SnmpsimPeer.start(DATA, free_port(), probe_community="odd-device")
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture()
def garbage_responder() -> Iterator[int]:
    """A UDP port that answers every datagram with bytes that are not SNMP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            sock.sendto(b"\x30\x82\xff\xff garbage \x00\x01\x02", addr)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        sock.close()


def write_config(tmp_path: Path, targets: list[dict[str, Any]], db: Path, **extra: Any) -> Path:
    cfg = {
        **extra,
        "database": f"sqlite:///{db}",
        "defaults": {"snmp": {"timeout": "1s", "retries": 0}},
        "credentials": {
            "local": {"type": "snmp-community", "community": {"env": "CW_T_LOCAL"}},
            "odd": {"type": "snmp-community", "community": {"env": "CW_T_ODD"}},
            "bad": {"type": "snmp-community", "community": {"env": "CW_T_BAD"}},
            "v3": {
                "type": "snmpv3",
                "user": "cwuser",
                "auth_key": {"env": "CW_T_V3_AUTH"},
                "priv_key": {"env": "CW_T_V3_PRIV"},
            },
        },
        "targets": targets,
    }
    path = tmp_path / "cloudward.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_scan(config: Path, snmpd: Any, **more_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        CW_T_LOCAL=snmpd.community,
        CW_T_ODD="odd-device",
        CW_T_BAD="bad-values",
        CW_T_V3_AUTH=snmpd.v3_auth,
        CW_T_V3_PRIV=snmpd.v3_priv,
        **more_env,
    )
    return subprocess.run(
        ["cloudward", "scan", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_scan_stores_good_and_records_bad(
    tmp_path: Path, snmpd: Any, snmpsim_local: Any, garbage_responder: int
) -> None:
    db = tmp_path / "cw.db"
    dead = free_port()
    targets = [
        {"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["local"], "site": "hq"},
        {"host": "localhost", "snmp_port": snmpsim_local.port, "credentials": ["odd"]},
        {"host": "127.0.0.1", "snmp_port": snmpsim_local.port, "credentials": ["bad"]},
        {"host": "127.0.0.1", "snmp_port": dead, "credentials": ["local"]},
        {"host": "127.0.0.1", "snmp_port": garbage_responder, "credentials": ["local"]},
    ]
    config = write_config(tmp_path, targets, db)
    r = run_scan(config, snmpd)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["ok"] == 3 and summary["failed"] == 2, summary
    store = Store.open(f"sqlite:///{db}")
    try:
        by_name = {a.sys_name: a for a in store.list_assets()}
        assert by_name[snmpd.sys_name].device_class == "server"
        assert by_name[snmpd.sys_name].site == "hq"
        odd = by_name["widget-01"]
        assert odd.device_class == "unknown" and odd.vendor == "unknown"
        # garbage values are stored as inert text, clipped, never fatal
        bad = next(a for a in store.list_assets() if a.sys_name == "42")
        assert bad.sys_descr is not None and "\x00" not in bad.sys_descr
        runs = {pr.target: pr for pr in store.poll_runs()}
        timeout_run = runs[f"snmp://127.0.0.1:{dead}"]
        assert timeout_run.status == "failed" and timeout_run.error_kind == "timeout"
        assert "no response" in (timeout_run.error or "")
        garbage_run = runs[f"snmp://127.0.0.1:{garbage_responder}"]
        assert garbage_run.status == "failed" and garbage_run.error
        before = (store.count(m.Asset), store.count(m.SoftwareRow), store.count(m.Interface))
    finally:
        store.close()

    # Second scan: the snmpd target now fails (wrong port); everything stored stays.
    targets[0]["snmp_port"] = free_port()
    config = write_config(tmp_path, targets, db)
    r = run_scan(config, snmpd)
    summary = json.loads(r.stdout)
    assert summary["failed"] == 3
    store = Store.open(f"sqlite:///{db}")
    try:
        after = (store.count(m.Asset), store.count(m.SoftwareRow), store.count(m.Interface))
        assert after == before
        assert store.count(m.PollRun) == 10
    finally:
        store.close()


def test_assets_command_lists_json(tmp_path: Path, snmpd: Any) -> None:
    db = tmp_path / "cw.db"
    config = write_config(
        tmp_path, [{"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["local"]}], db
    )
    assert run_scan(config, snmpd).returncode == 0
    r = subprocess.run(
        ["cloudward", "assets", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    [asset] = json.loads(r.stdout)
    assert asset["name"] == snmpd.sys_name and asset["device_class"] == "server"
    text = subprocess.run(
        ["cloudward", "assets", "--config", str(config)], capture_output=True, text=True, timeout=60
    ).stdout
    assert snmpd.sys_name in text and "1 assets" in text


def test_scan_closes_only_its_own_abandoned_runs(tmp_path: Path, snmpd: Any) -> None:
    """A poll an agent is running into the same store right now stays running; one that an
    earlier, killed scan left running is closed as abandoned."""
    db = tmp_path / "cw.db"
    config = write_config(
        tmp_path, [{"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["local"]}], db
    )
    store = Store.open(f"sqlite:///{db}")
    try:
        live = store.start_poll("snmp://10.0.0.1:161", "snmp", agent="collector-1")
        killed = store.start_poll(
            "snmp://10.0.0.2:161", "snmp", agent=f"scan@{socket.gethostname()}"
        )
    finally:
        store.close()
    assert run_scan(config, snmpd).returncode == 0
    store = Store.open(f"sqlite:///{db}")
    try:
        runs = {r.id: r for r in store.poll_runs()}
        assert runs[live].status == "running"
        assert runs[killed].status == "abandoned"
        assert "scan stopped" in (runs[killed].error or "")
        [scanned] = [r for r in runs.values() if r.target == f"snmp://127.0.0.1:{snmpd.port}"]
        assert scanned.status == "ok" and scanned.agent == f"scan@{socket.gethostname()}"
    finally:
        store.close()


def test_scan_polls_with_the_configured_snmp_engine(
    tmp_path: Path, snmpd: Any, garbage_responder: int
) -> None:
    """``snmp.engine: pysnmp`` makes the scan poll with pysnmp: its import trace shows pysnmp
    (which only that engine imports), and a port answering with garbage times out (the pysnmp
    engine's documented gap) where the fast engine names the garbage. Both store the same
    asset from snmpd over SNMPv3 authPriv."""
    assert snmpd.v3_user == "cwuser"
    targets = [
        {"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["v3"]},
        {"host": "127.0.0.1", "snmp_port": garbage_responder, "credentials": ["local"]},
    ]
    assets: dict[str, tuple[object, ...]] = {}
    software: dict[str, list[tuple[str, str | None]]] = {}
    for engine in ("fast", "pysnmp"):
        db = tmp_path / f"{engine}.db"
        config = write_config(tmp_path, targets, db, snmp={"engine": engine})
        r = run_scan(config, snmpd, PYTHONPROFILEIMPORTTIME="1")
        assert r.returncode == 0, r.stderr[-3000:]
        summary = json.loads(r.stdout)
        assert summary["ok"] == 1 and summary["failed"] == 1, summary
        assert ("pysnmp.hlapi.v3arch.asyncio" in imported_modules(r.stderr)) == (engine == "pysnmp")
        store = Store.open(f"sqlite:///{db}")
        try:
            runs = {pr.target: pr for pr in store.poll_runs()}
            garbage = runs[f"snmp://127.0.0.1:{garbage_responder}"]
            if engine == "fast":
                assert garbage.error_kind == "protocol", garbage.error
                assert "not SNMP" in (garbage.error or "")
            else:
                assert garbage.error_kind == "timeout", garbage.error
                assert "no response" in (garbage.error or "")
            assert runs[f"snmp://127.0.0.1:{snmpd.port}"].status == "ok"
            [asset] = store.list_assets()
            assert asset.id is not None
            rows = store.children(m.SoftwareRow, asset.id)
            software[engine] = sorted((sw.name, sw.version) for sw in rows)
            assets[engine] = (
                asset.name,
                asset.sys_name,
                asset.device_class,
                asset.vendor,
                asset.os_name,
                asset.os_version,
                asset.kernel,
                asset.engine_id,
                asset.snmp_version,
                asset.memory_bytes,
            )
        finally:
            store.close()
    assert assets["fast"][1] == snmpd.sys_name and assets["fast"][8] == "3"
    assert assets["pysnmp"] == assets["fast"]
    assert len(software["fast"]) > 100 and software["pysnmp"] == software["fast"]
