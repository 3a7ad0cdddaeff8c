"""The reason texts say what a utilisation figure rests on: the p95 over N days of samples, or
a single poll's figure (the planner is handed both by the bridge, it reads no store)."""

from __future__ import annotations

from planner import AssetInput, Settings
from planner.evidence import IdleRules, idle_evidence
from planner.factors import utilisation
from planner.usage import util_basis


def test_basis_names_the_days_or_the_single_poll() -> None:
    assert util_basis(30, True) == "p95 over 30 days of samples"
    assert util_basis(1, True) == "p95 over 1 day of samples"
    assert util_basis(None, True) == "a single poll's figure, no sampled history"
    assert util_basis(0, False) == "assumed: none observed"


def test_idle_and_debt_reasons_say_what_the_cpu_figure_rests_on(settings: Settings) -> None:
    sampled = AssetInput("a", device_class="server", cpu_util_pct=0.5, util_days=45, cpu_count=4)
    polled = AssetInput("b", device_class="server", cpu_util_pct=0.5, cpu_count=4)
    rules = IdleRules()
    assert (idle_evidence(sampled, 0, rules) or "").endswith("(p95 over 45 days of samples)")
    assert (idle_evidence(polled, 0, rules) or "").endswith(
        "(a single poll's figure, no sampled history)"
    )
    value, why = utilisation(sampled, settings.debt)
    assert value > 0 and "idle" in why and why.endswith("(p95 over 45 days of samples)")
    assert utilisation(polled, settings.debt)[1].endswith("no sampled history)")
