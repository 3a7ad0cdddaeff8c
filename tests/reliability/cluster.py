"""A private PostgreSQL cluster in a temporary folder, on a free port, that a test may stop and
start at will (the shared test server must never be stopped).

PostgreSQL's tools refuse to run as root, so they run as the ``postgres`` user, which owns the
folder. ``initdb`` takes about a second here.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.peers import free_port, need


def pg_bin() -> Path | None:
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(found, "initdb"), os.X_OK):
            return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgCluster:
    dir: Path
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def plain_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            log = (
                (self.dir / "server.log").read_text(errors="replace")[-2000:]
                if (self.dir / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{log}")

    @classmethod
    def create(cls) -> PgCluster:
        binary = pg_bin()
        need(binary is not None, "PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        need(os.geteuid() == 0, "a private PostgreSQL cluster is started with runuser as root")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            need(False, "no postgres user to run a private PostgreSQL cluster")
        assert binary is not None
        folder = Path(tempfile.mkdtemp(prefix="cw-pg-"))
        shutil.chown(folder, "postgres")
        cluster = cls(folder, free_port(), binary)
        try:
            cluster._as_postgres(
                str(binary / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cluster

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` closes client connections, as an outage would)."""
        if not (self.data / "postmaster.pid").exists():
            return
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
