"""``plancli`` at a tiny size: the result line, its ratios, the table, and the command storing
the very plan the pure planner makes (on SQLite, and on PostgreSQL when it is installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.lines import check_ratio, parse_line
from tests.postgres import missing

ROOT = Path(__file__).resolve().parents[2]
ASSETS = 200


@pytest.mark.peer
@pytest.mark.slow
def test_tiny_run_prints_the_line_and_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.plancli", "--size", str(ASSETS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = out.stdout.splitlines()
    fields = parse_line(line, "plancli", "s")
    check_ratio(fields)
    backends = ["sqlite"] if missing() is not None else ["sqlite", "postgresql"]
    assert fields["backends"] == "+".join(backends)
    assert fields["assets"] == str(ASSETS) and fields["dependency_rows"] == str(10 * ASSETS)
    assert 0 < int(fields["planned_assets"]) <= ASSETS
    assert 0 < int(fields["planned_dependencies"]) <= 10 * ASSETS
    assert fields["same_plan"] == "yes", "the command stores the plan the planner makes"
    assert int(fields["peak_mb"]) > 0 and int(fields["planner_peak_mb"]) > 0
    # a plan this small makes its body in the command's own process: no helper forked
    assert int(fields["helper_peak_mb"]) == 0
    # the re-plan of the unchanged estate shares the first plan's per-asset details
    assert float(fields["replan_seconds"]) > 0 and int(fields["replan_peak_mb"]) > 0
    assert float(fields["replan_db_mb"]) < float(fields["plan_db_mb"])
    if "postgresql" in backends:
        check_ratio(
            {
                "ours": fields["pg_seconds"],
                "baseline": fields["pg_planner_seconds"],
                "ratio": fields["pg_ratio"],
            }
        )
        assert int(fields["pg_peak_mb"]) > 0 and int(fields["pg_planner_peak_mb"]) > 0
    table = out.stderr.strip().splitlines()[-(2 + len(backends)) :]
    assert table[0].startswith(f"plancli: {ASSETS} assets")
    assert table[1].split() == [
        "backend",
        "command",
        "s",
        "planner",
        "s",
        "ratio",
        "command",
        "MB",
        "helper",
        "MB",
        "planner",
        "MB",
        "same",
        "plan",
        "re-plan",
        "s",
    ]
    keys = {"sqlite": ("ours", "baseline", "ratio")}
    keys["postgresql"] = ("pg_seconds", "pg_planner_seconds", "pg_ratio")
    for backend, row in zip(backends, table[2:], strict=True):
        cells = row.split()
        assert cells[0] == backend and cells[-2] == "yes" and float(cells[-1]) > 0
        for cell, key in zip(cells[1:4], keys[backend], strict=True):
            assert float(cell) == pytest.approx(float(fields[key]), abs=0.006), (backend, key)
