"""`cloudward demo`, the README's first command, run as a user runs it: it prints where to
look, serves pages, API and metrics with waves of the simulated estate, and Ctrl-C stops all of
it (the daemon and the simulated devices), as does closing the terminal (SIGHUP)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.peers import free_port, need, wait_for
from tests.snmpsim import responder_binary

pytestmark = pytest.mark.peer


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except OSError:
        return 0, b""


def _running_with(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(proc.name))
    return pids


def test_demo_serves_waves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    port = free_port()
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        ["cloudward", "demo", "--listen", f"127.0.0.1:{port}", "--workdir", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: any("cloudward demo is running" in x for x in lines), 90, "the banner")
        out = "".join(lines)
        for path in ("/", "/debt", "/waves", "/api/docs", "/metrics"):
            assert f"{base}{path}\n" in out, out

        def planned() -> bool:
            status, body = _get(f"{base}/api/v1/waves")
            return status == 200 and bool(json.loads(body)["waves"])

        wait_for(planned, 180, "waves of the demo estate")
        status, page = _get(f"{base}/waves")
        assert status == 200 and b"<html" in page.lower()
        status, metrics = _get(f"{base}/metrics")
        text = metrics.decode()
        assert status == 200 and "cloudward_assets{" in text
        assert "cloudward_lifecycle_assets_past_end_of_support{" in text
        assert _running_with(str(work)), "the simulated devices (snmpsim) run"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        reader.join(5)
    out = "".join(lines)
    assert code == 0, out[-3000:]
    assert "stopped cleanly" in out
    assert "Traceback" not in out, out[-3000:]
    assert _running_with(str(work)) == [], "snmpsim was left running"
    assert _get(f"{base}/healthz")[0] == 0


def test_demo_stops_with_its_simulator_when_the_terminal_closes(tmp_path: Path) -> None:
    """SIGHUP to ``cloudward demo`` (its terminal closed) stops it, not a reload: the daemon
    exits and takes its snmpsim child with it."""
    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    port = free_port()
    work = tmp_path / "demo-hup"
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            ["cloudward", "demo", "--listen", f"127.0.0.1:{port}", "--workdir", str(work)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/healthz")[0] == 200, 90, "the demo to serve")
        simulators = [pid for pid in _running_with(str(work)) if pid != proc.pid]
        assert simulators, "the simulated devices (snmpsim) run"
        proc.send_signal(signal.SIGHUP)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, out[-3000:]
    assert "terminal closed" in out and "stopped cleanly" in out, out[-3000:]
    assert "Traceback" not in out and "reloaded" not in out, out[-3000:]
    assert _running_with(str(work)) == [], "snmpsim was left running"
    assert _get(f"{base}/healthz")[0] == 0


def test_make_demo_installs_only_what_the_demo_needs(tmp_path: Path) -> None:
    """``make demo`` sets up a venv with the demo extra only (no test tools, no apt packages)
    and serves on ``PORT`` (8470 unless given)."""
    make = shutil.which("make")
    need(make is not None, "make is not installed (apt install make)")
    assert make is not None
    root = Path(__file__).resolve().parents[2]
    venv = tmp_path / "venv"

    def dry_run(*args: str) -> str:
        done = subprocess.run(
            [make, "-n", "-B", "--no-print-directory", "demo", f"VENV={venv}", *args],
            cwd=root,
            # run from `make test`, make would otherwise pass its own flags and level down
            env={
                k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
            },
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    steps = dry_run("PORT=9123")
    assert "pip install -q -e '.[demo]'" in steps, steps
    assert "[test]" not in steps and "apt-get" not in steps and "dpkg" not in steps, steps
    assert steps.rstrip().endswith("cloudward demo --listen 127.0.0.1:9123"), steps
    assert dry_run().rstrip().endswith("cloudward demo --listen 127.0.0.1:8470")
