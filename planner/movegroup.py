"""Move group records and their assembly: members, names, reasons, links between groups.

Group ids are stable across small changes in the estate: ``app:<label>`` for a labelled
application, ``grp:<lowest asset id>`` for a group found by traffic (``~<lowest asset id>`` is
added when an application had to be split), and ``landing-zone`` for shared infrastructure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.graphcore import EstateGraph, feedback_arcs
from planner.hubs import Hubs
from planner.links import R_AFTER_USERS, R_RUNS_ON, R_SITE_GUESTS, REASONS, LinkKinds, LinkRules
from planner.strategy import STRATEGIES, StrategyChoice, summarise_strategy

LANDING_ZONE = "landing-zone"


@dataclass(frozen=True, slots=True)
class MoveGroup:
    id: str
    assets: tuple[str, ...]
    applications: tuple[str, ...]
    environment: str  # prod | nonprod
    reason: str
    strategy: str
    strategy_reasons: tuple[str, ...]
    links_inside: int
    hard_links_inside: int
    constrained: tuple[str, ...] = ()  # constraints holding for any member (never a pilot)


@dataclass(frozen=True, slots=True)
class GroupLink:
    """``src`` depends on ``dst`` through ``hard`` + ``soft`` dependencies between their assets.

    ``kind`` is hard when any dependency is hard, unless the link was ``cut`` to break a cycle.
    """

    src: str
    dst: str
    hard: int
    soft: int
    weight: float
    kind: str
    reason: str
    cut: bool = False


@dataclass(frozen=True, slots=True)
class MoveGroups:
    groups: tuple[MoveGroup, ...]  # the landing zone first when there are hubs, then by id
    links: tuple[GroupLink, ...]
    hubs: Hubs
    retained: tuple[str, ...]
    outside: tuple[str, ...]
    group_of: Mapping[str, str]
    kinds: LinkKinds
    link_summary: tuple[tuple[str, str, int], ...]  # (kind, reason, dependencies)

    @property
    def cycle_breaks(self) -> tuple[GroupLink, ...]:
        return tuple(link for link in self.links if link.cut)

    def group(self, group_id: str) -> MoveGroup:
        return next(g for g in self.groups if g.id == group_id)


@dataclass(frozen=True, slots=True)
class Partition:
    group: Any  # group number per node, -1 when not in a traffic group
    split_from: Mapping[int, int]  # group number -> size of the cluster it was split from
    resolution: float
    max_group_size: int
    whole: frozenset[int] = frozenset()  # above the maximum size with no weak cut: kept whole


def build_groups(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    hubs: Hubs,
    links: LinkRules,
    kinds: LinkKinds,
    masks: Mapping[str, Any],
    part: Partition,
    precedence: tuple[str, ...] = STRATEGIES,
) -> MoveGroups:
    ids = [a.id for a in graph.assets]
    group = part.group
    inner = masks["inner"]
    s, d = graph.src[inner], graph.dst[inner]
    hard_inner = kinds.hard[inner]
    count = int(group.max()) + 1 if (group >= 0).any() else 0
    same = group[s] == group[d]
    touched = np.bincount(s, minlength=graph.n) + np.bincount(d, minlength=graph.n)
    links_in = np.bincount(group[s][same], minlength=count)
    hard_in = np.bincount(group[s][same & hard_inner], minlength=count)
    order = np.argsort(np.where(group >= 0, group, count), kind="stable")
    sizes = np.bincount(group[group >= 0], minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    members = [order[starts[g] : starts[g + 1]] for g in range(count)]
    apps_of = [sorted({graph.assets[x].application or "" for x in m} - {""}) for m in members]
    callers: dict[int, set[str]] = {}  # group -> labelled applications that depend on it
    for a, b in set(zip(group[s][~same].tolist(), group[d][~same].tolist(), strict=True)):
        if apps_of[a] and not apps_of[b]:
            callers.setdefault(b, set()).update(apps_of[a])
    base_count = Counter("+".join(a) for a in apps_of if a)
    names: list[str] = []
    groups: list[MoveGroup] = []
    for g, nodes in enumerate(members):
        first = ids[int(nodes[0])]
        apps = apps_of[g]
        base = "+".join(apps)
        if apps:
            name = f"app:{base}" if base_count[base] == 1 else f"app:{base}~{first}"
        else:
            name = f"grp:{first}"
        names.append(name)
        groups.append(
            _group(
                graph,
                strategies,
                nodes,
                name,
                apps,
                int(links_in[g]),
                int(hard_in[g]),
                part,
                g,
                precedence,
                bool(touched[int(nodes[0])]),
                sorted(callers.get(g, ())),
            )
        )
    landing = np.flatnonzero(masks["landing"])
    if landing.size:
        roles = sorted({r for h in hubs.hubs for r in h.roles})
        choices = [strategies[x] for x in landing.tolist()]
        strategy, why = summarise_strategy(choices, precedence)
        groups.insert(
            0,
            MoveGroup(
                LANDING_ZONE,
                tuple(ids[x] for x in landing.tolist()),
                (),
                "prod",
                f"shared infrastructure ({', '.join(roles)}): moves first as the landing zone; "
                "links to it are soft",
                strategy,
                why,
                0,
                0,
            ),
        )
    numbers = group.tolist()  # plain ints: indexing an array one item at a time is slow
    group_of = {ids[x]: names[numbers[x]] for x in np.flatnonzero(group >= 0).tolist()}
    group_of.update({ids[x]: LANDING_ZONE for x in landing.tolist()})
    retiring = np.fromiter((c.strategy == "retire" for c in strategies), dtype=bool, count=graph.n)
    glinks = _links(graph, group, names, kinds, inner, links, masks["planned"], retiring)
    codes = np.bincount(
        kinds.hard.astype(np.int64) * len(REASONS) + kinds.reason, minlength=2 * len(REASONS)
    )
    summary = {
        ("hard" if c >= len(REASONS) else "soft", c % len(REASONS)): int(x)
        for c, x in enumerate(codes.tolist())
        if x
    }
    return MoveGroups(
        groups=tuple(groups[:1] + sorted(groups[1:], key=lambda x: x.id))
        if landing.size
        else tuple(sorted(groups, key=lambda x: x.id)),
        links=glinks,
        hubs=hubs,
        retained=tuple(ids[x] for x in np.flatnonzero(masks["stays"]).tolist()),
        outside=tuple(ids[x] for x in np.flatnonzero(masks["outside"]).tolist()),
        group_of=group_of,
        kinds=kinds,
        link_summary=tuple(sorted((k, REASONS[r], c) for (k, r), c in summary.items())),
    )


def _group(
    graph: EstateGraph,
    strategies: tuple[StrategyChoice, ...],
    nodes: Any,
    name: str,
    apps: list[str],
    links_in: int,
    hard_in: int,
    part: Partition,
    g: int,
    precedence: tuple[str, ...],
    linked: bool,
    users: list[str],
) -> MoveGroup:
    assets = [graph.assets[x] for x in nodes.tolist()]
    size = len(assets)
    if not apps and len(users) >= 2:
        shown = ", ".join(repr(u) for u in users[:5]) + (", ..." if len(users) > 5 else "")
        reason = (
            f"a shared service used by {len(users)} applications ({shown}): a group of "
            "its own, moving before or with them"
        )
    elif apps:
        extra = sum(1 for a in assets if not a.application)
        reason = f"application {apps[0]!r} moves as one"
        if extra:
            reason += f", with {extra} unlabelled asset(s) most linked to it"
    elif size == 1:
        reason = (
            "a single asset with no dependencies on other moving assets"
            if not linked
            else "a single asset whose links to other groups fall below the link-density threshold"
        )
    else:
        reason = (
            f"{size} assets linked by {links_in} dependencies ({hard_in} hard), found by "
            f"traffic (Leiden, link density threshold {part.resolution:g})"
        )
    if g in part.whole:
        reason += (
            f"; {size} assets, above the maximum group size {part.max_group_size}, but with no "
            "weak cut: kept whole (its wave is stretched rather than the application broken)"
        )
    if g in part.split_from:
        reason += (
            f"; split from a cluster of {part.split_from[g]} assets (more than the "
            f"maximum group size {part.max_group_size}) along a weak cut"
        )
    prod = [a.production for a in assets]
    environment = "prod" if any(prod) else "nonprod"
    if any(prod) and not all(prod):
        reason += "; mixes production and non-production assets, so planned as production"
    choices = [strategies[x] for x in nodes.tolist()]
    strategy, why = summarise_strategy(choices, precedence)
    return MoveGroup(
        name,
        tuple(a.id for a in assets),
        tuple(apps),
        environment,
        reason,
        strategy,
        why,
        links_in,
        hard_in,
        tuple(sorted({c for x in choices for c in x.constraints})),
    )


def _links(
    graph: EstateGraph,
    group: Any,
    names: list[str],
    kinds: LinkKinds,
    inner: Any,
    rules: LinkRules,
    planned: Any,
    retiring: Any,
) -> tuple[GroupLink, ...]:
    count = len(names)
    s, d = graph.src[inner], graph.dst[inner]
    gs, gd = group[s], group[d]
    between = gs != gd
    gs, gd = gs[between].copy(), gd[between].copy()
    hard = kinds.hard[inner][between].copy()
    reason = kinds.reason[inner][between].astype(np.int64)
    # infrastructure being retired goes after what uses it: the link turns round and is hard
    after = retiring[d[between]] & ~retiring[s[between]]
    gs[after], gd[after] = gd[after], gs[after].copy()
    hard[after] = True
    reason[after] = R_AFTER_USERS
    host_src, host_dst, host_why = _hosts(graph, group, planned, retiring)
    gs = np.concatenate([gs, np.asarray(host_src, dtype=np.int64)])
    gd = np.concatenate([gd, np.asarray(host_dst, dtype=np.int64)])
    hard = np.concatenate([hard, np.ones(len(host_src), dtype=bool)])
    reason = np.concatenate([reason, np.asarray(host_why, dtype=np.int64)])
    key = gs * max(count, 1) + gd
    uniq, inverse = np.unique(key, return_inverse=True)
    n_hard = np.bincount(inverse, weights=hard, minlength=uniq.size).astype(np.int64)
    n_soft = np.bincount(inverse, weights=~hard, minlength=uniq.size).astype(np.int64)
    # the most common reason of each link's hard dependencies, ties to the lowest reason code
    # (argmax takes the first of equal counts)
    per_reason = np.bincount(
        inverse[hard] * len(REASONS) + reason[hard], minlength=uniq.size * len(REASONS)
    )
    top = per_reason.reshape(uniq.size, len(REASONS)).argmax(axis=1).tolist()
    weight = n_hard * rules.hard_weight + n_soft * rules.soft_weight
    lsrc, ldst = uniq // max(count, 1), uniq % max(count, 1)
    is_hard = n_hard > 0
    cut = np.zeros(uniq.size, dtype=bool)
    hard_idx = np.flatnonzero(is_hard)
    cut[hard_idx] = feedback_arcs(
        count, lsrc[hard_idx], ldst[hard_idx], weight[hard_idx].astype(np.float64)
    )
    out = []
    rows = zip(
        lsrc.tolist(),
        ldst.tolist(),
        n_hard.tolist(),
        n_soft.tolist(),
        weight.astype(np.float64).tolist(),
        cut.tolist(),
        top,
        strict=True,
    )
    for a, b, hard_count, soft_count, wt, was_cut, main in rows:
        if hard_count:
            why = (
                f"cut to break a dependency cycle (was hard: {REASONS[main]})"
                if was_cut
                else f"hard: {REASONS[main]}"
            )
        else:
            why = "soft dependencies only"
        out.append(
            GroupLink(
                names[a],
                names[b],
                hard_count,
                soft_count,
                round(wt, 3),
                "hard" if hard_count and not was_cut else "soft",
                why,
                was_cut,
            )
        )
    return tuple(sorted(out, key=lambda x: (x.src, x.dst)))


def restrategise(
    groups: MoveGroups,
    strategies: tuple[StrategyChoice, ...],
    precedence: tuple[str, ...] = STRATEGIES,
) -> MoveGroups:
    """The same groups with their strategy summaries redone (after a strategy was revised)."""
    by_id = {c.asset_id: c for c in strategies}
    out = []
    for g in groups.groups:
        strategy, why = summarise_strategy([by_id[a] for a in g.assets], precedence)
        out.append(replace(g, strategy=strategy, strategy_reasons=why))
    return replace(groups, groups=tuple(out))


def _hosts(
    graph: EstateGraph, group: Any, planned: Any, retiring: Any
) -> tuple[list[int], list[int], list[int]]:
    """Host -> guest group links (the host waits for its guests). A retiring hypervisor that no
    asset names as its host waits for every moving virtual machine at its site."""
    src: list[int] = []
    dst: list[int] = []
    why: list[int] = []
    named: set[int] = set()
    index = graph.index
    moving, number = planned.tolist(), group.tolist()  # plain values: read once per asset
    for node, asset in enumerate(graph.assets):
        host = index.get(asset.host or "") if asset.host else None
        if host is None:
            continue
        named.add(host)
        if moving[host] and moving[node] and number[host] != number[node]:
            src.append(number[host])
            dst.append(number[node])
            why.append(R_RUNS_ON)
    orphans = [
        h
        for h, a in enumerate(graph.assets)
        if a.device_class == "hypervisor" and retiring[h] and planned[h] and h not in named
    ]
    if not orphans:
        return src, dst, why
    by_site: dict[str | None, set[int]] = {}
    for node, asset in enumerate(graph.assets):
        if asset.virtual and planned[node] and not retiring[node]:
            by_site.setdefault(asset.site, set()).add(int(group[node]))
    for h in orphans:
        for g in sorted(by_site.get(graph.assets[h].site, set()) - {int(group[h])}):
            src.append(int(group[h]))
            dst.append(g)
            why.append(R_SITE_GUESTS)
    return src, dst, why
