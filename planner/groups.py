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
from pydantic import AfterValidator, Field, field_validator

from planner.cuts import adopt_strays, split_oversize, structural_hubs, unordered_pairs
from planner.fields import Note, Number, Strict, Text, one_of, validated
from planner.graphcore import BACKENDS, EstateGraph, distinct, partition, undirected
from planner.hubs import Hub, Hubs
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
    cut_share: float = 0.1
    hub_min_groups: int = 10
    hub_outside_share: float = 0.8
    stickiness: float = 0.25

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> GroupSettings:
        return validated(GroupSettingsFile, data, ("groups",)).build()


AUTO_GROUP_SIZE = 100  # what ``auto`` means when no wave settings are given


class GroupSettingsFile(Strict):
    """``config/planner/groups.yaml``."""

    resolution: Number = Field(0.02, ge=1e-6)
    seed: int = Field(1, ge=0)
    # "auto": the most one wave can take (waves.max_assets, or less when the ramp never gets
    # there), so the cap follows the wave capacity configured for the estate
    max_group_size: Annotated[int, Field(ge=1)] | None = None  # None: auto

    @field_validator("max_group_size", mode="before")
    @classmethod
    def _auto(cls, value: Any) -> Any:
        return None if value == "auto" else value

    degree_percentile: Number = Field(99.0, ge=0, le=100)
    follow_share: Number = Field(0.6, ge=0, le=1)
    backend: Annotated[Text, AfterValidator(one_of(BACKENDS))] = "igraph"
    links: LinkRulesFile = Field(default_factory=LinkRulesFile)
    cut_share: Number = Field(0.1, gt=0, le=1)
    hub_min_groups: int = Field(10, ge=2)
    hub_outside_share: Number = Field(0.8, ge=0, le=1)
    stickiness: Number = Field(0.25, ge=0, lt=1)
    notes: Note = None

    def build(self, wave_capacity: int = AUTO_GROUP_SIZE) -> GroupSettings:
        """``wave_capacity``: the most assets one wave takes (what ``auto`` resolves to)."""
        return GroupSettings(
            resolution=self.resolution,
            seed=self.seed,
            max_group_size=wave_capacity if self.max_group_size is None else self.max_group_size,
            degree_percentile=self.degree_percentile,
            follow_share=self.follow_share,
            backend=self.backend,
            links=self.links.build(),
            cut_share=self.cut_share,
            hub_min_groups=self.hub_min_groups,
            hub_outside_share=self.hub_outside_share,
            stickiness=self.stickiness,
        )


def form_move_groups(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    hubs: Hubs,
    settings: GroupSettings,
    precedence: tuple[str, ...] = STRATEGIES,
    prior: Mapping[str, str] | None = None,
) -> MoveGroups:
    """Group every moving asset; hubs form the landing zone, retained assets stay behind.

    ``strategies`` are per asset, sorted by id (as :func:`planner.strategy.choose_strategy`
    returns them); ``precedence`` breaks ties when a group's assets disagree on strategy.
    ``prior`` (asset id -> its group in the previous plan) makes groups sticky: Leiden starts
    from the previous groups, a link inside a previous group weighs ``1 + stickiness`` times as
    much and one between two previous groups ``1 - stickiness`` times, so a re-plan redraws a
    boundary only when the links have changed by more than that, not when a borderline case
    tips over or the search wanders elsewhere.
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
    if lr.weak_ports:  # print, file share, monitoring: too weak to glue applications together
        weak = np.isin(graph.port[inner], np.fromiter(sorted(lr.weak_ports), dtype=np.int64))
        w[weak] = np.minimum(w[weak], lr.weak_weight)
    retiring = np.fromiter((c.strategy == "retire" for c in strategies), dtype=bool, count=n)
    w[retiring[s] | retiring[d]] = 0.0  # what is retired goes after its users; it glues nothing
    if s.size:
        lo, hi = unordered_pairs(n, s, d)  # distinct peers (no self-links here)
        peers = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
        ref = float(np.percentile(peers[peers > 0], settings.degree_percentile))
        factor = np.minimum(1.0, ref / np.maximum(peers, 1))
        w = w * np.minimum(factor[s], factor[d])
    before = _prior_codes(graph, prior) if prior else None
    if before is not None and settings.stickiness and s.size:
        w = _sticky(before, s, d, w, settings.stickiness)
    part, called, fan_in = _partition(graph, planned, s, d, w, settings, before)
    if called.any():  # shared infrastructure found by structure joins the landing zone
        hubs = _with_structural(graph, hubs, called, fan_in, settings)
        hub |= called
        kinds = classify_links(graph, lr, hubs=hub, stays=stays)
        planned &= ~called
        inner = planned[src] & planned[dst] & (src != dst)
    masks = {
        "inner": inner,
        "planned": planned,
        "landing": hub & ~stays & ~outside,
        "stays": stays & ~outside,
        "outside": outside,
    }
    return build_groups(graph, strategies, hubs, lr, kinds, masks, part, precedence)


def _prior_codes(graph: EstateGraph, prior: Mapping[str, str]) -> Any:
    """A number per previous group for each node, -1 for nodes that were in none."""
    codes: dict[str, int] = {}
    return np.fromiter(
        (codes.setdefault(prior[a.id], len(codes)) if a.id in prior else -1 for a in graph.assets),
        dtype=np.int64,
        count=graph.n,
    )


def _sticky(before: Any, s: Any, d: Any, w: Any, stickiness: float) -> Any:
    known = (before[s] >= 0) & (before[d] >= 0)
    same = before[s] == before[d]
    factor = np.where(known & same, 1.0 + stickiness, np.where(known, 1.0 - stickiness, 1.0))
    return w * factor


def _with_structural(
    graph: EstateGraph, hubs: Hubs, called: Any, fan_in: Any, settings: GroupSettings
) -> Hubs:
    found = {int(x) for x in np.flatnonzero(called).tolist()}
    extra = [
        Hub(
            graph.assets[x].id,
            ("shared (by structure)",),
            int(fan_in[x]),
            (
                f"called from {int(fan_in[x])} move groups (at least {settings.hub_min_groups}) "
                f"with at least {100 * settings.hub_outside_share:g}% of its peers outside its "
                "own group: shared infrastructure found by structure",
            ),
        )
        for x in sorted(found)
    ]
    ids = {h.asset_id for h in extra}
    return Hubs(
        tuple(sorted((*hubs.hubs, *extra), key=lambda h: h.asset_id)),
        tuple(c for c in hubs.candidates if c.asset_id not in ids),
    )


def _partition(
    graph: EstateGraph,
    planned: Any,
    s: Any,
    d: Any,
    w: Any,
    settings: GroupSettings,
    before: Any = None,
) -> tuple[Partition, Any, Any]:
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
    initial = None
    if before is not None:  # start from the previous groups: a re-plan stays near them
        initial = np.full(units, -1, dtype=np.int64)
        initial[unit[planned]] = before[planned]
    comm = partition(
        units,
        uu,
        uv,
        uw,
        resolution=settings.resolution,
        seed=settings.seed,
        node_weights=sizes,
        backend=settings.backend,
        initial=initial,
    )
    comm = _split_labels(comm, labelled, uu, uv, uw, settings.follow_share)
    group = np.full(n, -1, dtype=np.int64)
    group[planned] = comm[unit[planned]]
    named = np.fromiter((bool(a.application) for a in graph.assets), dtype=bool, count=n)
    called, fan_in = structural_hubs(
        n,
        group,
        s,
        d,
        named,
        min_groups=settings.hub_min_groups,
        outside_share=settings.hub_outside_share,
    )
    group[called] = -1
    group = adopt_strays(group, s, d, w, settings.follow_share, named)
    group, split_from, whole = _split_oversize(group, s, d, w, settings, named)
    part = Partition(group, split_from, settings.resolution, settings.max_group_size, whole)
    return part, called, fan_in


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
    group: Any, s: Any, d: Any, w: Any, settings: GroupSettings, named: Any
) -> tuple[Any, dict[int, int], frozenset[int]]:
    """Split groups above the maximum size along weak cuts only (:mod:`planner.cuts`)."""
    out, origin, whole = split_oversize(
        group,
        s,
        d,
        w,
        limit=settings.max_group_size,
        resolution=settings.resolution,
        seed=settings.seed,
        backend=settings.backend,
        cut_share=settings.cut_share,
    )
    out = adopt_strays(out, s, d, w, settings.follow_share, named)
    final = {int(g) for g in distinct(out[out >= 0]).tolist()} if (out >= 0).any() else set()
    renumbered = _renumber(out)
    mapping = {
        int(o): int(r) for o, r in zip(out.tolist(), renumbered.tolist(), strict=True) if o >= 0
    }
    split_from = {mapping[g]: size for g, size in origin.items() if g in final and g in mapping}
    return renumbered, split_from, frozenset(mapping[g] for g in whole if g in mapping)
