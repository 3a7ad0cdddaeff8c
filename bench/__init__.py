"""Benchmarks that print a ratio against a baseline measured in the same run.

Each benchmark is a function registered under a name; it returns a :class:`Result` and the
runner (``python -m bench [NAME ...] [--quick]``) prints one line per benchmark::

    NAME ours=X baseline=Y ratio=R unit=U [key=value ...]

Add a benchmark by writing a module in this package that calls ``registry.register``; the runner
imports every module of the package, so nothing else needs changing.
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Runner = Callable[[bool], "Result"]


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
