"""Pure planning over an estate: lifecycle, debt, strategy, move groups, waves, cost and carbon.

No I/O, no clock, no logging, no randomness beyond fixed seeds; inputs are never changed. The
agent loads the YAML under ``config/`` (see :data:`planner.settings.SETTINGS_FILES`) and the
lifecycle facts, then calls :func:`plan`.

Names are loaded on first use (PEP 562): a command that needs only part of the planner (the
lifecycle verdicts, the importer) does not pay for importing the graph and costing code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from planner.errors import (
    EstateError,
    ImportFormatError,
    LifecycleDataError,
    PlanningError,
    ScheduleError,
    SettingsError,
)

if TYPE_CHECKING:
    from planner.budget import CostEstimate, FinancialYear, estimate_costs, lay_out_years
    from planner.costing import AssetCost, price_assets
    from planner.costtables import CostSettings
    from planner.debt import AssetDebt, DebtFactor, score_debt
    from planner.debt_settings import DebtSettings
    from planner.diff import PlanDiff, diff_plan_dicts, diff_plans
    from planner.gaps import Gap, lifecycle_gaps
    from planner.graphcore import EstateGraph, index_estate
    from planner.groups import GroupSettings, form_move_groups
    from planner.hardware_lifecycle import HardwareOverrides
    from planner.hubs import HubRules, Hubs, detect_hubs
    from planner.importer import parse_import, parse_import_stream
    from planner.lifecycle import Lifecycle, Product, Release, catalogue_from_mapping, parse_product
    from planner.matching import MatchingRules
    from planner.model import (
        AssetInput,
        Dependency,
        DependencyRows,
        Estate,
        Exposure,
        Listener,
    )
    from planner.movegroup import GroupLink, MoveGroup, MoveGroups
    from planner.planning import AssetPlan, Plan, WaveOutcome, plan
    from planner.replan import PreviousPlan, Replan
    from planner.settings import (
        CATALOGUE_FILE,
        SETTINGS_FILES,
        Settings,
        merge,
        sections_from_layers,
    )
    from planner.strategy import StrategyChoice, StrategyRules, choose_strategy
    from planner.support import AssetSupport, assess_support
    from planner.waves import Wave, WaveSettings, group_loads, plan_waves

# name -> the module that defines it, imported when the name is first read
_LAZY: dict[str, str] = {
    "CostEstimate": "planner.budget",
    "FinancialYear": "planner.budget",
    "estimate_costs": "planner.budget",
    "lay_out_years": "planner.budget",
    "AssetCost": "planner.costing",
    "price_assets": "planner.costing",
    "CostSettings": "planner.costtables",
    "AssetDebt": "planner.debt",
    "DebtFactor": "planner.debt",
    "score_debt": "planner.debt",
    "DebtSettings": "planner.debt_settings",
    "PlanDiff": "planner.diff",
    "diff_plan_dicts": "planner.diff",
    "diff_plans": "planner.diff",
    "Gap": "planner.gaps",
    "lifecycle_gaps": "planner.gaps",
    "EstateGraph": "planner.graphcore",
    "index_estate": "planner.graphcore",
    "GroupSettings": "planner.groups",
    "form_move_groups": "planner.groups",
    "HardwareOverrides": "planner.hardware_lifecycle",
    "HubRules": "planner.hubs",
    "Hubs": "planner.hubs",
    "detect_hubs": "planner.hubs",
    "parse_import": "planner.importer",
    "parse_import_stream": "planner.importer",
    "Lifecycle": "planner.lifecycle",
    "Product": "planner.lifecycle",
    "Release": "planner.lifecycle",
    "catalogue_from_mapping": "planner.lifecycle",
    "parse_product": "planner.lifecycle",
    "MatchingRules": "planner.matching",
    "AssetInput": "planner.model",
    "Dependency": "planner.model",
    "DependencyRows": "planner.model",
    "Estate": "planner.model",
    "Exposure": "planner.model",
    "Listener": "planner.model",
    "GroupLink": "planner.movegroup",
    "MoveGroup": "planner.movegroup",
    "MoveGroups": "planner.movegroup",
    "AssetPlan": "planner.planning",
    "Plan": "planner.planning",
    "WaveOutcome": "planner.planning",
    "plan": "planner.planning",
    "PreviousPlan": "planner.replan",
    "Replan": "planner.replan",
    "CATALOGUE_FILE": "planner.settings",
    "SETTINGS_FILES": "planner.settings",
    "Settings": "planner.settings",
    "merge": "planner.settings",
    "sections_from_layers": "planner.settings",
    "StrategyChoice": "planner.strategy",
    "StrategyRules": "planner.strategy",
    "choose_strategy": "planner.strategy",
    "AssetSupport": "planner.support",
    "assess_support": "planner.support",
    "Wave": "planner.waves",
    "WaveSettings": "planner.waves",
    "group_loads": "planner.waves",
    "plan_waves": "planner.waves",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later reads skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CATALOGUE_FILE",
    "SETTINGS_FILES",
    "AssetCost",
    "AssetDebt",
    "AssetInput",
    "AssetPlan",
    "AssetSupport",
    "CostEstimate",
    "CostSettings",
    "DebtFactor",
    "DebtSettings",
    "Dependency",
    "DependencyRows",
    "Estate",
    "EstateError",
    "EstateGraph",
    "Exposure",
    "FinancialYear",
    "Gap",
    "GroupLink",
    "GroupSettings",
    "HardwareOverrides",
    "HubRules",
    "Hubs",
    "ImportFormatError",
    "Lifecycle",
    "LifecycleDataError",
    "Listener",
    "MatchingRules",
    "MoveGroup",
    "MoveGroups",
    "Plan",
    "PlanDiff",
    "PlanningError",
    "PreviousPlan",
    "Product",
    "Release",
    "Replan",
    "ScheduleError",
    "Settings",
    "SettingsError",
    "StrategyChoice",
    "StrategyRules",
    "Wave",
    "WaveOutcome",
    "WaveSettings",
    "assess_support",
    "catalogue_from_mapping",
    "choose_strategy",
    "detect_hubs",
    "diff_plan_dicts",
    "diff_plans",
    "estimate_costs",
    "form_move_groups",
    "group_loads",
    "index_estate",
    "lay_out_years",
    "lifecycle_gaps",
    "merge",
    "parse_import",
    "parse_import_stream",
    "parse_product",
    "plan",
    "plan_waves",
    "price_assets",
    "score_debt",
    "sections_from_layers",
]
