"""The pages rendered by the application in-process: content, escaping, headers, empty store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from agent.api.server import create_app
from agent.configuration.config_file import Settings
from agent.store import Store
from agent.store import tables as m
from agent.store.queries import plan_detail
from agent.telemetry.metrics import new_registry
from tests.web.estate import XSS_DESCR, council_store

PAGES = ("/", "/debt", "/waves")
ESCAPED_NAME = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _client(store: Store) -> TestClient:
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    return TestClient(create_app(daemon, token=None))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store, int]]:
    store, hostile = council_store(tmp_path_factory.mktemp("pages") / "cw.db")
    with _client(store) as client:
        yield client, store, hostile
    store.close()


def test_pages_render_with_headers(planned: Any) -> None:
    client, _, hostile = planned
    for path in (*PAGES, f"/assets/{hostile}", "/assets/1"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.text.startswith("<!doctype html>")
    css = client.get("/static/cloudward.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/assets/999999").status_code == 404


def test_no_external_assets_or_scripts(planned: Any) -> None:
    client, _, hostile = planned
    for path in (*PAGES, f"/assets/{hostile}"):
        page = client.get(path).text
        assert "<script" not in page, path
        refs = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert refs and all(not r.startswith(("http:", "https:", "//")) for r in refs), path


def test_hostile_text_is_escaped_on_every_page(planned: Any) -> None:
    client, _, hostile = planned
    for path in (*PAGES, f"/assets/{hostile}"):
        page = client.get(path).text
        assert ESCAPED_NAME in page, path
        assert "<img" not in page and "onerror=alert(1)>" not in page, path
    asset = client.get(f"/assets/{hostile}").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in asset  # the sysDescr, as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in asset  # a neighbour's name
    assert XSS_DESCR not in asset


def test_debt_page_ranks_with_factor_breakdown(planned: Any) -> None:
    client, store, _ = planned
    page = client.get("/debt").text
    with store.session() as s:
        plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
        top = s.exec(
            select(m.AssetPlan, m.Asset)
            .join(m.Asset, col(m.Asset.id) == m.AssetPlan.asset_id)
            .where(m.AssetPlan.plan_id == plan_id)
            .order_by(col(m.AssetPlan.debt).desc(), col(m.Asset.name))
        ).first()
        assert top is not None
        p, a = top
        detail = plan_detail(s, p.detail_id)
    assert detail is not None
    rows = page.split('<tr class="asset-row">')[1:]
    assert len(rows) == store.count(m.AssetPlan, plan_id=plan_id)
    assert f'href="/assets/{a.id}"' in rows[0] and f"{p.debt:.1f}" in rows[0]
    scored = [f for f in detail["factors"] if f["points"]]
    assert scored and rows[0].count('<tr class="factor">') == len(scored)
    for f in scored:
        assert f["name"].replace("_", " ") in rows[0]
    scores = [float(x) for x in re.findall(r"</span> <strong>([\d.]+)</strong>", page)]
    assert scores == sorted(scores, reverse=True)


def test_asset_page_shows_services_and_lifecycle_products(planned: Any) -> None:
    """The asset page lists what listens on the asset (service names, clients seen) and each
    component's matched lifecycle product: product, cycle, verdict and the source of the dates."""
    from html import escape

    client, store, _ = planned
    [dc01] = [a for a in store.list_assets() if a.name == "dc01"]
    page = client.get(f"/assets/{dc01.id}").text
    services = page.split('id="services"')[1].split("</section>")[0]
    with store.session() as s:
        listening = s.exec(select(m.ListeningRow).where(m.ListeningRow.asset_id == dc01.id)).all()
        plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
        row = s.exec(
            select(m.AssetPlan).where(
                m.AssetPlan.plan_id == plan_id, m.AssetPlan.asset_id == dc01.id
            )
        ).one()
        detail = plan_detail(s, row.detail_id)
        clients = {
            str(d.src_asset_id or d.src_address)
            for d in s.exec(
                select(m.DependencyRow).where(
                    m.DependencyRow.dst_asset_id == dc01.id, m.DependencyRow.port == 389
                )
            ).all()
        }
    ports = {(li.proto, li.port) for li in listening}
    assert ("tcp", 389) in ports and clients
    assert f"<h2>Listening services ({len(ports)})</h2>" in services
    for proto, port in ports:
        assert f'<tr><td>{proto}</td><td class="num">{port}</td>' in services
    assert (
        '<td class="num">389</td><td>ldap</td>' in services
        and f'<td class="num">{len(clients)}</td>' in services
    )
    lifecycle = page.split('id="lifecycle"')[1].split("</section>")[0]
    assert detail is not None
    components = detail["support"]
    matched = [c for c in components if c["product"]]
    assert matched, "the council's dc01 runs a catalogued Windows Server"
    for c in matched:
        assert f"<td>{escape(c['product'])}</td><td>{escape(c['cycle'])}" in lifecycle
        assert f'<td class="small source">{escape(c["source"])}</td>' in lifecycle
        assert f">{escape(c['verdict'])}</span>" in lifecycle


def test_wave_board_lists_waves_groups_and_timeline(planned: Any) -> None:
    client, store, _ = planned
    page = client.get("/waves").text
    waves = store.plan_waves()
    assert waves
    for w in waves:
        section = page.split(f'id="wave-{w.number}"')[1].split("</section>")[0]
        assert f"<h2>{w.name}</h2>" in section
        for g in w.detail["groups"]:  # type: ignore[attr-defined]
            assert f'<div class="gname">{g["name"]} ' in section
        assert f'<a href="#wave-{w.number}"><rect' in page
        assert f"{w.start}" in section and f"{w.end}" in section
    timeline = page.split('id="timeline"')[1].split("</figure>")[0]
    assert timeline.count("<rect") == len(waves)


def test_overview_counts_match_the_store(planned: Any) -> None:
    client, store, _ = planned
    page = client.get("/").text
    assets = store.count(m.Asset)
    assert f'<div class="n">{assets}</div><div class="l">assets inventoried' in page
    assert page.count('<tr><td><a href="/assets/') == assets
    with store.session() as s:
        plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
        eol = len(
            s.exec(
                select(m.AssetPlan.id).where(
                    m.AssetPlan.plan_id == plan_id, m.AssetPlan.support_status == "eol"
                )
            ).all()
        )
    assert f'<div class="card s-eol"><div class="n">{eol}</div>' in page
    assert 'id="eos-timeline"' in page and 'id="status-by-class"' in page
    with store.session() as s:
        unknown = len(
            s.exec(
                select(m.AssetPlan.id).where(
                    m.AssetPlan.plan_id == plan_id, m.AssetPlan.support_status == "unknown"
                )
            ).all()
        )
    assert unknown, "the council estate has assets no lifecycle data covers"
    assert f'<div class="n">{unknown}</div><div class="l">without lifecycle data' in page
    assert "no lifecycle match" not in page and "paid extended support only" not in page


def test_pages_on_an_empty_store(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with _client(store) as client:
            for path in PAGES:
                r = client.get(path)
                assert r.status_code == 200, path
                assert "No plan computed yet" in r.text, path
    finally:
        store.close()
