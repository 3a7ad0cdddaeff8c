"""``clistart``: how fast ``cloudward --help`` and the read-only commands answer on a small store.

Each command runs as a subprocess, the way a user runs it, against the council estate of
``tests/data/estate/council.json`` (36 assets, imported and planned first, not timed); its time
is the best of N runs (N = 10, ``--quick``: 3). The baseline, measured in the same run and the
same way, is the interpreter doing nothing (``python -c pass``); ``python -c "import sqlite3"``
is timed too, as the floor of any command that reads an SQLite store.

The project's modules are compiled to bytecode first, as installing the package or a first
run leaves them: a checkout set up with ``pip install -e`` where ``PYTHONDONTWRITEBYTECODE`` is
set would otherwise compile every module again at every start (a fifth of ``assets``' time).

``ours`` is the slowest read-only command; each command's seconds and its ratio to the baseline
follow as ``NAME=SECONDS`` and ``NAME_ratio=RATIO``.
"""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import Result, registry

ROOT = Path(__file__).resolve().parents[1]
ESTATE = ROOT / "tests" / "data" / "estate" / "council.json"
TODAY = "2026-11-01"
# What is timed, by the name it is printed under; "help" is not a read of the store.
COMMANDS: dict[str, tuple[str, ...]] = {
    "help": ("--help",),
    "assets": ("assets",),
    "assets_json": ("assets", "--json"),
    "debt": ("debt",),
    "waves": ("waves",),
    "hubs": ("hubs",),
    "lifecycle_gaps": ("lifecycle", "gaps"),
}


def cloudward() -> list[str]:
    """The ``cloudward`` program beside this interpreter, else the package run as a module."""
    script = Path(sys.executable).with_name("cloudward")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent"]


def best_of(argv: Sequence[str], repeats: int, cwd: Path, env: dict[str, str]) -> float:
    """The shortest wall time of ``repeats`` runs of ``argv``, each of which must succeed."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{out.stderr.decode()[-2000:]}")
    return min(times)


def small_store(folder: Path, env: dict[str, str]) -> None:
    """The council estate imported and planned into ``folder``'s store (not timed)."""
    for args in (("import", str(ESTATE)), ("plan", "--today", TODAY)):
        best_of([*cloudward(), *args], 1, folder, env)


def compiled() -> None:
    """The bytecode of the project's packages, written beside them where it is missing or
    stale."""
    for package in ("agent", "planner", "collectors"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"{package}: some modules do not compile")


def measure(repeats: int) -> Result:
    compiled()
    with tempfile.TemporaryDirectory(prefix="cw-clistart-") as tmp:
        folder = Path(tmp)  # no cloudward.yaml here: the commands run on their defaults
        env = {**os.environ, "CLOUDWARD_DATABASE": f"sqlite:///{folder / 'cw.db'}"}
        small_store(folder, env)
        base = best_of([sys.executable, "-c", "pass"], repeats, folder, env)
        sqlite = best_of([sys.executable, "-c", "import sqlite3"], repeats, folder, env)
        took = {
            name: best_of([*cloudward(), *args], repeats, folder, env)
            for name, args in COMMANDS.items()
        }
    assets = len(json.loads(ESTATE.read_text(encoding="utf-8"))["assets"])
    extra: dict[str, str | float | int] = {"repeats": repeats, "store_assets": assets}
    extra["import_sqlite3"] = sqlite
    extra["import_sqlite3_ratio"] = sqlite / base
    for name, seconds in took.items():
        extra[name] = seconds
        extra[f"{name}_ratio"] = seconds / base
    slowest = max(seconds for name, seconds in took.items() if name != "help")
    return Result("clistart", slowest, base, "s", extra)


@registry.register("clistart")
def run(quick: bool) -> Result:
    return measure(3 if quick else 10)
