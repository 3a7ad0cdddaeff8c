"""Reading the runner's ``NAME ours=X baseline=Y ratio=R unit=U key=value ...`` lines."""

from __future__ import annotations

import re

HEAD = re.compile(
    r"(?P<name>\w+) ours=(?P<ours>[\d.]+) baseline=(?P<baseline>[\d.]+) "
    r"ratio=(?P<ratio>[\d.]+) unit=(?P<unit>\w+)(?P<rest>( \S+=\S+)*)"
)


def parse_line(line: str, name: str, unit: str) -> dict[str, str]:
    """The fields of one result line, checking its fixed prefix."""
    found = HEAD.fullmatch(line)
    assert found, f"not a result line: {line!r}"
    assert found["name"] == name and found["unit"] == unit, line
    fields = {k: found[k] for k in ("ours", "baseline", "ratio")}
    for pair in found["rest"].split():
        key, _, value = pair.partition("=")
        assert key not in fields, f"{key} twice in {line!r}"
        fields[key] = value
    return fields


def check_ratio(fields: dict[str, str]) -> None:
    """ratio = ours / baseline, allowing for the three decimals each is printed with."""
    ours, base, ratio = (float(fields[k]) for k in ("ours", "baseline", "ratio"))
    assert base > 0 and ours > 0
    low = max(ours - 0.0005, 0) / (base + 0.0005)
    high = (ours + 0.0005) / max(base - 0.0005, 1e-9)
    assert low - 0.0005 <= ratio <= high + 0.0005, fields
