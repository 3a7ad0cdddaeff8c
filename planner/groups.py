"""Move groups: assets that must move together, with the reason for each group.

Shared infrastructure (hubs) is set aside first and becomes the landing-zone group (wave 0);
retained and outside assets do not move. The remaining dependency graph is weighted (hard links
count more than soft ones; links touching the busiest servers are down-weighted,
``w x min(1, p99 degree / degree)``), assets sharing an application label are contracted into one
unit (a whole application moves in one wave), and Leiden (CPM) finds the groups; groups holding
two labelled applications are split back along the labels, and groups above the maximum size are
split again at a higher resolution. Links between groups are aggregated; hard cycles between
groups are broken by marking the cheapest links soft (Eades-Lin-Smyth) so that waves can respect
every remaining hard link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, Field

from planner.fields import Note, Number, Strict, Text, one_of, validated
from planner.graphcore import BACKENDS, EstateGraph, distinct, partition, undirected
from planner.hubs import Hubs
from planner.links import LinkRules, LinkRulesFile, classify_links
from planner.movegroup import (
    LANDING_ZONE,
    GroupLink,
    MoveGroup,
    MoveGroups,
    Partition,
    build_groups,
)
from planner.strategy import STRATEGIES, StrategyChoice

__all__ = [
    "LANDING_ZONE",
    "GroupLink",
    "GroupSettings",
    "MoveGroup",
    "MoveGroups",
    "form_move_groups",
]


@dataclass(frozen=True, slots=True)
class GroupSettings:
    resolution: float = 0.02
    seed: int = 1
    max_group_size: int = 150
    degree_percentile: float = 99.0
    follow_share: float = 0.6
    backend: str = "igraph"
    links: LinkRules = field(default_factory=LinkRules)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> GroupSettings:
        return validated(GroupSettingsFile, data, ("groups",)).build()


class GroupSettingsFile(Strict):
    """``config/planner/groups.yaml``."""

    resolution: Number = Field(0.02, ge=1e-6)
    seed: int = Field(1, ge=0)
    max_group_size: int = Field(150, ge=1)
    degree_percentile: Number = Field(99.0, ge=0, le=100)
    follow_share: Number = Field(0.6, ge=0, le=1)
    backend: Annotated[Text, AfterValidator(one_of(BACKENDS))] = "igraph"
    links: LinkRulesFile = Field(default_factory=LinkRulesFile)
    notes: Note = None

    def build(self) -> GroupSettings:
        return GroupSettings(
            resolution=self.resolution,
            seed=self.seed,
            max_group_size=self.max_group_size,
            degree_percentile=self.degree_percentile,
            follow_share=self.follow_share,
            backend=self.backend,
            links=self.links.build(),
        )


def form_move_groups(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    hubs: Hubs,
    settings: GroupSettings,
    precedence: tuple[str, ...] = STRATEGIES,
) -> MoveGroups:
    """Group every moving asset; hubs form the landing zone, retained assets stay behind.

    ``strategies`` are per asset, sorted by id (as :func:`planner.strategy.choose_strategy`
    returns them); ``precedence`` breaks ties when a group's assets disagree on strategy.
    """
    n = graph.n
    hub = np.zeros(n, dtype=bool)
    hub[[graph.index[h] for h in sorted(hubs.ids)]] = True
    stays = np.fromiter((c.strategy == "retain" for c in strategies), dtype=bool, count=n)
    outside = np.fromiter((a.external for a in graph.assets), dtype=bool, count=n)
    kinds = classify_links(graph, settings.links, hubs=hub, stays=stays)
    planned = ~hub & ~stays & ~outside
    src, dst = graph.src, graph.dst
    inner = planned[src] & planned[dst] & (src != dst)
    s, d = src[inner], dst[inner]
    lr = settings.links
    w = np.where(kinds.hard[inner], lr.hard_weight, lr.soft_weight).astype(np.float64)
    if s.size:
        pairs = distinct(np.concatenate([s * n + d, d * n + s]))
        peers = np.bincount(pairs // n, minlength=n)
        ref = float(np.percentile(peers[peers > 0], settings.degree_percentile))
        factor = np.minimum(1.0, ref / np.maximum(peers, 1))
        w = w * np.minimum(factor[s], factor[d])
    part = _partition(graph, planned, s, d, w, settings)
    masks = {
        "inner": inner,
        "planned": planned,
        "landing": hub & ~stays & ~outside,
        "stays": stays & ~outside,
        "outside": outside,
    }
    return build_groups(graph, strategies, hubs, lr, kinds, masks, part, precedence)


def _partition(
    graph: EstateGraph, planned: Any, s: Any, d: Any, w: Any, settings: GroupSettings
) -> Partition:
    n = graph.n
    unit = np.full(n, -1, dtype=np.int64)
    label_unit: dict[str, int] = {}
    units = 0
    for node in np.flatnonzero(planned).tolist():
        app = graph.assets[node].application
        if app:
            if app not in label_unit:
                label_unit[app] = units
                units += 1
            unit[node] = label_unit[app]
        else:
            unit[node] = units
            units += 1
    labelled = np.zeros(units, dtype=bool)
    labelled[list(label_unit.values())] = True
    sizes = np.bincount(unit[planned], minlength=units).astype(np.float64)
    uu, uv, uw = undirected(units, unit[s], unit[d], w)
    comm = partition(
        units,
        uu,
        uv,
        uw,
        resolution=settings.resolution,
        seed=settings.seed,
        node_weights=sizes,
        backend=settings.backend,
    )
    comm = _split_labels(comm, labelled, uu, uv, uw, settings.follow_share)
    group = np.full(n, -1, dtype=np.int64)
    group[planned] = comm[unit[planned]]
    group, split_from = _split_oversize(group, s, d, w, settings)
    return Partition(group, split_from, settings.resolution, settings.max_group_size)


def _renumber(group: Any) -> Any:
    """Number groups by their lowest node so that the numbering does not depend on the solver."""
    out = np.full(group.shape[0], -1, dtype=np.int64)
    seen: dict[int, int] = {}
    for node, g in enumerate(group.tolist()):
        if g >= 0:
            out[node] = seen.setdefault(g, len(seen))
    return out


def _split_labels(comm: Any, labelled: Any, uu: Any, uv: Any, uw: Any, share: float) -> Any:
    """A community never holds two labelled applications. An unlabelled unit follows the label
    that takes at least ``share`` of its links to labels there (a database used by one
    application moves with it); one shared by several (a file server used by four) becomes a
    group of its own; the rest stay together."""
    if comm.size == 0:
        return comm
    counts = np.bincount(comm, weights=labelled.astype(np.float64))
    crowded = counts[comm] >= 2
    if not crowded.any():
        return comm
    out = comm.copy()
    next_label = int(comm.max()) + 1
    for unit in np.flatnonzero(crowded & labelled).tolist():
        out[unit] = next_label
        next_label += 1
    links: dict[int, dict[int, float]] = {}
    same = (comm[uu] == comm[uv]) & crowded[uu]
    for a, b, wt in zip(uu[same].tolist(), uv[same].tolist(), uw[same].tolist(), strict=True):
        for x, y in ((a, b), (b, a)):
            if not labelled[x] and labelled[y]:
                per = links.setdefault(x, {})
                per[y] = per.get(y, 0.0) + wt
    for unit in sorted(links):
        per = links[unit]
        best = min(per, key=lambda y: (-per[y], y))
        if per[best] >= share * sum(per.values()):
            out[unit] = out[best]
        elif len(per) >= 2:  # a shared service: a group of its own
            out[unit] = next_label
            next_label += 1
    return out


def _split_oversize(
    group: Any, s: Any, d: Any, w: Any, settings: GroupSettings
) -> tuple[Any, dict[int, int]]:
    """Split groups above the maximum size: Leiden at 4x, 16x, 64x the resolution, then by id."""
    limit = settings.max_group_size
    out = group.copy()
    origin: dict[int, int] = {}  # group -> size of the cluster it was split from
    for attempt in range(4):
        sizes = np.bincount(out[out >= 0]) if (out >= 0).any() else np.zeros(0, dtype=np.int64)
        big = np.flatnonzero(sizes > limit).tolist()
        if not big:
            break
        next_label = int(out.max()) + 1
        for g in big:
            nodes = np.flatnonzero(out == g)
            inside = (out[s] == g) & (out[d] == g)
            ls, ld = np.searchsorted(nodes, s[inside]), np.searchsorted(nodes, d[inside])
            lu, lv, lw = undirected(nodes.size, ls, ld, w[inside])
            if attempt < 3:
                parts = partition(
                    nodes.size,
                    lu,
                    lv,
                    lw,
                    resolution=settings.resolution * 4.0 ** (attempt + 1),
                    seed=settings.seed,
                    backend=settings.backend,
                )
            else:  # traffic gives no split: cut in id order
                parts = np.arange(nodes.size) // limit
            out[nodes] = parts + next_label
            size = origin.get(g, int(nodes.size))
            for p in range(int(parts.max()) + 1):
                origin[next_label + p] = size
            next_label += int(parts.max()) + 1
    final = {int(g) for g in distinct(out[out >= 0]).tolist()}
    split_from = {g: size for g, size in origin.items() if g in final}
    renumbered = _renumber(out)
    mapping = {
        int(o): int(r) for o, r in zip(out.tolist(), renumbered.tolist(), strict=True) if o >= 0
    }
    return renumbered, {mapping[g]: size for g, size in split_from.items() if g in mapping}
