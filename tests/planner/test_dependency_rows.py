"""Dependencies kept as rows (``planner.DependencyRows``, what a store's million rows become):
the same dependencies as the records they stand for, and the same plan."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import date
from typing import Any

import numpy as np
import pytest
import yaml

from planner import (
    Dependency,
    DependencyRows,
    Estate,
    EstateError,
    Lifecycle,
    Settings,
    index_estate,
    parse_import,
    plan,
)
from tests.planner.conftest import DATA, TODAY

ESTATE = DATA / "estate"


def _rows(deps: tuple[Dependency, ...]) -> DependencyRows:
    return DependencyRows(dataclasses.astuple(d) for d in deps)


def test_rows_read_back_as_the_records_they_stand_for() -> None:
    records = (
        Dependency("a", "b", 443, "https", "nginx", 3, date(2026, 1, 2), date(2026, 2, 3)),
        Dependency("b", "c"),
        Dependency("c", "a", None, None, None, 1, None, None, "hard"),
    )
    rows = _rows(records)
    assert len(rows) == 3
    assert tuple(rows) == records
    assert rows[0] == records[0] and rows[-1] == records[-1]
    assert rows[1:] == records[1:] and isinstance(rows[1:], DependencyRows)
    assert rows == records and records == rows  # either side of ==
    assert rows != records[:2] and rows != records[::-1]
    assert hash(rows) == hash(records)
    assert list(rows.column("port")) == [443, None, None]
    assert pickle.loads(pickle.dumps(rows)) == rows
    assert Estate((), rows) == Estate((), records)


def test_rows_refuse_an_unknown_kind_and_a_short_row() -> None:
    with pytest.raises(EstateError, match="'weak' is not one of hard, soft, unknown"):
        DependencyRows([("a", "b", None, None, None, 1, None, None, "weak")])
    with pytest.raises(EstateError, match="must hold 9 fields: src, dst, port"):
        DependencyRows([("a", "b", 443)])  # type: ignore[list-item]


def test_the_council_estate_plans_the_same_from_rows(
    mappings: dict[str, Any], catalogue: Lifecycle
) -> None:
    data = dict(mappings)
    data["hardware"] = yaml.safe_load((ESTATE / "hardware.yaml").read_text())
    settings = Settings.from_mapping(data)
    assets, read = parse_import((ESTATE / "council.json").read_text(), "json")
    assert len(read) > 20
    kinds = ("unknown", "hard", "unknown", "soft")  # a kind changes how assets group
    deps = tuple(dataclasses.replace(d, kind=kinds[i % 4]) for i, d in enumerate(read))
    records, rows = Estate(assets, deps), Estate(assets, _rows(deps))
    a, b = index_estate(records), index_estate(rows)
    for name in ("src", "dst", "port", "count", "kind"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert plan(rows, settings, TODAY, catalogue).to_dict() == (
        plan(records, settings, TODAY, catalogue).to_dict()
    )
