"""The planning commands as a user runs them: import, plan, plan list, waves, debt, plan diff,
in text and JSON, on an empty store and with mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
    wave_names = [n for w in as_json["waves"] for n in w["wave"]["asset_names"]]
    assert len(wave_names) == len(planned) and set(wave_names) <= {
        a["name"] for a in estate["assets"]
    }
    for g in as_json["groups"]:
        assert len(g["asset_names"]) == len(g["assets"]) and g["asset_names"]
        assert set(g["asset_names"]) <= {a["name"] for a in estate["assets"]}
    store = Store.open(f"sqlite:///{db}")
    try:
        names = {str(a.id): a.name for a in store.list_assets()}
    finally:
        store.close()
    assert set(names.values()) == {a["name"] for a in estate["assets"]}
    members = " ".join(x for x in text.splitlines() if x.startswith("  - "))
    assert all(names[str(a)] in members for a in planned)

    # debt: ranked, each score explained by factors whose points add up to it
    ranking = json.loads(run(db, "debt", "--json", "--top", "5").output)
    ranked = ranking["items"]
    assert len(ranked) == 5 == ranking["shown"] and ranking["total"] == 36
    assert ranking["truncated"] is True and ranking["plan_id"] == 1
    scores = [a["score"] for a in ranked]
    assert scores == sorted(scores, reverse=True)
    for a in ranked:
        assert abs(sum(f["points"] for f in a["factors"]) - a["score"]) < 0.2, a
        assert all(f["evidence"] for f in a["factors"] if f["points"])
    text = run(db, "debt", "--top", "5").output
    assert text.splitlines()[0].lstrip().startswith(f"1. {ranked[0]['name']}")
    assert text.splitlines()[-1] == "... and 31 more (--top 36 shows them all)"
    everything = json.loads(run(db, "debt", "--json", "--top", "100").output)
    assert everything["truncated"] is False and everything["shown"] == everything["total"] == 36
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


def test_a_replan_keeps_the_plan_says_why_and_shows_warnings(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    assert run(db, "import", str(COUNCIL)).exit_code == 0
    short = tmp_path / "short.yaml"
    short.write_text("waves:\n  horizon_years: 0.1\n", encoding="utf-8")
    r = run(db, "plan", "--today", "2026-11-01", "--settings", str(short))
    assert r.exit_code == 0, r.output
    assert "started from" not in r.output, "the first plan has nothing to start from"
    assert "warning: the plan needs" in r.output and "team_days_per_week" in r.output
    assert "refresh in place:" in r.output and "debt --ranking refresh" in r.output
    text = run(db, "waves").output
    assert "warning: the plan needs" in text
    assert json.loads(run(db, "waves", "--json").output)["warnings"]
    refresh = json.loads(run(db, "debt", "--ranking", "refresh", "--json").output)["items"]
    assert refresh and all(a["strategy"] == "retain" for a in refresh)

    r = run(db, "plan", "--today", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert "started from the plan as of 2026-11-01: 0 groups moved wave" in r.output
    assert "warning:" not in r.output
    same = json.loads(run(db, "plan", "diff", "1", "2", "--json").output)
    assert not [c for c in same["changes"] if c["field"] in ("wave", "group")]

    store = Store.open(f"sqlite:///{db}")
    try:
        from agent.bridge.plan_runs import plan_body

        body = plan_body(store)
        assert body is not None and body["replan"]["previous"] == "2026-11-01"
        with store.session() as s:
            from sqlmodel import col, select

            from agent.store import tables as m

            rows = s.exec(select(m.PlanRow).order_by(col(m.PlanRow.id))).all()
            assert rows[0].summary["warnings"] and rows[1].summary["warnings"] == []
            assert rows[1].summary["replan"] == {
                "previous": "2026-11-01",
                "kept_waves": [],
                "groups_moved": 0,
            }
    finally:
        store.close()

    r = run(db, "plan", "--today", "2026-11-01", "--fresh")
    assert r.exit_code == 0 and "started from" not in r.output, r.output
    diff = run(db, "plan", "diff", "1", "3").output
    assert diff.startswith("plan 1 (2026-11-01) -> plan 3 (2026-11-01)")


def test_hubs_show_without_storing_a_plan(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    assert run(db, "import", str(COUNCIL)).exit_code == 0
    r = run(db, "hubs")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("4 shared-infrastructure hubs among 36 assets"), r.output
    assert "dc01" in r.output and "directory, dns" in r.output and "hubs.exclude" in r.output
    found = json.loads(run(db, "hubs", "--json").output)
    assert {h["name"] for h in found["hubs"]} == {"dc01", "dc02", "mon01", "bkp01"}
    assert all(h["roles"] and h["reasons"] and h["peers"] > 0 for h in found["hubs"])
    assert "no plans yet" in run(db, "plan", "list").output  # nothing was stored
    r = run(db, "plan", "--today", "2026-11-01", "--json")
    assert {h["asset_id"] for h in json.loads(r.output)["hubs"]} == {
        h["asset_id"] for h in found["hubs"]
    }, "the plan sets aside the hubs the command showed"
    empty = run(tmp_path / "empty.db", "hubs")
    assert empty.exit_code == 0 and "no assets in the store yet" in empty.output


def test_hubs_take_the_hubs_section_of_a_settings_file(tmp_path: Path) -> None:
    """An override of the hubs section applies and a bad key in it is named with its file;
    the other sections of the file are for ``plan``, which checks them all."""
    db = tmp_path / "cw.db"
    assert run(db, "import", str(COUNCIL)).exit_code == 0
    hubs = json.loads(run(db, "hubs", "--json").output)["hubs"]
    mon01 = next(h["asset_id"] for h in hubs if h["name"] == "mon01")
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"hubs:\n  exclude: ['{mon01}']\nwaves:\n  colour: blue\n", encoding="utf-8")
    r = run(db, "hubs", "--json", "--settings", str(mine))
    assert r.exit_code == 0, r.output
    assert {h["name"] for h in json.loads(r.output)["hubs"]} == {"dc01", "dc02", "bkp01"}
    r = run(db, "plan", "--settings", str(mine))
    assert r.exit_code == 2 and "waves.colour: unknown key" in r.output, r.output
    mine.write_text("hubs:\n  min_peers: 0\n", encoding="utf-8")
    r = run(db, "hubs", "--settings", str(mine))
    assert r.exit_code == 2, r.output
    assert f"{mine}: hubs.min_peers: must be at least 1, got 0" in r.output, r.output


def test_import_says_when_the_format_does_not_fit_the_file(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    as_csv = tmp_path / "estate.csv"
    as_csv.write_text("Server name,OS name\napp01,Ubuntu 22.04\n", encoding="utf-8")
    r = run(db, "import", str(COUNCIL), "--format", "csv")
    assert r.exit_code == 2 and "read as CSV (--format csv), but it is JSON" in r.output, r.output
    assert "use --format json" in r.output
    r = run(db, "import", str(as_csv), "--format", "json")
    assert r.exit_code == 2 and "read as JSON (--format json), but it is CSV" in r.output, r.output
    assert "use --format csv" in r.output
    misnamed = tmp_path / "estate.json"
    misnamed.write_text(as_csv.read_text(encoding="utf-8"), encoding="utf-8")
    r = run(db, "import", str(misnamed))
    assert r.exit_code == 2 and "its name ends .json" in r.output, r.output
    r = run(db, "import", str(as_csv))
    assert r.exit_code == 0 and "imported 1 assets" in r.output, r.output


def test_a_large_estate_s_plan_tells_its_steps_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From LOUD_FROM assets and dependencies (set to the council's size here) `cloudward
    plan` says on stderr what it read, planned and stored, each with its time, as an import of
    that size does; stdout is the summary alone. A small estate's plan says nothing there."""
    from agent.bridge import plan_runs

    db = tmp_path / "cw.db"
    assert run(db, "import", str(COUNCIL)).exit_code == 0
    quiet = run(db, "plan", "--today", "2026-11-01")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    monkeypatch.setattr(plan_runs, "LOUD_FROM", 36 + 156)
    r = run(db, "plan", "--today", "2026-11-01", "--json")
    assert r.exit_code == 0, r.output
    steps = r.stderr.splitlines()
    assert len(steps) == 3 and all(s.startswith("cloudward plan: ") for s in steps), steps
    assert steps[0].startswith("cloudward plan: read 36 assets and 156 dependencies in ")
    assert steps[0].endswith(" s; planning")
    waves = len(json.loads(r.stdout)["waves"])
    assert steps[1].startswith(f"cloudward plan: planned {waves} waves in ")
    assert steps[2].startswith("cloudward plan: stored plan 2 in ") and steps[2].endswith(" s")
