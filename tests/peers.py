"""Helpers for tests that start real peers (snmpd, sshd, snmpsim, PostgreSQL, promtool, chromium).

A peer that is missing fails the test under ``CI=true`` and skips it locally, saying why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, why: str) -> None:
    """Fail (in CI) or skip (locally) when a peer the test needs is not available."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required peer missing under CI=true: {why}")
    pytest.skip(why)


def need_binary(name: str, *candidates: str) -> str:
    for path in (name, *candidates):
        found = shutil.which(path) or (
            path if os.path.isabs(path) and os.access(path, os.X_OK) else None
        )
        if found:
            return found
    need(False, f"{name} is not installed (run `make setup`)")
    raise AssertionError("unreachable")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free for both TCP and UDP on 127.0.0.1 at the time of asking."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s2:
                s2.bind(("127.0.0.1", port))
        except OSError:
            continue
        return int(port)
    raise RuntimeError("no free port found")


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "peer") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f}s")


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def wait_snmp_answer(
    host: str,
    port: int,
    packet: bytes,
    proc: subprocess.Popen[bytes] | None,
    *,
    name: str,
    timeout: float,
    exit_detail: Callable[[], str] = lambda: "",
) -> None:
    """Send ``packet`` (an SNMP request) until something answers on ``host:port``; fail at
    once, with ``exit_detail()``, if the peer's process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}{exit_detail()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.4)
            try:
                s.sendto(packet, (host, port))
                if s.recv(4096):
                    return
            except OSError:
                time.sleep(0.15)
    raise TimeoutError(f"{name} on {host}:{port} did not answer in {timeout:.0f}s")
