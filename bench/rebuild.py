"""``rebuild``: the dependencies rebuilt from the connections SSH saw, as every plan of a
scanned estate rebuilds them.

The store (SQLite) holds a synthetic scanned estate, not timed: servers imported from
:mod:`bench.importer`'s assets file, and established connections between their management
addresses as SSH's ``ss`` records them (a fixed seed; half seen on the client, to a service
port, half on the server), about a hundred per server, each with a process, a count and its
first and last time seen. Ours is ``cloudward hubs --json`` in a subprocess, as a user runs it:
start-up, the rebuild (read the connections, aggregate them per client, server and port,
replace the observed edges in one transaction), reading the estate and finding its hubs; the
rebuild is most of it. The baseline, in the same run on a copy of the same store, is the floor
of the rebuild alone: the same connection rows read with plain ``sqlite3``, aggregated by the
same port rule in a dict, and the edges written with one ``executemany`` in one transaction,
with no ORM, no time conversion and no validation. ``edges`` is how many edges the command
stored and ``same_edges`` whether the floor made as many.

Sizes: 3,000 servers and 300,000 connections (``--quick``: 500 and 50,000).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench import Result, registry, run_cloudward
from bench.importer import write_estate

PER_SERVER = 100
SERVICE_PORTS = (443, 5432, 1433, 389, 53, 8080, 445, 3306)
EPHEMERAL_START = 32768  # agent.inventory.dependencies.EPHEMERAL_START
FIRST, LAST = "2026-11-01 10:00:00.000000", "2026-12-01 10:00:00.000000"


def scanned_store(folder: Path, servers: int) -> Path:
    """An SQLite store of ``servers`` imported servers and their observed connections."""
    from agent.inventory.estate_import import import_file
    from agent.store import Store

    assets, _ = write_estate(folder, servers, 0)
    path = folder / "scanned.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        import_file(store, assets)
    finally:
        store.close()
    rng = random.Random(20261207)
    db = sqlite3.connect(path)
    try:
        where = db.execute("SELECT id, mgmt_address FROM cw_asset WHERE mgmt_address IS NOT NULL")
        hosts = where.fetchall()
        rows: dict[tuple[object, ...], tuple[object, ...]] = {}
        for _ in range(servers * PER_SERVER):
            (me, mine), (_, theirs) = rng.choice(hosts), rng.choice(hosts)
            ephemeral, service = rng.randint(EPHEMERAL_START, 60999), rng.choice(SERVICE_PORTS)
            ports = (ephemeral, service) if rng.random() < 0.5 else (service, ephemeral)
            key = (me, mine, ports[0], theirs, ports[1])
            rows[key] = (*key, f"proc{ports[0] % 7}", rng.randint(1, 9), FIRST, LAST)
        db.executemany(
            "INSERT INTO cw_connection (asset_id, proto, local_address, local_port, "
            "remote_address, remote_port, process, count, first_seen, last_seen) "
            "VALUES (?, 'tcp', ?, ?, ?, ?, ?, ?, ?, ?)",
            list(rows.values()),
        )
        db.commit()
    finally:
        db.close()  # the last connection: the write-ahead log is checkpointed into the file
    return path


def floor(path: Path) -> int:
    """The rebuild with plain ``sqlite3``: read, aggregate by the port rule, replace the
    observed edges in one transaction; the number of edges written."""
    db = sqlite3.connect(path)
    try:
        owner = dict(db.execute("SELECT mgmt_address, id FROM cw_asset").fetchall())
        edges: dict[tuple[str, str, int], list[object]] = {}
        for me, local, lport, remote, rport, proc, count, first, last in db.execute(
            "SELECT asset_id, local_address, local_port, remote_address, remote_port, process, "
            "count, first_seen, last_seen FROM cw_connection"
        ):
            peer = owner.get(remote)
            if peer == me:
                continue
            if rport < lport and rport < EPHEMERAL_START:  # I am the client
                src, src_addr, dst, dst_addr, port = me, local, peer, remote, rport
            else:
                src, src_addr, dst, dst_addr, port = peer, remote, me, local, lport
            src_key = f"asset:{src}" if src is not None else f"ext:{src_addr}"
            dst_key = f"asset:{dst}" if dst is not None else f"ext:{dst_addr}"
            e = edges.get((src_key, dst_key, port))
            if e is None:
                edges[(src_key, dst_key, port)] = [src, dst, src_addr, dst_addr, proc, count]
                edges[(src_key, dst_key, port)] += [first, last]
            else:
                e[5] = int(str(e[5])) + count
                e[6], e[7] = min(str(e[6]), first), max(str(e[7]), last)
        with db:
            db.execute("DELETE FROM cw_dependency WHERE origin = 'observed'")
            db.executemany(
                "INSERT INTO cw_dependency (src_key, dst_key, port, origin, src_asset_id, "
                "dst_asset_id, src_address, dst_address, process, count, seen_by_client, "
                "seen_by_server, first_seen, last_seen) "
                "VALUES (?, ?, ?, 'observed', ?, ?, ?, ?, ?, ?, 1, 1, ?, ?)",
                [(*k, *v) for k, v in edges.items()],
            )
        return len(edges)
    finally:
        db.close()


def measure(servers: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="cw-rebuild-") as tmp:
        folder = Path(tmp)
        path = scanned_store(folder, servers)
        ours_db, floor_db = folder / "ours.db", folder / "floor.db"
        shutil.copyfile(path, ours_db)
        shutil.copyfile(path, floor_db)
        connections = sqlite3.connect(path).execute("SELECT count(*) FROM cw_connection")
        seen = connections.fetchone()[0]
        start = time.perf_counter()
        floor_edges = floor(floor_db)
        base = time.perf_counter() - start
        wall, peak = run_cloudward(["hubs", "--json", "--database", f"sqlite:///{ours_db}"])
        with sqlite3.connect(ours_db) as db:
            observed = "SELECT count(*) FROM cw_dependency WHERE origin = 'observed'"
            edges = db.execute(observed).fetchone()[0]
    extra: dict[str, str | float | int] = {
        "servers": servers,
        "connections": seen,
        "edges": edges,
        "same_edges": "yes" if edges == floor_edges else f"no ({floor_edges})",
        "peak_mb": round(peak, 1),
    }
    return Result("rebuild", wall, base, "s", extra)


@registry.register("rebuild")
def run(quick: bool) -> Result:
    return measure(500 if quick else 3000)
