"""Fixtures for fault tests: a private PostgreSQL cluster that may be stopped, a small tmpfs that
may be filled or made read-only, and a few snmpd agents. Everything is undone in teardown, even
when the test failed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port, need, need_binary
from tests.postgres import PgCluster


@pytest.fixture()
def pg_cluster() -> Iterator[PgCluster]:
    """A private, running PostgreSQL cluster for one test (stop and start it freely)."""
    cluster = PgCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


class Tmpfs:
    """A small tmpfs mounted for one test."""

    def __init__(self, size: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="cw-tmpfs-"))
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(self.path)],
            check=True,
            capture_output=True,
        )

    def remount(self, mode: str) -> None:
        subprocess.run(
            ["mount", "-o", f"remount,{mode}", str(self.path)], check=True, capture_output=True
        )

    def fill(self) -> Path:
        """Write a filler file until the file system is full; return it (delete it to free)."""
        filler = self.path / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                block = b"\0" * size
                try:
                    while True:
                        os.write(fd, block)
                except OSError:
                    continue
        finally:
            os.close(fd)
        return filler

    def unmount(self) -> None:
        done = subprocess.run(["umount", str(self.path)], capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture()
def tmpfs() -> Iterator[Tmpfs]:
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    need_binary("mount")
    fs = Tmpfs("3m")
    try:
        yield fs
    finally:
        fs.unmount()


@pytest.fixture(scope="module")
def agents() -> Iterator[list[Any]]:
    """Three snmpd agents (distinct sysName each) for daemon runs."""
    from tests.snmpd import SNMPD, SnmpdPeer

    need_binary("snmpd", SNMPD)
    started: list[Any] = []
    try:
        for i in range(3):
            started.append(
                SnmpdPeer.start(free_port(), community="rel-public", sys_name=f"rel-agent-{i}")
            )
        yield started
    finally:
        for peer in started:
            peer.cleanup()
