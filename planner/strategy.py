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
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from planner.debt import AssetDebt
from planner.debt_settings import FACTORS
from planner.fields import (
    Loc,
    Note,
    Pattern,
    Strict,
    Text,
    Texts,
    known,
    one_of,
    raise_problems,
    validated,
)
from planner.graphcore import EstateGraph
from planner.lifecycle import STATUSES, UNKNOWN
from planner.model import DEVICE_CLASSES, ENVIRONMENTS, AssetInput
from planner.support import AssetSupport

STRATEGIES = ("retire", "retain", "rehost", "relocate", "replatform", "repurchase", "refactor")
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
        return validated(StrategyFile, data, ("strategy",)).build()

    def debt_retired(self, strategy: str, debt: AssetDebt) -> float:
        """Debt points the strategy pays off: the points of the factors it retires."""
        paid = (self.retires or {}).get(strategy, frozenset())
        return round(sum(f.points for f in debt.factors if f.name in paid), 2)


ARCHITECTURES = ("x86", "arm", "sparc", "power", "s390", "unknown")
DeviceClasses = Annotated[Texts, AfterValidator(one_of(DEVICE_CLASSES))]
Statuses = Annotated[Texts, AfterValidator(one_of(STATUSES))]
Architectures = Annotated[Texts, AfterValidator(one_of(ARCHITECTURES))]


class WhenFile(Strict):
    """The conditions of a rule (see the module notes); all must hold."""

    device_class: DeviceClasses | None = None
    not_device_class: DeviceClasses | None = None
    os_status: Statuses | None = None
    status: Statuses | None = None
    idle_days_at_least: int | None = Field(None, ge=0)
    dependants_at_most: int | None = Field(None, ge=0)
    role: Texts | None = None  # checked against the roles defined beside the rules
    architecture: Architectures | None = None
    not_architecture: Architectures | None = None
    virtual: bool | None = None
    environment: Annotated[Texts, AfterValidator(one_of(ENVIRONMENTS))] | None = None
    tags_any: Texts | None = None
    os_name: Pattern | None = None
    external: bool | None = None

    def conditions(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(self.model_fields_set):
            value = getattr(self, key)
            if key == "tags_any":
                value = frozenset(t.lower() for t in value)
            elif isinstance(value, tuple):
                value = frozenset(value)
            out[key] = value
        return out


CONDITIONS = tuple(WhenFile.model_fields)  # what a rule's ``when`` may test


class RuleFile(Strict):
    name: Text
    strategy: Annotated[Text, AfterValidator(one_of(STRATEGIES))]
    when: WhenFile = Field(default_factory=WhenFile)
    reason: Text


class RoleFile(Strict):
    ports: list[int] = Field(default_factory=list)
    software: Pattern | None = None


class StrategyFile(Strict):
    """``config/planner/strategy.yaml``."""

    roles: dict[str, RoleFile] = {}
    rules: list[RuleFile] = Field([], validate_default=True)
    precedence: Texts = STRATEGIES
    retires: dict[Annotated[str, known(STRATEGIES, "strategy")], Texts] = {}
    notes: Note = None

    @field_validator("rules")
    @classmethod
    def _rules(cls, rules: list[RuleFile], info: ValidationInfo) -> list[RuleFile]:
        problems: list[tuple[Loc, str]] = []
        if not rules or rules[-1].when.model_fields_set:
            problems.append(((), "the last rule must have no conditions (the default)"))
        roles = info.data.get("roles")
        if roles is not None:  # else the roles have problems of their own
            defined = ", ".join(sorted(roles)) or "none"
            problems.extend(
                ((i, "when", "role"), f"no role named {role!r} (strategy.roles: {defined})")
                for i, rule in enumerate(rules)
                for role in rule.when.role or ()
                if role not in roles
            )
        raise_problems(problems)
        return rules

    @field_validator("precedence")
    @classmethod
    def _each_once(cls, precedence: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(precedence) != sorted(STRATEGIES):
            raise ValueError(f"must list each of {', '.join(STRATEGIES)} once")
        return precedence

    @field_validator("retires")
    @classmethod
    def _factors(cls, retires: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        raise_problems(
            ((name,), f"{factor!r} is not a debt factor")
            for name, factors in retires.items()
            for factor in factors
            if factor not in FACTORS and factors != ("all",)
        )
        return retires

    def build(self) -> StrategyRules:
        roles = tuple(
            Role(name, frozenset(role.ports), role.software)
            for name, role in sorted(self.roles.items())
        )
        rules = tuple(
            StrategyRule(r.name, r.strategy, r.when.conditions(), r.reason) for r in self.rules
        )
        retires = {
            name: frozenset(FACTORS if factors == ("all",) else factors)
            for name, factors in sorted(self.retires.items())
        }
        return StrategyRules(rules, roles, self.precedence, retires)


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
