"""Hubs, hard and soft links, move groups and cycle breaking."""

from __future__ import annotations

from typing import Any

import numpy as np

from planner import (
    AssetInput,
    Dependency,
    Estate,
    HubRules,
    Lifecycle,
    Listener,
    Settings,
    detect_hubs,
    index_estate,
    plan,
)
from planner.graphcore import feedback_arcs, partition, strong_components
from planner.settings import merge
from tests.planner.conftest import TODAY


def app_estate(apps: int, size: int, label: bool) -> Estate:
    """``apps`` chains of ``size`` servers, every server calling two DNS servers."""
    assets = [
        AssetInput("ns1", name="ns1", listening=(Listener(53),)),
        AssetInput("ns2", name="ns2", listening=(Listener(53),)),
    ]
    deps = []
    for a in range(apps):
        ids = [f"app{a}-{i}" for i in range(size)]
        assets += [AssetInput(x, application=f"app{a}" if label else None) for x in ids]
        deps += [Dependency(ids[i], ids[i + 1], 8080) for i in range(size - 1)]
        deps += [Dependency(ids[i], ids[0], 1433) for i in range(1, size)]
        deps += [Dependency(x, ns, 53) for x in ids for ns in ("ns1", "ns2")]
    return Estate(tuple(assets), tuple(deps))


def test_hubs_by_port_name_and_override(settings: Settings) -> None:
    estate = app_estate(3, 4, label=False)
    extra = (AssetInput("backup01"), AssetInput("lonely-dc"), AssetInput("pinned", hub=True))
    estate = Estate(
        estate.assets + extra, (*estate.dependencies, Dependency("backup01", "app0-0", 6160))
    )
    hubs = detect_hubs(index_estate(estate), settings.hubs)
    by_id = {h.asset_id: h for h in hubs.hubs}
    assert set(by_id) == {"ns1", "ns2", "backup01", "pinned"}
    assert "dns: 12 peers connect to it on port 53" in by_id["ns1"].reasons
    assert by_id["backup01"].roles == ("backup",), "named backup and calls a server"
    assert "lonely-dc" not in by_id, "a name alone, with no peers, is not enough"
    excluded = detect_hubs(
        index_estate(estate),
        HubRules.from_mapping({"roles": {"dns": {"inbound_ports": [53]}}, "exclude": ["ns2"]}),
    )
    assert {h.asset_id for h in excluded.hubs} == {"ns1", "pinned"}


def test_degree_rule_only_offers_candidates() -> None:
    assets = [AssetInput(f"s{i}") for i in range(80)] + [AssetInput("busy")]
    deps = [Dependency(f"s{i}", "busy", 443) for i in range(80)]
    deps += [Dependency(f"s{i}", f"s{i + 1}", 443) for i in range(79)]
    hubs = detect_hubs(
        index_estate(Estate(tuple(assets), tuple(deps))),
        HubRules.from_mapping({"degree_floor": 20, "degree_mad_factor": 5}),
    )
    assert not hubs.hubs
    assert [c.asset_id for c in hubs.candidates] == ["busy"]
    assert "review" in hubs.candidates[0].reason


def test_hubs_do_not_glue_applications(settings: Settings, catalogue: Lifecycle) -> None:
    for label in (False, True):
        result = plan(app_estate(5, 4, label), settings, TODAY, catalogue)
        groups = [g for g in result.groups.groups if g.id != "landing-zone"]
        assert len(groups) == 5, f"labelled={label}: one group per application"
        for g in groups:
            assert len({a.split("-")[0] for a in g.assets}) == 1, g
        landing = result.groups.group("landing-zone")
        assert set(landing.assets) == {"ns1", "ns2"}


def test_links_to_hubs_are_soft_and_database_links_hard(
    settings: Settings, catalogue: Lifecycle
) -> None:
    estate = app_estate(1, 3, label=False)
    result = plan(estate, settings, TODAY, catalogue)
    kinds = result.groups.kinds
    for i, dep in enumerate(estate.dependencies):
        kind, why = kinds.describe(i)
        if dep.dst.startswith("ns"):
            assert (kind, why) == ("soft", "touches shared infrastructure")
        elif dep.port == 1433:
            assert (kind, why) == ("hard", "hard port")
        else:
            assert (kind, why) == ("soft", "default")


def test_big_applications_stay_whole_unless_they_have_a_weak_cut(
    mappings: dict[str, Any], catalogue: Lifecycle
) -> None:
    settings = Settings.from_mapping(merge(mappings, {"groups": {"max_group_size": 5}}))
    result = plan(app_estate(1, 12, label=True), settings, TODAY, catalogue)
    parts = [g for g in result.groups.groups if g.id != "landing-zone"]
    assert [len(g.assets) for g in parts] == [12], "every server calls the database: no weak cut"
    assert "no weak cut: kept whole" in parts[0].reason

    halves = [[f"h{k}-{i}" for i in range(6)] for k in range(2)]
    assets = tuple(AssetInput(x, application="twin") for half in halves for x in half)
    deps = [Dependency(x, y, 8080) for half in halves for x in half for y in half if x < y] + [
        Dependency("h0-0", "h1-0", 8080)
    ]  # one link between two densely knit halves
    result = plan(Estate(assets, tuple(deps)), settings, TODAY, catalogue)
    parts = sorted(result.groups.groups, key=lambda g: g.id)
    assert sorted(set(g.assets) for g in parts) == [set(h) for h in halves], (
        "split along the one weak link, never into shards"
    )
    assert all(g.id.startswith("app:twin~") for g in parts), "parts keep the application name"
    assert all("maximum group size 5) along a weak cut" in g.reason for g in parts)


def test_cycles_between_groups_are_cut_at_the_cheapest_link(
    settings: Settings, catalogue: Lifecycle
) -> None:
    assets = tuple(AssetInput(x, application=x[0]) for x in ("a1", "b1", "c1"))
    deps = (
        Dependency("a1", "b1", 1433, count=1),
        Dependency("b1", "c1", 1433),
        Dependency("b1", "c1", 5432),
        Dependency("c1", "a1", 1433),
        Dependency("c1", "a1", 3306),
    )
    result = plan(Estate(assets, deps), settings, TODAY, catalogue)
    cut = result.groups.cycle_breaks
    assert [(x.src, x.dst) for x in cut] == [("app:a", "app:b")], "the single-link hop is cheapest"
    assert cut[0].kind == "soft" and "cut to break a dependency cycle" in cut[0].reason
    wave = {a.asset_id: a.wave for a in result.assets}
    assert wave["a1"] <= wave["c1"] <= wave["b1"], "what is depended on moves first or with"


def test_graphcore_pieces() -> None:
    u = np.array([0, 1, 3], dtype=np.int64)
    v = np.array([1, 2, 4], dtype=np.int64)
    w = np.ones(3)
    labels = partition(6, u, v, w, resolution=0.1, seed=1)
    assert labels[0] == labels[1] == labels[2] and labels[3] == labels[4] != labels[0]
    assert len(set(labels.tolist())) == 3, "the isolated node is alone"
    src = np.array([0, 1, 2, 2], dtype=np.int64)
    dst = np.array([1, 2, 0, 3], dtype=np.int64)
    weight = np.array([5.0, 5.0, 1.0, 1.0])
    cut = feedback_arcs(4, src, dst, weight)
    assert cut.tolist() == [False, False, True, False], "the light arc closes the cycle"
    keep = ~cut
    assert len(set(strong_components(4, src[keep], dst[keep]).tolist())) == 4
