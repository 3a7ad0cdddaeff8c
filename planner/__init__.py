"""Pure planning over an estate: lifecycle, debt, strategy, move groups, waves, cost and carbon.

No I/O, no clock, no logging, no randomness beyond fixed seeds; inputs are never changed. The
agent loads the YAML under ``config/`` (see :data:`planner.settings.SETTINGS_FILES`) and the
lifecycle facts, then calls :func:`plan`.
"""

from planner.budget import CostEstimate, FinancialYear, estimate_costs, lay_out_years
from planner.costing import AssetCost, price_assets
from planner.costtables import CostSettings
from planner.debt import AssetDebt, DebtFactor, score_debt
from planner.debt_settings import DebtSettings
from planner.diff import PlanDiff, diff_plan_dicts, diff_plans
from planner.errors import (
    EstateError,
    ImportFormatError,
    LifecycleDataError,
    PlanningError,
    ScheduleError,
    SettingsError,
)
from planner.gaps import Gap, lifecycle_gaps
from planner.graphcore import EstateGraph, index_estate
from planner.groups import GroupSettings, form_move_groups
from planner.hardware_lifecycle import HardwareOverrides
from planner.hubs import HubRules, Hubs, detect_hubs
from planner.importer import parse_import, parse_import_stream
from planner.lifecycle import Lifecycle, Product, Release, catalogue_from_mapping, parse_product
from planner.matching import MatchingRules
from planner.model import AssetInput, Dependency, Estate, Exposure, Listener
from planner.movegroup import GroupLink, MoveGroup, MoveGroups
from planner.plan import AssetPlan, Plan, WaveOutcome, plan
from planner.replan import PreviousPlan, Replan
from planner.settings import CATALOGUE_FILE, SETTINGS_FILES, Settings, merge
from planner.strategy import StrategyChoice, StrategyRules, choose_strategy
from planner.support import AssetSupport, assess_support
from planner.waves import Wave, WaveSettings, group_loads, plan_waves

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
]
