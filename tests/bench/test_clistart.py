"""``clistart``: the start-up benchmark runs every command it names and prints one result line
with each command's time and ratio to the baseline measured in the same run."""

from __future__ import annotations

import pytest

from bench.clistart import COMMANDS, measure
from tests.bench.lines import check_ratio, parse_line


@pytest.mark.slow
def test_one_repeat_prints_every_command_and_its_ratio() -> None:
    fields = parse_line(measure(1).line(), "clistart", "s")
    check_ratio(fields)
    assert fields["repeats"] == "1" and fields["store_assets"] == "36"
    base = float(fields["baseline"])
    for name in [*COMMANDS, "import_sqlite3"]:
        seconds, ratio = float(fields[name]), float(fields[f"{name}_ratio"])
        # each figure is printed to three decimals: the ratio lies within what they allow
        low, high = (seconds - 0.0005) / (base + 0.0005), (seconds + 0.0005) / (base - 0.0005)
        assert seconds > 0 and low - 0.0005 <= ratio <= high + 0.0005, (name, fields)
    reads = [float(fields[n]) for n in COMMANDS if n != "help"]
    assert float(fields["ours"]) == pytest.approx(max(reads), abs=0.001)
