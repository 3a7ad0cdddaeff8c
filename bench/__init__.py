"""Benchmarks that print a ratio against a baseline measured in the same run.

Each benchmark is a function registered under a name; it returns a :class:`Result` and the
runner (``python -m bench [NAME ...] [--quick]``) prints one line per benchmark::

    NAME ours=X baseline=Y ratio=R unit=U [key=value ...]

Add a benchmark by writing a module in this package that calls ``registry.register``; the runner
imports every module of the package, so nothing else needs changing.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Runner = Callable[[bool], "Result"]
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    name: str
    ours: float
    baseline: float
    unit: str
    extra: dict[str, str | float | int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    def line(self) -> str:
        head = (
            f"{self.name} ours={self.ours:.3f} baseline={self.baseline:.3f} "
            f"ratio={self.ratio:.3f} unit={self.unit}"
        )
        tail = " ".join(f"{k}={_fmt(v)}" for k, v in self.extra.items())
        return f"{head} {tail}".rstrip()


def _fmt(value: str | float | int) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


class Registry:
    """Benchmarks by name (one registry per instance, not shared class state)."""

    def __init__(self) -> None:
        self._runners: dict[str, Runner] = {}

    def register(self, name: str) -> Callable[[Runner], Runner]:
        def add(func: Runner) -> Runner:
            if name in self._runners:
                raise ValueError(f"benchmark {name!r} is registered twice")
            self._runners[name] = func
            return func

        return add

    def names(self) -> list[str]:
        return sorted(self._runners)

    def get(self, name: str) -> Runner:
        return self._runners[name]


registry = Registry()


def peak_mb() -> float:
    """This process's peak resident memory in MB. ``VmHWM`` rather than ``ru_maxrss``: Linux
    carries ``ru_maxrss`` over ``fork`` and ``execve``, so a benchmark's child process would
    report at least the size of the runner that started it."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_cloudward(argv: Sequence[str]) -> tuple[float, float]:
    """``cloudward ARGV`` as a user runs it, in a child process from the checkout: its wall
    time (start-up included) and its peak memory in MB (the child's own ``VmHWM``)."""
    got = run_cloudward_peaks(argv)
    return got["wall"], got["peak_mb"]


def run_cloudward_peaks(argv: Sequence[str]) -> dict[str, float]:
    """:func:`run_cloudward`'s wall time and peak, and ``helper_peak_mb``: the largest peak of
    the processes the command forked (0 when it forked none). A forked process starts with
    its parent's pages shared, and they count in its peak as in its parent's: the two peaks
    overlap, and their sum is an upper bound of what both held at once."""
    code = (
        "import resource, runpy, sys\n"
        f"sys.argv = {['cloudward', *argv]!r}\n"
        "try:\n    runpy.run_module('agent', run_name='__main__')\n"
        "finally:\n"
        "    from bench import peak_mb\n"
        "    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "    print(f'peak_mb={peak_mb():.1f} helper_peak_mb={helper:.1f}', file=sys.stderr)\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"cloudward {' '.join(argv[:2])} failed:\n{out.stderr[-2000:]}")
    figures = out.stderr.rsplit("peak_mb=", 2)
    return {
        "wall": wall,
        "peak_mb": float(figures[-2].split()[0]),
        "helper_peak_mb": float(figures[-1].split()[0]),
    }


def child_json(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS`` from the checkout; the JSON object on its last line."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} {args[0]} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class PgUrls(dict[str, str]):
    """Database name -> URL on a private server, and the server's data folder."""

    def __init__(self, urls: dict[str, str], data_dir: Path) -> None:
        super().__init__(urls)
        self.data_dir = data_dir


@contextlib.contextmanager
def private_postgres(*databases: str) -> Iterator[PgUrls | None]:
    """A private PostgreSQL server with these empty databases, name -> URL, removed after; None
    when PostgreSQL's server programs are not installed."""
    from tests.postgres import PgCluster, missing

    if missing() is not None:
        yield None
        return
    import psycopg

    cluster = PgCluster.create()
    try:
        cluster.start()
        with psycopg.connect(cluster.plain_url, autocommit=True) as conn:
            for name in databases:
                conn.execute(f"CREATE DATABASE {name}")
        base = cluster.url.rsplit("/", 1)[0]
        yield PgUrls({name: f"{base}/{name}" for name in databases}, cluster.data)
    finally:
        cluster.destroy()
