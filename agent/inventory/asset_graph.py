"""The asset graph: a networkx MultiDiGraph built from the store.

Nodes: ``asset:ID`` (type ``asset``), ``svc:ID:PORT`` (type ``service``: what listens on an asset
and is depended on), ``ext:ADDRESS`` (type ``external``: a peer that is not inventoried).
Edges: ``depends-on`` (client -> service or external), ``runs-on`` (service -> asset),
``linked-to`` (asset -> asset or external, from LLDP/CDP; one per cable and direction seen, with
the ``protocols`` that reported it), ``manages`` (a management controller -> the server it sits
in, found by identity resolution). An asset's ``status`` is ``replaced`` once another box
answers where it did.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
from sqlmodel import col, select

from agent.store import Store
from agent.store import tables as m

ASSET_ATTRS = (
    "name",
    "device_class",
    "vendor",
    "model",
    "os_name",
    "os_version",
    "site",
    "mgmt_address",
    "serial",
    "status",
)


def _norm(name: str | None) -> str:
    return (name or "").strip().lower().split(".")[0]


def build_graph(store: Store) -> nx.MultiDiGraph:
    g: nx.MultiDiGraph = nx.MultiDiGraph()
    with store.session() as s:
        assets = s.exec(select(m.Asset)).all()
        by_name: dict[str, int] = {}
        by_addr: dict[str, int] = {}
        for a in assets:
            assert a.id is not None
            attrs = {k: getattr(a, k) for k in ASSET_ATTRS}
            g.add_node(
                f"asset:{a.id}", type="asset", asset_id=a.id, sources=",".join(a.sources), **attrs
            )
            for n in (a.name, a.sys_name):
                if n:
                    by_name.setdefault(_norm(n), a.id)
            if a.mgmt_address:
                by_addr.setdefault(a.mgmt_address, a.id)
        for addr, aid in s.exec(select(m.AddressRow.address, m.AddressRow.asset_id)).all():
            by_addr.setdefault(addr, aid)
        by_mac = {
            k.key[4:]: k.asset_id
            for k in s.exec(select(m.AssetKey).where(col(m.AssetKey.key).startswith("mac:"))).all()
        }
        for d in s.exec(select(m.DependencyRow).order_by(col(m.DependencyRow.id))).all():
            src = d.src_key
            if src.startswith("ext:") and src not in g:
                g.add_node(src, type="external", address=d.src_address)
            if d.dst_asset_id is not None:
                svc = f"svc:{d.dst_asset_id}:{d.port}"
                if svc not in g:
                    g.add_node(
                        svc,
                        type="service",
                        port=d.port,
                        service=d.service,
                        process=d.process,
                        asset_id=d.dst_asset_id,
                    )
                    g.add_edge(svc, f"asset:{d.dst_asset_id}", type="runs-on")
                dst = svc
            else:
                dst = d.dst_key
                if dst not in g:
                    g.add_node(dst, type="external", address=d.dst_address)
            g.add_edge(
                src,
                dst,
                type="depends-on",
                port=d.port,
                service=d.service,
                count=d.count,
                first_seen=d.first_seen.isoformat(),
                last_seen=d.last_seen.isoformat(),
                client_process=d.client_process,
                seen_by_client=d.seen_by_client,
                seen_by_server=d.seen_by_server,
            )
        links: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for nb in s.exec(select(m.NeighborRow).order_by(col(m.NeighborRow.id))).all():
            peer = (
                (by_name.get(_norm(nb.remote_sys_name)) if nb.remote_sys_name else None)
                or (by_mac.get((nb.remote_chassis_id or "").lower()))
                or (by_addr.get(nb.remote_address) if nb.remote_address else None)
            )
            src = f"asset:{nb.asset_id}"
            dst = f"asset:{peer}" if peer is not None else _neighbour_node(g, nb)
            if src == dst:
                continue
            seen = links.setdefault((src, dst), [])
            same = next(
                (
                    e
                    for e in seen
                    if same_port(e["local_port"], nb.local_port)
                    and same_port(e["remote_port"], nb.remote_port)
                ),
                None,
            )
            if same is not None:  # the same cable, told by the other protocol (LLDP and CDP)
                same["protocols"] = ",".join(sorted({*same["protocols"].split(","), nb.protocol}))
                continue
            attrs = {
                "type": "linked-to",
                "protocol": nb.protocol,
                "protocols": nb.protocol,
                "local_port": nb.local_port,
                "remote_port": nb.remote_port,
            }
            key = g.add_edge(src, dst, **attrs)
            seen.append(g.edges[src, dst, key])
        for link in s.exec(select(m.AssetLink).order_by(col(m.AssetLink.id))).all():
            g.add_edge(
                f"asset:{link.src_asset_id}",
                f"asset:{link.dst_asset_id}",
                type=link.kind,
                evidence=link.evidence,
                first_seen=link.first_seen.isoformat(),
                last_seen=link.last_seen.isoformat(),
            )
    return g


def _neighbour_node(g: nx.MultiDiGraph, nb: m.NeighborRow) -> str:
    """The external node of a neighbour that is not inventoried, added when new.

    One node per box whichever protocol told of it: the node of its address when a dependency
    already made one, else its host name as ``_norm`` makes it (CDP says ``sw1.example.local``
    where LLDP says ``SW1``), else its chassis ID, else its address."""
    if nb.remote_address and f"ext:{nb.remote_address}" in g:
        return f"ext:{nb.remote_address}"
    label = (
        _norm(nb.remote_sys_name)
        or (nb.remote_chassis_id or "").strip().lower()
        or nb.remote_address
        or f"unknown-{nb.asset_id}-{nb.local_port or nb.id}"  # never one made-up hub for all
    )
    node = f"ext:{label}"
    if node not in g:
        g.add_node(
            node,
            type="external",
            address=nb.remote_address,
            name=nb.remote_sys_name or label,
            platform=nb.remote_platform,
        )
    return node


_PORT_NAME = re.compile(r"^([A-Za-z][A-Za-z-]*?)\s*(\d.*)$")


def same_port(a: str | None, b: str | None) -> bool:
    """Whether two names give the same port: ``Te1/1/1`` and ``TenGigabitEthernet1/1/1`` do
    (CDP abbreviates, LLDP often does not): same number, and one type a prefix of the other."""
    if a is None or b is None:
        return a == b
    ma, mb = _PORT_NAME.match(a.strip()), _PORT_NAME.match(b.strip())
    if ma is None or mb is None:
        return a.strip().lower() == b.strip().lower()
    if ma[2].lower() != mb[2].lower():
        return False
    short, long = sorted((ma[1].lower(), mb[1].lower()), key=len)
    return long.startswith(short) and (len(short) >= 2 or short == long)


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 forbids


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _NOT_XML.sub("", v) if isinstance(v, str) else v
        for k, v in attrs.items()
        if v is not None
    }


def export_graph(g: nx.MultiDiGraph, path: Path | None, fmt: str) -> str | None:
    """Write node-link JSON or GraphML to ``path`` (or return the text when path is None)."""
    if fmt == "json":
        data = nx.node_link_data(g, edges="links")
        text = json.dumps(data, indent=2, sort_keys=True, default=str)
    elif fmt == "graphml":
        h = nx.MultiDiGraph()
        for n, attrs in g.nodes(data=True):
            h.add_node(n, **_clean(attrs))
        for u, v, k, attrs in g.edges(keys=True, data=True):
            h.add_edge(u, v, key=k, **_clean(attrs))
        text = "\n".join(nx.generate_graphml(h))
    else:
        raise ValueError(f"unknown graph format {fmt!r}: use json or graphml")
    if path is None:
        return text
    path.write_text(text, encoding="utf-8")
    return None
