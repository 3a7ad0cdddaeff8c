"""Plan views the API keeps per stored plan, and counts that skip redundant joins, stay right
when plans are added and pruned and when assets appear after the plan (on both backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text as sql_text

from agent.api.server import create_app
from agent.bridge.plan_runs import compute_plan, prune_plans, save_plan
from agent.configuration.config_file import Settings
from agent.inventory.estate_import import import_estate
from agent.store import jsontext
from agent.store import tables as m
from agent.telemetry.metrics import new_registry
from collectors.facts import Facts, Identity

DATA = Path(__file__).resolve().parents[1] / "data" / "estate" / "council.json"
TODAY = date(2026, 11, 1)


def _client(store: Any) -> TestClient:
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    return TestClient(create_app(daemon, token=None))  # type: ignore[arg-type]


def test_views_follow_new_and_pruned_plans(store: Any) -> None:
    import_estate(store, DATA.read_text(), "json", DATA.name)
    first = save_plan(store, compute_plan(store, TODAY))
    with _client(store) as c:
        waves = c.get("/api/v1/waves").json()
        assert waves["plan_id"] == first and c.get("/api/v1/plan").json()["plan_id"] == first
        store.set_planning_hints(1, {"environment": "prod"})
        second = save_plan(store, compute_plan(store, TODAY))
        assert c.get("/api/v1/waves").json()["plan_id"] == second
        assert c.get("/api/v1/plan").json()["plan_id"] == second
        assert c.get(f"/api/v1/waves?plan={first}").json() == waves
        full = c.get(f"/api/v1/plan?id={second}&full=true").json()
        summary = c.get(f"/api/v1/plan?id={second}").json()
        assert summary == {k: full[k] for k in summary} and len(full) > len(summary)
        prune_plans(store, keep=1)
        assert c.get(f"/api/v1/waves?plan={first}").status_code == 404
        assert c.get(f"/api/v1/plan?id={first}").status_code == 404
        assert c.get("/api/v1/waves").json()["plan_id"] == second


def test_views_of_a_new_plan_are_built_ahead_of_its_first_request(store: Any) -> None:
    from agent.api.routes import plan_views_of, warm_plan_views

    state = SimpleNamespace()
    assert warm_plan_views(state, store) is None  # no plan yet: nothing to build
    import_estate(store, DATA.read_text(), "json", DATA.name)
    plan_id = save_plan(store, compute_plan(store, TODAY))
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    app = create_app(daemon, token=None)  # type: ignore[arg-type]
    assert daemon.api_state is app.state  # the daemon refreshes into the served state
    assert warm_plan_views(app.state, store) == plan_id
    kept = dict(plan_views_of(app.state)._views)
    assert {key[0] for key in kept} == {"summary", "waves"}
    assert all(key[1] == plan_id for key in kept)
    with TestClient(app) as c:
        served = c.get("/api/v1/waves")
        assert served.status_code == 200 and served.json()["plan_id"] == plan_id
        waves = next(v for k, v in kept.items() if k[0] == "waves")
        assert served.content == waves  # served from what was built ahead
        assert c.get("/api/v1/plan").content == next(
            v for k, v in kept.items() if k[0] == "summary"
        )
    after = plan_views_of(app.state)._views
    assert after.keys() == kept.keys() and all(after[k] is kept[k] for k in kept)  # not rebuilt


def test_counts_include_assets_found_after_the_plan(store: Any) -> None:
    import_estate(store, DATA.read_text(), "json", DATA.name)
    save_plan(store, compute_plan(store, TODAY))
    facts = Facts(
        target="snmp://192.0.2.77:161",
        protocol="snmp",
        address="192.0.2.77",
        sys_name="late-sw1",
        identity=Identity(vendor="Cisco", device_class="switch", serial="FOC99999999"),
    )
    late = store.save_facts(facts, now=datetime(2026, 11, 2, tzinfo=UTC))
    with store.session() as s:
        for asset_id in (1, 2, late):
            s.get(m.Asset, asset_id).site = "town-hall"
        s.commit()
    with _client(store) as c:
        listed = c.get("/api/v1/assets?limit=1000").json()
        assert listed["total"] == len(listed["items"]) == 37
        unknown = c.get("/api/v1/assets?support_status=unknown&limit=1000").json()
        assert late in {a["id"] for a in unknown["items"]}
        assert unknown["total"] == len(unknown["items"])
        switches = c.get("/api/v1/assets?device_class=switch&limit=1000").json()
        assert switches["total"] == len(switches["items"]) and late in {
            a["id"] for a in switches["items"]
        }
        debt = c.get("/api/v1/debt?limit=1000").json()
        assert debt["total"] == len(debt["items"]) == 36, "the late asset is not in the plan"
        at_site = c.get("/api/v1/debt?limit=1000&site=town-hall").json()
        assert at_site["total"] == len(at_site["items"]) == 2
        listed = c.get("/api/v1/assets?site=town-hall&limit=1000").json()
        assert listed["total"] == 3 and late in {a["id"] for a in listed["items"]}


def _details(store: Any) -> dict[int, str]:
    """Every stored detail's JSON text, by id, packed or not."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, detail, detail_zlib FROM cw_plan_detail").all()
    texts = {i: jsontext.detail_text(text, packed) for i, text, packed in rows}
    return {i: t.decode() if isinstance(t, bytes) else t for i, t in texts.items()}


def _detail_ids(store: Any, plan_id: int) -> dict[int, int]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT asset_id, detail_id FROM cw_asset_plan WHERE plan_id = {int(plan_id)}"
        ).all()
    return dict(rows)


def test_a_replan_stores_only_the_details_that_changed(store: Any) -> None:
    """Plan rows name their detail in cw_plan_detail: a re-plan of the same estate adds none,
    one asset's changed facts add only the details that changed, and pruning drops only the
    details no kept plan uses; the API and pages still read every row's detail."""
    import json

    import_estate(store, DATA.read_text(), "json", DATA.name)
    first = save_plan(store, compute_plan(store, TODAY))
    stored = _details(store)
    ids = _detail_ids(store, first)
    assert len(ids) == 36 and set(ids.values()) == set(stored)
    assert all(json.loads(t)["factors"] for t in stored.values())
    again = save_plan(store, compute_plan(store, TODAY))
    assert _details(store) == stored and _detail_ids(store, again) == ids
    [web01] = [a for a in store.list_assets() if a.name == "web01"]
    with store.engine.begin() as conn:  # its OS as an older poll would have found it
        conn.exec_driver_sql(
            f"UPDATE cw_asset SET os_version = '16.04.7 LTS' WHERE id = {int(web01.id or 0)}"
        )
    changed = save_plan(store, compute_plan(store, TODAY))
    now = _detail_ids(store, changed)
    added = set(_details(store)) - set(stored)
    assert added and len(added) < len(ids) // 2  # a few assets' details changed, not all
    assert {now[a] for a in now if now[a] not in stored} == added
    with store.engine.begin() as conn:  # a detail no plan names (as a failed save may leave)
        conn.exec_driver_sql(
            "INSERT INTO cw_plan_detail (digest, detail) VALUES ('0' , '{\"factors\": []}')"
        )
    prune_plans(store, keep=1)
    left = _details(store)
    assert set(left) == set(now.values())  # the kept plan's details, nothing else
    with _client(store) as c:
        debt = c.get("/api/v1/debt?limit=100").json()
        assert debt["plan_id"] == changed and len(debt["items"]) == 36
        by_id = {str(i["asset_id"]): i for i in debt["items"]}
        for asset_id, detail_id in now.items():
            assert by_id[str(asset_id)]["factors"] == json.loads(left[detail_id])["factors"]
        asset = c.get(f"/api/v1/assets/{web01.id}").json()
        assert asset["plan"] == json.loads(left[now[web01.id or 0]])
        assert now[web01.id or 0] in added
        page = c.get("/debt").text
        assert page.count('<tr class="asset-row">') == 36


def test_plans_saved_at_once_share_their_details(store: Any) -> None:
    """Two saves of plans at the same time (the daemon's and a user's `cloudward plan`) both
    land, and the details they share are stored once: savers take turns over the details."""
    from concurrent.futures import ThreadPoolExecutor

    import_estate(store, DATA.read_text(), "json", DATA.name)
    result = compute_plan(store, TODAY)
    with ThreadPoolExecutor(2) as pool:
        saved = list(pool.map(lambda _: save_plan(store, result), range(2)))
    assert len(set(saved)) == 2
    first, second = (_detail_ids(store, p) for p in saved)
    assert len(first) == 36 and first == second
    assert set(_details(store)) == set(first.values())


def test_a_replan_starts_from_the_stored_rows_of_the_newest_plan(store: Any) -> None:
    """What a re-plan starts from, read with plain SQL from the newest plan's rows: each
    asset's group and wave, and each wave's dates and kind, as the plan stored them."""
    from agent.bridge.plan_runs import previous_plan

    assert previous_plan(store) is None  # no plan yet: planned from scratch
    import_estate(store, DATA.read_text(), "json", DATA.name)
    result = compute_plan(store, TODAY)
    save_plan(store, result)
    before = previous_plan(store)
    assert before is not None and before.as_of == TODAY
    ours = {a.asset_id: (a.group, a.wave) for a in result.assets if a.asset_id.isdigit()}
    assert before.assets == ours and len(ours) == 36
    assert before.waves == {
        w.wave.number: (w.wave.start, w.wave.end, w.wave.kind) for w in result.waves
    }
    assert before.waves and all(kind for _, _, kind in before.waves.values())


def test_a_detail_text_is_the_json_of_its_detail_as_earlier_plans_stored_it() -> None:
    """Each plan row's detail text, assembled from the texts of its shared factors and support
    components, is byte for byte the JSON of the whole detail (so a detail an earlier plan
    stored is found again by its digest), non-ASCII text included."""
    from dataclasses import replace

    from agent.bridge.plan_runs import _component_json, _detail_texts, _factor_json
    from agent.store import jsontext
    from tests.agent.test_plan_document import council_plan

    result = council_plan()
    detail = _detail_texts()
    assets = list(result.assets)
    first = assets[0]
    assets.append(  # evidence beyond ASCII, and a strategy's reasons the same
        replace(
            first,
            strategy=replace(first.strategy, reasons=("Zürich: £12k a year",)),
            debt=replace(
                first.debt,
                factors=tuple(
                    replace(f, evidence=f"{f.evidence} — café") for f in first.debt.factors
                ),
            ),
        )
    )
    for a in assets:
        whole = {
            "factors": [_factor_json(f) for f in a.debt.factors],
            "dependants": a.debt.dependants,
            "support": [_component_json(c) for c in a.support.components],
            "strategy_rule": a.strategy.rule,
            "strategy_reasons": list(a.strategy.reasons),
            "hub": a.hub,
            "debt_retired": a.debt_retired,
        }
        assert detail(a) == jsontext.dump_bytes(whole), a.asset_id
    assert len(assets) > 30 and any(a.debt.factors and a.support.components for a in assets)


def _analysed(store: Any) -> set[str]:
    """The tables the database keeps query planner statistics for (analysed tables)."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            if not conn.execute(
                sql_text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).all():
                return set()
            return {r[0] for r in conn.execute(sql_text("SELECT DISTINCT tbl FROM sqlite_stat1"))}
        return {
            r[0]
            for r in conn.execute(
                sql_text(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                    " AND last_analyze IS NOT NULL AND last_vacuum IS NOT NULL"
                )
            )
        }


def test_a_saved_plan_leaves_statistics_for_the_views_queries(store: Any) -> None:
    """The plan and asset tables are analysed after a plan is stored, on both backends (with no
    statistics SQLite scans the assets for a list filtered by status and class; PostgreSQL's
    are vacuumed too, so counts can read indexes alone), and the asset list's count of active
    assets reads an index, not the table."""
    import_estate(store, DATA.read_text(), "json", DATA.name)
    assert not {"cw_asset", "cw_asset_plan"} & _analysed(store)
    save_plan(store, compute_plan(store, TODAY))
    assert {"cw_asset", "cw_asset_plan"} <= _analysed(store)
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            steps = conn.execute(
                sql_text("EXPLAIN QUERY PLAN SELECT count(*) FROM cw_asset WHERE status = 'active'")
            ).all()
        assert any("COVERING INDEX ix_asset_status" in str(s[-1]) for s in steps), steps


def test_details_are_stored_packed_and_read_beside_ones_stored_as_text(store: Any) -> None:
    """A saved plan keeps each detail packed with the store's dictionary (several times
    smaller than its text); a detail stored as text before revision 0012 is still found by
    its digest by a later plan and read by the API and pages as a packed one is."""
    import json

    from agent.bridge.plan_runs import detail_digest

    import_estate(store, DATA.read_text(), "json", DATA.name)
    first = save_plan(store, compute_plan(store, TODAY))
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, detail, detail_zlib FROM cw_plan_detail").all()
    texts = _details(store)
    assert rows and all(text == "" and packed for _, text, packed in rows)
    size = sum(len(t.encode()) for t in texts.values())
    packed_size = sum(len(bytes(p)) for _, _, p in rows)
    assert packed_size * 3 < size, (packed_size, size)
    with store.engine.connect() as conn:  # the digest is still that of the text
        digests = dict(conn.exec_driver_sql("SELECT id, digest FROM cw_plan_detail").all())
    assert digests == {i: detail_digest(t.encode()) for i, t in texts.items()}
    # half the details as an earlier version stored them: text, nothing packed
    as_text = sorted(texts)[::2]
    with store.engine.begin() as conn:
        for i in as_text:
            conn.execute(
                sql_text("UPDATE cw_plan_detail SET detail = :t, detail_zlib = NULL WHERE id = :i"),
                {"t": texts[i], "i": i},
            )
    assert _details(store) == texts
    ids = _detail_ids(store, first)
    again = save_plan(store, compute_plan(store, TODAY))
    assert _detail_ids(store, again) == ids and _details(store) == texts  # found, none added
    with _client(store) as c:
        debt = c.get("/api/v1/debt?limit=100").json()
        by_id = {str(i["asset_id"]): i for i in debt["items"]}
        assert len(by_id) == 36
        for asset_id, detail_id in ids.items():
            whole = json.loads(texts[detail_id])
            assert by_id[str(asset_id)]["factors"] == whole["factors"]
            assert by_id[str(asset_id)]["support"] == whole["support"]
        for asset_id in (min(ids), max(ids)):
            assert c.get(f"/api/v1/assets/{asset_id}").json()["plan"] == json.loads(
                texts[ids[asset_id]]
            )
        assert c.get("/debt").text.count('<tr class="asset-row">') == 36
