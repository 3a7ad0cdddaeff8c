"""What an asset is for, from what it serves and runs: roles (database, email, file, web) from the
ports it listens on or is called on and its software names; the processor architecture family."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.graphcore import EstateGraph
from planner.model import AssetInput

_ARCH = (
    (re.compile(r"x86|amd64|i[3-6]86|intel|x64", re.I), "x86"),
    (re.compile(r"arm|aarch64", re.I), "arm"),
    (re.compile(r"sparc", re.I), "sparc"),
    (re.compile(r"ppc|power", re.I), "power"),
    (re.compile(r"s390|z/?os", re.I), "s390"),
)


def architecture_of(asset: AssetInput) -> str:
    for pattern, family in _ARCH:
        if asset.architecture and pattern.search(asset.architecture):
            return family
    return "unknown"


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    ports: frozenset[int]
    software: re.Pattern[str] | None


def asset_roles(graph: EstateGraph, roles: Sequence[Role]) -> list[frozenset[str]]:
    """Roles per node: a role port it listens on or is called on, or matching software."""
    n = graph.n
    has = np.zeros((len(roles), n), dtype=bool)
    for i, role in enumerate(roles):
        if role.ports:
            wanted = np.fromiter(sorted(role.ports), dtype=np.int64)
            has[i, graph.dst[np.isin(graph.port, wanted)]] = True
    served: dict[tuple[frozenset[int], tuple[tuple[str, str | None], ...]], list[int]] = {}
    for node, asset in enumerate(graph.assets):
        if not asset.listening and not asset.software:
            continue
        ports = frozenset(x.port for x in asset.listening)
        seen = (ports, asset.software)  # most assets serve the same ports with the same software
        matched = served.get(seen)
        if matched is None:
            matched = served[seen] = [
                i
                for i, role in enumerate(roles)
                if ports & role.ports
                or (
                    role.software is not None
                    and any(role.software.search(name) for name, _ in asset.software)
                )
            ]
        for i in matched:
            has[i, node] = True
    shared: dict[tuple[bool, ...], frozenset[str]] = {}
    out = []
    for column in has.T.tolist() if roles else [[]] * n:
        key = tuple(column)
        found = shared.get(key)
        if found is None:
            found = shared[key] = frozenset(r.name for r, x in zip(roles, column, strict=True) if x)
        out.append(found)
    return out
