"""``rebuild``: the command rebuilds the dependencies of a scanned store and the floor makes the
same edges from the same connections; one result line with its ratio."""

from __future__ import annotations

import pytest

from bench.rebuild import measure
from tests.bench.lines import check_ratio, parse_line


@pytest.mark.slow
def test_a_small_store_prints_one_line_with_the_same_edges_as_the_floor() -> None:
    fields = parse_line(measure(60).line(), "rebuild", "s")
    check_ratio(fields)
    assert fields["servers"] == "60" and int(fields["connections"]) > 5000
    assert fields["same_edges"] == "yes" and int(fields["edges"]) > 5000
    assert float(fields["peak_mb"]) > 0
