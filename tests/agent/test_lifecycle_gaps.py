"""``cloudward lifecycle gaps`` on the demo estate and on a real SSH scan of this machine, and
the support verdicts of the scanned packages (helpers are never products; a distribution's build
lives as long as the distribution release)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import planner
from agent.bridge.plan_runs import estate_from_store, load_lifecycle, load_planner_settings
from agent.cli import cli
from agent.store import Store
from collectors.snmp.identify import load_rules
from collectors.snmp.parse import parse
from collectors.ssh import SshCredentials, SshTarget, collect_ssh
from simulator import estate as demo
from tests.peers import need
from tests.snmprec import load
from tests.sshd import make_keypair, start_sshd

TODAY = "2026-12-06"
DAY = date.fromisoformat(TODAY)


def gaps(db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["lifecycle", "gaps", "--database", f"sqlite:///{db}", "--today", TODAY, *args]
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo estate's recordings, read as a poll reads them, in a store."""
    path = tmp_path_factory.mktemp("demo") / "cw.db"
    store = Store.open(f"sqlite:///{path}")
    rules = load_rules()
    try:
        for dev in demo.load_estate().devices:
            if dev.record:
                raw = load(demo.recordings_dir() / f"{dev.name}.snmprec")
                store.save_facts(parse(raw, target=dev.name, address=dev.address, rules=rules))
    finally:
        store.close()
    return path


def test_demo_gaps_most_assets_first(demo_db: Path) -> None:
    r = gaps(demo_db, "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    found = body["gaps"]
    store = Store.open(f"sqlite:///{demo_db}")
    try:
        estate = estate_from_store(store)
        facts = load_lifecycle(store)
    finally:
        store.close()
    settings = load_planner_settings()
    support = planner.assess_support(estate, facts, settings.matching, DAY, settings.hardware)
    ours = {a.id: a.name for a in estate.assets if not a.external}
    unknown = [s for s in support if s.asset_id in ours and s.verdict == "unknown"]
    assert body["assets"] == len(ours) > 40
    assert body["without_lifecycle_data"] == len(unknown) > 0, "coverage is counted, not guessed"
    assert all(s.why for s in unknown), "an unknown verdict says why"
    counts = [g["assets"] for g in found]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1, "most assets first"
    names = set(ours.values())
    for g in found:
        assert g["kind"] in planner.gaps.KINDS and g["reason"], g
        assert g["examples"] and set(g["examples"]) <= names, g
        assert len(g["examples"]) == min(3, g["assets"]), g
    subjects = {g["subject"]: g for g in found}
    assert subjects["openssh-server"]["assets"] > 1, "a notable package no rule names"
    assert len(subjects["openssh-server"]["versions"]) > 1, "the versions seen"
    rules = settings.matching
    for g in found:
        if g["kind"] == "software" and g["reason"].startswith("no lifecycle rule"):
            assert not rules.not_a_product(g["subject"]), g["subject"]
    assert not any("driver" in s for s in subjects), "the OLE DB driver is no product, no gap"
    assert not any(s.startswith("microsoft sql server") for s in subjects), "SQL Server is known"


def test_demo_gaps_as_text(demo_db: Path) -> None:
    r = gaps(demo_db, "--top", "3")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith(f"lifecycle gaps as of {TODAY}: ")
    assert "assets without lifecycle data" in lines[0]
    assert len(lines) == 1 + 3 * 2 + 1, "a line and a reason per gap, then how many more"
    assert lines[-1].startswith("... and ") and "--json shows them all" in lines[-1]


def test_demo_sql_server_box_is_supported(demo_db: Path) -> None:
    """th-sql03 (Windows Server 2019, SQL Server 2019 and an OLE DB driver) was judged by the
    driver, matched as SQL Server with no version: unknown outranked the two supported parts."""
    store = Store.open(f"sqlite:///{demo_db}")
    try:
        estate = estate_from_store(store)
        facts = load_lifecycle(store)
    finally:
        store.close()
    settings = load_planner_settings()
    support = planner.assess_support(estate, facts, settings.matching, DAY, settings.hardware)
    names = {a.id: (a.name or "").lower() for a in estate.assets}
    sql03 = next(s for s in support if names[s.asset_id] == "th-sql03")
    assert [(c.component, c.product, c.verdict) for c in sql03.components] == [
        ("os", "windows-server", "supported"),
        ("software", "mssqlserver", "supported"),
    ]
    assert sql03.verdict == "supported"


def test_empty_store_says_what_to_do(tmp_path: Path) -> None:
    r = gaps(tmp_path / "cw.db")
    assert r.exit_code == 0 and "cloudward scan" in r.output, r.output
    r = gaps(tmp_path / "cw.db", "--json")
    assert json.loads(r.output) == {
        "assets": 0,
        "gaps": [],
        "today": TODAY,
        "without_lifecycle_data": 0,
    }


def test_bad_date_names_the_option(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["lifecycle", "gaps", "--database", f"sqlite:///{tmp_path / 'x.db'}", "--today", "x"]
    )
    assert r.exit_code == 2 and "--today" in r.output and "YYYY-MM-DD" in r.output


# --- this machine, scanned over SSH -------------------------------------------------------


def _dpkg() -> dict[str, str]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = {}
    for line in out.splitlines():
        status, _, rest = line.partition(" ")
        name, _, version = rest.strip().partition(" ")
        if status.startswith("ii"):
            found[name] = version
    return found


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """This machine probed by the SSH collector through a real sshd on loopback, stored."""
    packages = _dpkg()
    need(bool(packages), "dpkg-query (a Debian-family machine) to compare the scan with")
    base = tmp_path_factory.mktemp("selfscan")
    server = start_sshd(base / "sshd")
    try:
        key = base / "id_ed25519"
        server.authorize(make_keypair(key))
        target = SshTarget(
            server.address,
            port=server.port,
            username="root",
            known_hosts=server.write_known_hosts(base / "known_hosts"),
            connect_timeout=10,
            command_timeout=60,
        )
        facts = collect_ssh(target, SshCredentials(key_file=key))
    finally:
        server.stop()
    db = base / "cw.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        store.save_facts(facts)
    finally:
        store.close()
    yield db, packages


def _support(db: Path) -> tuple[planner.AssetInput, Any]:
    store = Store.open(f"sqlite:///{db}")
    try:
        estate = estate_from_store(store)
        facts = load_lifecycle(store)
    finally:
        store.close()
    settings = load_planner_settings()
    (asset,) = [a for a in estate.assets if not a.external]
    (sup,) = [
        s
        for s in planner.assess_support(estate, facts, settings.matching, DAY, settings.hardware)
        if s.asset_id == asset.id
    ]
    return asset, sup


@pytest.mark.peer
def test_scan_of_this_machine_judges_products_not_helpers(
    scanned: tuple[Path, dict[str, str]],
) -> None:
    db, packages = scanned
    asset, sup = _support(db)
    rules = load_planner_settings().matching
    assert {n for n, _ in asset.software} == set(packages), "the scan saw every package"
    products = {n for n, v in asset.software if rules.match_software(n, v) is not None}
    helpers = {n for n in packages if rules.not_a_product(n)}
    assert helpers, "a real machine has helper packages (libraries, -common, -doc...)"
    assert not products & helpers
    for name in ("postgresql-common", "postgresql-client-common", "mysql-common", "libmariadb3"):
        if name in packages:
            assert name not in products, name
    subjects = {c.subject.split(" ", 1)[0] for c in sup.components if c.component == "software"}
    assert subjects <= products, "only products are judged"
    assert bool(subjects) == bool(products), "every product found is judged"
    os_comp = sup.component("os")
    assert os_comp is not None and os_comp.verdict != "unknown", "this machine's OS is known"
    for comp in sup.components:
        if comp.component == "software" and "deb" in comp.subject.split(" ", 1)[1]:
            assert comp.packaged_by == f"{os_comp.product} {os_comp.cycle}", comp.subject
            assert comp.verdict == os_comp.verdict, "a Debian build lives as long as Debian"
            assert "software.packaging in matching.yaml" in comp.evidence
    if "postgresql-15" in packages:
        pg = next(c for c in sup.components if c.product == "postgresql")
        assert pg.cycle == "15" and pg.subject.startswith("postgresql-15 ")
    assert sup.verdict != "unknown" and sup.verdict != "eol", sup.components


@pytest.mark.peer
def test_gaps_of_this_machine(scanned: tuple[Path, dict[str, str]]) -> None:
    db, packages = scanned
    r = gaps(db, "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["assets"] == 1 and body["without_lifecycle_data"] == 0
    software = {g["subject"]: g for g in body["gaps"] if g["kind"] == "software"}
    assert "openssh-server" in software, "sshd runs here, and no rule names OpenSSH"
    assert software["openssh-server"]["versions"] == [packages["openssh-server"]]
    rules = load_planner_settings().matching
    for name in software:
        assert name in packages and not rules.not_a_product(name), name
        assert rules.match_software(name, packages[name]) is None, f"{name} is matched: no gap"
