"""The planning commands as a user runs them: import, plan, plan list, waves, debt, plan diff,
in text and JSON, on an empty store and with mistakes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from agent.cli import cli
from agent.store import Store

COUNCIL = Path(__file__).resolve().parents[1] / "data" / "estate" / "council.json"


def run(db: Path, *args: str) -> Result:
    url = f"sqlite:///{db}"
    if args[0] == "plan" and len(args) > 1 and args[1] in ("list", "diff"):
        args = ("plan", "--database", url, *args[1:])  # the group takes the store
    else:
        args = (*args, "--database", url)
    return CliRunner().invoke(cli, list(args))


def test_empty_store_says_what_to_do_first(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    for cmd in ("waves", "debt"):
        r = run(db, cmd)
        assert r.exit_code == 1 and "run `cloudward plan` first" in r.output, r.output
    r = run(db, "plan", "--today", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert "0 assets" in r.output and "cloudward scan" in r.output
    for cmd in ("waves", "debt"):
        r = run(db, cmd)
        assert r.exit_code == 0 and "plan 1 holds no assets" in r.output, r.output


def test_import_plan_waves_debt_and_diff(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    r = run(db, "import", str(COUNCIL))
    assert r.exit_code == 0 and "imported 36 assets and 156 dependencies" in r.output, r.output
    estate = json.loads(COUNCIL.read_text())

    r = run(db, "plan", "--today", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("plan 1 as of 2026-11-01: 36 assets")
    assert "shared-infrastructure hubs" in r.output and "support: eol " in r.output

    # waves: text names every planned asset once; JSON has the same waves
    text = run(db, "waves").output
    as_json = json.loads(run(db, "waves", "--json").output)
    assert as_json["plan_id"] == 1 and as_json["waves"]
    wave_lines = [x for x in text.splitlines() if x.startswith("Wave ")]
    assert len(wave_lines) == len(as_json["waves"])
    assert wave_lines[0].startswith("Wave 0 (landing-zone)")
    planned = [a for w in as_json["waves"] for a in w["wave"]["assets"]]
    assert len(planned) == len(set(planned))
    store = Store.open(f"sqlite:///{db}")
    try:
        names = {str(a.id): a.name for a in store.list_assets()}
    finally:
        store.close()
    assert set(names.values()) == {a["name"] for a in estate["assets"]}
    members = " ".join(x for x in text.splitlines() if x.startswith("  - "))
    assert all(names[str(a)] in members for a in planned)

    # debt: ranked, each score explained by factors whose points add up to it
    ranked = json.loads(run(db, "debt", "--json", "--top", "5").output)
    assert len(ranked) == 5
    scores = [a["score"] for a in ranked]
    assert scores == sorted(scores, reverse=True)
    for a in ranked:
        assert abs(sum(f["points"] for f in a["factors"]) - a["score"]) < 0.2, a
        assert all(f["evidence"] for f in a["factors"] if f["points"])
    text = run(db, "debt", "--top", "5").output
    assert text.splitlines()[0].lstrip().startswith(f"1. {ranked[0]['name']}")
    assert "os_support (weight" in text

    # a later date: more past end of support; the diff says so asset by asset
    r = run(db, "plan", "--today", "2028-06-01")
    assert r.exit_code == 0 and r.output.startswith("plan 2 as of 2028-06-01"), r.output
    listed = run(db, "plan", "list").output.splitlines()
    assert [x.split()[0] for x in listed] == ["2", "1"]
    diff = json.loads(run(db, "plan", "diff", "1", "2", "--json").output)
    became_eol = [c for c in diff["changes"] if c["field"] == "status" and c["after"] == "eol"]
    assert became_eol and not diff["added"] and not diff["removed"]
    text = run(db, "plan", "diff", "1", "2").output
    assert text.startswith("plan 1 (2026-11-01) -> plan 2 (2028-06-01)") and "-> eol" in text
    same = json.loads(run(db, "plan", "diff", "2", "2", "--json").output)
    assert same["changes"] == [] and same["added"] == [] and same["removed"] == []


def test_mistakes_name_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    assert run(db, "import", str(COUNCIL)).exit_code == 0
    assert run(db, "plan", "--today", "2026-11-01").exit_code == 0
    r = run(db, "waves", "--plan", "9")
    assert r.exit_code == 1 and "no plan 9" in r.output and "cloudward plan list" in r.output
    r = run(db, "plan", "--today", "01/11/2026")
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output, r.output
    r = run(db, "plan", "diff", "1", "7")
    assert r.exit_code != 0 and "7" in r.output, r.output
    missing = tmp_path / "nope.csv"
    r = run(db, "import", str(missing))
    assert r.exit_code != 0 and "nope.csv" in r.output, r.output
