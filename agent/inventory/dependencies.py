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
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from agent.store import Store
from collectors.datadir import data_path, load_yaml

if TYPE_CHECKING:  # the ORM only where edges are rebuilt: reading the estate needs none of it
    pass

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
    """What the rebuild reads of a stored connection (ConnectionRow's fields, ``count`` as
    ``times``: a tuple has a count method)."""

    asset_id: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    process: str
    times: int
    first_seen: datetime
    last_seen: datetime


_WRITE_BATCH = 20_000


@dataclass
class _Edge:
    src_key: str
    dst_key: str
    port: int
    src_asset: int | None
    dst_asset: int | None
    src_address: str | None
    dst_address: str | None
    first: datetime
    last: datetime
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

    A store holding no connection and no observed edge (an imported estate) has nothing to
    recompute: that is read with plain SQL, and nothing is written."""
    observed = store.rows(
        "SELECT EXISTS (SELECT 1 FROM cw_connection) "
        "OR EXISTS (SELECT 1 FROM cw_dependency WHERE origin = 'observed')"
    )
    if not observed[0][0]:
        return 0
    from sqlalchemy import select
    from sqlmodel import col, delete

    from agent.store import tables as m
    from agent.store.bulk import execute_many

    with store.session() as s:
        conn = s.connection()  # plain column rows: a scanned estate holds 100,000s
        owner: dict[str, int] = {}
        for addr, asset_id in conn.execute(
            select(col(m.AddressRow.address), col(m.AddressRow.asset_id))
        ):
            owner.setdefault(addr, asset_id)
        for aid, mgmt in conn.execute(select(col(m.Asset.id), col(m.Asset.mgmt_address))):
            if mgmt and aid is not None:
                owner.setdefault(mgmt, aid)
        listening: dict[tuple[int, int], str | None] = {}
        for asset_id, port, proc in conn.execute(
            select(
                col(m.ListeningRow.asset_id), col(m.ListeningRow.port), col(m.ListeningRow.process)
            )
        ):
            if listening.get((asset_id, port)) is None:
                listening[(asset_id, port)] = proc
        edges: dict[tuple[str, str, int], _Edge] = {}
        fields = ["count" if f == "times" else f for f in _Seen._fields]
        seen = conn.execute(select(*(col(getattr(m.ConnectionRow, f)) for f in fields)))
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
        s.exec(delete(m.DependencyRow).where(col(m.DependencyRow.origin) == "observed"))
        rows = [
            {
                "src_key": e.src_key,
                "origin": "observed",
                "dst_key": e.dst_key,
                "src_asset_id": e.src_asset,
                "dst_asset_id": e.dst_asset,
                "src_address": e.src_address,
                "dst_address": e.dst_address,
                "port": e.port,
                "service": names.get(e.port),
                "process": e.server_process
                or (listening.get((e.dst_asset, e.port)) if e.dst_asset is not None else None),
                "client_process": e.client_process,
                "count": e.count,
                "seen_by_client": e.by_client,
                "seen_by_server": e.by_server,
                "first_seen": e.first,
                "last_seen": e.last,
            }
            for e in edges.values()
        ]
        for first in range(0, len(rows), _WRITE_BATCH):  # one transaction, batches of rows
            execute_many(conn, m.DependencyRow, rows[first : first + _WRITE_BATCH])
        s.commit()
        return len(edges)
