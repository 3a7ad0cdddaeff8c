"""The endoflife.date v1 reader, status from dates, and the built-in catalogue."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from planner import Lifecycle, LifecycleDataError, catalogue_from_mapping, parse_product
from planner.lifecycle import EOL, EXTENDED, SUPPORTED, UNKNOWN, Release, standing_on


def test_every_snapshot_product_parses(snapshot_dir: Path) -> None:
    files = sorted(p for p in snapshot_dir.glob("*.json") if not p.name.startswith("_"))
    assert len(files) > 400, "the snapshot holds hundreds of products"
    for path in files:
        product = parse_product(json.loads(path.read_text()))
        assert product.name == path.stem
        assert len({r.cycle for r in product.releases}) == len(product.releases)


def test_windows_server_2012_r2_facts_and_status(snapshot_dir: Path) -> None:
    product = parse_product(json.loads((snapshot_dir / "windows-server.json").read_text()))
    rel = product.release("2012-r2")
    assert rel is not None
    assert (rel.active_until, rel.security_until, rel.extended_until) == (
        date(2018, 10, 9),
        date(2023, 10, 10),
        date(2026, 10, 13),
    )
    assert rel.source.startswith("https://endoflife.date/api/v1/products/windows-server")
    assert product.generated == date(2026, 8, 22)
    before = standing_on(rel, date(2023, 1, 1))
    assert (before.status, before.days_remaining) == (SUPPORTED, 282)
    assert before.phase == "security fixes only", "past eoasFrom, before eolFrom"
    esu = standing_on(rel, date(2026, 9, 1))
    assert (esu.status, esu.ends, esu.days_remaining) == (EXTENDED, date(2026, 10, 13), 42)
    after = standing_on(rel, date(2027, 1, 1))
    assert (after.status, after.days_remaining) == (EOL, -80), "negative: days since the end"


def test_status_comes_from_dates_not_flags() -> None:
    """The flags were computed on the snapshot day; a later 'today' must use the dates."""
    rel = Release("1", "1", security_until=date(2026, 9, 30), eol_flag=False)
    assert standing_on(rel, date(2026, 10, 1)).status == EOL
    flagged = Release("2", "2", security_until=date(2030, 1, 1), eol_flag=True)
    assert standing_on(flagged, date(2026, 10, 1)).status == SUPPORTED
    assert standing_on(Release("3", "3", eol_flag=True), date(2026, 1, 1)).status == EOL
    assert standing_on(Release("4", "4", eol_flag=False), date(2026, 1, 1)).status == SUPPORTED
    assert standing_on(Release("5", "5"), date(2026, 1, 1)).status == UNKNOWN


def test_live_api_shape_is_read_by_the_same_reader() -> None:
    """What GET /api/v1/products/fortios answers, trimmed: optional keys may be missing."""
    live = {
        "schema_version": "1.2.1",
        "generated_at": "2027-01-05T00:00:00+00:00",
        "result": {
            "name": "fortios",
            "label": "FortiOS",
            "category": "os",
            "releases": [
                {
                    "name": "6.4",
                    "label": "6.4",
                    "releaseDate": "2020-03-31",
                    "eoasFrom": "2023-03-31",
                    "eolFrom": "2024-09-30",
                    "isEol": True,
                    "latest": {"name": "6.4.16", "date": "2024-10-01"},
                },
                {"name": "8.0", "releaseDate": "2026-04-21", "eolFrom": None, "isEol": False},
            ],
        },
    }
    product = parse_product(live)
    assert [r.cycle for r in product.releases] == ["6.4", "8.0"]
    assert product.release("6.4").latest == "6.4.16"  # type: ignore[union-attr]
    assert standing_on(product.release("8.0"), date(2027, 1, 1)).status == SUPPORTED  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "expected a JSON object"),
        ({"result": {"label": "x"}}, "no 'result.name'"),
        ({"result": {"name": "x", "releases": {}}}, "'releases' must be a list"),
        ({"result": {"name": "x", "releases": [{"label": "y"}]}}, "releases[0] has no name"),
    ],
)
def test_malformed_products_are_named(bad: object, message: str) -> None:
    with pytest.raises(LifecycleDataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_product(bad)


def test_catalogue_is_sourced_and_agrees_with_the_snapshot(
    catalogue: Lifecycle, snapshot_dir: Path
) -> None:
    assert catalogue.products, "the built-in catalogue is not empty"
    for product in catalogue.products:
        assert product.releases or product.source, f"{product.name}: no releases, no source"
        for rel in product.releases:
            assert rel.source, f"{product.name} {rel.cycle} has no source"
        snap = snapshot_dir / f"{product.name}.json"
        if not snap.exists():
            assert "not in the endoflife.date snapshot" in product.source.lower(), (
                f"{product.name}: not an endoflife.date product of the snapshot, and the "
                "catalogue does not say so"
            )
            continue
        live = parse_product(json.loads(snap.read_text()))
        for rel in product.releases:
            other = live.release(rel.cycle)
            if other is None:
                assert "endoflife.date does not list" in rel.source, (
                    f"{product.name} {rel.cycle}: a cycle the source lacks says so"
                )
                continue
            assert (rel.released, rel.active_until, rel.security_until, rel.extended_until) == (
                other.released,
                other.active_until,
                other.security_until,
                other.extended_until,
            ), f"{product.name} {rel.cycle}: catalogue dates differ from the source"


def test_sync_overlays_catalogue_release_by_release(catalogue: Lifecycle) -> None:
    synced = parse_product(
        {
            "result": {
                "name": "cisco-ios-xe",
                "label": "Cisco IOS XE",
                "releases": [{"name": "17.9", "eolFrom": "2099-01-01"}],
            }
        }
    )
    merged = catalogue.merged([synced])
    product = merged.product("cisco-ios-xe")
    assert product is not None
    assert product.release("17.9").security_until == date(2099, 1, 1)  # type: ignore[union-attr]
    assert product.release("16.9") is not None, "catalogue-only cycles are kept"
    assert merged.product("windows-server") is not None, "other products untouched"
    assert catalogue.product("cisco-ios-xe").release("17.9").security_until != date(2099, 1, 1)  # type: ignore[union-attr]


def test_catalogue_errors_list_every_problem() -> None:
    with pytest.raises(LifecycleDataError) as err:
        catalogue_from_mapping(
            {
                "products": {
                    "x": {
                        "releases": [
                            {"cycle": "1", "security_until": "soon"},
                            {"label": "no cycle"},
                        ]
                    }
                }
            }
        )
    text = str(err.value)
    assert "releases[0]: needs a 'source'" in text
    assert "releases[0].security_until: must be a date" in text
    assert "releases[1]: needs a 'cycle'" in text
