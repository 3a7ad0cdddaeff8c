"""A council estate of 60 assets, with each call an architect expects and the reason beside it.

Seven business applications of five servers (web, two app, database) and a three-server dev
website; DNS, two domain controllers, monitoring and backup; two idle servers nobody uses; a
licence server with a USB dongle; a SCADA head end talking Modbus to a plant controller; a
server holding data that must stay in the UK; two storage arrays and two hypervisor hosts
(guests named by the import's ``host`` column); a print server two applications use; switches,
a firewall, a UPS; and two identical old servers whose store ids would sort wrongly as text.
The day is 2026-09-01, with the shipped settings and lifecycle catalogue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from planner import AssetInput, Dependency, Estate, Lifecycle, Listener, Plan, Settings, plan
from tests.planner.conftest import TODAY

APPS = {  # application -> (prefix, OS, version)
    "Revenues": ("rv", "Windows", "Server 2022"),
    "Housing": ("hs", "Windows", "Server 2016"),
    "Planning": ("pl", "Ubuntu", "24.04"),
    "Social care": ("sc", "Windows", "Server 2019"),
    "Payments": ("pm", "Windows", "Server 2022"),
    "Libraries": ("lb", "Ubuntu", "24.04"),
    "Waste": ("ws", "Windows", "Server 2019"),
}


def server(asset_id: str, **fields: Any) -> AssetInput:
    """A Windows Server 2022 server at 25% CPU unless told otherwise."""
    base: dict[str, Any] = {
        "name": asset_id,
        "device_class": "server",
        "os_name": "Windows",
        "os_version": "Server 2022",
        "architecture": "x86_64",
        "cpu_util_pct": 25.0,
    }
    return AssetInput(asset_id, **(base | fields))


def kit(
    asset_id: str, device_class: str, os_name: str | None = None, version: str | None = None
) -> AssetInput:
    return AssetInput(
        asset_id, name=asset_id, device_class=device_class, os_name=os_name, os_version=version
    )


def council_estate() -> Estate:
    assets: list[AssetInput] = []
    deps: list[Dependency] = []
    for app, (p, os_name, version) in APPS.items():
        ids = [f"{p}-web01", f"{p}-web02", f"{p}-app01", f"{p}-app02", f"{p}-db01"]
        host = "esx01" if p == "rv" else None
        for x in ids:
            db = x.endswith("db01")
            assets.append(
                AssetInput(
                    x,
                    name=x,
                    application=app,
                    environment="prod",
                    device_class="server",
                    os_name=os_name,
                    os_version=version,
                    architecture="x86_64",
                    cpu_util_pct=25.0,
                    virtual=True,
                    host=host if "app" in x else None,
                    listening=(Listener(1433 if db else 8080),),
                )
            )
        for web in ids[:2]:
            deps += [Dependency(web, app_, 8080) for app_ in ids[2:4]]
        deps += [Dependency(a, ids[4], 1433) for a in ids[2:4]]
    dev = ["dw-web01", "dw-app01", "dw-db01"]
    assets += [server(x, application="Website (dev)", environment="dev") for x in dev]
    deps += [Dependency("dw-web01", "dw-app01", 8080), Dependency("dw-app01", "dw-db01", 5432)]
    hubs = [
        server("dns01", listening=(Listener(53),)),
        server("dc01", listening=(Listener(389),)),
        server("dc02", listening=(Listener(389),)),
        server("mon01"),
        server("bkp01"),
    ]
    special = [
        server("idle01", cpu_util_pct=0.4),
        server("idle02", cpu_util_pct=0.2),
        server("lic01", tags=("Licence dongle",), host="esx02", virtual=True),
        server("scada01"),
        server("res01", tags=("data_residency",)),
        server("prn-srv01", listening=(Listener(515), Listener(631))),
        AssetInput("plc01", name="plc01", external=True),
        kit("san01", "storage"),
        kit("san02", "storage"),
        kit("esx01", "hypervisor", "ESXi", "7.0"),
        kit("esx02", "hypervisor", "ESXi", "7.0"),
        kit("core-sw01", "switch", "IOS-XE", "16.9.8"),
        kit("core-sw02", "switch", "IOS-XE", "16.9.8"),
        kit("fw01", "firewall", "FortiOS", "7.4.3"),
        kit("ups01", "ups"),
        server("6", name="a-archive", os_version="Server 2008 R2"),
        server("21", name="b-finance", os_version="Server 2008 R2"),
    ]
    assets += hubs + special
    servers = [a.id for a in assets if a.device_class == "server" and not a.external]
    for x in servers:
        if x in {"dns01", "dc01", "dc02", "mon01", "bkp01"}:
            continue
        deps += [Dependency(x, "dns01", 53), Dependency(x, "dc01", 389), Dependency(x, "dc02", 389)]
        deps += [Dependency("mon01", x, 5666), Dependency("bkp01", x, 10000)]
    deps += [
        Dependency("pl-app01", "lic01", 1947),  # the planning app checks out its licence
        Dependency("scada01", "plc01", 502),  # Modbus to the plant controller
        Dependency("rv-db01", "san01", 3260),
        Dependency("lic01", "san01", 3260),  # the licence server's datastore
        Dependency("sc-db01", "san02", 3260),
        Dependency("pm-db01", "san02", 3260),
        Dependency("rv-app01", "prn-srv01", 445),  # print spool share
        Dependency("hs-app01", "prn-srv01", 445),
        Dependency("sc-app01", "pm-web01", 443),
        Dependency("ws-app01", "res01", 8080),
    ]
    return Estate(tuple(assets), tuple(deps))


@pytest.fixture(scope="module")
def council(settings: Settings, catalogue: Lifecycle) -> Plan:
    return plan(council_estate(), settings, TODAY, catalogue)


def test_the_estate_is_council_sized() -> None:
    assert len(council_estate().assets) >= 60


EXPECTED = {  # asset: (strategy, the architect's reason)
    "idle01": ("retire", "CPU under 1% and only monitoring and backup touch it: decommission"),
    "idle02": ("retire", "the same: no business use observed, whatever idle_days says"),
    "lic01": ("retain", "a USB licence dongle binds it to local hardware"),
    "scada01": ("retain", "it talks Modbus (502) to plant equipment: stays beside the plant"),
    "res01": ("relocate", "its data must stay in the UK: hosted in the jurisdiction, not cloud"),
    "san01": ("retain", "the dongle server that stays keeps its datastore here"),
    "san02": ("retire", "its only users move: decommission after them"),
    "esx01": ("retire", "its guests move: decommission after them"),
    "esx02": ("retain", "its guest (the dongle server) stays"),
    "core-sw01": ("retain", "network kit is replaced in place"),
    "fw01": ("retain", "firewalls stay on site"),
    "ups01": ("retain", "facilities kit stays on site"),
    "rv-web01": ("rehost", "Windows Server 2022 is supported long past its wave"),
    "rv-db01": ("replatform", "SQL Server goes to a managed database"),
    "hs-web01": ("replatform", "Windows Server 2016 support ends 2027-01-12, before its wave ends"),
    "prn-srv01": ("rehost", "a print server on a supported OS"),
}


def test_strategies_are_the_architects(council: Plan) -> None:
    for asset_id, (strategy, why) in EXPECTED.items():
        got = council.asset(asset_id).strategy
        assert got.strategy == strategy, f"{asset_id}: {why} (got {got.strategy}: {got.reasons})"
    reasons = {a: council.asset(a).strategy.reasons[0] for a in EXPECTED}
    assert "CPU 0.4% (under 1%) and no inbound use beyond monitoring" in reasons["idle01"]
    assert "licence dongle" in reasons["lic01"] and "tag 'licence-dongle'" in reasons["lic01"]
    assert "port 502" in reasons["scada01"]
    assert "data residency" in reasons["res01"]
    assert "still used by 1 asset(s) that stay (lic01)" in reasons["san01"]
    assert "support ends 2027-01-12, by the end of its wave" in reasons["hs-web01"]
    assert council.asset("hs-web01").strategy.rule == "support-ends-by-move"


def test_infrastructure_retires_after_what_uses_it(council: Plan) -> None:
    wave = {a.asset_id: a.wave for a in council.assets}
    for infra, users in (("san02", ["sc-db01", "pm-db01"]), ("esx01", ["rv-app01", "rv-app02"])):
        last = wave[infra]
        assert last is not None
        assert all(last >= (wave[u] or 0) for u in users), (
            f"{infra} is decommissioned only once {users} have moved"
        )
    assert wave["san01"] is None and wave["esx02"] is None, "kept: something that stays uses them"


def test_weak_links_do_not_glue_applications(council: Plan) -> None:
    group = {a.asset_id: a.group for a in council.assets}
    assert group["rv-app01"] != group["hs-app01"], "two applications sharing a print server"
    assert group["prn-srv01"] not in {group["rv-app01"], group["hs-app01"]}, (
        "one print-share link does not pull the print server into a business application"
    )
    for app, (p, _, _) in APPS.items():
        members = {group[f"{p}-{x}"] for x in ("web01", "web02", "app01", "app02", "db01")}
        assert len(members) == 1, f"{app} moves whole"


def test_pilot_is_small_unconstrained_and_starts_without_an_idle_gap(council: Plan) -> None:
    lz, pilot = council.waves[0].wave, council.waves[1].wave
    assert pilot.kind == "pilot" and set(pilot.assets) == {"dw-web01", "dw-app01", "dw-db01"}
    assert pilot.start - lz.end <= timedelta(days=8), (
        "the pilot fits before the Christmas freeze (shortened) rather than waiting past it"
    )
    assert any("shortened" in r for r in pilot.reasons)
    constrained = {"lic01", "scada01", "res01"}
    assert not constrained & set(pilot.assets), "nothing held by a constraint in the pilot"
    for previous, nxt in zip(council.waves, council.waves[1:], strict=False):
        gap = (nxt.wave.start - previous.wave.end).days
        assert gap <= 8 or any("after freeze" in r for r in nxt.wave.reasons), (
            f"wave {nxt.wave.number} waits {gap} days with no freeze in the way"
        )


def test_debt_rankings_split_and_break_ties_on_meaningful_keys(council: Plan) -> None:
    migration = [a.asset_id for a in council.ranking()]
    refresh = [a.asset_id for a in council.ranking("refresh")]
    assert "core-sw01" in refresh and "core-sw01" not in migration, (
        "a switch that stays is a refresh, not ranked with servers that move"
    )
    old = [x for x in migration if x in {"6", "21"}]
    assert council.asset("6").debt.score == council.asset("21").debt.score
    assert old == ["6", "21"], "equal debt: by name (a-archive, b-finance), not by id as text"


def test_a_long_plan_warns_with_a_team_size(mappings: dict[str, Any], catalogue: Lifecycle) -> None:
    from planner.settings import merge

    slow = Settings.from_mapping(merge(mappings, {"waves": {"team_days_per_week": 0.5}}))
    result = plan(council_estate(), slow, TODAY, catalogue)
    assert result.warnings and "a team of about" in result.warnings[0]
    assert result.to_dict()["warnings"] == list(result.warnings)
