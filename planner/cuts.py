"""Where a move group may be cut, and servers that tie many groups together.

:func:`split_oversize`: a group above the maximum size is split only along its weak cuts. Leiden
at a finer resolution proposes pieces; pieces are merged back while the link between them is
strong (its weight is at least ``cut_share`` of the smaller piece's total link weight). What is
left apart is joined only by weak links; a group with no weak cut (one application, densely
knit) stays whole however large it is, and its wave is stretched rather than the application
broken into shards.

:func:`structural_hubs`: a server that groups from many otherwise unrelated parts of the estate
call into (a shared SQL server, a load balancer, a proxy, a mail relay), and that is not tied
to its own group, is shared infrastructure even when no role port says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.graphcore import distinct, partition, undirected


def split_oversize(
    group: Any,
    s: Any,
    d: Any,
    w: Any,
    *,
    limit: int,
    resolution: float,
    seed: int,
    backend: str,
    cut_share: float,
) -> tuple[Any, dict[int, int], set[int]]:
    """Groups above ``limit`` split along weak cuts. Returns the new group numbers, for each
    group split off the size of the cluster it came from, and the groups above the limit that
    have no weak cut (kept whole)."""
    out = group.copy()
    origin: dict[int, int] = {}
    whole: set[int] = set()
    for attempt in range(3):
        sizes = np.bincount(out[out >= 0]) if (out >= 0).any() else np.zeros(0, dtype=np.int64)
        big = [g for g in np.flatnonzero(sizes > limit).tolist() if g not in whole]
        if not big:
            break
        next_label = int(out.max()) + 1
        for g in big:
            nodes = np.flatnonzero(out == g)
            inside = (out[s] == g) & (out[d] == g)
            ls, ld = np.searchsorted(nodes, s[inside]), np.searchsorted(nodes, d[inside])
            lu, lv, lw = undirected(nodes.size, ls, ld, w[inside])
            pieces = partition(
                nodes.size,
                lu,
                lv,
                lw,
                resolution=resolution * 4.0 ** (attempt + 1),
                seed=seed,
                backend=backend,
            )
            parts = _merge_strong(pieces, lu, lv, lw, cut_share)
            if int(parts.max()) == 0:
                whole.add(g)
                continue
            out[nodes] = parts + next_label
            size = origin.get(g, int(nodes.size))
            for p in range(int(parts.max()) + 1):
                origin[next_label + p] = size
            next_label += int(parts.max()) + 1
    return out, origin, whole


def _merge_strong(pieces: Any, u: Any, v: Any, w: Any, share: float) -> Any:
    """Merge pieces joined by a strong link (union-find, strongest first), then renumber."""
    count = int(pieces.max()) + 1 if pieces.size else 0
    pu, pv = pieces[u], pieces[v]
    volume = np.bincount(pu, weights=w, minlength=count) + np.bincount(
        pv, weights=w, minlength=count
    )
    between = pu != pv
    a, b, wt = undirected(count, pu[between], pv[between], w[between])
    root = list(range(count))
    vol = volume.tolist()

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    changed = True
    while changed:
        changed = False
        link: dict[tuple[int, int], float] = {}
        for x, y, z in zip(a.tolist(), b.tolist(), wt.tolist(), strict=True):
            rx, ry = find(x), find(y)
            if rx != ry:
                key = (min(rx, ry), max(rx, ry))
                link[key] = link.get(key, 0.0) + z
        for (x, y), z in sorted(link.items(), key=lambda kv: (-kv[1], kv[0])):
            rx, ry = find(x), find(y)
            if rx == ry:
                continue
            if z >= share * max(min(vol[rx], vol[ry]), 1e-12):
                root[ry] = rx
                vol[rx] += vol[ry]
                changed = True
    roots = np.asarray([find(x) for x in range(count)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    first: dict[int, int] = {}
    for p in pieces.tolist():
        first.setdefault(int(labels[p]), len(first))
    return np.asarray([first[int(labels[p])] for p in pieces.tolist()], dtype=np.int64)


def unordered_pairs(n: int, s: Any, d: Any) -> tuple[Any, Any]:
    """The distinct linked pairs ``lo < hi`` (self-links left out). Each end of a pair has the
    other as a distinct peer: counting both ends gives the distinct peers per node from half as
    many keys as the pairs taken in both directions."""
    keep = s != d
    lo, hi = np.minimum(s[keep], d[keep]), np.maximum(s[keep], d[keep])
    pairs = distinct(lo * n + hi)
    return pairs // n, pairs % n


def structural_hubs(
    n: int,
    group: Any,
    s: Any,
    d: Any,
    labelled: Any,
    *,
    min_groups: int,
    outside_share: float,
) -> tuple[Any, Any]:
    """Nodes called from at least ``min_groups`` other groups, with at least ``outside_share``
    of their distinct peers outside their own group, and no application label. Returns the
    mask and the number of calling groups per node."""
    called = np.zeros(n, dtype=bool)
    if s.size == 0:
        return called, np.zeros(n, dtype=np.int64)
    gs, gd = group[s], group[d]
    across = (gs != gd) & (gs >= 0)
    fan = distinct(d[across] * (int(group.max()) + 2) + gs[across])
    fan_in = np.bincount(fan // (int(group.max()) + 2), minlength=n)
    lo, hi = unordered_pairs(n, s, d)
    peers = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    peers += np.bincount(distinct(s[s == d]), minlength=n)  # a self-link: its own peer, once
    apart = group[lo] != group[hi]
    outside = np.bincount(lo[apart], minlength=n) + np.bincount(hi[apart], minlength=n)
    share = np.divide(outside, peers, out=np.zeros(n), where=peers > 0)
    called = (fan_in >= min_groups) & (share >= outside_share) & ~labelled
    return called, fan_in


def adopt_strays(group: Any, s: Any, d: Any, w: Any, share: float, fixed: Any) -> Any:
    """An asset whose link weight goes at least ``share`` to one other group (of two or more),
    more than to its own, joins it. The density threshold charges joining a group by its size,
    so a lightly linked member of a large application can end up beside a small neighbour it
    barely talks to; this puts it back by majority. Assets in ``fixed`` (labelled with an
    application) stay where their label put them. Two passes."""
    out = group.copy()
    if s.size == 0 or not (out >= 0).any():
        return out
    x = np.concatenate([s, d])
    y = np.concatenate([d, s])
    wt = np.concatenate([w, w])
    for _ in range(2):
        sizes = np.bincount(out[out >= 0])
        count = int(sizes.shape[0])
        use = (out[x] >= 0) & (out[y] >= 0) & (wt > 0) & ~fixed[x]
        if not use.any():
            break
        keys = x[use] * count + out[y[use]]
        uniq, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=wt[use])
        node, target = uniq // count, uniq % count
        total = np.bincount(node, weights=summed, minlength=out.shape[0])
        own = np.zeros(out.shape[0])
        mine = target == out[node]
        own[node[mine]] = summed[mine]
        other = ~mine
        node, target, summed = node[other], target[other], summed[other]
        order = np.lexsort((target, -summed, node))  # per node: heaviest group, then lowest
        node, target, summed = node[order], target[order], summed[order]
        first = np.ones(node.shape[0], dtype=bool)
        first[1:] = node[1:] != node[:-1]
        moved = 0
        for a, g, z in zip(
            node[first].tolist(), target[first].tolist(), summed[first].tolist(), strict=True
        ):
            if z >= share * total[a] and z > own[a] and sizes[g] > 1:
                out[a] = g
                moved += 1
        if not moved:
            break
    return out
