"""Migration strategy (the 7 Rs) per asset and per group, from ordered rules in settings.

Rules (``config/planner/strategy.yaml``) are tried in order; the first whose conditions all hold
gives the strategy and a reason (a template filled with the asset's facts). Conditions:
``device_class`` / ``not_device_class``, ``os_status``, ``status``, ``idle_days_at_least``,
``dependants_at_most``, ``role`` (database, email, file, web: from served ports and software
names), ``architecture`` / ``not_architecture`` (x86, arm, sparc, power, s390, unknown),
``virtual``, ``environment``, ``tags_any``, ``os_name`` (a pattern), ``external``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.debt import FACTORS, AssetDebt
from planner.fields import Reader, finish
from planner.graphcore import EstateGraph
from planner.lifecycle import STATUSES, UNKNOWN
from planner.model import DEVICE_CLASSES, ENVIRONMENTS, AssetInput
from planner.support import AssetSupport

STRATEGIES = ("retire", "retain", "rehost", "relocate", "replatform", "repurchase", "refactor")
CONDITIONS = (
    "device_class",
    "not_device_class",
    "os_status",
    "status",
    "idle_days_at_least",
    "dependants_at_most",
    "role",
    "architecture",
    "not_architecture",
    "virtual",
    "environment",
    "tags_any",
    "os_name",
    "external",
)
_ARCH = (
    (re.compile(r"x86|amd64|i[3-6]86|intel|x64", re.I), "x86"),
    (re.compile(r"arm|aarch64", re.I), "arm"),
    (re.compile(r"sparc", re.I), "sparc"),
    (re.compile(r"ppc|power", re.I), "power"),
    (re.compile(r"s390|z/?os", re.I), "s390"),
)


def architecture_of(asset: AssetInput) -> str:
    for pattern, family in _ARCH:
        if asset.architecture and pattern.search(asset.architecture):
            return family
    return "unknown"


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    ports: frozenset[int]
    software: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class StrategyRule:
    name: str
    strategy: str
    when: Mapping[str, Any]
    reason: str


@dataclass(frozen=True, slots=True)
class StrategyRules:
    rules: tuple[StrategyRule, ...]
    roles: tuple[Role, ...] = ()
    precedence: tuple[str, ...] = STRATEGIES
    retires: Mapping[str, frozenset[str]] | None = None  # strategy -> debt factors it pays off

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> StrategyRules:
        problems: list[str] = []
        out = cls.read(Reader(data, "strategy", problems))
        finish(problems)
        return out

    @classmethod
    def read(cls, r: Reader) -> StrategyRules:
        r.allow("rules", "roles", "precedence", "retires", "notes")
        roles = []
        section = r.section("roles")
        for name, _ in section.entries():
            body = section.section(name)
            body.allow("ports", "software")
            roles.append(Role(name, frozenset(body.integers("ports")), body.pattern("software")))
        role_names = {x.name for x in roles}
        rules = []
        for item in r.items("rules"):
            item.allow("name", "strategy", "when", "reason")
            when = item.section("when")
            when.allow(*CONDITIONS)
            cond: dict[str, Any] = {}
            for key, value in when.entries():
                cond[key] = _condition(when, key, value, role_names)
            rules.append(
                StrategyRule(
                    item.text("name"),
                    item.text("strategy", choices=STRATEGIES),
                    cond,
                    item.text("reason"),
                )
            )
        if not rules or rules[-1].when:
            r.problem("strategy.rules: the last rule must have no conditions (the default)")
        precedence = r.texts("precedence", STRATEGIES)
        if sorted(precedence) != sorted(STRATEGIES):
            r.problem(f"strategy.precedence: must list each of {', '.join(STRATEGIES)} once")
        retires: dict[str, frozenset[str]] = {}
        rsec = r.section("retires")
        for name, _ in rsec.entries():
            if name not in STRATEGIES:
                rsec.problem(f"{rsec.key(name)}: unknown strategy")
            factors = rsec.texts(name)
            if factors == ("all",):
                factors = FACTORS
            for factor in factors:
                if factor not in FACTORS:
                    rsec.problem(f"{rsec.key(name)}: {factor!r} is not a debt factor")
            retires[name] = frozenset(factors)
        return cls(tuple(rules), tuple(roles), precedence, retires)

    def debt_retired(self, strategy: str, debt: AssetDebt) -> float:
        """Debt points the strategy pays off: the points of the factors it retires."""
        paid = (self.retires or {}).get(strategy, frozenset())
        return round(sum(f.points for f in debt.factors if f.name in paid), 2)


def _condition(when: Reader, key: str, value: Any, roles: set[str]) -> Any:
    vocab: dict[str, Sequence[str]] = {
        "device_class": DEVICE_CLASSES,
        "not_device_class": DEVICE_CLASSES,
        "os_status": STATUSES,
        "status": STATUSES,
        "environment": ENVIRONMENTS,
        "role": sorted(roles),
        "architecture": ("x86", "arm", "sparc", "power", "s390", "unknown"),
        "not_architecture": ("x86", "arm", "sparc", "power", "s390", "unknown"),
    }
    if key in vocab:
        items = when.texts(key)
        for item in items:
            if item not in vocab[key]:
                when.problem(f"{when.key(key)}: {item!r} is not one of {', '.join(vocab[key])}")
        return frozenset(items)
    if key in ("idle_days_at_least", "dependants_at_most"):
        return when.integer(key, minimum=0)
    if key in ("virtual", "external"):
        return when.boolean(key, False)
    if key == "tags_any":
        return frozenset(t.lower() for t in when.texts(key))
    return when.pattern(key)  # os_name


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    asset_id: str
    strategy: str
    rule: str
    reasons: tuple[str, ...]


def asset_roles(graph: EstateGraph, roles: Sequence[Role]) -> list[frozenset[str]]:
    """Roles per node: a role port it listens on or is called on, or matching software."""
    n = graph.n
    has = np.zeros((len(roles), n), dtype=bool)
    for i, role in enumerate(roles):
        if role.ports:
            wanted = np.fromiter(sorted(role.ports), dtype=np.int64)
            has[i, graph.dst[np.isin(graph.port, wanted)]] = True
    for node, asset in enumerate(graph.assets):
        if not asset.listening and not asset.software:
            continue
        ports = {x.port for x in asset.listening}
        for i, role in enumerate(roles):
            if ports & role.ports or (
                role.software is not None
                and any(role.software.search(name) for name, _ in asset.software)
            ):
                has[i, node] = True
    shared: dict[tuple[bool, ...], frozenset[str]] = {}
    out = []
    for column in has.T.tolist() if roles else [[]] * n:
        key = tuple(column)
        found = shared.get(key)
        if found is None:
            found = shared[key] = frozenset(r.name for r, x in zip(roles, column, strict=True) if x)
        out.append(found)
    return out


def choose_strategy(
    graph: EstateGraph,
    support: tuple[AssetSupport, ...],
    debt: tuple[AssetDebt, ...],
    rules: StrategyRules,
) -> tuple[StrategyChoice, ...]:
    """A strategy per asset (sorted by id) with the rule that chose it and why."""
    roles = asset_roles(graph, rules.roles)
    personal = any(f in r.reason for r in rules.rules for f in ("{name}", "{debt}"))
    cache: dict[tuple[Any, ...], tuple[str, str, tuple[str, ...]]] = {}
    out = []
    for node, asset in enumerate(graph.assets):
        sup, dbt = support[node], debt[node]
        os_comp = sup.component("os")
        key = (
            asset.device_class,
            id(os_comp),
            sup.status,
            asset.idle_days,
            dbt.dependants,
            roles[node],
            asset.architecture,
            asset.environment,
            asset.virtual,
            asset.external,
            asset.tags,
            asset.os_name,
            (asset.label, dbt.score) if personal else None,
        )
        found = cache.get(key)
        if found is None:
            found = _choose(asset, sup, dbt, roles[node], rules)
            cache[key] = found
        out.append(StrategyChoice(asset.id, *found))
    return tuple(out)


def _choose(
    asset: AssetInput,
    sup: AssetSupport,
    dbt: AssetDebt,
    roles: frozenset[str],
    rules: StrategyRules,
) -> tuple[str, str, tuple[str, ...]]:
    facts = _facts(asset, sup, dbt, roles)
    for rule in rules.rules:
        if _holds(rule.when, facts, asset):
            reasons = [rule.reason.format_map(_Defaults(facts))]
            os_comp = sup.component("os")
            if os_comp is not None and rule.strategy != "retire":
                reasons.append(f"OS: {os_comp.evidence}")
            return rule.strategy, rule.name, tuple(reasons)
    raise AssertionError("the last strategy rule has no conditions and always holds")


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def _facts(asset: AssetInput, sup: AssetSupport, dbt: AssetDebt, roles: frozenset[str]) -> Any:
    os_comp = sup.component("os")
    return {
        "device_class": asset.device_class,
        "os_status": os_comp.status if os_comp else UNKNOWN,
        "status": sup.status,
        "os": os_comp.subject if os_comp else "unknown OS",
        "idle_days": asset.idle_days,
        "dependants": dbt.dependants,
        "roles": roles,
        "role_list": ", ".join(sorted(roles)) or "none",
        "architecture": architecture_of(asset),
        "environment": asset.environment,
        "debt": dbt.score,
        "name": asset.label,
    }


def _holds(when: Mapping[str, Any], f: Mapping[str, Any], asset: AssetInput) -> bool:
    for key, want in when.items():
        if key == "device_class" and f["device_class"] not in want:
            return False
        if key == "not_device_class" and f["device_class"] in want:
            return False
        if key in ("os_status", "status", "environment", "architecture") and f[key] not in want:
            return False
        if key == "not_architecture" and f["architecture"] in want:
            return False
        if key == "idle_days_at_least" and (f["idle_days"] is None or f["idle_days"] < want):
            return False
        if key == "dependants_at_most" and f["dependants"] > want:
            return False
        if key == "role" and not (f["roles"] & want):
            return False
        if key == "virtual" and bool(asset.virtual) != want:
            return False
        if key == "external" and asset.external != want:
            return False
        if key == "tags_any" and not ({t.lower() for t in asset.tags} & want):
            return False
        if key == "os_name" and (want is None or not want.search(asset.os_name or "")):
            return False
    return True


def summarise_strategy(
    choices: Sequence[StrategyChoice], precedence: Sequence[str] = STRATEGIES
) -> tuple[str, tuple[str, ...]]:
    """The strategy of a group: the most common among its assets (ties by ``precedence``)."""
    counts = Counter(c.strategy for c in choices)
    best = min(counts, key=lambda s: (-counts[s], precedence.index(s)))
    total = len(choices)
    parts = [f"{counts[best]} of {total} assets: {best}"]
    for strategy in sorted(counts, key=lambda s: (-counts[s], precedence.index(s))):
        if strategy != best:
            rules = sorted({c.rule for c in choices if c.strategy == strategy})
            parts.append(f"{counts[strategy]}: {strategy} ({', '.join(rules)})")
    return best, tuple(parts)
