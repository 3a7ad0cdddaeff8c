"""External peers (dependency ends nobody inventoried) are planned around but never counted as
assets: not by ``cloudward plan``, the plan's summary, nor the overview page's figures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from agent.cli import cli
from agent.store import Store
from agent.web import views

ESTATE = {
    "assets": [
        {"name": "app01", "device_class": "server", "os_name": "Ubuntu", "os_version": "18.04"},
        {"name": "db01", "device_class": "server", "os_name": "Ubuntu", "os_version": "22.04"},
    ],
    "dependencies": [
        {"src": "app01", "dst": "db01", "port": 5432},
        {"src": "app01", "dst": "203.0.113.9", "port": 443},  # a partner's service
        {"src": "198.51.100.7", "dst": "app01", "port": 443},  # a client from outside
    ],
}


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--database", f"sqlite:///{db}"])


def test_external_peers_are_not_counted_as_assets(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    source = tmp_path / "estate.json"
    source.write_text(json.dumps(ESTATE), encoding="utf-8")
    r = run(db, "import", str(source))
    assert r.exit_code == 0 and "imported 2 assets" in r.output, r.output

    r = run(db, "plan", "--today", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("plan 1 as of 2026-11-01: 2 assets,"), r.output

    body = json.loads(run(db, "plan", "--today", "2026-11-01", "--json").output)
    summary = body["summary"]
    assert summary["assets"] == 2 and summary["external_peers"] == 2
    assert sum(summary["strategies"].values()) == 2
    assert sum(summary["support_status"].values()) == 2
    ours = [a for a in body["assets"] if a["debt_ranking"] != "outside"]
    assert summary["debt_total"] == round(sum(a["debt"]["score"] for a in ours), 1)
    assert len(body["assets"]) == 4  # the peers are still in the plan, planned around

    store = Store.open(f"sqlite:///{db}", create=False)
    try:
        page = views.overview(store)
    finally:
        store.close()
    assert page["total"] == 2
    assert sum(n for _, n in page["by_status"]) == 2
    assert sum(page["plan"]["summary"]["strategies"].values()) == page["total"]


def test_an_estate_without_dependencies_has_the_same_assets(tmp_path: Path) -> None:
    """``lifecycle gaps`` reads the assets alone (no dependency, no external peer): each asset
    is read exactly as the planner's whole estate has it."""
    from agent.bridge.plan_runs import estate_from_store

    db = tmp_path / "cw.db"
    source = tmp_path / "estate.json"
    source.write_text(json.dumps(ESTATE), encoding="utf-8")
    assert run(db, "import", str(source)).exit_code == 0
    store = Store.open(f"sqlite:///{db}", create=False)
    try:
        whole = estate_from_store(store)
        alone = estate_from_store(store, dependencies=False)
    finally:
        store.close()
    assert len(whole.dependencies) == 3 and len(alone.dependencies) == 0
    assert [a.name for a in whole.assets if a.external] == ["198.51.100.7", "203.0.113.9"]
    assert alone.assets == tuple(a for a in whole.assets if not a.external)
    r = run(db, "lifecycle", "gaps", "--today", "2026-11-01", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["assets"] == 2
