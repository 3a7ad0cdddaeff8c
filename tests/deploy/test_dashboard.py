"""The Grafana dashboard: its structure, and that every expression parses (promtool) and refers
only to series and labels a real cloudward registry exports."""

from __future__ import annotations

import copy
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.exposition import Exported
from tests.deploy.promql import (
    dashboard_queries,
    dashboard_variables,
    problems,
    recording_rules,
)
from tests.peers import need_binary

SECTIONS = (
    "Estate overview",
    "Support status and end of life",
    "Technical debt",
    "Migration waves",
    "Collector health",
    "Process",
)


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in dashboard["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def check(dashboard: dict[str, Any], exposition: Exported) -> list[str]:
    defined = frozenset(dashboard_variables(dashboard))
    return problems(dashboard_queries(dashboard), exposition, defined)


def test_dashboard_structure(dashboard: dict[str, Any]) -> None:
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for name in ("site", "device_class"):
        assert variables[name]["type"] == "query"
        assert variables[name]["definition"].startswith("label_values(")
        assert variables[name]["datasource"]["uid"] == "${datasource}"

    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == list(SECTIONS)

    panels = all_panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            assert t["expr"].strip(), p["title"]


def test_every_expression_refers_to_exported_series(
    dashboard: dict[str, Any], exposition: Exported
) -> None:
    queries = dashboard_queries(dashboard)
    assert len(queries) > 40
    assert check(dashboard, exposition) == []
    # The panels between them use every live collector metric family the brief names.
    used = " ".join(q.expr for q in queries)
    for family in (
        "cloudward_poll_duration_seconds_bucket",
        "cloudward_polls_total",
        "cloudward_poll_errors_total",
        "cloudward_poll_values_read_total",
        "cloudward_polls_in_flight",
        "cloudward_target_last_success_timestamp_seconds",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ):
        assert family in used


def test_checker_rejects_made_up_names_labels_and_variables(
    dashboard: dict[str, Any], exposition: Exported
) -> None:
    bad = copy.deepcopy(dashboard)
    panel = next(p for p in bad["panels"] if p.get("title") == "Assets by site")
    exprs = [
        "sum(rate(cloudward_made_up_total[5m]))",
        'sum(cloudward_assets{sitee="depot"})',
        "sum by (sites) (cloudward_assets)",
        "cloudward_lifecycle_seconds_to_end_of_support_sum",
        'sum(cloudward_assets{site=~"$nope"})',
    ]
    for n, expr in enumerate(exprs):
        panel["targets"].append(dict(panel["targets"][0], refId=f"X{n}", expr=expr))
    found = check(bad, exposition)
    assert len(found) == len(exprs), found
    where = "panel 'Assets by site' query X"
    assert f"{where}0: cloudward_made_up_total is not exported" in found[0]
    assert "cloudward_assets has no label 'sitee'" in found[1]
    assert "groups by 'sites'" in found[2]
    # Histograms with negative buckets have no _sum/_count: the hint says what there is.
    assert "exports cloudward_lifecycle_seconds_to_end_of_support_bucket" in found[3]
    assert "$nope is not defined" in found[4]


@pytest.mark.peer
def test_expressions_parse_with_promtool(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    rules = tmp_path / "dashboard.rules.yml"
    queries = dashboard_queries(dashboard)
    rules.write_text(yaml.safe_dump(recording_rules(queries)))
    r = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(queries)} rules found" in r.stdout

    # ... and promtool does reject a broken one.
    broken = [*queries[:3], type(queries[0])("broken", "sum by (site (cloudward_assets)")]
    rules.write_text(yaml.safe_dump(recording_rules(broken)))
    r = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert r.returncode != 0 and "parse error" in r.stdout + r.stderr


def test_end_of_support_ranges_match_one_bucket_each(
    dashboard: dict[str, Any], exposition: Exported
) -> None:
    """The "Time to end of support" panel picks histogram buckets by their le label; each
    matcher must select exactly one bucket of the real exposition, in the client's spelling
    (7776000.0) and in the one newer Prometheus servers normalise to (7.776e+06)."""
    from tests.deploy.exposition import sample_agent

    text = sample_agent(0.0).scrape().decode()
    les = re.findall(r'cloudward_lifecycle_seconds_to_end_of_support_bucket\{le="([^"]+)"', text)
    assert len(les) >= 3
    panel = next(p for p in all_panels(dashboard) if p["title"] == "Time to end of support")
    matchers = {
        m.replace("\\\\", "\\")
        for t in panel["targets"]
        for m in re.findall(r'le=~"((?:[^"\\]|\\.)*)"', t["expr"])
    }
    assert len(matchers) == len(les) - 1  # every bucket but +Inf, which is matched exactly
    for m in matchers:
        hits = [le for le in les if re.fullmatch(m, le)]
        assert len(hits) == 1, (m, hits)
        normalised = _go_float(float(hits[0]))
        assert re.fullmatch(m, normalised), (m, normalised)
    # legends speak days and years, not seconds
    for t in panel["targets"]:
        assert re.search(r"days|year", t["legendFormat"]), t["legendFormat"]


def _go_float(value: float) -> str:
    """A label value as Prometheus 3 normalises ``le``: Go's shortest 'g' formatting
    (exponent form from 1e6 up or below 1e-4), with ".0" added to a bare integer."""
    sign = "-" if value < 0 else ""
    d = Decimal(repr(abs(value))).normalize()
    _, digits, exp10 = d.as_tuple()
    assert isinstance(exp10, int)
    exp = len(digits) - 1 + exp10
    text = "".join(map(str, digits))
    if value == 0:
        return "0.0"
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    plain = format(d, "f")
    return sign + (plain if "." in plain else plain + ".0")
