"""``import``: ``cloudward import`` of a synthetic estate, end to end, against the floor.

Ours is the real command in a subprocess (``python -m agent import``), first the assets CSV
then the dependencies CSV, into a new database: start-up, parsing and checking every row,
identity keys, children, planning hints and the dependency rows. The baseline (the floor) is
the same number of rows bulk-inserted into the same tables with plain ``sqlite3``/``psycopg``
(executemany / COPY) in one transaction, with no parsing beyond ``csv`` and no validation,
also in a subprocess. Each side's peak memory is its own process's ``VmHWM``.

Sizes: 100,000 assets / 1,000,000 dependency rows (``--quick``: 10,000 / 100,000), on SQLite
and, when PostgreSQL's server programs are installed, on a private PostgreSQL server too.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ROOT, Result, child_json, peak_mb, private_postgres, registry, run_cloudward

SEED = 20240402
OS_CHOICES = (
    ("Windows", "Server 2012 R2"),
    ("Windows", "Server 2019"),
    ("Red Hat Enterprise Linux", "7.9"),
    ("Ubuntu", "22.04"),
)
ASSET_HEADER = [
    "Server name",
    "IP addresses",
    "Cores",
    "Memory (In MB)",
    "OS name",
    "OS version",
    "Serial number",
    "Device class",
    "Disk 1 size (In GB)",
    "CPU utilization percentage",
    "Application",
    "Environment",
    "Software",
    "Ports",
    "Exposures",
    "Tags",
    "Host",
    "Criticality",
]
DEP_HEADER = [
    "Time slot",
    "Source server name",
    "Source IP",
    "Source process",
    "Destination server name",
    "Destination IP",
    "Destination application",
    "Destination port",
]


def name_of(i: int) -> str:
    return f"srv{i:06d}"


def ip_of(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def asset_rows(n: int, seed: int = SEED) -> list[list[str]]:
    """``n`` assets as CSV cells: servers in applications of 40, a hypervisor per 20 guests,
    a management controller with its server's serial every 500th row, and a few rows that
    name one box twice (the same serial) so identity resolution has work to do."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        os_name, os_version = OS_CHOICES[(i // 40) % len(OS_CHOICES)]
        cores = rng.choice((2, 4, 8, 16))
        bmc = i % 500 == 499
        serial = f"SN{(i - 1 if bmc else i):08d}" if i % 3 == 0 or bmc else ""
        if i % 997 == 996:
            serial = f"SN{i - 3:08d}"  # the same box as a row above
        rows.append(
            [
                name_of(i),
                ip_of(i),
                str(cores),
                str(cores * 4096),
                "" if bmc else os_name,
                "" if bmc else os_version,
                serial,
                "bmc" if bmc else ("hypervisor" if i % 20 == 0 else "server"),
                str(rng.choice((80, 120, 500))),
                f"{rng.uniform(1, 90):.1f}",
                f"app{i // 40:05d}",
                rng.choice(("Production", "UAT", "Dev", "")),
                "nginx=1.18;openssl=1.1.1" if i % 4 == 0 else "",
                "tcp/443;22" if i % 5 == 0 else "",
                "telnet:23" if i % 211 == 0 else "",
                "gdpr" if i % 7 == 0 else "",
                name_of(i - i % 20) if i % 20 and i % 500 != 499 else "",
                rng.choice(("high", "medium", "low", "")),
            ]
        )
    return rows


def dependency_rows(n: int, m: int, seed: int = SEED) -> list[list[str]]:
    """``m`` dependency rows between the ``n`` assets (mostly inside an application), some by
    IP only, some to outside addresses, and about 2% repeating a link in another time slot."""
    rng = random.Random(seed + 1)
    rows: list[list[str]] = []
    ports = ("443", "1433", "8080", "53", "389")
    for k in range(m):
        if k and rng.random() < 0.02:
            again = list(rows[rng.randrange(len(rows))])
            again[0] = "2026-08-01 01:00"
            rows.append(again)
            continue
        a = rng.randrange(n)
        base = a - a % 40
        b = base + rng.randrange(min(40, n - base)) if rng.random() < 0.92 else rng.randrange(n)
        src, dst = name_of(a), name_of(b)
        src_ip, dst_ip = ip_of(a), ip_of(b)
        if k % 50 == 0:
            src = ""  # known by its address only
        if k % 200 == 0:
            dst, dst_ip = "", f"192.0.2.{k % 250}"  # outside the estate
        rows.append(
            [
                "2026-08-01 00:00",
                src,
                src_ip,
                "java" if k % 3 else "w3wp.exe",
                dst,
                dst_ip,
                "web" if k % 2 else "",
                rng.choice(ports),
            ]
        )
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_estate(folder: Path, n: int, m: int) -> tuple[Path, Path]:
    """The assets CSV and the dependencies CSV of a synthetic estate."""
    assets = write_csv(folder / "assets.csv", ASSET_HEADER, asset_rows(n))
    deps = write_csv(folder / "dependencies.csv", DEP_HEADER, dependency_rows(n, m))
    return assets, deps


def write_estate_json(path: Path, n: int, m: int) -> Path:
    """The same estate as one JSON file (assets, then dependencies)."""
    keys = ["name", "addresses", "cores", "memory_mb", "os_name", "os_version", "serial"]
    keys += ["device_class", "disk_gb", "cpu_util_pct", "application", "environment"]
    keys += ["software", "listening", "exposures", "tags", "host", "criticality"]
    dep_keys = ["time", "source", "source_ip", "process", "destination", "destination_ip"]
    dep_keys += ["service", "port"]
    with path.open("w", encoding="utf-8") as f:
        f.write('{"assets": [\n')
        for i, row in enumerate(asset_rows(n)):
            f.write(("" if i == 0 else ",\n") + json.dumps(dict(zip(keys, row, strict=True))))
        f.write('\n],\n"dependencies": [\n')
        for i, row in enumerate(dependency_rows(n, m)):
            f.write(("" if i == 0 else ",\n") + json.dumps(dict(zip(dep_keys, row, strict=True))))
        f.write("\n]}\n")
    return path


# --- the floor ----------------------------------------------------------------------------


def floor(url: str, assets: Path, deps: Path) -> dict[str, Any]:
    """Runs in a subprocess: the rows of both files into the schema's tables, no checks; with
    the cyclic garbage collector paused, as ``cloudward import`` pauses it."""
    import gc

    gc.disable()
    start = time.perf_counter()
    with assets.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        asset_values = [
            (r[0], r[0], r[1], r[4] or None, r[5] or None, int(r[2]), "2026-01-01", "2026-01-01")
            for r in reader
        ]
    with deps.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        dep_values = [
            (f"ext:{r[1] or r[2]}", f"ext:{r[4] or r[5]}", "import", int(r[7] or 0), 1)
            for r in reader
        ]
    asset_sql = (
        "INSERT INTO cw_asset (name, sys_name, mgmt_address, os_name, os_version, cpu_count, "
        "device_class, vendor, tags, sources, evidence, planning, exposures, field_sources, "
        "first_seen, last_seen, status) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 'server', "
        "'unknown', '[]', '[]', '{{}}', '{{}}', '[]', '{{}}', {p}, {p}, 'active')"
    )
    dep_cols = "src_key, dst_key, origin, port, count"
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.executemany(asset_sql.format(p="?"), asset_values)
        conn.executemany(
            f"INSERT INTO cw_dependency ({dep_cols}, seen_by_client, seen_by_server, "
            "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, 1, 0, '2026-01-01', '2026-01-01') "
            "ON CONFLICT DO NOTHING",
            dep_values,
        )
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as pg:
            with pg.cursor() as cur:
                cur.executemany(asset_sql.format(p="%s"), asset_values)
                with cur.copy(
                    f"COPY cw_dependency ({dep_cols}, seen_by_client, seen_by_server, "
                    "first_seen, last_seen) FROM STDIN"
                ) as copy:
                    seen: set[tuple[str, str, int]] = set()
                    for v in dep_values:
                        key = (v[0], v[1], v[3])
                        if key in seen:
                            continue
                        seen.add(key)
                        copy.write_row((*v, True, False, "2026-01-01", "2026-01-01"))
            pg.commit()
    return {"wall": time.perf_counter() - start, "peak_mb": peak_mb()}


def _schema(url: str) -> None:
    """An empty cloudward schema at ``url`` (not timed)."""
    code = f"from agent.store import Store; Store.open({url!r}).close()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _ours(url: str, files: tuple[Path, Path]) -> dict[str, Any]:
    wall, peak = 0.0, 0.0
    for path in files:
        took, top = run_cloudward(["import", str(path), "--database", url])
        wall, peak = wall + took, max(peak, top)
    return {"wall": wall, "peak_mb": peak}


def _floor(url: str, files: tuple[Path, Path]) -> dict[str, Any]:
    return child_json("bench.importer", "--floor", url, str(files[0]), str(files[1]))


def _count(url: str) -> tuple[int, int, float]:
    """Assets and dependencies stored at ``url``, and the database's size on disk in MB (the
    SQLite file with its WAL, or PostgreSQL's ``pg_database_size``)."""
    code = (
        "import glob, os\n"
        "from sqlalchemy import text\n"
        "from agent.store import Store, tables as m\n"
        f"s = Store.open({url!r}, create=False)\n"
        "if s.url.startswith('sqlite'):\n"
        "    path = s.url.split(':///', 1)[1]\n"
        "    size = sum(os.path.getsize(p) for p in glob.glob(glob.escape(path) + '*'))\n"
        "else:\n"
        "    with s.engine.connect() as c:\n"
        "        size = c.execute(text('SELECT pg_database_size(current_database())')).scalar()\n"
        "print(s.count(m.Asset), s.count(m.DependencyRow), size)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    a, d, size = out.stdout.split()
    return int(a), int(d), int(size) / 1e6


def measure(url_of: Any, n: int, m: int, folder: Path) -> dict[str, Any]:
    files = write_estate(folder, n, m)
    ours_url, floor_url = url_of("ours"), url_of("floor")
    _schema(ours_url)
    _schema(floor_url)
    ours = _ours(ours_url, files)
    base = _floor(floor_url, files)
    assets, deps, size = _count(ours_url)
    return {"ours": ours, "floor": base, "assets": assets, "deps": deps, "db_mb": size}


def _result(name: str, n: int, m: int, got: dict[str, Any]) -> Result:
    return Result(
        name,
        got["ours"]["wall"],
        got["floor"]["wall"],
        "s",
        {
            "assets": n,
            "dependency_rows": m,
            "stored_assets": got["assets"],
            "stored_dependencies": got["deps"],
            "peak_mb": round(got["ours"]["peak_mb"]),
            "db_mb": round(got["db_mb"]),
            "db_kb_per_asset": round(1000 * got["db_mb"] / max(1, got["assets"]), 1),
            "floor_peak_mb": round(got["floor"]["peak_mb"]),
        },
    )


@registry.register("import")
def run(quick: bool) -> Result:
    n, m = (10_000, 100_000) if quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="cw-import-") as tmp:
        folder = Path(tmp)
        got = measure(lambda side: f"sqlite:///{folder / side}.db", n, m, folder)
        result = _result("import", n, m, got)
        pg = _postgres(n, m, folder)
    if pg is not None:
        extra = dict(result.extra)
        extra.update(
            pg_seconds=pg.ours,
            pg_floor_seconds=pg.baseline,
            pg_ratio=pg.ratio,
            pg_peak_mb=pg.extra["peak_mb"],
            pg_db_mb=pg.extra["db_mb"],
        )
        result = Result(result.name, result.ours, result.baseline, result.unit, extra)
    return result


def _postgres(n: int, m: int, folder: Path) -> Result | None:
    """The same on a private PostgreSQL server, when its programs are installed."""
    with private_postgres("ours", "floor") as urls:
        if urls is None:
            return None
        got = measure(urls.__getitem__, n, m, folder)
        return _result("import-pg", n, m, got)


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--floor":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(json.dumps(floor(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
