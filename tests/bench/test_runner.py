"""The benchmark runner and the synthetic estate behind ``plan``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import Registry, Result
from bench.plan import HUB_ROLES, adjusted_rand, generate

ROOT = Path(__file__).resolve().parents[2]


def test_result_line_keeps_the_prefix() -> None:
    line = Result("x", 2.0, 8.0, "s", {"peak_mb": 12, "ari": 0.98765}).line()
    assert line == "x ours=2.000 baseline=8.000 ratio=0.250 unit=s peak_mb=12 ari=0.988"


def test_registry_is_per_instance_and_refuses_twins() -> None:
    one, two = Registry(), Registry()
    one.register("a")(lambda quick: Result("a", 1, 1, "s"))
    assert one.names() == ["a"] and two.names() == []
    with pytest.raises(ValueError, match="registered twice"):
        one.register("a")(lambda quick: Result("a", 1, 1, "s"))


def test_runner_lists_and_rejects_unknown_names() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "plan" in listed.stdout.split()
    bad = subprocess.run(
        [sys.executable, "-m", "bench", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "unknown benchmark(s) nope" in bad.stderr


def test_synthetic_estate_has_the_planned_shape() -> None:
    estate, truth = generate(2000, 20000, seed=5)
    again, _ = generate(2000, 20000, seed=5)
    assert estate == again, "a fixed seed gives the same estate"
    assert len(estate.assets) == 2000 and 19_400 <= len(estate.dependencies) <= 20_000
    hubs = {f"{role}{j + 1:02d}" for role, _, _, count, _ in HUB_ROLES for j in range(count)}
    assert len(hubs) == 32
    touching = sum(1 for d in estate.dependencies if d.src in hubs or d.dst in hubs)
    assert 0.3 < touching / 20000 < 0.4, "about 35% of links touch shared infrastructure"
    sizes = np.bincount(
        np.unique([truth[a.id] for a in estate.assets if a.id not in hubs], return_inverse=True)[1]
    )
    assert sizes.min() >= 5 and sizes.max() <= 200


def test_adjusted_rand() -> None:
    assert adjusted_rand(["a", "a", "b", "b"], ["x", "x", "y", "y"]) == 1.0
    assert adjusted_rand(["a", "a", "b", "b"], ["x", "y", "x", "y"]) < 0.1


def test_peak_memory_of_a_child_is_its_own() -> None:
    """A benchmark's child process reports its own peak, not the runner's (ru_maxrss would)."""
    from bench import peak_mb

    ballast = b"x" * (300 * 2**20)  # the runner after a big benchmark
    parent = peak_mb()
    out = subprocess.run(
        [sys.executable, "-c", "from bench import peak_mb; print(peak_mb())"],
        capture_output=True,
        text=True,
        check=True,
    )
    child = float(out.stdout)
    assert parent >= 300 and child < parent - 200, (parent, child)
    del ballast
