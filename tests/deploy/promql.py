"""PromQL as the deploy files use it: the expressions of a Grafana dashboard and of alert rules,
Grafana variables substituted, and the metric names and label names each refers to.

Syntax is left to ``promtool`` (see :func:`recording_rules`); this module only needs to tell
metric names from functions, keywords, label matchers, durations, numbers and strings, which a
small tokenizer does. ``label_replace``/``label_join`` (new labels) are not followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.exposition import Exported

# Labels Prometheus adds to every scraped series, and series it makes itself.
TARGET_LABELS = frozenset({"job", "instance", "__name__"})
PROMETHEUS_SERIES = frozenset({"up"})
KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2", "start", "end"}
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
GRAFANA_BUILTINS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__interval_ms": "60000",
}

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>==|!=|=~|!~|>=|<=|[-+*/%^<>=,(){}@])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


@dataclass(frozen=True)
class Selector:
    metric: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    where: str
    expr: str
    grafana_vars: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Parsed:
    selectors: tuple[Selector, ...]
    grouping: tuple[str, ...]


def tokens(expr: str) -> Iterator[tuple[str, str]]:
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup or "other"
        if kind == "other":
            raise ValueError(f"unexpected character {m.group()!r} in {expr!r}")
        if kind != "space":
            yield kind, m.group()


def parse(expr: str) -> Parsed:
    """The selectors (metric name and matcher label names) and grouping labels of ``expr``."""
    toks = list(tokens(expr))
    selectors: list[Selector] = []
    grouping: list[str] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and text in GROUPING:
            i += 1
            if nxt == "(":
                i += 1
                while i < len(toks) and toks[i][1] != ")":
                    if toks[i][0] == "ident":
                        grouping.append(toks[i][1])
                    i += 1
            continue
        # An identifier followed by "(" is a function; by "by"/"without", an aggregation.
        if kind == "ident" and text not in KEYWORDS and nxt not in ("(", "by", "without"):
            labels, i = _matchers(toks, i + 1)
            selectors.append(Selector(text, labels))
            continue
        if text == "{":  # a selector by matchers only: {__name__="..."}
            labels, i = _matchers(toks, i)
            selectors.append(Selector("", labels))
            continue
        i += 1
    return Parsed(tuple(selectors), tuple(grouping))


def _matchers(toks: list[tuple[str, str]], i: int) -> tuple[tuple[str, ...], int]:
    if i >= len(toks) or toks[i][1] != "{":
        return (), i
    labels: list[str] = []
    i += 1
    expect_label = True
    while i < len(toks) and toks[i][1] != "}":
        kind, text = toks[i]
        if expect_label and kind == "ident":
            labels.append(text)
            expect_label = False
        elif text == ",":
            expect_label = True
        i += 1
    return tuple(labels), i + 1


def substitute(expr: str, variables: Mapping[str, str]) -> tuple[str, frozenset[str]]:
    """Replace Grafana variables; return the expression and the names it used."""
    used: set[str] = set()

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        used.add(name)
        return variables.get(name, m.group(0))

    return _VARIABLE.sub(value, expr), frozenset(used)


def dashboard_variables(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """Each template variable's test value: 'All' (``.*``) for queries, current for others."""
    out = dict(GRAFANA_BUILTINS)
    for var in dashboard.get("templating", {}).get("list", []):
        name = var["name"]
        if var.get("type") == "query":
            out[name] = var.get("allValue") or ".*"
        else:
            current = var.get("current", {}).get("value")
            out[name] = str(current) if current not in (None, "", []) else name
    return out


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<expr>.+),\s*)?(?P<label>\w+)\s*\)\s*$")


def dashboard_queries(dashboard: Mapping[str, Any]) -> list[Query]:
    """Every PromQL expression of the dashboard, variables substituted: panel targets, and the
    series selectors of ``label_values(...)`` variables (as ``metric{...}`` with the label)."""
    variables = dashboard_variables(dashboard)
    found: list[Query] = []

    def add(where: str, raw: str) -> None:
        expr, used = substitute(raw, variables)
        found.append(Query(where, expr, used))

    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                add(f"panel {panel.get('title')!r} query {target.get('refId')}", target["expr"])
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        m = _LABEL_VALUES.match(text)
        if m is None:
            found.append(Query(f"variable {var['name']!r}", text))
            continue
        expr = m.group("expr") or "up"
        # The label must exist on the series: require it with a matcher that always holds.
        sel = expr.rstrip()
        label = m.group("label")
        sel = sel[:-1] + f', {label}=~".*"}}' if sel.endswith("}") else sel + f'{{{label}=~".*"}}'
        add(f"variable {var['name']!r}", sel)
    return found


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def rule_queries(rules: Mapping[str, Any]) -> list[Query]:
    out = []
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            out.append(Query(f"rule {name!r}", rule["expr"]))
    return out


def problems(queries: list[Query], exp: Exported, defined_vars: frozenset[str]) -> list[str]:
    """Every reference to a series, label or variable that the exposition does not offer."""
    out: list[str] = []
    for q in queries:
        for name in sorted(q.grafana_vars - defined_vars):
            out.append(f"{q.where}: variable ${name} is not defined by the dashboard")
        try:
            parsed = parse(q.expr)
        except ValueError as exc:
            out.append(f"{q.where}: {exc}")
            continue
        available: set[str] = set(TARGET_LABELS)
        for sel in parsed.selectors:
            if not sel.metric:
                out.append(f"{q.where}: select series by metric name, not {{__name__=...}}")
                continue
            if sel.metric in PROMETHEUS_SERIES:
                labels: frozenset[str] = frozenset()
            elif sel.metric not in exp.series:
                family = exp.family_of(sel.metric)
                hint = (
                    f"; family {family} exports {', '.join(sorted(exp.families[family]))}"
                    if family
                    else ""
                )
                out.append(f"{q.where}: {sel.metric} is not exported by cloudward{hint}")
                continue
            else:
                labels = exp.series[sel.metric]
            available |= labels
            for label in sel.labels:
                if label not in labels | TARGET_LABELS:
                    out.append(
                        f"{q.where}: {sel.metric} has no label {label!r} "
                        f"(it has: {', '.join(sorted(labels)) or 'none'})"
                    )
        for label in parsed.grouping:
            if label not in available:
                out.append(
                    f"{q.where}: groups by {label!r}, a label none of its series have "
                    f"({', '.join(sorted(available))})"
                )
    return out


def recording_rules(queries: list[Query]) -> dict[str, Any]:
    """A rules document with each expression as a recording rule, for ``promtool check rules``
    (which parses them all and names the one that fails)."""
    return {
        "groups": [
            {
                "name": "expressions",
                "rules": [
                    {"record": f"check:expr_{n}", "expr": q.expr, "labels": {"where": q.where}}
                    for n, q in enumerate(queries)
                ],
            }
        ]
    }
