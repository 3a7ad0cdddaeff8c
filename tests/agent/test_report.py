"""The board report: self-contained, escaped, complete, and every figure traceable to the plan."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markupsafe import escape

from agent.bridge.plan_runs import compute_plan, plan_body, save_plan
from agent.cli import cli
from agent.reports.board_report import build_report, render_report
from agent.store import Store
from agent.store import tables as m
from tests.peers import need, need_binary
from tests.web.estate import XSS_DESCR, XSS_NAME, council_store

ESCAPED_NAME = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECTIONS = ("summary", "estate", "support", "debt", "waves", "money", "carbon", "sources")


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    path = tmp_path_factory.mktemp("report") / "cw.db"
    store, _ = council_store(path)
    save_plan(store, compute_plan(store, date(2027, 2, 1)))  # plan 2, a later day
    yield store, f"sqlite:///{path}"
    store.close()


@pytest.fixture(scope="module")
def page(planned: Any) -> str:
    store, _ = planned
    return render_report(build_report(store, top=60))


def test_report_is_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "<iframe" not in page
    assert "<img" not in page
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert all(r.startswith("#") for r in refs), refs  # only links inside the file
    assert "url(" not in page and "@import" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("<svg ") >= 5  # class, timeline, waves, money, carbon


def test_device_text_is_inert(page: str) -> None:
    assert ESCAPED_NAME in page
    assert XSS_NAME not in page and XSS_DESCR not in page
    assert "onerror=alert(1)>" not in page


def test_sections_and_plan_figures(planned: Any, page: str) -> None:
    store, _ = planned
    body = plan_body(store)
    assert body is not None and body["today"] == "2027-02-01"
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert f"Plan {body['plan_id']}, as of 2027-02-01" in page
    for w in body["waves"]:
        wave = w["wave"]
        assert f'id="wave-{wave["number"]}"' in page
        assert f"{wave['start']} to {wave['end']}" in page
    for label, text in body["sources"].items():
        assert esc(text) in page, label
    lifecycle = {
        c["source"] for a in body["assets"] for c in a["support"]["components"] if c["source"]
    }
    assert lifecycle and all(esc(s) in page for s in lifecycle)
    for y in body["years"]:
        assert f"<td>{y['label']}</td>" in page
        total = y["baseline_capital"] + y["baseline_revenue"]
        assert f"<b>{total:,.0f}</b>" in page.split('<section id="money">')[1]


def test_debt_top_n_in_order_with_reasons(planned: Any) -> None:
    store, _ = planned
    context = build_report(store, top=5)
    body = plan_body(store)
    assert body is not None
    ranked = sorted(
        (a for a in body["assets"] if not str(a["asset_id"]).startswith("ext:")),
        key=lambda a: (-a["debt"]["score"], str(a["asset_id"])),
    )[:5]
    assert [d["name"] for d in context["debt"]] == [a["name"] for a in ranked]
    page = render_report(context)
    rows = page.split('<table class="debt">')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 5
    for row, a in zip(rows, ranked, strict=True):
        assert f"<b>{a['debt']['score']:.1f}</b>" in row
        for f in a["debt"]["factors"]:
            if f["points"]:
                assert esc(f["evidence"]) in row


def test_money_totals_add_up(planned: Any) -> None:
    store, _ = planned
    context = build_report(store)
    totals = context["money_totals"]
    years = context["money"]
    assert totals["plan_total"] == pytest.approx(sum(y["plan_total"] for y in years), abs=0.05)
    assert totals["baseline_total"] == pytest.approx(
        totals["baseline_capital"] + totals["baseline_revenue"], abs=0.05
    )
    assert all(y["split_checked"] for y in years)


def test_cli_report_selects_a_plan(planned: Any, tmp_path: Path) -> None:
    _, url = planned
    out = tmp_path / "board.html"
    done = CliRunner().invoke(cli, ["report", "--database", url, "--out", str(out), "--plan", "1"])
    assert done.exit_code == 0, done.output
    assert "plan 1 as of 2026-11-01" in done.output
    assert "Plan 1, as of 2026-11-01" in out.read_text(encoding="utf-8")
    newest = CliRunner().invoke(cli, ["report", "--database", url, "--out", str(out)])
    assert newest.exit_code == 0 and "plan 2 as of 2027-02-01" in newest.output


def test_cli_report_without_a_plan(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store.open(url).close()
    out = tmp_path / "r.html"
    done = CliRunner().invoke(cli, ["report", "--database", url, "--out", str(out)])
    assert done.exit_code == 1
    assert "no plan in the store yet: run `cloudward plan` first" in done.output
    assert not out.exists()
    other = CliRunner().invoke(cli, ["report", "--database", url, "--out", str(out), "--plan", "7"])
    assert other.exit_code == 1 and "no plan 7 in the store" in other.output


def test_cli_pdf_without_chromium_says_what_to_do(planned: Any, tmp_path: Path) -> None:
    _, url = planned
    out = tmp_path / "r.html"
    args = ["report", "--database", url, "--out", str(out), "--pdf"]
    done = CliRunner().invoke(cli, [*args, "--chromium", str(tmp_path / "no-chromium")])
    assert done.exit_code == 1
    assert "Chromium not found" in done.output and "apt-get install chromium" in done.output
    assert out.exists() and not out.with_suffix(".pdf").exists()


@pytest.mark.peer
def test_cli_pdf_with_chromium(planned: Any, tmp_path: Path) -> None:
    chromium = need_binary("chromium", "/usr/bin/chromium")
    _, url = planned
    out = tmp_path / "r.html"
    args = ["report", "--database", url, "--out", str(out), "--pdf", "--chromium", chromium]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    pdf = out.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3  # several A4 pages


@pytest.mark.peer
@pytest.mark.slow
def test_report_on_a_scanned_estate(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.snmpsim import responder_binary
    from tests.web.estate import scanned_estate

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    scanned = scanned_estate(tmp_path_factory.mktemp("scanned-estate"))
    out = tmp_path_factory.mktemp("board") / "board.html"
    done = CliRunner().invoke(
        cli, ["report", "--database", scanned.database, "--out", str(out), "--top", "100"]
    )
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    store = Store.open(scanned.database, create=False)
    try:
        assets = store.count(m.Asset)
    finally:
        store.close()
    assert f'<div class="n">{assets}</div><div class="l">assets inventoried' in page
    assert ESCAPED_NAME in page and "<script" not in page and "<img" not in page
    assert "th-core-sw01" in page and page.count("<tr>") > assets


def esc(text: str) -> str:
    return str(escape(text))


def test_coverage_is_counted_apart_from_support(planned: Any, page: str) -> None:
    """Assets without lifecycle data are shown as such and left out of the percentages; the
    extended card says how much is paid and how much free community support."""
    store, _ = planned
    body = plan_body(store)
    assert body is not None
    rows = {str(a.id) for a in store_assets(store)}
    shown = [a for a in body["assets"] if str(a["asset_id"]) in rows]
    verdicts = [a["support"]["verdict"] for a in shown]
    unknown = verdicts.count("unknown")
    known = len(shown) - unknown
    eol = verdicts.count("eol")
    paid, community = verdicts.count("extended (paid)"), verdicts.count("extended (community)")
    assert unknown and known and eol
    pct = f"{100 * eol / known:.0f}%"
    assert f"past end of support ({pct} of the {known} with lifecycle data)" in page
    assert f"extended support only ({paid} paid, {community} free community LTS)" in page
    assert f'<div class="n">{unknown}</div><div class="l">assets without lifecycle data' in page
    assert f"{unknown} of {len(shown)} assets have no lifecycle data" in page
    assert "paid extended support only</div>" not in page, "Debian LTS is not paid"


def store_assets(store: Store) -> list[Any]:
    from sqlmodel import select

    with store.session() as s:
        return list(s.exec(select(m.Asset)).all())
