"""Turn connections seen on assets into dependency edges ``client -> server:port``.

Direction comes from what is known to listen: the side whose port is a listening port (seen on
that side, or on the peer's asset) is the server. When neither side is known, the lower port, if
it is below the ephemeral range, is taken as the server port. Peers that are not inventoried
become external nodes (``ext:ADDRESS``). Edges are rebuilt from the connection rows each time,
so the result does not depend on the order polls arrived in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, NamedTuple

from agent.store import Store
from collectors.datadir import data_path, load_yaml

EPHEMERAL_START = 32768
SKIP_ADDRESSES = ("127.", "::1", "0.0.0.0", "::")  # noqa: S104 - addresses read, not bound


@cache
def service_names() -> dict[int, str]:
    data = load_yaml(data_path("services.yaml").read_text(encoding="utf-8")) or {}
    return {int(k): str(v) for k, v in (data.get("tcp") or {}).items()}


@lru_cache(maxsize=1 << 16)  # an estate's connections name few addresses, many times over
def _local(addr: str) -> bool:
    if addr.startswith(SKIP_ADDRESSES):
        return True
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return True
    return ip.is_loopback or ip.is_unspecified or ip.is_link_local


class _Seen(NamedTuple):
    """What the rebuild reads of a stored connection (the columns of :data:`_SEEN_COLUMNS`;
    ``count`` as ``times``: a tuple has a count method). Times as the driver gives them
    (SQLite's stored text, PostgreSQL's time): compared with each other, written back as read."""

    asset_id: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    process: str
    times: int
    first_seen: Any
    last_seen: Any


_SEEN_COLUMNS = (
    "asset_id",
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "process",
    "count",
    "first_seen",
    "last_seen",
)


@dataclass
class _Edge:
    src_key: str
    dst_key: str
    port: int
    src_asset: int | None
    dst_asset: int | None
    src_address: str | None
    dst_address: str | None
    first: Any  # as the driver gives it (see _Seen)
    last: Any
    count: int = 0
    server_process: str | None = None
    client_process: str | None = None
    by_client: bool = False
    by_server: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _key(asset: int | None, address: str) -> str:
    return f"asset:{asset}" if asset is not None else f"ext:{address}"


def _client_is_me(
    c: _Seen, me: int, peer: int | None, listening: dict[tuple[int, int], str | None]
) -> bool:
    """Which end of a connection opened it (is the client)."""
    if c.local_port == 0 or c.remote_port == 0:  # the stored side's ephemeral port was collapsed
        return c.local_port == 0
    i_serve = (me, c.local_port) in listening
    peer_serves = peer is not None and (peer, c.remote_port) in listening
    if i_serve != peer_serves:
        return peer_serves
    if c.remote_port < c.local_port and c.remote_port < EPHEMERAL_START:
        return True
    return c.local_port >= EPHEMERAL_START


def _aggregate(
    edges: dict[tuple[str, str, int], _Edge],
    c: _Seen,
    client_is_me: bool,
    src: int | None,
    src_addr: str,
    dst: int | None,
    dst_addr: str,
    port: int,
) -> None:
    key = (_key(src, src_addr), _key(dst, dst_addr), port)
    e = edges.get(key)
    if e is None:
        e = edges[key] = _Edge(
            key[0], key[1], port, src, dst, src_addr, dst_addr, first=c.first_seen, last=c.last_seen
        )
    e.count += c.times
    e.first = min(e.first, c.first_seen)
    e.last = max(e.last, c.last_seen)
    if client_is_me:
        e.by_client = True
        e.client_process = e.client_process or (c.process or None)
    else:
        e.by_server = True
        e.server_process = e.server_process or (c.process or None)


def rebuild_dependencies(store: Store) -> int:
    """Recompute every dependency edge from the stored connections; return the edge count.

    Read and written with the database driver itself (no ORM object, no per-value conversion),
    the edges replaced in one transaction. A store holding no connection and no observed edge
    (an imported estate) has nothing to recompute: that is read with plain SQL, and nothing is
    written."""
    with store.driver() as (dialect, db):  # plain rows: a scanned estate holds 100,000s
        observed = db.execute(
            "SELECT EXISTS (SELECT 1 FROM cw_connection) "
            "OR EXISTS (SELECT 1 FROM cw_dependency WHERE origin = 'observed')"
        ).fetchone()
        if not observed[0]:
            return 0
        if dialect == "postgresql":
            # agents sharing one database rebuild in turn, each from what the one before it
            # committed (two replacing the observed edges at once would each insert the same
            # edges, the second failing on their unique key); held until the commit below
            db.execute(_REBUILD_LOCK)
        owner: dict[str, int] = {}
        for addr, asset_id in db.execute("SELECT address, asset_id FROM cw_address"):
            owner.setdefault(addr, asset_id)
        for aid, mgmt in db.execute("SELECT id, mgmt_address FROM cw_asset"):
            if mgmt and aid is not None:
                owner.setdefault(mgmt, aid)
        listening: dict[tuple[int, int], str | None] = {}
        for asset_id, port, proc in db.execute(
            "SELECT asset_id, port, process FROM cw_listening"
        ).fetchall():
            if listening.get((asset_id, port)) is None:
                listening[(asset_id, port)] = proc
        edges: dict[tuple[str, str, int], _Edge] = {}
        seen = db.execute(f"SELECT {', '.join(_SEEN_COLUMNS)} FROM cw_connection").fetchall()
        for c in map(_Seen._make, seen):
            if _local(c.remote_address) or _local(c.local_address):
                continue
            me: int = c.asset_id
            peer: int | None = owner.get(c.remote_address)
            if peer == me:
                continue
            client_is_me = _client_is_me(c, me, peer, listening)
            ends: tuple[int | None, str, int | None, str, int]
            if client_is_me:
                ends = (me, c.local_address, peer, c.remote_address, c.remote_port)
            else:
                ends = (peer, c.remote_address, me, c.local_address, c.local_port)
            _aggregate(edges, c, client_is_me, *ends)
        names = service_names()
        rows = [
            (
                e.src_key,
                "observed",
                e.dst_key,
                e.src_asset,
                e.dst_asset,
                e.src_address,
                e.dst_address,
                e.port,
                names.get(e.port),
                e.server_process
                or (listening.get((e.dst_asset, e.port)) if e.dst_asset is not None else None),
                e.client_process,
                e.count,
                e.by_client,
                e.by_server,
                e.first,
                e.last,
            )
            for e in edges.values()
        ]
        _replace_observed(dialect, db, rows)
        return len(edges)


_REBUILD_LOCK = "SELECT pg_advisory_xact_lock(hashtext('cloudward-dependency-rebuild'))"

# The columns of an observed edge as rebuild_dependencies writes them, in order
_EDGE_COLUMNS = (
    "src_key, origin, dst_key, src_asset_id, dst_asset_id, src_address, dst_address, port, "
    "service, process, client_process, count, seen_by_client, seen_by_server, first_seen, "
    "last_seen"
)


def _replace_observed(dialect: str, db: Any, rows: list[tuple[Any, ...]]) -> None:
    """The observed edges replaced by ``rows`` in one transaction on the driver's connection
    (times written back as the driver read them: SQLite's stored text, PostgreSQL's time)."""
    delete = "DELETE FROM cw_dependency WHERE origin = 'observed'"
    if dialect == "sqlite":
        db.execute(delete)
        marks = ", ".join("?" * len(_EDGE_COLUMNS.split(",")))
        db.executemany(f"INSERT INTO cw_dependency ({_EDGE_COLUMNS}) VALUES ({marks})", rows)
    else:
        with db.cursor() as cur:
            cur.execute(delete)
            with cur.copy(f"COPY cw_dependency ({_EDGE_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    db.commit()
