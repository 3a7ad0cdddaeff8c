"""Dependency rows read the fast way (a row's cells in one call, each distinct text converted
once) give exactly what reading each field of each row on its own gives: the same merged
dependencies, or the same refusal naming the same row and column.

The reference below reads a row field by field through :class:`planner.import_columns.Row`, as
the importer did before it converted each distinct text once; random files (columns by any of
their aliases, padded, empty, malformed or out-of-range cells) must not tell the two apart."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from planner import ImportFormatError, parse_import
from planner.import_columns import DEPENDENCY_ALIASES, Row
from planner.import_dependencies import _combine
from planner.model import DEPENDENCY_KINDS, Dependency

# per field, header spellings (distinct keys) and the texts its cells draw from
COLUMNS = {
    "src": ["Source server name", "source", "src"],
    "src_ip": ["Source IP"],
    "dst": ["Destination server name", "dst"],
    "dst_ip": ["Destination IP"],
    "port": ["Destination port", "port"],
    "service": ["Destination application"],
    "process": ["Source process"],
    "count": ["Connections", "count"],
    "first_seen": ["First seen"],
    "last_seen": ["Last seen"],
    "kind": ["Kind"],
}
NAMES = ["a", "b", " web01 ", "10.0.0.1", "db", ""]
CELLS = {
    "port": ["443", " 80 ", "1,433", "0", "70000", "http", "8.5", "", "443.0"],
    "count": ["1", "3", "0", "-2", "many", "", "2,000"],
    "first_seen": ["2026-01-01", "2026-01-01 10:00", "soon", "", "01/02/2026"],
    "last_seen": ["2026-03-01", "2025-12-31", "", "yesterday"],
    "kind": ["Hard", "soft", "unknown", "maybe", "", " HARD "],
    "service": ["SQL", "", "http"],
    "process": ["w3wp.exe", "", "java"],
}


def reference(rows: Iterable[Row]) -> tuple[Dependency, ...]:
    """Each row's fields read one at a time, each text converted as it comes."""
    merged: dict[tuple[str, str, int | None], Dependency] = {}
    for row in rows:
        src = row.text("src") or row.text("src_ip")
        dst = row.text("dst") or row.text("dst_ip")
        if not src:
            raise row.fail("source", "needs a source server name or source IP")
        if not dst:
            raise row.fail("destination", "needs a destination server name or destination IP")
        port = row.whole("port")
        if port is not None and not 0 < port < 65536:
            raise row.fail(row.get("port")[0], f"{port} is not a port number (1-65535)")
        dep = Dependency(
            src=src,
            dst=dst,
            port=port,
            service=row.text("service"),
            process=row.text("process"),
            count=row.whole("count") or 1,
            first_seen=row.day("first_seen"),
            last_seen=row.day("last_seen"),
            kind=row.choice("kind", DEPENDENCY_KINDS) or "unknown",
        )
        key = (dep.src, dep.dst, dep.port)
        old = merged.get(key)
        merged[key] = dep if old is None else _combine(old, dep)
    return tuple(merged.values())


def outcome(read: Any) -> Any:
    try:
        return read()
    except ImportFormatError as exc:
        return ("refused", exc.row, exc.column, str(exc))


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    fields = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, unique=True))
    fields = sorted(set(fields) | {"src"})  # a dependency file is told apart by its source
    header: list[str] = []
    for field in fields:
        header += draw(st.lists(st.sampled_from(COLUMNS[field]), min_size=1, unique=True))
    field_of = {name: field for field, names in COLUMNS.items() for name in names}
    pools = [CELLS.get(field_of[h], NAMES) for h in header]
    rows = draw(
        st.lists(st.tuples(*(st.sampled_from(pool) for pool in pools)), min_size=1, max_size=12)
    )
    return header, [list(r) for r in rows]


@given(files())
def test_csv_dependencies_read_as_field_by_field(got: tuple[list[str], list[list[str]]]) -> None:
    header, rows = got
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    text = out.getvalue()
    reader = csv.DictReader(io.StringIO(text))
    expected = outcome(
        lambda: ((), reference(Row(n, raw, DEPENDENCY_ALIASES) for n, raw in enumerate(reader, 2)))
    )
    assert outcome(lambda: parse_import(text, "csv")) == expected


@given(files())
def test_json_dependencies_read_as_field_by_field(got: tuple[list[str], list[list[str]]]) -> None:
    header, rows = got
    objects = [dict(zip(header, row, strict=True)) for row in rows]
    for obj in objects[::2]:  # JSON numbers as well as texts
        for column, value in obj.items():
            if value.strip().isdigit():
                obj[column] = int(value)
    expected = outcome(
        lambda: ((), reference(Row(n, o, DEPENDENCY_ALIASES) for n, o in enumerate(objects, 1)))
    )
    text = json.dumps({"dependencies": objects})
    assert outcome(lambda: parse_import(text, "json")) == expected
