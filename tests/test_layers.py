"""The architecture as a test: the import graph of the whole tree, built from the source.

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency). The rules are the ones in the README's Layout section:

- ``planner`` is pure: it imports nothing of ``agent``, ``collectors`` or ``simulator``;
- ``collectors`` never touch the store or the planner: nothing of ``agent``, ``planner`` or
  ``simulator``;
- ``simulator`` (the demo estate) is not daemon code: nothing of ``agent`` or ``planner``;
- the faces (``agent.api``, ``agent.web``) never import the runtime (the daemon and its roles);
- the store imports no other part of ``agent`` but its errors;
- no import cycles anywhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "collectors", "planner", "simulator")

# Module names that repeat across packages on purpose, each with why it cannot be confused.
SHARED_NAMES = {
    "errors": "each package's own error root (agent, collectors, planner, simulator)",
    "client": "collectors.snmp.client and collectors.ssh.client: the twin transports",
    "fetch": "collectors.snmp.fetch and collectors.ssh.fetch: the twin inventories",
    "cisco": "simulator renders Cisco devices that collectors.ssh.cisco parses",
    "linux": "simulator renders Linux hosts that collectors.ssh.linux parses",
    "windows": "simulator renders Windows hosts that collectors.ssh.windows parses",
}


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}"  # resolved to the submodule when there is one


def build_graph() -> nx.DiGraph:
    modules = module_files()
    graph = nx.DiGraph()
    for module, path in modules.items():
        graph.add_node(module)
        for name in imported_names(module, path):
            if name.split(".")[0] not in PACKAGES:
                continue
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                graph.add_edge(module, target)
    return graph


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return build_graph()


def under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def offending(graph: nx.DiGraph, sources: tuple[str, ...], banned: tuple[str, ...]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, b in graph.edges if under(a, *sources) and under(b, *banned))


def test_the_graph_is_the_whole_tree(graph: nx.DiGraph) -> None:
    # A guard on the test itself: the graph sees every package and real edges between them.
    assert all(p in graph for p in PACKAGES)
    assert graph.number_of_nodes() > 100
    assert graph.has_edge("agent.runtime.daemon", "agent.store")
    assert any(under(b, "collectors") for a, b in graph.edges if under(a, "agent"))


def test_planner_is_pure(graph: nx.DiGraph) -> None:
    assert offending(graph, ("planner",), ("agent", "collectors", "simulator")) == []


def test_collectors_import_neither_agent_nor_planner(graph: nx.DiGraph) -> None:
    assert offending(graph, ("collectors",), ("agent", "planner", "simulator")) == []


def test_simulator_is_not_daemon_code(graph: nx.DiGraph) -> None:
    assert offending(graph, ("simulator",), ("agent", "planner")) == []


def test_faces_never_import_the_runtime(graph: nx.DiGraph) -> None:
    faces = ("agent.api", "agent.web")
    assert offending(graph, faces, ("agent.runtime", "agent.cli")) == []


def test_store_stands_below_the_rest_of_the_agent(graph: nx.DiGraph) -> None:
    above = tuple(
        f"agent.{p}"
        for p in ("api", "web", "cli", "runtime", "inventory", "plans", "reports", "telemetry")
    )
    assert offending(graph, ("agent.store",), above) == []


def test_no_import_cycles(graph: nx.DiGraph) -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == []


def confusable_key(stem: str) -> str:
    """Names that read alike: case, underscores and plural/singular folded."""
    key = stem.lower().replace("_", "")
    return re.sub(r"(ies|s)$", "", key)


def test_no_two_modules_can_be_confused() -> None:
    by_key: dict[str, list[str]] = {}
    for module in module_files():
        stem = module.rsplit(".", 1)[-1]
        if stem in PACKAGES or stem in {"__main__"} or ".versions." in module:
            continue
        if stem in SHARED_NAMES:
            continue
        by_key.setdefault(confusable_key(stem), []).append(module)
    clashes = {k: sorted(v) for k, v in by_key.items() if len(v) > 1}
    assert clashes == {}
