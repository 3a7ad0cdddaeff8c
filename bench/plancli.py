"""``plancli``: ``cloudward plan`` as users run it, end to end, against the pure planner.

The store holds a synthetic estate imported with ``cloudward import`` (the files of
:mod:`bench.importer`, about ten dependency rows per asset; not timed). Ours is the real command
in a subprocess (``python -m agent plan --today ...``): start-up, rebuilding the dependencies,
loading the estate, settings and lifecycle facts from the store, :func:`planner.plan`, and
saving the plan (its JSON body, compressed, per-asset and wave rows). The baseline is
:func:`planner.plan` alone on the same estate, settings and lifecycle facts, in a child process
that first unpickles them (read from the same store beforehand, not timed): its wall time
covers ``plan()`` only. Both sides run with the cyclic garbage collector paused, as the
command pauses it. Each side's peak memory is its own process's ``VmHWM``; the command
makes a large plan's JSON body in a forked helper process while it writes the plan's rows, and
``helper_peak_mb`` is that helper's peak (the pages it shares with the command at the fork
count in both). ``same_plan`` says
whether the digest of the stored plan is that of the baseline's plan on every backend;
``plan_db_mb`` is how much the SQLite store grew by storing the plan (its per-asset and wave
rows, views and compressed body); ``plan_body_mb`` and ``plan_body_stored_mb`` are the size of
the plan's JSON body as text and as stored. The command then runs once more on the same
store (``replan_seconds``): a re-plan from the plan just stored, of an unchanged estate, and
``replan_db_mb`` is what that second plan adds to the SQLite store (the per-asset details it
shares with the first are not stored again).

Sizes: 100,000 assets / 1,000,000 dependency rows (``--quick``: 10,000 / 100,000), on SQLite
and, when PostgreSQL's server programs are installed, on a private PostgreSQL server too.
``python -m bench.plancli --size N`` runs N assets / 10*N rows (a table on stderr, the result
line on stdout).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    Result,
    child_json,
    peak_mb,
    private_postgres,
    registry,
    run_cloudward,
    run_cloudward_peaks,
)
from bench.importer import write_estate

TODAY = "2026-09-01"
DEPS_PER_ASSET = 10


# --- children -----------------------------------------------------------------------------


def inputs(url: str, out: Path) -> dict[str, Any]:
    """Runs in a subprocess: what ``cloudward plan`` gives the planner (dependencies rebuilt
    as the command does, the estate, settings and lifecycle facts), pickled to ``out``."""
    from datetime import date

    from agent.bridge.plan_runs import estate_from_store, load_lifecycle, load_planner_settings
    from agent.inventory.dependencies import rebuild_dependencies
    from agent.store import Store

    store = Store.open(url, create=False)
    try:
        rebuild_dependencies(store)
        estate = estate_from_store(store, date.fromisoformat(TODAY))
        facts = load_lifecycle(store)
    finally:
        store.close()
    with out.open("wb") as f:
        pickle.dump((estate, load_planner_settings(), facts), f, pickle.HIGHEST_PROTOCOL)
    return {
        "assets": sum(1 for a in estate.assets if not a.external),
        "dependencies": len(estate.dependencies),
    }


def pure(path: Path) -> dict[str, Any]:
    """Runs in a subprocess: :func:`planner.plan` of the pickled inputs, and its digest; with
    the cyclic garbage collector paused, as ``cloudward plan`` pauses it."""
    from datetime import date

    import planner
    from agent.store.bulk import paused_collector

    with path.open("rb") as f:
        estate, settings, facts = pickle.load(f)
    with paused_collector():
        start = time.perf_counter()
        result = planner.plan(estate, settings, date.fromisoformat(TODAY), facts)
        wall = time.perf_counter() - start
    peak = peak_mb()
    text = json.dumps(result.to_dict(), sort_keys=True, separators=(",", ":"))
    return {"wall": wall, "peak_mb": peak, "digest": hashlib.sha256(text.encode()).hexdigest()}


def stored(url: str) -> dict[str, Any]:
    """Runs in a subprocess: the newest stored plan's digest, counts, and its body's size as
    stored (compressed) and as text."""
    import zlib

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT digest, assets, waves, body, body_zlib FROM cw_plan "
                    "ORDER BY id DESC LIMIT 1"
                )
            ).one()
    finally:
        engine.dispose()
    packed = bytes(row[4]) if row[4] is not None else row[3].encode()
    raw = len(zlib.decompress(packed)) if row[4] is not None else len(packed)
    return {
        "digest": row[0],
        "assets": row[1],
        "waves": row[2],
        "body_mb": raw / 1e6,
        "body_stored_mb": len(packed) / 1e6,
    }


# --- the parent ---------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    return child_json("bench.plancli", *args)


def _import(url: str, files: tuple[Path, Path]) -> None:
    for path in files:
        run_cloudward(["import", str(path), "--database", url])


def _command(url: str) -> dict[str, Any]:
    return dict(run_cloudward_peaks(["plan", "--database", url, "--today", TODAY]))


def _sqlite_mb(url: str) -> float | None:
    """The size of an SQLite store's files (the database and its write-ahead log), in MB."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return (
        sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        / 1e6
    )


def measure(url: str, files: tuple[Path, Path]) -> dict[str, Any]:
    """Import the estate into ``url`` (not timed), then the baseline and the command."""
    _import(url, files)
    pickled = files[0].with_name("inputs.pickle")
    estate = _child("--inputs", url, str(pickled))
    base = _child("--pure", str(pickled))
    pickled.unlink()
    before = _sqlite_mb(url)
    ours = _command(url)
    if before is not None:  # what the stored plan takes on disk (its rows and its body)
        ours["plan_mb"] = (_sqlite_mb(url) or 0.0) - before
    plan = _child("--stored", url)
    # the same command again: a re-plan from the plan just stored, of an estate unchanged
    before = _sqlite_mb(url)
    again = _command(url)
    if before is not None:
        again["plan_mb"] = (_sqlite_mb(url) or 0.0) - before
    return {"ours": ours, "pure": base, "estate": estate, "stored": plan, "replan": again}


def run_sizes(n: int, m: int) -> Result:
    """Both backends at ``n`` assets / ``m`` dependency rows; a table on stderr."""
    got: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cw-plancli-") as tmp:
        folder = Path(tmp)
        files = write_estate(folder, n, m)
        got["sqlite"] = measure(f"sqlite:///{folder / 'plan.db'}", files)
        pg = _postgres(lambda url: measure(url, files))
        if pg is not None:
            got["postgresql"] = pg
    print(table(n, m, got), file=sys.stderr, flush=True)
    return result(n, m, got)


def table(n: int, m: int, got: dict[str, dict[str, Any]]) -> str:
    first = next(iter(got.values()))["estate"]
    lines = [
        f"plancli: {n:,} assets, {m:,} dependency rows "
        f"({first['dependencies']:,} dependencies planned)",
        f"{'backend':<12}{'command s':>11}{'planner s':>11}{'ratio':>8}"
        f"{'command MB':>12}{'helper MB':>11}{'planner MB':>12}{'same plan':>11}{'re-plan s':>11}",
    ]
    for backend, g in got.items():
        ours, base = g["ours"], g["pure"]
        same = "yes" if g["stored"]["digest"] == base["digest"] else "no"
        lines.append(
            f"{backend:<12}{ours['wall']:>11.3f}{base['wall']:>11.3f}"
            f"{ours['wall'] / base['wall']:>8.2f}{ours['peak_mb']:>12.0f}"
            f"{ours['helper_peak_mb']:>11.0f}{base['peak_mb']:>12.0f}{same:>11}"
            f"{g['replan']['wall']:>11.3f}"
        )
    return "\n".join(lines)


def result(n: int, m: int, got: dict[str, dict[str, Any]]) -> Result:
    lite = got["sqlite"]
    extra: dict[str, str | float | int] = {
        "assets": n,
        "dependency_rows": m,
        "planned_assets": lite["estate"]["assets"],
        "planned_dependencies": lite["estate"]["dependencies"],
        "backends": "+".join(got),
        "peak_mb": round(lite["ours"]["peak_mb"]),
        "helper_peak_mb": round(lite["ours"]["helper_peak_mb"]),
        "plan_db_mb": round(lite["ours"].get("plan_mb", 0.0), 1),
        "plan_body_mb": round(lite["stored"]["body_mb"], 1),
        "plan_body_stored_mb": round(lite["stored"]["body_stored_mb"], 1),
        "planner_peak_mb": round(lite["pure"]["peak_mb"]),
        "replan_seconds": lite["replan"]["wall"],
        "replan_peak_mb": round(lite["replan"]["peak_mb"]),
        "replan_db_mb": round(lite["replan"].get("plan_mb", 0.0), 1),
    }
    pg = got.get("postgresql")
    if pg is not None:
        extra.update(
            pg_seconds=pg["ours"]["wall"],
            pg_planner_seconds=pg["pure"]["wall"],
            pg_ratio=pg["ours"]["wall"] / pg["pure"]["wall"],
            pg_peak_mb=round(pg["ours"]["peak_mb"]),
            pg_helper_peak_mb=round(pg["ours"]["helper_peak_mb"]),
            pg_planner_peak_mb=round(pg["pure"]["peak_mb"]),
            pg_replan_seconds=pg["replan"]["wall"],
        )
    same = all(g["stored"]["digest"] == g["pure"]["digest"] for g in got.values())
    extra["same_plan"] = "yes" if same else "no"
    return Result("plancli", lite["ours"]["wall"], lite["pure"]["wall"], "s", extra)


def _postgres(measure_at: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
    """``measure_at`` a database of a private PostgreSQL server, when its programs are
    installed."""
    with private_postgres("plancli") as urls:
        return None if urls is None else measure_at(urls["plancli"])


@registry.register("plancli")
def run(quick: bool) -> Result:
    n = 10_000 if quick else 100_000
    return run_sizes(n, n * DEPS_PER_ASSET)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--inputs":
        print(json.dumps(inputs(sys.argv[2], Path(sys.argv[3]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--pure":
        print(json.dumps(pure(Path(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--stored":
        print(json.dumps(stored(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--size":
        size = int(sys.argv[2])
        print(run_sizes(size, size * DEPS_PER_ASSET).line(), flush=True)
