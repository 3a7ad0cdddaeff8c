"""The stored plan body: ``plan_document`` (one pass) is ``Plan.to_dict`` (two), value for value
and byte for byte once in JSON, on the council example, a re-plan of it and random estates."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings

from agent.bridge.plan_runs import _plain, plan_document
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
from planner.plan import plain
from tests.planner.conftest import DATA, TODAY, default_mappings, load_yaml
from tests.planner.test_properties import TIGHT, estates

CATALOGUE = catalogue_from_mapping(load_yaml(*CATALOGUE_FILE))


def same(result: Plan) -> None:
    doc, expected = plan_document(result), result.to_dict()
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
        Odd,
        b"bytes",
    ]
    for value in values:
        assert _plain(value) == plain(value), value
        assert _plain(plain(value)) == plain(value), "plain values stay as they are"
