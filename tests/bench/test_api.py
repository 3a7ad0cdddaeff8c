"""``api --quick``: the real API server and the plain floor under wrk, on SQLite and on the
session's PostgreSQL; plus the replicated plan body the store is built from."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.api import ENDPOINTS, PG_URL_ENV
from bench.api_estate import base_plan, replicate_body
from tests.bench.lines import check_ratio, parse_line
from tests.peers import need_binary

ROOT = Path(__file__).resolve().parents[2]


def test_replicated_body_keeps_assets_groups_and_waves_consistent() -> None:
    _estate, result = base_plan(100)
    body = replicate_body(result.to_dict(), 3, 100)
    ids = [a["asset_id"] for a in body["assets"]]
    assert len(ids) == 300 == len(set(ids)) and body["summary"]["assets"] == 300
    assert {a["asset_id"] for a in result.to_dict()["assets"]} <= set(ids)
    groups = {g["id"]: g for g in body["groups"]}
    assert len(groups) == len(body["groups"]) == 3 * len(result.groups.groups)
    in_waves = Counter(g for w in body["waves"] for g in w["wave"]["groups"])
    assert set(in_waves) <= set(groups) and max(in_waves.values()) == 1
    assert all(x in set(ids) for g in groups.values() for x in g["assets"])
    assert {a["group"] for a in body["assets"] if a["group"]} <= set(groups)
    names = [a["name"] for a in body["assets"]]
    assert len(set(names)) == 300, "every copy of an asset has its own name"


@pytest.mark.peer
@pytest.mark.slow
def test_quick_run_prints_one_line_with_its_ratio(pg_url: str) -> None:
    need_binary("wrk")
    out = subprocess.run(
        [sys.executable, "-m", "bench", "api", "--quick"],
        cwd=ROOT,
        env={**os.environ, PG_URL_ENV: pg_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = out.stdout.splitlines()
    fields = parse_line(line, "api", "ms_per_request")
    check_ratio(fields)
    backends = ["sqlite", "postgresql"]
    assert fields["backends"] == "+".join(backends) and fields["loadgen"] == "wrk"
    assert fields["assets"] == "10000"
    for backend in backends:
        for name, _path in ENDPOINTS:
            key = f"{name}_{backend}"
            assert float(fields[f"{key}_rps"]) > 0 and float(fields[f"{key}_floor_rps"]) > 0
            assert float(fields[f"{key}_p50_ms"]) <= float(fields[f"{key}_p99_ms"])
