"""``api``: requests/s and p50/p99 latency of the HTTP API on a 100,000-asset store.

The store (SQLite file, and PostgreSQL in a private schema dropped afterwards) holds N planned
assets built by :mod:`bench.api_estate`. PostgreSQL is the server at ``$CLOUDWARD_TEST_PG`` when
set, else a private one started for the run from the distribution's binaries
(:mod:`tests.postgres`), else left out. Ours is the daemon's API server
(:mod:`bench.api_server` ``ours``: ``create_app`` + ``serve_api``, uvicorn, FastAPI,
SQLModel). Four endpoints: the asset list (``/api/v1/assets?limit=100``), a filtered asset list
(``support_status=eol&device_class=server``), the waves (``/api/v1/waves``: every wave with its
move groups and asset names) and the debt ranking (``/api/v1/debt?limit=100``).

Baseline: the same endpoints on the same database served by :mod:`bench.api_floor`, plain
Starlette over plain SQL (a DBAPI connection per thread, the equivalent queries written out,
``json.dumps``), under the same uvicorn options. It is the floor of this stack: the work any
implementation must do per request (count, read a page, decode JSON columns, serialise) and
none of ours (FastAPI parameter models and response validation, the ORM, the request guard
middleware). Before loading, the benchmark checks that both answer every endpoint with the
same JSON. Comparing SQLite with PostgreSQL instead would say which database to pick, not how
much our code costs; both backends are reported, each against its own floor.

The PostgreSQL tables are vacuumed and analysed once built, as autovacuum does shortly after
bulk writes on a default server (the test server here runs without it).

Load comes from ``wrk`` (Debian package) with :file:`api_wrk.lua` printing the percentiles,
``CONNECTIONS`` connections from one thread, one endpoint at a time, ours and the floor in
turn; where ``wrk`` is not installed an asyncio + httpx generator does the same (slower, so
rates are lower; ``loadgen`` says which). The headline is the geometric mean over endpoints
and backends of milliseconds per request (1 / throughput at that concurrency); per endpoint
and backend the line also has ``_rps``, ``_p50_ms`` and ``_p99_ms`` for ours and the floor
(``floor_``), and ``_first_ms``, ours's first request after start (the waves view is built
once per stored plan). ``--quick``: 10,000 assets, 1 s per endpoint, backend and server;
otherwise 100,000 assets, 10 s.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import Result, registry

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("api_wrk.lua")
PG_URL_ENV = "CLOUDWARD_TEST_PG"
CONNECTIONS = 8
MAX_SECONDS = 120.0
ENDPOINTS = (
    ("assets", "/api/v1/assets?limit=100"),
    ("assets_eol", "/api/v1/assets?support_status=eol&device_class=server&limit=100"),
    ("waves", "/api/v1/waves"),
    ("debt", "/api/v1/debt?limit=100"),
)


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def load_wrk(url: str, seconds: float, connections: int) -> Load:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            str(LUA),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
    r = json.loads(line)
    return Load(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        errors=r["socket_errors"] + r["status_errors"],
    )


def load_httpx(url: str, seconds: float, connections: int) -> Load:
    """The same load from asyncio + httpx, when wrk is not installed."""
    import httpx

    latencies: list[float] = []
    errors = 0

    async def go() -> float:
        nonlocal errors
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            start = time.perf_counter()
            deadline = start + seconds

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    response = await client.get(url)
                    if response.status_code != 200:
                        errors += 1
                    latencies.append(time.perf_counter() - t0)

            await asyncio.gather(*(worker() for _ in range(connections)))
            return time.perf_counter() - start

    wall = asyncio.run(go())
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return Load(len(latencies) / wall, pct(0.50), pct(0.99), errors)


def get(url: str, timeout: float = 120) -> tuple[float, Any]:
    """(milliseconds, parsed JSON) of one GET."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
    return (time.perf_counter() - start) * 1000, json.loads(body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, timeout: float = 300) -> None:
    """Wait until a server has finished the requests a load generator left in flight."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now


class Servers:
    """Ours and the floor per store, as subprocesses logging to files; stop() ends them all."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._procs: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        self.bases: dict[tuple[str, str], str] = {}

    def start(self, backend: str, url: str, schema: str) -> None:
        for kind in ("ours", "floor"):
            port = free_port()
            with (self._logs / f"{backend}-{kind}.log").open("wb") as log:
                self._procs[backend, kind] = subprocess.Popen(
                    [sys.executable, "-m", "bench.api_server", kind, url, schema, str(port)],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.bases[backend, kind] = f"http://127.0.0.1:{port}"

    def ready(self, backend: str, timeout: float = 120) -> tuple[tuple[str, int], tuple[str, int]]:
        """Wait for the backend's two servers: ((ours URL, pid), (floor URL, pid))."""
        deadline = time.monotonic() + timeout
        for kind in ("ours", "floor"):
            proc, base = self._procs[backend, kind], self.bases[backend, kind]
            while True:
                if proc.poll() is not None:
                    log = (self._logs / f"{backend}-{kind}.log").read_text(errors="replace")
                    raise RuntimeError(f"the {kind} API server on {backend} exited:\n{log[-2000:]}")
                try:
                    get(f"{base}/healthz", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the {kind} API server did not start") from None
                    time.sleep(0.2)
        ours, floor = (backend, "ours"), (backend, "floor")
        return (
            (self.bases[ours], self._procs[ours].pid),
            (self.bases[floor], self._procs[floor].pid),
        )

    def stop(self) -> None:
        for proc in self._procs.values():
            proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def postgresql() -> Iterator[str | None]:
    """URL of the PostgreSQL to bench on: the server at $CLOUDWARD_TEST_PG when set, else a
    private one started here (and removed after), else None when the binaries are missing."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    from tests.postgres import PgCluster, missing

    if missing() is not None:
        yield None
        return
    cluster = PgCluster.create()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.destroy()


@contextmanager
def store_on(backend: str, tmp: Path, pg_url: str | None) -> Iterator[tuple[str, str]]:
    """(URL, schema) of an empty store on ``backend``; the PostgreSQL schema is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'cloudward.db'}", ""
        return
    import psycopg

    assert pg_url is not None
    schema = f"cwbench_{uuid.uuid4().hex[:12]}"
    plain = pg_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_url, schema
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fill(url: str, schema: str, n: int, base: int, planned: tuple[Any, Any]) -> dict[str, Any]:
    from agent.bridge.plan_runs import refresh_statistics
    from agent.store import Store
    from bench.api_estate import build

    extra = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    store = Store.open(url, **extra)
    try:
        made = build(store, n, base, planned)
        # what saving a plan does last: the base plan's statistics are of BASE assets
        refresh_statistics(store)
    finally:
        store.close()
    if schema:  # what autovacuum does soon after bulk writes on a default PostgreSQL (the
        # asset and plan row tables were vacuumed and analysed by refresh_statistics)
        import psycopg

        plain = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(plain, autocommit=True, options=f"-csearch_path={schema}") as conn:
            conn.execute("VACUUM ANALYZE cw_plan")
    return made


def same_answers(ours_base: str, floor_base: str) -> dict[str, tuple[float, float]]:
    """Check ours and the floor agree on every endpoint; ours's first and second times (ms)."""
    times: dict[str, tuple[float, float]] = {}
    for name, path in ENDPOINTS:
        first, ours = get(ours_base + path)
        second, _ = get(ours_base + path)
        _, floor = get(floor_base + path)
        if ours != floor:
            keys = sorted(k for k in set(ours) | set(floor) if ours.get(k) != floor.get(k))
            raise RuntimeError(f"{path}: ours and the floor disagree on {keys}")
        times[name] = (first, second)
    return times


@registry.register("api")
def run(quick: bool) -> Result:
    from bench.api_estate import base_plan

    n, base, seconds = (10_000, 1000, 1.0) if quick else (100_000, 2000, 10.0)
    wrk = shutil.which("wrk") is not None
    load = load_wrk if wrk else load_httpx
    planned = base_plan(base)
    extra: dict[str, str | float | int] = {}
    ours_cost: list[float] = []
    floor_cost: list[float] = []
    with ExitStack() as stack:
        pg_url = stack.enter_context(postgresql())
        backends = ["sqlite"] + (["postgresql"] if pg_url else [])
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-api-")))
        stores = {b: stack.enter_context(store_on(b, tmp, pg_url)) for b in backends}
        running = Servers(tmp)
        stack.callback(running.stop)
        for backend, (url, schema) in stores.items():  # a store's servers start as it is done
            start = time.perf_counter()
            made = fill(url, schema, n, base, planned)
            extra[f"{backend}_build_s"] = round(time.perf_counter() - start, 1)
            running.start(backend, url, schema)
        for backend in backends:
            (ours_url, ours_pid), (floor_url, floor_pid) = running.ready(backend)
            times = same_answers(ours_url, floor_url)
            for name, path in ENDPOINTS:
                # a slow endpoint gets time for a few rounds of every connection
                span = min(MAX_SECONDS, max(seconds, 3 * CONNECTIONS * times[name][1] / 1000))
                ours = load(ours_url + path, span, CONNECTIONS)
                settle(ours_pid)
                floor = load(floor_url + path, seconds, CONNECTIONS)
                settle(floor_pid)
                if ours.errors or floor.errors or not (ours.rps and floor.rps):
                    raise RuntimeError(f"{path} on {backend}: ours {ours}, floor {floor}")
                key = f"{name}_{backend}"
                extra[f"{key}_rps"] = round(ours.rps, 1)
                extra[f"{key}_floor_rps"] = round(floor.rps, 1)
                extra[f"{key}_p50_ms"] = round(ours.p50_ms, 1)
                extra[f"{key}_p99_ms"] = round(ours.p99_ms, 1)
                extra[f"{key}_floor_p50_ms"] = round(floor.p50_ms, 1)
                extra[f"{key}_floor_p99_ms"] = round(floor.p99_ms, 1)
                extra[f"{key}_first_ms"] = round(times[name][0], 1)
                ours_cost.append(1000 / ours.rps)
                floor_cost.append(1000 / floor.rps)
    extra.update(
        {
            "assets": n,
            "body_mb": round(made["body_mb"], 1),
            "connections": CONNECTIONS,
            "seconds": seconds,
            "loadgen": "wrk" if wrk else "httpx",
            "backends": "+".join(backends),
        }
    )

    def geomean(values: list[float]) -> float:
        return math.exp(sum(math.log(v) for v in values) / len(values))

    return Result("api", geomean(ours_cost), geomean(floor_cost), "ms_per_request", extra)
