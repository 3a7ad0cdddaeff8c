"""Migration strategy (the 7 Rs) per asset and per group, from ordered rules in settings.

Rules (``config/planner/strategy.yaml``) are tried in order; the first whose conditions all hold
gives the strategy and a reason (a template filled with the asset's facts). Conditions:
``device_class`` / ``not_device_class``, ``os_status``, ``status``, ``idle_days_at_least``,
``dependants_at_most``, ``role`` (database, email, file, web: from served ports and software
names), ``architecture`` / ``not_architecture`` (x86, arm, sparc, power, s390, unknown),
``virtual``, ``environment``, ``tags_any``, ``os_name`` (a pattern), ``external``, ``idle``
(from observed evidence: :mod:`planner.evidence`) and ``constraint`` (names from
``strategy.constraints``: a tag, port or software that pins the asset).

Two passes follow the rules. Something retired that an asset staying on premise still uses (a
storage array, a hypervisor host with a guest that stays) is kept, with the reason
(:func:`keep_what_stays_needs`). Once waves are dated, nothing is rehosted as it is onto an OS
whose support ends before or during its wave (:func:`judge_at_move`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from planner.asset_roles import Role, architecture_of, asset_roles
from planner.debt import AssetDebt
from planner.debt_settings import FACTORS
from planner.evidence import (
    Constraint,
    ConstraintFile,
    IdleFile,
    IdleRules,
    asset_constraints,
    build_constraints,
    business_callers,
    constraint_facts,
    constraint_ports,
    idle_evidence,
)
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
    idle: IdleRules = field(default_factory=IdleRules)
    constraints: tuple[Constraint, ...] = ()

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
    idle: bool | None = None
    constraint: Texts | None = None  # checked against the constraints defined beside the rules

    def conditions(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(self.model_fields_set):
            value = getattr(self, key)
            if key in ("tags_any", "constraint"):
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
    idle: IdleFile = Field(default_factory=IdleFile)
    constraints: dict[str, ConstraintFile] = {}
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
        constraints = info.data.get("constraints")
        if constraints is not None:
            defined = ", ".join(sorted(constraints)) or "none"
            problems.extend(
                (
                    (i, "when", "constraint"),
                    f"no constraint named {name!r} (strategy.constraints: {defined})",
                )
                for i, rule in enumerate(rules)
                for name in rule.when.constraint or ()
                if name.lower() not in {k.lower() for k in constraints}
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
        return StrategyRules(
            rules,
            roles,
            self.precedence,
            retires,
            self.idle.build(),
            build_constraints(self.constraints),
        )


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    asset_id: str
    strategy: str
    rule: str
    reasons: tuple[str, ...]
    constraints: tuple[str, ...] = ()  # names of the constraints that hold for the asset


def choose_strategy(
    graph: EstateGraph,
    support: tuple[AssetSupport, ...],
    debt: tuple[AssetDebt, ...],
    rules: StrategyRules,
    *,
    hubs: frozenset[str] = frozenset(),
) -> tuple[StrategyChoice, ...]:
    """A strategy per asset (sorted by id) with the rule that chose it and why.

    ``hubs``: shared infrastructure, whose calls (monitoring, backup) are not business use."""
    roles = asset_roles(graph, rules.roles)
    callers = business_callers(graph, hubs, rules.idle.quiet_ports).tolist()
    ports = constraint_ports(graph, rules.constraints)
    personal = any(f in r.reason for r in rules.rules for f in ("{name}", "{debt}"))
    cache: dict[tuple[Any, ...], tuple[str, str, tuple[str, ...]]] = {}
    # the constraints found depend only on tags, ports and software, which most assets share
    pinned: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
    out = []
    for node, asset in enumerate(graph.assets):
        sup, dbt = support[node], debt[node]
        os_comp = sup.component("os")
        idle = idle_evidence(asset, callers[node], rules.idle)
        pin_key = (asset.tags, frozenset(ports[node]), asset.software)
        pins = pinned.get(pin_key, ())
        if pin_key not in pinned:
            pins = pinned[pin_key] = asset_constraints(asset, ports[node], rules.constraints)
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
            idle,
            pins,
            (asset.label, dbt.score) if personal else None,
        )
        found = cache.get(key)
        if found is None:
            found = _choose(asset, sup, dbt, roles[node], rules, idle, pins)
            cache[key] = found
        out.append(StrategyChoice(asset.id, *found, tuple(name for name, _ in pins)))
    return tuple(out)


def _choose(
    asset: AssetInput,
    sup: AssetSupport,
    dbt: AssetDebt,
    roles: frozenset[str],
    rules: StrategyRules,
    idle: str | None,
    pins: tuple[tuple[str, str], ...],
) -> tuple[str, str, tuple[str, ...]]:
    facts = _facts(asset, sup, dbt, roles)
    facts["idle"] = idle
    facts["idle_evidence"] = idle or "not idle"
    facts["constraints"] = frozenset(name for name, _ in pins)
    for rule in rules.rules:
        if _holds(rule.when, facts, asset):
            facts["constraint_reason"] = constraint_facts(pins, rule.when.get("constraint"))
            reasons = [rule.reason.format_map(_Defaults(facts))]
            os_comp = sup.component("os")
            if os_comp is not None and rule.strategy != "retire":
                reasons.append(f"OS: {os_comp.evidence}")
            return rule.strategy, rule.name, tuple(reasons)
    raise AssertionError("the last strategy rule has no conditions and always holds")


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def _facts(
    asset: AssetInput, sup: AssetSupport, dbt: AssetDebt, roles: frozenset[str]
) -> dict[str, Any]:
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
        if key == "idle" and (f.get("idle") is not None) != want:
            return False
        if key == "constraint" and not (f.get("constraints", frozenset()) & want):
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
