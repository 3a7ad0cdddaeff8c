"""Shared infrastructure (hubs): DNS, directory, NTP, backup, monitoring, auth, logging, patching.

With every edge kept, nine servers in ten talk to DNS and the estate is one blob; so hubs are set
aside before move groups are formed, links to them become soft, and they form wave 0 (the
landing zone). A hub is found by its role ports (enough distinct peers using them, in the
role's direction: clients call DNS, monitoring calls its targets), or by its name together with
at least one peer. The degree rule (distinct peers > median + k x MAD) only *offers* candidates
for review: it also catches popular business servers. ``AssetInput.hub`` and the include/exclude
lists override everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from planner.cuts import unordered_pairs
from planner.fields import Note, Number, Pattern, Strict, Texts, validated
from planner.graphcore import EstateGraph, distinct


@dataclass(frozen=True, slots=True)
class HubRole:
    name: str
    inbound_ports: frozenset[int]  # peers connect to the hub on these
    outbound_ports: frozenset[int]  # the hub connects to its peers on these
    names: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class HubRules:
    roles: tuple[HubRole, ...] = ()
    min_peers: int = 5
    name_min_peers: int = 1
    degree_mad_factor: float = 50.0
    degree_floor: int = 50
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HubRules:
        return validated(HubRulesFile, data, ("hubs",)).build()


class HubRoleFile(Strict):
    inbound_ports: list[int] = Field(default_factory=list)
    outbound_ports: list[int] = Field(default_factory=list)
    names: Pattern | None = None
    notes: Note = None


class HubRulesFile(Strict):
    """``config/planner/hubs.yaml``."""

    roles: dict[str, HubRoleFile] = {}
    min_peers: int = Field(5, ge=1)
    name_min_peers: int = Field(1, ge=0)
    degree_mad_factor: Number = Field(50.0, ge=0)
    degree_floor: int = Field(50, ge=1)
    include: Texts = ()
    exclude: Texts = ()
    notes: Note = None

    def build(self) -> HubRules:
        roles = (
            HubRole(
                name=name,
                inbound_ports=frozenset(role.inbound_ports),
                outbound_ports=frozenset(role.outbound_ports),
                names=role.names,
            )
            for name, role in sorted(self.roles.items())
        )
        return HubRules(
            roles=tuple(roles),
            min_peers=self.min_peers,
            name_min_peers=self.name_min_peers,
            degree_mad_factor=self.degree_mad_factor,
            degree_floor=self.degree_floor,
            include=frozenset(self.include),
            exclude=frozenset(self.exclude),
        )


@dataclass(frozen=True, slots=True)
class Hub:
    asset_id: str
    roles: tuple[str, ...]
    peers: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HubCandidate:
    """A server with far more peers than most: offered for review, not set aside."""

    asset_id: str
    peers: int
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class Hubs:
    hubs: tuple[Hub, ...]
    candidates: tuple[HubCandidate, ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(h.asset_id for h in self.hubs)


def _distinct_peers(n: int, owner: npt.NDArray[np.int64], peer: npt.NDArray[np.int64]) -> Any:
    keep = owner != peer
    pairs = distinct(owner[keep] * n + peer[keep])
    return np.bincount(pairs // n, minlength=n)


def detect_hubs(graph: EstateGraph, rules: HubRules) -> Hubs:
    """Hubs by role ports, names and overrides; high-degree servers as candidates for review."""
    n = graph.n
    src, dst, port = graph.src, graph.dst, graph.port
    reasons: dict[int, list[str]] = {}
    roles: dict[int, list[str]] = {}
    lo, hi = unordered_pairs(n, src, dst)  # distinct peers either way
    peers_all = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)

    def add(node: int, role: str, reason: str) -> None:
        reasons.setdefault(node, []).append(reason)
        if role not in roles.setdefault(node, []):
            roles[node].append(role)

    for role in rules.roles:
        for ports, owner, other, verb in (
            (role.inbound_ports, dst, src, "peers connect to it on"),
            (role.outbound_ports, src, dst, "it connects to peers on"),
        ):
            if not ports:
                continue
            mask = np.isin(port, np.fromiter(sorted(ports), dtype=np.int64))
            counts = _distinct_peers(n, owner[mask], other[mask])
            listed = ", ".join(str(p) for p in sorted(ports))
            for node in np.flatnonzero(counts >= rules.min_peers).tolist():
                add(node, role.name, f"{role.name}: {counts[node]} {verb} port {listed}")
    named = [r for r in rules.roles if r.names is not None]
    if named:  # one combined pass first: few names match any role
        anyname = re.compile(
            "|".join(f"(?:{r.names.pattern})" for r in named if r.names), re.IGNORECASE
        )
        # only assets with enough peers can qualify: the cheap test first, in node order
        for node in np.flatnonzero(peers_all >= rules.name_min_peers).tolist():
            text = graph.assets[node].label
            if not anyname.search(text):
                continue
            for role in named:
                if role.names is not None and role.names.search(text):
                    add(node, role.name, f"{role.name}: name {text!r} with {peers_all[node]} peers")
    for node, asset in enumerate(graph.assets):
        if asset.hub is True or asset.id in rules.include:
            add(node, "override", "set as shared infrastructure by override")
    hubs = []
    for node in sorted(reasons):
        asset = graph.assets[node]
        if asset.external or asset.hub is False or asset.id in rules.exclude:
            continue
        hubs.append(Hub(asset.id, tuple(roles[node]), int(peers_all[node]), tuple(reasons[node])))
    hub_nodes = {graph.index[h.asset_id] for h in hubs}
    candidates = []
    if n:
        median = float(np.median(peers_all))
        mad = float(np.median(np.abs(peers_all - median)))
        threshold = max(float(rules.degree_floor), median + rules.degree_mad_factor * mad)
        for node in np.flatnonzero(peers_all > threshold).tolist():
            if node in hub_nodes or graph.assets[node].external:
                continue
            candidates.append(
                HubCandidate(
                    graph.assets[node].id,
                    int(peers_all[node]),
                    threshold,
                    f"{peers_all[node]} distinct peers, above median {median:g} + "
                    f"{rules.degree_mad_factor:g} x MAD {mad:g} (review: shared service or "
                    "busy business application?)",
                )
            )
    return Hubs(tuple(hubs), tuple(candidates))
