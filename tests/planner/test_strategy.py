"""Strategy rules: the 7 Rs per asset and per group, each with its reasons."""

from __future__ import annotations

import pytest

from planner import (
    AssetInput,
    Dependency,
    Estate,
    Lifecycle,
    Listener,
    Settings,
    SettingsError,
    StrategyRules,
    assess_support,
    choose_strategy,
    index_estate,
    score_debt,
)
from planner.strategy import StrategyChoice, summarise_strategy
from tests.planner.conftest import TODAY


def choose(estate: Estate, settings: Settings, catalogue: Lifecycle) -> dict[str, StrategyChoice]:
    graph = index_estate(estate)
    sup = assess_support(estate, catalogue, settings.matching, TODAY)
    debt = score_debt(graph, sup, settings.debt, TODAY)
    return {c.asset_id: c for c in choose_strategy(graph, sup, debt, settings.strategy)}


def test_the_published_examples(settings: Settings, catalogue: Lifecycle) -> None:
    assets = (
        AssetInput("idle", os_name="Ubuntu", os_version="22.04", idle_days=120),
        AssetInput("busy-idle", os_name="Ubuntu", os_version="22.04", idle_days=120),
        AssetInput("caller", os_name="Ubuntu", os_version="22.04"),
        AssetInput("fw", device_class="firewall", os_name="FortiOS", os_version="7.4.3"),
        AssetInput("ups", device_class="ups"),
        AssetInput("web", os_name="Windows", os_version="Server 2022", architecture="x86_64"),
        AssetInput("old", os_name="CentOS Linux", os_version="7.9.2009"),
        AssetInput("pg", os_name="Ubuntu", os_version="22.04", listening=(Listener(5432),)),
        AssetInput("aix", os_name="AIX", os_version="7.2", architecture="ppc64"),
    )
    deps = (Dependency("caller", "busy-idle", 443),)
    got = choose(Estate(assets, deps), settings, catalogue)
    assert got["idle"].strategy == "retire", "idle 120 days, no dependants"
    assert "idle for 120 days" in got["idle"].reasons[0]
    assert got["busy-idle"].strategy != "retire", "something still depends on it"
    assert got["fw"].strategy == "retain" and got["ups"].strategy == "retain"
    assert got["web"].strategy == "rehost", "supported OS on x86"
    assert got["old"].strategy == "replatform", "CentOS 7 is end of life"
    assert got["pg"].strategy == "replatform" and "managed database" in got["pg"].reasons[0]
    assert got["aix"].strategy == "retain" and "power architecture" in got["aix"].reasons[0]


def test_group_strategy_is_the_majority_with_reasons() -> None:
    choices = [
        StrategyChoice("a", "rehost", "r1", ()),
        StrategyChoice("b", "rehost", "r1", ()),
        StrategyChoice("c", "replatform", "db", ()),
    ]
    strategy, reasons = summarise_strategy(choices)
    assert strategy == "rehost"
    assert reasons == ("2 of 3 assets: rehost", "1: replatform (db)")
    tie = [StrategyChoice("a", "rehost", "x", ()), StrategyChoice("b", "retire", "y", ())]
    assert summarise_strategy(tie)[0] == "retire", "ties follow the precedence list"


def test_rules_are_validated() -> None:
    with pytest.raises(SettingsError) as err:
        StrategyRules.from_mapping(
            {
                "rules": [
                    {
                        "name": "x",
                        "strategy": "rewrite",
                        "when": {"device_class": ["toaster"]},
                        "reason": "r",
                    },
                    {"name": "y", "strategy": "rehost", "when": {"colour": "red"}, "reason": "r"},
                ]
            }
        )
    text = "\n".join(err.value.problems)
    assert "'rewrite' is not one of retire" in text
    assert "'toaster' is not one of switch" in text
    assert "strategy.rules[1].when.colour: unknown key" in text
    # checks across rules run once every rule is well formed
    with pytest.raises(SettingsError) as err:
        StrategyRules.from_mapping(
            {
                "roles": {"web": {"ports": [80]}},
                "rules": [
                    {"name": "x", "strategy": "rehost", "when": {"role": ["db"]}, "reason": "r"},
                    {"name": "y", "strategy": "rehost", "when": {"virtual": True}, "reason": "r"},
                ],
                "retires": {"rehost": ["os_support", "karma"], "rewrite": "all"},
            }
        )
    assert err.value.problems == [
        "strategy.rules: the last rule must have no conditions (the default)",
        "strategy.rules[0].when.role: no role named 'db' (strategy.roles: web)",
        "strategy.retires.rewrite: unknown strategy (known: retire, retain, rehost, relocate, "
        "replatform, repurchase, refactor)",
    ]
