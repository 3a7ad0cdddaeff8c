"""The graph kernels against networkx (the reference) and against sums done by hand: PageRank,
connected and strongly connected components, and ranks with ties."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

from planner.debt import max_rank
from planner.graphcore import components, pagerank, strong_components

HOOK = settings(max_examples=80, deadline=None)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Directed multigraphs with self-loops, dangling and isolated nodes, unequal weights."""
    n = draw(st.integers(min_value=1, max_value=30))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=90))
    weights = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=len(edges)))
    src = np.array([s for s, _ in edges], dtype=np.int64)
    dst = np.array([d for _, d in edges], dtype=np.int64)
    return n, src, dst, np.array(weights[: len(edges)], dtype=np.float64)


def test_pagerank_matches_the_sums_by_hand() -> None:
    # 0 -> 1, and 1 has no way out (its rank is spread evenly): r0 = 20/57, r1 = 37/57
    ranks = pagerank(2, np.array([0]), np.array([1]), np.ones(1))
    assert ranks == pytest.approx([20 / 57, 37 / 57], abs=1e-9)
    cycle = pagerank(3, np.array([0, 1, 2]), np.array([1, 2, 0]), np.ones(3))
    assert cycle == pytest.approx([1 / 3] * 3, abs=1e-12)
    # a repeated edge counts as its summed weight
    twice = pagerank(3, np.array([0, 0, 0]), np.array([1, 1, 2]), np.ones(3))
    once = pagerank(3, np.array([0, 0]), np.array([1, 2]), np.array([2.0, 1.0]))
    assert twice == pytest.approx(once, abs=1e-15)
    assert (
        pagerank(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.ones(0)).size
        == 0
    )


@HOOK
@given(graphs())
def test_pagerank_agrees_with_networkx(
    graph: tuple[int, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    n, src, dst, weight = graph
    ours = pagerank(n, src, dst, weight)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)
    directed = nx.DiGraph()
    directed.add_nodes_from(range(n))
    for s, d, w in zip(src.tolist(), dst.tolist(), weight.tolist(), strict=True):
        directed.add_edge(s, d, weight=directed.get_edge_data(s, d, {"weight": 0.0})["weight"] + w)
    # networkx's own PageRank, given the iterations that periodic graphs need
    reference = _pagerank_python(directed, alpha=0.85, weight="weight", tol=1e-12, max_iter=1000)
    assert np.abs(ours - np.array([reference[i] for i in range(n)])).max() < 1e-6


@HOOK
@given(graphs())
def test_components_agree_with_networkx(
    graph: tuple[int, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    n, src, dst, _ = graph
    pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
    weak, strong = components(n, src, dst), strong_components(n, src, dst)
    undirected, directed = nx.Graph(pairs), nx.DiGraph(pairs)
    undirected.add_nodes_from(range(n))
    directed.add_nodes_from(range(n))
    for labels, expected in (
        (weak, nx.connected_components(undirected)),
        (strong, nx.strongly_connected_components(directed)),
    ):
        found = {}
        for node, label in enumerate(labels.tolist()):
            found.setdefault(label, set()).add(node)
        assert sorted(map(sorted, found.values())) == sorted(map(sorted, expected))
        # labelled 0, 1, 2 ... in order of each component's lowest node
        firsts = [labels.tolist().index(label) for label in range(len(found))]
        assert firsts == sorted(firsts) and firsts[0] == 0


def test_max_rank_gives_ties_the_highest_rank() -> None:
    values = np.array([0.3, 0.1, 0.3, 0.2, 0.3])
    assert max_rank(values).tolist() == [5, 1, 5, 2, 5]
    rng = np.random.default_rng(5)
    drawn = rng.integers(0, 6, 200).astype(np.float64)
    brute = [(drawn <= x).sum() for x in drawn]
    assert max_rank(drawn).tolist() == brute


def test_max_rank_ties_values_apart_only_by_rounding() -> None:
    """PageRank sums round differently as dependencies come in another order; equal ranks
    must not part on it (found by the randomised property that a plan depends only on its
    estate, not on the estate's order)."""
    a, b = 0.1 + 0.2, 0.3  # 0.30000000000000004 and 0.3
    assert max_rank(np.array([b, a, 0.5, 0.1])).tolist() == [3, 3, 4, 1]
    assert max_rank(np.array([a, b, 0.5, 0.1])).tolist() == [3, 3, 4, 1]
    assert max_rank(np.array([0.3, 0.3 + 1e-6, 0.1])).tolist() == [2, 3, 1]  # apart indeed
    assert max_rank(np.array([])).tolist() == []
