"""The council example estate: what an architect expects, and why.

``tests/data/estate/council.json`` (in the documented import format) is a small council data
centre: an AD/DNS pair, monitoring and backup servers; Revenues and Benefits on Windows Server
2012 R2 with a SQL Server 2014 database; a planning portal on Ubuntu 18.04 / RHEL 7 with
PostgreSQL 10 and a test copy; social care on Windows Server 2019 with a SQL Server 2016 database
that the intranet (RHEL 6) also uses; GIS on a physical Windows Server 2008 R2 box; a file server
on 2008 R2 hardware from 2010 with SMBv1 and telnet; Exchange 2013; an idle 2008 R2 VM; a website
and its dev copy on Ubuntu 22.04; three ESXi 6.x hosts; a NetApp; Cisco switches (IOS-XE 16.9 and
an IOS 2960-X); FortiGates on FortiOS 6.4; UPSs and printers. The day is 2026-09-01.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from planner import Estate, Lifecycle, Plan, Settings, parse_import, plan
from planner.dates import FreezeWindow
from tests.planner.conftest import DATA, TODAY

ESTATE = DATA / "estate"


def council_plan(mappings: dict[str, Any], catalogue: Lifecycle) -> Plan:
    data = dict(mappings)
    data["hardware"] = yaml.safe_load((ESTATE / "hardware.yaml").read_text())
    assets, deps = parse_import((ESTATE / "council.json").read_text(), "json")
    return plan(Estate(assets, deps), Settings.from_mapping(data), TODAY, catalogue)


@pytest.fixture(scope="module")
def council(mappings: dict[str, Any], catalogue: Lifecycle) -> Plan:
    return council_plan(mappings, catalogue)


def test_estate_file_is_in_the_import_format() -> None:
    assets, deps = parse_import((ESTATE / "council.json").read_text(), "json")
    assert len(assets) == 36, "the example holds 36 assets"
    assert all(d.src in {a.id for a in assets} for d in deps), "every link names an asset"
    assert Path(ESTATE / "hardware.yaml").exists()


def test_debt_ranking_puts_the_old_file_server_first(council: Plan) -> None:
    ranking = [a.asset_id for a in council.ranking()]
    assert ranking[0] == "fs01", (
        "fs01 runs Windows Server 2008 R2 (end of life since 2023) on hardware from 2010, "
        "has SMBv1 and telnet open, and three applications depend on it with no redundant peer"
    )
    assert ranking[1] == "gis01", (
        "gis01 is 2008 R2 with SQL Server 2008 R2, both end of life, on a ProLiant G7 whose "
        "vendor support ended in 2020"
    )
    assert ranking.index("intranet01") < ranking.index("sql01"), (
        "RHEL 6 is past even its extended support; Windows 2012 R2 still has paid ESUs"
    )
    bottom = set(ranking[-6:])
    assert {"sc-app01", "sc-app02", "web01", "dev-web01"} <= bottom, (
        "supported Windows Server 2019 and Ubuntu 22.04 VMs carry the least debt"
    )


def test_every_debt_number_is_explained(council: Plan) -> None:
    for item in council.assets:
        factors = item.debt.factors
        assert abs(sum(f.points for f in factors) - item.debt.score) < 0.1, (
            f"{item.asset_id}: factor points must add up to the score"
        )
        assert all(f.evidence for f in factors), f"{item.asset_id}: every factor says why"
    fs01 = council.asset("fs01").debt
    assert "smbv1" in fs01.factor("insecure_exposure").evidence
    assert "2010-06-01" in fs01.factor("hardware_age").evidence
    assert "2023-01-10" in fs01.factor("os_support").evidence, "the date support ended"


def test_support_status_from_lifecycle_dates(council: Plan) -> None:
    expected = {
        "fs01": "eol",  # Windows Server 2008 R2: extended support ended 2023-01-10
        "sql01": "extended",  # 2012 R2 ESU to 2026-10-13; SQL 2014 ESU to 2027-07-12
        "pl-web01": "extended",  # Ubuntu 18.04: standard support ended 2023, ESM to 2028
        "intranet01": "eol",  # RHEL 6: ELS ended 2024-06-30
        "esx01": "eol",  # ESXi 6.7: end of general support 2022-10-15
        "core-sw01": "eol",  # IOS-XE 16.9 (catalogue: Cisco bulletin timeline)
        "fw01": "eol",  # FortiOS 6.4: end of support 2024-09-30
        "sc-app01": "supported",  # Windows Server 2019 until 2029-01-09
        # classic IOS 15.2E has no date of its own: it is supported as long as the 2960-X it
        # runs on (hardware.yaml: to 2027-10-31)
        "access-sw01": "supported",
        "ups01": "unknown",  # no OS or firmware reported
    }
    for asset_id, status in expected.items():
        assert council.asset(asset_id).support.status == status, asset_id
    sql01 = council.asset("sql01").support.component("os")
    assert sql01 is not None and sql01.days_remaining == 42, "2026-09-01 to 2026-10-13"
    ios = council.asset("access-sw01").support.component("os")
    assert ios is not None and (ios.product, ios.cycle, ios.status) == (
        "cisco-ios",
        "15.2e",
        "supported",
    ), "IOS 15.2E follows the hardware"
    assert ios.ends is not None and ios.ends.isoformat() == "2027-10-31"
    switch = council.asset("access-sw01").support.component("hardware")
    assert switch is not None and switch.ends is not None
    assert switch.ends.isoformat() == "2027-10-31", "the 2960-X override from hardware.yaml"


def test_strategies_follow_the_rules(council: Plan) -> None:
    expected = {
        "old-app01": ("retire", "idle for 210 days and nothing depends on it"),
        "esx01": ("retire", "hypervisors are decommissioned once their guests move"),
        "san01": ("retire", "the array's data moves with its servers"),
        "core-sw01": ("retain", "an end-of-life switch is replaced in place, not migrated"),
        "fw01": ("retain", "firewalls stay on site"),
        "ups01": ("retain", "UPSs stay on site"),
        "prn01": ("retain", "printers stay on site"),
        "sql01": ("replatform", "a database engine goes to a managed service"),
        "pl-db01": ("replatform", "PostgreSQL listening on 5432: a database engine"),
        "gis01": ("replatform", "its SQL Server makes it a database host"),
        "ex01": ("repurchase", "on-premise Exchange goes to SaaS mail"),
        "intranet01": ("replatform", "RHEL 6 is end of life: rebuild on a supported image"),
        "rb-app01": ("replatform", "Windows 2012 R2 is on extended support only"),
        "sc-app01": ("rehost", "a supported OS on x86: lift and shift"),
        "dc01": ("rehost", "a supported OS on x86"),
    }
    for asset_id, (strategy, why) in expected.items():
        got = council.asset(asset_id).strategy
        assert got.strategy == strategy, f"{asset_id}: {why} (got {got.strategy}: {got.reasons})"
        assert got.reasons and got.rule, f"{asset_id}: the rule and reason are recorded"


def test_shared_infrastructure_is_the_landing_zone(council: Plan) -> None:
    hubs = {h.asset_id for h in council.groups.hubs.hubs}
    assert hubs == {"dc01", "dc02", "mon01", "bkp01"}, (
        "the AD/DNS pair serve DNS and LDAP to every server; monitoring and backup call every "
        "server: all four are shared infrastructure"
    )
    wave0 = council.waves[0].wave
    assert wave0.number == 0 and wave0.kind == "landing-zone"
    assert set(wave0.assets) == hubs
    assert "fs01" not in hubs, "a busy file server is not shared infrastructure (no role ports)"


def test_move_groups_are_the_applications(council: Plan) -> None:
    group_of = council.groups.group_of
    assert group_of["rb-app01"] == group_of["rb-web01"] == group_of["sql01"], (
        "sql01 is used only by Revenues and Benefits, so its database moves with it"
    )
    assert group_of["sc-app01"] == group_of["sql02"], (
        "sql02 serves social care (two links) more than the intranet (one): it follows social care"
    )
    assert group_of["fs01"] not in {
        group_of["rb-app01"],
        group_of["sc-app01"],
        group_of["gis01"],
    }, "fs01 is shared by three applications: it is a group of its own"
    assert "shared service" in council.groups.group(group_of["fs01"]).reason
    assert group_of["pl-test01"] != group_of["pl-web01"], "the test copy is its own application"
    assert len({group_of[a] for a in ("rb-app01", "sc-app01", "pl-app01", "web01")}) == 4, (
        "DNS and LDAP links to the domain controllers do not glue applications together"
    )


def test_waves_respect_dependencies_pilot_and_freezes(council: Plan, settings: Settings) -> None:
    wave = {a.asset_id: a.wave for a in council.assets}
    pilot = council.waves[1].wave
    assert pilot.kind == "pilot" and set(pilot.assets) == {"dev-web01", "dev-app01"}, (
        "the pilot is the small, loosely coupled dev website"
    )
    assert wave["fs01"] <= min(wave["rb-app01"], wave["sc-app01"], wave["gis01"]), (
        "the applications hard-depend on the file share (SMB): it moves first or with them"
    )
    assert wave["sql02"] <= wave["intranet01"], "the intranet needs the social care database"
    for host, guests in (
        ("esx01", ["rb-app01", "sc-app01", "ex01", "web01"]),
        ("esx03", ["pl-db01", "intranet01", "dev-web01", "old-app01"]),
    ):
        assert wave[host] >= max(wave[g] for g in guests), f"{host} retires after its guests"
    for item in ("core-sw01", "fw01", "ups01", "prn01"):
        assert wave[item] is None, f"{item} stays on site: it is in no wave"
    windows: tuple[FreezeWindow, ...] = settings.waves.freeze_windows
    for outcome in council.waves:
        w = outcome.wave
        for fw in windows:
            for start, end in fw.spans(w.start.year - 1, w.end.year):
                assert w.end < start or w.start > end, f"wave {w.number} overlaps {fw.name}"
    production = [o.wave for o in council.waves if o.wave.kind == "prod"]
    assert production, "production waves follow"
    assert all(w.start > pilot.end for w in production), "dev/test goes first"


def test_costs_and_carbon_per_financial_year(council: Plan) -> None:
    years = council.years
    assert [y.label for y in years] == ["2026/27", "2027/28", "2028/29", "2029/30", "2030/31"]
    assert all(y.start.month == 4 and y.start.day == 1 for y in years), "UK FY starts in April"
    last = years[-1]
    assert last.plan_kgco2e < last.baseline_kgco2e, (
        "once the ESXi hosts and physical servers are gone, carbon falls: cloud energy per VM "
        "is far below an on-premise box at PUE 1.8"
    )
    assert sum(y.capital_avoided for y in years) > 0, (
        "the hosts made in 2016 would be refreshed in 2031 (every 5 years); they are retired "
        "first, so that capital is avoided"
    )
    assert any(y.migration_cost > 0 for y in years), "migration work is costed"
    sql01 = council.asset("sql01").cost
    assert sql01.cloud_size is not None and sql01.cloud_compute > 0
    assert any("right-sized" in e for e in sql01.evidence), "the size choice is explained"
