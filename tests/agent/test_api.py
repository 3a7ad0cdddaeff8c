"""The HTTP API on a store holding the council example estate and a plan (in-process client)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.api.server import create_app
from agent.bridge.plan_runs import compute_plan, save_plan
from agent.configuration.config_file import Settings
from agent.inventory.estate_import import import_estate
from agent.store import Store
from agent.telemetry.metrics import new_registry

DATA = Path(__file__).resolve().parents[1] / "data" / "estate" / "council.json"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('api') / 'cw.db'}")
    import_estate(store, DATA.read_text(), "json", DATA.name)
    today = date(2026, 11, 1)
    save_plan(store, compute_plan(store, today))
    store.set_planning_hints(1, {"environment": "prod"})
    save_plan(store, compute_plan(store, today))
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    app = create_app(daemon, token=None)  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c, store
    store.close()


def test_assets_filters_and_paging(client: Any) -> None:
    c, _ = client
    all_ = c.get("/api/v1/assets?limit=5").json()
    assert all_["total"] == 36 and len(all_["items"]) == 5 and all_["limit"] == 5
    servers = c.get("/api/v1/assets?device_class=server&limit=1000").json()
    assert servers["total"] > 0
    assert all(a["device_class"] == "server" for a in servers["items"])
    eol = c.get("/api/v1/assets?support_status=eol&limit=1000").json()
    assert eol["total"] > 0 and all(a["support_status"] == "eol" for a in eol["items"])
    indebted = c.get("/api/v1/assets?min_debt=50&limit=1000").json()
    assert all(a["debt"] >= 50 for a in indebted["items"])
    assert any(a["name"] == "fs01" for a in indebted["items"])
    page2 = c.get("/api/v1/assets?limit=5&offset=5").json()
    assert {a["id"] for a in page2["items"]}.isdisjoint({a["id"] for a in all_["items"]})
    assert c.get("/api/v1/assets?support_status=bogus").status_code == 422


@pytest.mark.parametrize("status", [None, "supported", "extended", "eol", "unknown"])
@pytest.mark.parametrize("narrowed", [{}, {"device_class": "server"}, {"min_debt": "30"}])
def test_a_filtered_lists_total_counts_the_assets_it_lists(
    client: Any, status: str | None, narrowed: dict[str, str]
) -> None:
    """Whichever way a count is made (from the assets, or from the plan rows when the filter
    needs one), it equals the number of assets the unpaged list holds, and every one listed
    matches the filter."""
    c, _ = client
    query = {**narrowed, "limit": "1000"} | ({"support_status": status} if status else {})
    listed = c.get("/api/v1/assets", params=query).json()
    assert listed["total"] == len(listed["items"])
    for item in listed["items"]:
        assert status is None or item["support_status"] == status
        assert item["device_class"] == narrowed.get("device_class", item["device_class"])
        assert "min_debt" not in narrowed or item["debt"] >= float(narrowed["min_debt"])
    if status is None and not narrowed:
        assert listed["total"] == 36


def test_asset_detail_has_plan_and_dependencies(client: Any) -> None:
    c, _ = client
    fs01 = c.get("/api/v1/assets?q=fs01").json()["items"][0]
    detail = c.get(f"/api/v1/assets/{fs01['id']}").json()
    assert detail["plan"]["factors"] and detail["dependencies"]
    assert {f["name"] for f in detail["plan"]["factors"]} >= {"os_support", "hardware_age"}


def test_plan_waves_debt_diff_graph(client: Any) -> None:
    c, _ = client
    plan = c.get("/api/v1/plan").json()
    assert plan["summary"]["assets"] == 36 and plan["plan_id"] == 2
    waves = c.get("/api/v1/waves").json()["waves"]
    assert waves and waves[0]["wave"]["groups"][0]["asset_names"]
    debt = c.get("/api/v1/debt?limit=3").json()
    assert debt["items"][0]["name"] == "fs01" and debt["items"][0]["factors"]
    scores = [i["debt"] for i in c.get("/api/v1/debt?limit=50").json()["items"]]
    assert scores == sorted(scores, reverse=True)
    listing = c.get("/api/v1/plans").json()
    assert listing["total"] == 2
    diff = c.get("/api/v1/plans/diff?a=1&b=2").json()
    assert diff["a"] == 1 and "changes" in diff
    assert c.get("/api/v1/plans/diff?a=1&b=99").status_code == 404
    graph = c.get("/api/v1/graph").json()
    kinds = {n["type"] for n in graph["nodes"]}
    assert "asset" in kinds and "service" in kinds
    assert any(e["type"] == "depends-on" for e in graph["links"])


def test_read_only_and_size_limits(client: Any) -> None:
    c, _ = client
    assert c.post("/api/v1/assets", json={"name": "x"}).status_code == 405
    assert c.delete("/api/v1/assets/1").status_code == 405
    big = c.post(
        "/api/v1/assets", content=b"x" * 200_000, headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    r = c.get("/api/v1/assets", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    assert r.headers["x-content-type-options"] == "nosniff"
