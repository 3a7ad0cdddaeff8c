"""The one place that does heavy graph work: integer-indexed edge arrays, igraph and numpy.

networkx stays the model for the API and tests (:meth:`EstateGraph.to_networkx`), but at 100,000
assets and 1,000,000 edges networkx takes ~65 s for Louvain and ~9 s for PageRank, so the planner
keeps numpy edge arrays beside the estate and runs Leiden (igraph), PageRank and components
(numpy) on them. Measured on 2 cores with the synthetic estate of ``bench/plan.py``: Leiden
(CPM) on the 560,000 non-hub edges ~1.2 s, building the igraph graph ~0.6 s; PageRank and
components on 1,000,000 edges under 0.1 s each (an igraph graph would take ~0.5 s to build).
``backend="networkx"`` runs the same steps with networkx, as the reference and the benchmark
baseline. Everything is deterministic: nodes are numbered by sorted asset id and every random
choice comes from a ``random.Random(seed)`` handed to igraph for the call only.
"""

from __future__ import annotations

import heapq
import random
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from planner.errors import EstateError
from planner.model import AssetInput, Estate, dependency_column

if TYPE_CHECKING:  # networkx is the reference backend, imported only when one is asked for
    import networkx as nx

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
KIND_CODES = {"unknown": 0, "hard": 1, "soft": 2}
BACKENDS = ("igraph", "networkx")


@dataclass(frozen=True, eq=False)
class EstateGraph:
    """An estate with assets numbered by sorted id and its dependencies as read-only arrays."""

    estate: Estate
    assets: tuple[AssetInput, ...]  # sorted by id; position = node number
    index: dict[str, int]
    src: IntArray  # per dependency, in estate order
    dst: IntArray
    port: IntArray  # -1 when unknown
    count: IntArray
    kind: npt.NDArray[np.int8]  # KIND_CODES

    @property
    def n(self) -> int:
        return len(self.assets)

    @property
    def m(self) -> int:
        return int(self.src.shape[0])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.assets)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The estate as a networkx multigraph: assets on nodes, one edge per dependency."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        for asset in self.assets:
            graph.add_node(asset.id, asset=asset)
        for dep in self.estate.dependencies:
            graph.add_edge(dep.src, dep.dst, dependency=dep)
        return graph


def index_estate(estate: Estate) -> EstateGraph:
    """Number the assets, turn dependencies into arrays; refuse duplicate ids, dangling edges."""
    assets = tuple(sorted(estate.assets, key=lambda a: a.id))
    index = {a.id: i for i, a in enumerate(assets)}
    if len(index) != len(assets):
        seen: set[str] = set()
        dupes = sorted({a.id for a in assets if a.id in seen or seen.add(a.id)})  # type: ignore[func-returns-value]
        raise EstateError(f"duplicate asset ids: {', '.join(dupes[:10])} (ids must be unique)")
    deps = estate.dependencies
    m = len(deps)

    def numbers(name: str) -> IntArray:  # map() with C getters: no Python frame per dependency
        found = map(index.__getitem__, dependency_column(deps, name))
        return np.fromiter(found, dtype=np.int64, count=m)

    try:
        src, dst = numbers("src"), numbers("dst")
    except KeyError:
        missing = sorted({x for d in deps for x in (d.src, d.dst) if x not in index})
        raise EstateError(
            f"{len(missing)} dependency endpoint(s) are not assets in the estate: "
            f"{', '.join(missing[:10])} (add them as assets, external=True for outside peers)"
        ) from None
    # None becomes NaN as a float: ports are far below 2**53, so they convert back exactly
    ports = np.array(list(dependency_column(deps, "port")), dtype=np.float64).reshape(m)
    port = np.where(np.isnan(ports), -1.0, ports).astype(np.int64)
    count = np.maximum(np.fromiter(dependency_column(deps, "count"), dtype=np.int64, count=m), 1)
    kinds = map(KIND_CODES.__getitem__, dependency_column(deps, "kind"))
    kind = np.fromiter(kinds, dtype=np.int8, count=m)
    for arr in (src, dst, port, count, kind):
        arr.flags.writeable = False
    return EstateGraph(estate, assets, index, src, dst, port, count, kind)


def distinct(keys: IntArray) -> IntArray:
    """Sorted distinct values. Sorting is ~50x faster here than ``np.unique``'s hash path."""
    ordered = np.sort(keys)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def pagerank(
    n: int,
    src: IntArray,
    dst: IntArray,
    weight: FloatArray,
    damping: float = 0.85,
    backend: str = "igraph",
) -> FloatArray:
    """Weighted PageRank (importance flows from a dependant to what it depends on)."""
    if n == 0:
        return np.zeros(0)
    if backend == "networkx":
        import networkx as nx
        from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        for s, d, w in zip(src.tolist(), dst.tolist(), weight.tolist(), strict=True):
            prev = graph.get_edge_data(s, d, {"weight": 0.0})["weight"]
            graph.add_edge(s, d, weight=prev + w)
        try:  # the reference: networkx's own PageRank (it runs on scipy where installed)
            ranks = nx.pagerank(graph, alpha=damping, weight="weight", tol=1e-10)
        except ImportError:  # no scipy: networkx's pure-Python twin gives the same ranks
            ranks = _pagerank_python(graph, alpha=damping, weight="weight", tol=1e-10)
        return np.array([ranks[i] for i in range(n)])
    out_w = np.bincount(src, weights=weight, minlength=n)
    dangling = out_w == 0
    share = weight / np.where(dangling, 1.0, out_w)[src]  # of its source's rank, per edge
    ranks = np.full(n, 1.0 / n)
    for _ in range(200):
        spread = np.bincount(dst, weights=ranks[src] * share, minlength=n)
        new = (1 - damping) / n + damping * (spread + ranks[dangling].sum() / n)
        if np.abs(new - ranks).sum() < 1e-10 * n:
            ranks = new
            break
        ranks = new
    return np.asarray(ranks / ranks.sum(), dtype=np.float64)


def undirected(
    n: int, src: IntArray, dst: IntArray, weight: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Sum weights per unordered pair (both directions together), dropping self-loops."""
    keep = src != dst
    lo = np.minimum(src[keep], dst[keep])
    hi = np.maximum(src[keep], dst[keep])
    pair, wt = lo * n + hi, weight[keep]
    order = np.lexsort((wt, pair))  # a fixed summation order: sums do not depend on input order
    keys, inverse = np.unique(pair[order], return_inverse=True)
    summed = np.bincount(inverse, weights=wt[order], minlength=keys.shape[0])
    keys = np.asarray(keys, dtype=np.int64)
    return keys // n, keys % n, np.asarray(summed, dtype=np.float64)


def components(n: int, u: IntArray, v: IntArray) -> IntArray:
    """Connected components, labelled 0.. in order of each component's lowest node.

    Union-find in numpy (as fast as a sparse-matrix search; building an igraph graph first
    would cost ~10 times more at 1,000,000 edges): each round hooks every root to the lowest
    root it is linked to, then points every node at its root. Rounds are few (2 on the bench
    estate, 11 on a path of 200,000 nodes in random order).
    """
    root = np.arange(n, dtype=np.int64)
    while True:
        ru, rv = root[u], root[v]
        apart = ru != rv
        if not apart.any():
            return _relabel(root)
        np.minimum.at(root, np.maximum(ru, rv)[apart], np.minimum(ru, rv)[apart])
        while True:
            up = root[root]
            if np.array_equal(up, root):
                break
            root = up


def strong_components(n: int, src: IntArray, dst: IntArray) -> IntArray:
    """Strongly connected components (igraph), labelled as :func:`components` labels them."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    import igraph  # here, not at the top: reading the settings or the estate needs none of it

    graph = igraph.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=True)
    found = graph.connected_components(mode="strong")
    return _relabel(np.asarray(found.membership, dtype=np.int64))


def _relabel(labels: npt.NDArray[Any]) -> IntArray:
    """Renumber labels by first appearance so that they do not depend on library internals."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return np.asarray(order[inverse], dtype=np.int64)


def partition(
    n: int,
    u: IntArray,
    v: IntArray,
    w: FloatArray,
    *,
    resolution: float,
    seed: int,
    node_weights: FloatArray | None = None,
    backend: str = "igraph",
    initial: IntArray | None = None,
) -> IntArray:
    """Communities by Leiden with the Constant Potts Model, one connected component at a time.

    CPM's resolution is a link density: a community holds together when its internal link weight
    beats ``resolution x n_a x n_b`` for any split, which does not drift with the size of the
    graph (modularity's does). Components are solved separately, each with a seed derived from
    its lowest node's label, so a change in one corner of the estate does not reshuffle another.
    ``initial`` (a label per node, -1 for none) is where Leiden starts from, so that a re-plan
    stays near the previous partition (igraph only; networkx's Louvain always starts afresh).
    """
    comp = components(n, u, v)
    labels = np.full(n, -1, dtype=np.int64)
    sizes = np.bincount(comp, minlength=int(comp.max()) + 1 if n else 0)
    small = sizes[comp] <= 2
    labels[small] = comp[small]  # a pair linked by any weight is one community under CPM
    next_label = int(comp.max()) + 1 if n else 0
    big = np.flatnonzero(sizes > 2)
    if big.size == 0:
        return _relabel(labels)
    nodes_by_comp = np.argsort(comp, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    edge_comp = comp[u]
    edge_order = np.argsort(edge_comp, kind="stable")
    edge_starts = np.searchsorted(edge_comp[edge_order], np.arange(len(sizes) + 1))
    weights = np.ones(n) if node_weights is None else node_weights
    for c in big.tolist():
        nodes = nodes_by_comp[starts[c] : starts[c + 1]]
        sel = edge_order[edge_starts[c] : edge_starts[c + 1]]
        lu = np.searchsorted(nodes, u[sel])
        lv = np.searchsorted(nodes, v[sel])
        local_seed = seed ^ zlib.crc32(int(nodes[0]).to_bytes(8, "little"))
        start = None
        if initial is not None:
            start = initial[nodes].copy()
            none = start < 0
            start[none] = int(start.max()) + 1 + np.arange(int(none.sum()))
            start = _relabel(start)
        member = _leiden(
            nodes.shape[0], lu, lv, w[sel], weights[nodes], resolution, local_seed, backend, start
        )
        labels[nodes] = member + next_label
        next_label += int(member.max()) + 1
    return _relabel(labels)


def _leiden(
    n: int,
    u: IntArray,
    v: IntArray,
    w: FloatArray,
    node_w: FloatArray,
    resolution: float,
    seed: int,
    backend: str,
    initial: IntArray | None = None,
) -> IntArray:
    if backend == "networkx":
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
        # networkx has no CPM. Louvain (modularity) merges a and b when w_ab > g K_a K_b / 2W; with
        # K ~ n x mean degree that equals CPM's w_ab > r n_a n_b at g = r n^2 / 2W
        total = float(w.sum()) or 1.0
        gamma = max(1.0, resolution * n * n / (2.0 * total))
        found = nx.community.louvain_communities(
            graph, weight="weight", resolution=gamma, seed=seed
        )
        out = np.zeros(n, dtype=np.int64)
        for i, members in enumerate(sorted(found, key=min)):
            out[list(members)] = i
        return out
    import igraph

    graph = igraph.Graph(n=n, edges=np.column_stack([u, v]).tolist(), directed=False)
    igraph.set_random_number_generator(random.Random(seed))
    try:
        found = graph.community_leiden(
            objective_function="CPM",
            weights=w.tolist(),
            resolution=resolution,
            node_weights=node_w.tolist(),
            n_iterations=2,
            initial_membership=None if initial is None else initial.tolist(),
        )
    finally:
        igraph.set_random_number_generator(random)
    return _relabel(np.asarray(found.membership, dtype=np.int64))


def feedback_arcs(
    n: int, src: IntArray, dst: IntArray, weight: FloatArray
) -> npt.NDArray[np.bool_]:
    """Arcs to cut so the rest is acyclic: weighted Eades-Lin-Smyth in each strong component.

    Cheap arcs are preferred as cuts (the heuristic orders nodes by outgoing minus incoming
    weight). Meant for the graph of move groups (thousands of nodes).
    """
    cut = np.zeros(src.shape[0], dtype=bool)
    if n == 0 or src.shape[0] == 0:
        return cut
    scc = strong_components(n, src, dst)
    inner = (scc[src] == scc[dst]) & (src != dst)
    if not inner.any():
        return cut
    position = np.zeros(n, dtype=np.int64)
    for c in distinct(scc[src[inner]]).tolist():
        nodes = np.flatnonzero(scc == c).tolist()
        arcs = np.flatnonzero(inner & (scc[src] == c))
        order = _eades(nodes, src[arcs].tolist(), dst[arcs].tolist(), weight[arcs].tolist())
        for pos, node in enumerate(order):
            position[node] = pos
        cut[arcs] = position[src[arcs]] > position[dst[arcs]]
    return cut


def _eades(nodes: list[int], src: list[int], dst: list[int], weight: list[float]) -> list[int]:
    """An order of ``nodes`` where arcs pointing backwards weigh little (arcs go src before dst).

    Sinks go to the tail, sources to the head; otherwise the node with the largest outgoing
    minus incoming weight goes to the head. O(m log m) with a versioned heap; ties by node number.
    """
    out_adj: dict[int, dict[int, float]] = {x: {} for x in nodes}
    in_adj: dict[int, dict[int, float]] = {x: {} for x in nodes}
    for s, d, w in zip(src, dst, weight, strict=True):
        out_adj[s][d] = out_adj[s].get(d, 0.0) + w
        in_adj[d][s] = in_adj[d].get(s, 0.0) + w
    delta = {x: sum(out_adj[x].values()) - sum(in_adj[x].values()) for x in nodes}
    version = dict.fromkeys(nodes, 0)
    alive = set(nodes)
    heap = [(-delta[x], x, 0) for x in nodes]
    heapq.heapify(heap)
    sinks = [x for x in nodes if not out_adj[x]]
    sources = [x for x in nodes if not in_adj[x]]
    heapq.heapify(sinks)
    heapq.heapify(sources)
    head: list[int] = []
    tail: list[int] = []

    def touch(x: int, change: float) -> None:
        delta[x] += change
        version[x] += 1
        heapq.heappush(heap, (-delta[x], x, version[x]))

    def remove(x: int) -> None:
        alive.discard(x)
        for d, w in out_adj[x].items():
            del in_adj[d][x]
            touch(d, w)
            if not in_adj[d]:
                heapq.heappush(sources, d)
        for s, w in in_adj[x].items():
            del out_adj[s][x]
            touch(s, -w)
            if not out_adj[s]:
                heapq.heappush(sinks, s)

    while alive:
        while sinks or sources:
            while sinks:
                x = heapq.heappop(sinks)
                if x in alive and not out_adj[x]:
                    tail.append(x)
                    remove(x)
            while sources:
                x = heapq.heappop(sources)
                if x in alive and not in_adj[x]:
                    head.append(x)
                    remove(x)
        while heap:
            _, x, ver = heapq.heappop(heap)
            if x in alive and ver == version[x]:
                head.append(x)
                remove(x)
                break
    return head + tail[::-1]
