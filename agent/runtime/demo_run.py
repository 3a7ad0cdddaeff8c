"""``cloudward demo``: the demo council estate and the daemon against it, in one command.

snmpsim serves the recordings in ``config/demo/recordings`` on 127.0.0.1, one UDP port per
device (the device's community is its name); the daemon polls them on a short interval, plans
as soon as data arrives, and serves the pages, API and /metrics. Ctrl-C stops all of it, and
so do SIGTERM and SIGHUP (the terminal closing): a demo never outlives its terminal, nor leaves
the simulator running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.configuration.config_file import parse_settings
from agent.errors import AgentError
from agent.runtime.daemon import Daemon

log = logging.getLogger(__name__)

ENV_PREFIX = "CLOUDWARD_DEMO_COMMUNITY_"
STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class DemoStopped(Exception):
    """A stop signal arrived before the daemon ran (while the simulator started)."""


def _stop_starting(signum: int, _frame: object) -> None:
    raise DemoStopped(signal.Signals(signum).name)


def responder() -> str:
    here = Path(sys.executable).parent / "snmpsim-command-responder"
    found = str(here) if here.exists() else shutil.which("snmpsim-command-responder")
    if not found:
        raise AgentError(
            "the demo needs snmpsim: pip install 'cloudward[demo]' (or run "
            "`make demo`, which installs it)"
        )
    return found


def free_udp_ports(n: int) -> list[int]:
    ports: list[int] = []
    socks = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def start_snmpsim(recordings: Path, ports: list[int], workdir: Path) -> subprocess.Popen[bytes]:
    cmd = [
        responder(),
        f"--data-dir={recordings}",
        f"--cache-dir={workdir / 'snmpsim-cache'}",
        "--log-level=error",
        f"--logging-method=file:{workdir / 'snmpsim.log'}",
    ]
    cmd += [f"--agent-udpv4-endpoint=127.0.0.1:{p}" for p in ports]
    env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=workdir
    )


def wait_snmpsim(
    proc: subprocess.Popen[bytes], port: int, community: str, timeout: float = 120.0
) -> None:
    from simulator.probe import v2c_get_packet

    packet = v2c_get_packet(community)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AgentError(f"snmpsim exited with code {proc.returncode}; see its log")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            try:
                s.sendto(packet, ("127.0.0.1", port))
                if s.recv(4096):
                    return
            except OSError:
                time.sleep(0.2)
    raise AgentError(f"snmpsim did not answer within {timeout:.0f}s")


def demo_config(
    devices: list[Any], ports: list[int], workdir: Path, poll_interval: int
) -> dict[str, Any]:
    credentials: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for i, (dev, port) in enumerate(zip(devices, ports, strict=True)):
        env = f"{ENV_PREFIX}{i}"
        os.environ[env] = dev.name
        credentials[f"demo-{i}"] = {"type": "snmp-community", "community": {"env": env}}
        tags = ["demo"]
        role = (dev.role or "").lower()
        if any(w in role for w in ("test", "training", "uat")):
            tags.append("test")
        else:
            tags.append("prod")
        targets.append(
            {
                "host": "127.0.0.1",
                "snmp_port": port,
                "name": dev.name,
                "credentials": [f"demo-{i}"],
                "site": dev.site,
                "tags": tags,
                "poll_interval": poll_interval,
            }
        )
    return {
        "database": f"sqlite:///{workdir / 'cloudward-demo.db'}",
        "state_dir": str(workdir),
        "defaults": {"snmp": {"timeout": "5s", "retries": 2, "concurrency": 8}},
        "credentials": credentials,
        "targets": targets,
        "replan_interval": "20s",
    }


def run_demo(listen: str, workdir: Path | None, poll_interval: int, keep: bool) -> int:
    from simulator.errors import SimulatorError
    from simulator.estate import load_estate, recordings_dir

    try:
        estate = load_estate()
    except SimulatorError as exc:
        raise AgentError(str(exc)) from exc
    recordings = recordings_dir()
    available = {p.stem for p in recordings.glob("*.snmprec")}
    devices = [d for d in estate.devices if d.record and d.name in available]
    if not devices:
        raise AgentError(f"no demo recordings in {recordings}; run python -m simulator.estate")
    work = workdir or Path(tempfile.mkdtemp(prefix="cloudward-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "cloudward-demo.db"
    if not keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    ports = free_udp_ports(len(devices))
    # Until the daemon takes them over, a hang-up or SIGTERM unwinds through the clean-up below
    # (their default action would end the process and leave snmpsim running).
    previous = {sig: signal.signal(sig, _stop_starting) for sig in STOP_SIGNALS}
    sim: subprocess.Popen[bytes] | None = None
    try:
        print(
            f"cloudward demo: starting the simulated estate ({len(devices)} devices, "
            f"{len({d.site for d in devices})} sites) ...",
            flush=True,
        )
        sim = start_snmpsim(recordings, ports, work)
        wait_snmpsim(sim, ports[0], devices[0].name)
        settings = parse_settings(demo_config(devices, ports, work, poll_interval), "demo")

        async def ready(daemon: Daemon) -> None:
            base = f"http://{listen}"
            print(
                f"cloudward demo is running (data in {work}):\n"
                f"  estate overview   {base}/\n"
                f"  debt ranking      {base}/debt\n"
                f"  migration waves   {base}/waves\n"
                f"  API (OpenAPI)     {base}/api/docs\n"
                f"  Prometheus        {base}/metrics\n"
                "first polls and the first plan arrive within a minute; Ctrl-C stops it all.",
                flush=True,
            )

        daemon = Daemon(settings, listen=listen, on_ready=ready, hangup_stops=True)
        return asyncio.run(daemon.run())
    except DemoStopped as exc:
        log.info("%s while starting: stopping", exc)
        return 0
    finally:
        for sig in STOP_SIGNALS:  # stopping already: a second signal must not cut it short
            signal.signal(sig, signal.SIG_IGN)
        if sim is not None and sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sim.kill()
                sim.wait()
        if workdir is None and not keep:
            shutil.rmtree(work, ignore_errors=True)
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)
