"""Property tests (hypothesis) on the readers of untrusted input: the SNMP parser on arbitrary
walks of the standard tables, the lifecycle reader on arbitrary JSON, and the spool of results
that waited for the database on arbitrary lines. Only the package's own errors may escape.

The SSH parsers have theirs in tests/collectors/ssh/test_fuzz.py, the BER codec and USM in
tests/collectors/snmp/test_ber.py and test_usm.py, identification in test_identify_rules.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inventory.pending_writes import PendingQueue
from collectors.errors import CollectorError
from collectors.facts import Facts
from collectors.snmp import oids
from collectors.snmp.identify import IdentifyRules, load_rules
from collectors.snmp.parse import parse
from collectors.snmp.values import RawValue, SnmpOid
from planner import LifecycleDataError, parse_product

FUZZ = settings(
    max_examples=int(os.environ.get("CLOUDWARD_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- SNMP: the parser --------------------------------------------------------------------------

COLUMNS = sorted({*oids.WALK_ROOTS, *(s.rsplit(".", 1)[0] for s in oids.SCALARS)})
index = st.one_of(
    st.lists(st.integers(min_value=0, max_value=300), max_size=20).map(
        lambda parts: "".join(f".{p}" for p in parts)
    ),
    st.lists(st.integers(min_value=0, max_value=2**40), min_size=1, max_size=4).map(
        lambda parts: "".join(f".{p}" for p in parts)
    ),
    st.text(max_size=12).map(lambda t: "." + t),
)
keys = st.one_of(
    st.sampled_from(oids.SCALARS),
    st.builds(lambda c, i: c + i, st.sampled_from(COLUMNS), index),
)
values: st.SearchStrategy[RawValue] = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=80),
    st.text(max_size=80),
    st.builds(SnmpOid, st.sampled_from(["1.3.6.1.2.1.25.3.1.3", "1.3.6.1.4.1.9.1.1", "0.0"])),
    st.sampled_from(["192.0.2.1", "::1", "999.1.1.1", "", "\x00"]),
)


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


@FUZZ
@given(raw=st.dictionaries(keys, values, max_size=60))
def test_snmp_parser_on_arbitrary_walks(rules: IdentifyRules, raw: dict[str, RawValue]) -> None:
    try:
        facts = parse(raw, target="snmp://192.0.2.1:161", address="192.0.2.1", rules=rules)
    except CollectorError:
        return
    assert isinstance(facts, Facts)
    json.dumps(facts.to_dict())  # what probe --json prints always serialises
    for iface in facts.interfaces:
        assert isinstance(iface.name, str) and iface.name


# --- the lifecycle reader ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
day = st.one_of(st.dates().map(str), st.text(max_size=12), st.integers(), st.none(), st.booleans())
release = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=8), st.integers(), st.none()),
        "label": json_values,
        "releaseDate": day,
        "eoasFrom": day,
        "eolFrom": day,
        "eoesFrom": day,
        "isEol": json_values,
        "latest": st.one_of(json_values, st.fixed_dictionaries({"name": json_values})),
    },
)
product = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "result": st.fixed_dictionaries(
                {"name": json_values},
                optional={
                    "releases": st.one_of(st.lists(release, max_size=6), json_values),
                    "label": json_values,
                    "category": json_values,
                },
            )
        },
        optional={"generated_at": day},
    ),
)


@FUZZ
@given(obj=product)
def test_lifecycle_reader_on_arbitrary_json(obj: Any) -> None:
    try:
        found = parse_product(obj, source="fuzz")
    except LifecycleDataError as exc:
        assert str(exc).startswith("lifecycle")
        return
    assert isinstance(found.name, str)
    assert all(isinstance(r.cycle, str) and r.cycle for r in found.releases)


# --- the spool of results that waited for the database ----------------------------------------

lines = st.lists(
    st.one_of(
        st.text(max_size=60),
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"target": json_values, "protocol": json_values, "started_at": day},
            optional={"tags": json_values, "facts": json_values, "site": json_values},
        ).map(json.dumps),
    ),
    max_size=8,
)


@FUZZ
@given(spooled=lines)
def test_spool_reader_on_arbitrary_lines(tmp_path: Path, spooled: list[str]) -> None:
    path = tmp_path / "pending-results.jsonl"
    path.write_text("\n".join(s.replace("\n", " ") for s in spooled), encoding="utf-8")
    queue = PendingQueue()
    count = queue.load(path)  # unreadable lines are logged and skipped, never raised
    assert count == len(queue) <= len(spooled)
    assert not path.exists()
