"""The stored plan body: ``Plan.to_dict`` (one pass, ``plain`` with its per-class field lookup)
is the document the former two passes of the general ``plain`` gave, value for value and byte
for byte once in JSON, on the council example, a re-plan of it and random estates."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings

from planner import (
    CATALOGUE_FILE,
    Estate,
    Plan,
    PreviousPlan,
    Settings,
    catalogue_from_mapping,
    parse_import,
    plan,
)
from planner.plaindata import _SKIP, plain
from tests.planner.conftest import DATA, TODAY, default_mappings, load_yaml
from tests.planner.test_properties import TIGHT, estates

CATALOGUE = catalogue_from_mapping(load_yaml(*CATALOGUE_FILE))


def reference_plain(obj: Any) -> Any:
    """The general ``plain`` as it was before its per-class lookup: the reference."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: reference_plain(getattr(obj, f.name))
            for f in sorted(dataclasses.fields(obj), key=lambda f: f.name)
            if f.name not in _SKIP
        }
    if isinstance(obj, Mapping):
        return {str(k): reference_plain(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, tuple | list):
        return [reference_plain(x) for x in obj]
    if isinstance(obj, frozenset | set):
        return sorted(reference_plain(x) for x in obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, bool | str) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return reference_plain(obj.item())
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else round(obj, 4)
    return obj


def reference_document(result: Plan) -> dict[str, Any]:
    """The body as the former ``to_dict`` built it: assets and waves made plain, then all."""
    doc: dict[str, Any] = reference_plain(
        {
            "today": result.today,
            "currency": result.currency,
            "sources": dict(result.sources),
            "summary": result.summary(),
            "assets": [reference_plain(a) for a in result.assets],
            "hubs": reference_plain(result.groups.hubs.hubs),
            "hub_candidates": reference_plain(result.groups.hubs.candidates),
            "groups": reference_plain(result.groups.groups),
            "group_loads": reference_plain(result.loads),
            "links": reference_plain(result.groups.links),
            "link_summary": [
                {"kind": k, "reason": r, "dependencies": c}
                for k, r, c in result.groups.link_summary
            ],
            "retained": list(result.groups.retained),
            "outside": list(result.groups.outside),
            "waves": [reference_plain(w) for w in result.waves],
            "years": reference_plain(result.years),
            "warnings": list(result.warnings),
            "replan": result.replan,
        }
    )
    return doc


def same(result: Plan) -> None:
    doc, expected = result.to_dict(), reference_document(result)
    assert doc == expected
    assert list(doc) == list(expected), "keys in the same order"
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    assert text == json.dumps(expected, sort_keys=True, separators=(",", ":"))


def council_plan(day: date = TODAY, previous: PreviousPlan | None = None) -> Plan:
    data = default_mappings()
    data["hardware"] = yaml.safe_load((DATA / "estate" / "hardware.yaml").read_text())
    assets, deps = parse_import((DATA / "estate" / "council.json").read_text(), "json")
    return plan(Estate(assets, deps), Settings.from_mapping(data), day, CATALOGUE, previous)


def test_council_plan_and_its_replan() -> None:
    first = council_plan()
    assert first.groups.hubs.hubs and first.waves and first.years
    same(first)
    start = PreviousPlan.from_dict(json.loads(json.dumps(first.to_dict())))
    again = council_plan(TODAY + timedelta(days=120), start)
    assert again.replan is not None
    same(again)


@given(estates())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_random_estates(estate: Estate) -> None:
    same(plan(estate, TIGHT, TODAY, CATALOGUE))


@dataclass(frozen=True)
class Odd:
    kinds: tuple[str, ...]  # left out, as plain() leaves it out
    b: Any
    a: Any = None


def test_plain_values_beyond_a_plan() -> None:
    values: list[Any] = [
        1.23456789,
        math.nan,
        -math.inf,
        np.float64(2.000049),
        np.int64(7),
        np.bool_(True),
        True,
        frozenset({"b", "a"}),
        {3, 1, 2},
        datetime(2026, 9, 1, 12, 30),
        date(2026, 9, 1),
        {2: "two", "1": [1.00001, (None, 3)]},
        MappingProxyType({"z": 1, "y": (2.5,)}),
        Odd(("x",), b={"k": Odd((), 1.5)}),
        # a dataclass's own floats go through plain()'s inline test for whole numbers
        Odd((), b=math.nan, a=-math.inf),
        Odd((), b=math.inf, a=-0.0),
        Odd((), b=25.0, a=1e300),
        Odd((), b=0.123456, a=-2.00005),
        Odd((), b=np.float64(0.5), a=[1.99999, 3.0]),
        Odd,
        b"bytes",
    ]
    for value in values:
        assert plain(value) == reference_plain(value), value
        assert plain(plain(value)) == plain(value), "plain values stay as they are"
