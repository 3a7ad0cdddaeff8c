"""A private PostgreSQL server in a temporary folder, on a free port of 127.0.0.1, that a test
may stop and start at will; ``destroy()`` stops it and removes the folder.

    from tests.postgres import PgCluster

    cluster = PgCluster.create()      # skips locally, fails under CI=true, without the binaries
    cluster.start()
    ... cluster.url (SQLAlchemy), cluster.plain_url (libpq) ...
    cluster.destroy()

The binaries come from the distribution's server package (Debian: ``postgresql``), found with
``pg_config --bindir`` or under ``/usr/lib/postgresql/<version>/bin`` (Debian keeps ``initdb``
off PATH). PostgreSQL refuses to run as root, so as root ``initdb`` and ``pg_ctl`` run through
``runuser`` as ``postgres`` (made by the package) or else ``nobody``; that user owns the folder.
Authentication is ``trust`` for the ``postgres`` role. ``initdb`` takes about a second.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.peers import free_port, need

TOOLS = ("initdb", "pg_ctl", "postgres")
RUN_AS = ("postgres", "nobody")  # the first that exists, when running as root


def _has_tools(folder: Path) -> bool:
    return all(os.access(folder / tool, os.X_OK) for tool in TOOLS)


def _version(folder: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder))


def pg_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    candidates += [Path(folder) for folder in found]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    return next((folder for folder in candidates if _has_tools(folder)), None)


def run_as() -> str | None:
    """The unprivileged user the server runs as (None: as ourselves, when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


def missing() -> str | None:
    """Why a private server cannot be started here, or None when it can."""
    if pg_bin() is None:
        return (
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found through pg_config "
            "or in /usr/lib/postgresql/*/bin: install the `postgresql` package (`make setup`)"
        )
    if os.geteuid() == 0 and run_as() is None:
        return f"running as root and none of the users {', '.join(RUN_AS)} exists to run PostgreSQL"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and `runuser` (util-linux) is not installed to run PostgreSQL"
    return None


@dataclass
class PgCluster:
    dir: Path
    port: int
    bin: Path
    user: str | None  # who the tools run as (None: ourselves)
    started: bool = False  # once started, a restart keeps the port its clients know

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def plain_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed (exit {done.returncode}) for the test PostgreSQL in {self.dir}: "
                f"{done.stdout}{done.stderr}{self.log()[-2000:]}"
            )

    @classmethod
    def create(cls) -> PgCluster:
        """``initdb`` a new cluster (not started). Skips, or fails under CI=true, when the
        server binaries are missing."""
        why = missing()
        need(why is None, why or "")
        binary, user = pg_bin(), run_as()
        assert binary is not None
        folder = Path(tempfile.mkdtemp(prefix="cw-pg-"))
        if user is not None:
            shutil.chown(folder, user, pwd.getpwnam(user).pw_gid)
        cluster = cls(folder, free_port(), binary, user)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cluster

    def start(self) -> None:
        """Start the server and wait until it accepts connections. Should the port have been
        taken since it was picked, the first start tries another free one."""
        for attempt in range(3):
            options = (
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                self.started = True
                return
            except RuntimeError as exc:
                if self.started or attempt == 2 or "could not bind" not in str(exc):
                    raise
                self.port = free_port()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` closes client connections, as an outage would)."""
        if not (self.data / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
