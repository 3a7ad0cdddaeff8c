"""The pages in a real headless Chromium, served by ``cloudward run`` over a scanned estate.

No console errors (a CSP violation or a failed load would show there), the expected content,
hostile device text shown literally with no dialog, and a screenshot of the wave board.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlmodel import col, select

from agent.store import Store
from agent.store import tables as m
from tests.web.conftest import get_json
from tests.web.estate import XSS_DESCR, XSS_NAME, ScannedEstate

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def visit(browser: Any, url: str) -> list[dict[str, Any]]:
    """Open ``url`` and return the console errors it produced (after asserting no dialog)."""
    from selenium.common.exceptions import NoAlertPresentException

    browser.get_log("browser")  # drop what earlier pages left
    browser.get(url)
    assert browser.execute_script("return document.readyState") == "complete"
    try:
        text = browser.switch_to.alert.text
    except NoAlertPresentException:
        text = None
    assert text is None, f"{url} opened a dialog: {text!r}"
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def by_css(browser: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.find_elements(By.CSS_SELECTOR, selector))


def newest_plan(scanned: ScannedEstate) -> tuple[list[m.WaveRow], int]:
    store = Store.open(scanned.database, create=False)
    try:
        with store.session() as s:
            plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
            waves = list(s.exec(select(m.WaveRow).where(m.WaveRow.plan_id == plan_id)).all())
            assets = len(s.exec(select(m.Asset.id)).all())
        return sorted(waves, key=lambda w: w.number), assets
    finally:
        store.close()


def hostile_id(server: str) -> int:
    found = get_json(f"{server}/api/v1/assets?q={quote('script')}")["items"]
    [asset] = [a for a in found if a["name"] == XSS_NAME]
    return int(asset["id"])


def test_overview(browser: Any, server: str, scanned: ScannedEstate) -> None:
    _, assets = newest_plan(scanned)
    assert visit(browser, f"{server}/") == []
    assert browser.find_element("css selector", "h1").text == "Estate overview"
    assert len(by_css(browser, "#assets tbody tr")) == assets >= scanned.devices - 2
    assert by_css(browser, "#eos-timeline svg rect") and by_css(browser, "#status-by-class svg")
    cards = {c.text.split("\n")[1]: c.text.split("\n")[0] for c in by_css(browser, ".card")}
    assert cards["assets inventoried"] == str(assets)
    assert int(cards["past end of support"]) > 0
    links = [a.text for a in by_css(browser, "#assets tbody a")]
    assert XSS_NAME in links  # the markup is text
    assert by_css(browser, "script") == [] and by_css(browser, "img") == []


def test_debt_ranking_shows_factor_rows(browser: Any, server: str) -> None:
    assert visit(browser, f"{server}/debt") == []
    rows = by_css(browser, "#debt > tbody > tr.asset-row")
    assert len(rows) > 10
    scores = [float(r.find_element("css selector", ".score strong").text) for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 30
    first = rows[0].find_elements("css selector", "tr.factor")
    assert first, "the top asset shows no factor rows"
    names = {f.find_element("css selector", "td.fname").text for f in first}
    assert names & {"os support", "software support", "support runway"}
    evidence = first[0].find_elements("css selector", "td")[-1].text
    assert evidence.strip()


def test_wave_board_and_screenshot(
    browser: Any, server: str, scanned: ScannedEstate, tmp_path: Path, artifacts: Path
) -> None:
    waves, _ = newest_plan(scanned)
    assert waves, "the scanned estate got no waves"
    assert visit(browser, f"{server}/waves") == []
    sections = by_css(browser, "section.wave")
    assert [s.get_attribute("id") for s in sections] == [f"wave-{w.number}" for w in waves]
    for section, wave in zip(sections, waves, strict=True):
        assert section.find_element("css selector", "h2").text == wave.name
        chips = [c.text.split(" ")[0] for c in section.find_elements("css selector", ".gname")]
        assert chips == [g["name"] for g in wave.detail["groups"]]  # type: ignore[attr-defined]
    bars = by_css(browser, "#timeline svg rect")
    assert len(bars) == len(waves)
    labels = [t.text for t in by_css(browser, "#timeline svg text")]
    assert all(any(f"Wave {w.number}" in x for x in labels) for w in waves)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 20, 6000))
    shot = tmp_path / "waves.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1000)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, tall = struct.unpack(">II", png[16:24])
    assert width >= 1000 and tall >= 600
    stable = artifacts / "waves.png"
    shutil.copyfile(shot, stable)
    print(f"\nscreenshot of the wave board: {stable} ({width}x{tall})")


def test_hostile_device_is_inert_everywhere(browser: Any, server: str) -> None:
    asset_id = hostile_id(server)
    assert visit(browser, f"{server}/assets/{asset_id}") == []
    assert browser.find_element("css selector", "h1").text == XSS_NAME
    descr = browser.find_element("css selector", "td.descr").text
    assert descr.startswith(XSS_DESCR)
    assert by_css(browser, "script") == [] and by_css(browser, "img") == []
    for page in ("/", "/debt", "/waves"):
        assert visit(browser, f"{server}{page}") == []
        assert XSS_NAME in browser.find_element("css selector", "main").text, page
        assert by_css(browser, "script") == [] and by_css(browser, "img") == []


def test_asset_page_neighbours_and_dependencies(browser: Any, server: str) -> None:
    switches = get_json(f"{server}/api/v1/assets?device_class=switch&limit=100")["items"]
    core = next(a for a in switches if a["name"] == "th-core-sw01")
    assert visit(browser, f"{server}/assets/{core['id']}") == []
    rows = by_css(browser, "#neighbours tbody tr")
    assert len(rows) >= 5
    linked = by_css(browser, "#neighbours tbody a")
    assert linked, "no neighbour is linked to its asset page"
    target = linked[0].get_attribute("href")
    assert visit(browser, target) == []
    assert browser.find_element("css selector", "h1").text
    servers = get_json(f"{server}/api/v1/assets?device_class=server&limit=100")["items"]
    busy = [a for a in servers if a["name"] == "th-dc01"]  # its target's name, not its sysName
    assert visit(browser, f"{server}/assets/{busy[0]['id']}") == []
    used_by = by_css(browser, "#dependencies tbody tr")
    assert used_by, "a domain controller shows no dependencies"
    assert by_css(browser, "#factors tr.factor")


def test_board_report_in_the_browser(browser: Any, scanned: ScannedEstate, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from agent.cli import cli

    out = tmp_path / "board.html"
    args = ["report", "--database", scanned.database, "--out", str(out), "--top", "100"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert visit(browser, out.as_uri()) == []  # a CSP violation would be a console error
    text = browser.find_element("css selector", "body").text
    assert XSS_NAME in text and "Capital and revenue by financial year" in text
    assert len(by_css(browser, "svg")) >= 5 and by_css(browser, "img") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_api_docs_render_offline(browser: Any, server: str) -> None:
    """Swagger UI from the package's own files: every resource from this server, no console
    error under the pages' CSP, and the operations listed from /openapi.json."""
    from selenium.webdriver.support.ui import WebDriverWait

    assert visit(browser, f"{server}/api/docs") == []
    WebDriverWait(browser, 20).until(lambda b: by_css(b, ".opblock-summary-path"))
    paths = {e.text.replace("\u200b", "") for e in by_css(browser, ".opblock-summary-path")}
    assert {"/api/v1/assets", "/api/v1/waves", "/api/v1/debt"} <= paths
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(u.startswith(server) for u in loaded), loaded
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_wave_cards_show_capital_and_revenue(browser: Any, server: str) -> None:
    waves = get_json(f"{server}/api/v1/waves")
    assert visit(browser, f"{server}/waves") == []
    years = by_css(browser, "#plan-money tbody tr")
    assert [r.text.split(" ")[1] for r in years] == [y["label"] for y in waves["years"]]
    assert all("£" in r.text for r in years)
    for w in waves["waves"]:
        section = browser.find_element("css selector", f"#wave-{w['wave']['number']}")
        heads = section.find_elements("css selector", "table.wave-money th")
        assert [h.text for h in heads[1:]] == [f"FY {y['label']}" for y in w["money"]]
        capital = section.find_element("css selector", "table.wave-money tr.capital").text
        revenue = section.find_element("css selector", "table.wave-money tr.revenue").text
        assert capital.startswith("capital") and revenue.startswith("revenue")
        first = w["money"][0]["revenue"]
        shown = revenue.split(" ")[1]
        sign = "-" if round(first) < 0 else "+" if round(first) > 0 else ""
        assert shown == f"{sign}£{abs(first):,.0f}"


def test_sign_in_beyond_localhost(browser: Any, guarded: str) -> None:
    """Bound to 0.0.0.0 with a token: a browser is sent to sign in, a wrong token is refused,
    the right one (or the viewer token) opens every page, and signing out closes them."""
    import urllib.error
    import urllib.request

    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.web.conftest import TOKEN, VIEWER_TOKEN

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{guarded}/api/v1/assets", timeout=10)
    assert refused.value.code == 401
    browser.delete_all_cookies()
    assert visit(browser, f"{guarded}/waves") == []
    assert browser.current_url.startswith(f"{guarded}/signin?next=/waves")
    assert by_css(browser, "script") == []

    def sign_in(token: str) -> None:
        field = browser.find_element("css selector", "input[name=token]")
        field.clear()
        field.send_keys(token)
        browser.find_element("css selector", "form button[type=submit]").click()

        def gone(_: Any) -> bool:
            """The form's field left the document: stale, or (asked while the browser swaps
            pages) "does not belong to the document", which Chrome reports as another error."""
            try:
                field.is_enabled()
            except WebDriverException:  # StaleElementReferenceException is one
                return True
            return False

        WebDriverWait(browser, 10).until(gone)
        # the old page is gone; let the one the redirect leads to finish loading
        WebDriverWait(browser, 10).until(
            lambda b: b.execute_script("return document.readyState") == "complete"
        )

    sign_in("not-the-token")
    assert browser.find_element("css selector", "#problem").text == "That token is not right."
    sign_in(TOKEN)
    assert browser.current_url == f"{guarded}/waves"
    assert browser.find_element("css selector", "h1").text == "Migration waves"
    [cookie] = browser.get_cookies()
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    for page in ("/", "/debt", "/api/docs"):
        assert visit(browser, f"{guarded}{page}") == [], page
        assert "missing or wrong bearer token" not in browser.page_source
    browser.get(f"{guarded}/api/v1/assets?limit=1")  # JSON: the cookie serves the API too
    assert '"items"' in browser.page_source
    assert visit(browser, f"{guarded}/") == []
    browser.find_element("css selector", "form.signout button").click()
    # the click returns before the browser has followed the redirect: wait for the page
    WebDriverWait(browser, 10).until(ec.url_to_be(f"{guarded}/signin"))
    assert browser.current_url == f"{guarded}/signin"
    assert browser.get_cookies() == []
    assert visit(browser, f"{guarded}/debt") == []
    assert browser.current_url.startswith(f"{guarded}/signin")
    sign_in(VIEWER_TOKEN)
    assert browser.current_url == f"{guarded}/debt"
    assert browser.find_element("css selector", "h1").text.startswith("Technical debt")
    browser.delete_all_cookies()
