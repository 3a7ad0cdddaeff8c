"""Matching rules tolerate the spellings the collectors and imports produce."""

from __future__ import annotations

from typing import Any

import pytest

from planner import Lifecycle, MatchingRules, Settings, SettingsError
from tests.planner.conftest import load_yaml

OS_CASES = [
    # (os_name, os_version, firmware, device class) -> (product, cycle)
    (("Windows", "Server 2012 R2", None, "server"), ("windows-server", "2012-r2")),
    (("Windows", "6.3.9600", None, "server"), ("windows-server", "2012-r2")),
    (
        ("Microsoft Windows Server 2012 R2 Standard", None, None, "server"),
        ("windows-server", "2012-r2"),
    ),
    (
        ("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601", None, "server"),
        ("windows-server", "2008-r2-sp1"),
    ),
    (("Windows", "10.0.17763", None, "server"), ("windows-server", "2019")),
    (("Windows", "10.0.19045", None, "endpoint"), ("windows", "10-22h2")),
    (("Windows 10 Enterprise", "10.0.19045", None, "endpoint"), ("windows", "10-22h2")),
    (("Red Hat Enterprise Linux", "7.9", None, "server"), ("rhel", "7")),
    (("RHEL", "6.10", None, "server"), ("rhel", "6")),
    (("Red Hat Enterprise Linux Server release 7.9 (Maipo)", None, None, "server"), ("rhel", "7")),
    (("Ubuntu", "18.04", None, "server"), ("ubuntu", "18.04")),
    (("Ubuntu", "18.04.6 LTS", None, "server"), ("ubuntu", "18.04")),
    (("CentOS Linux", "7.9.2009", None, "server"), ("centos", "7")),
    (("Debian GNU/Linux 11 (bullseye)", None, None, "server"), ("debian", "11")),
    (("ESXi", "6.7.0", None, "hypervisor"), ("vmware-esxi", "6.7")),
    (("VMware ESXi", "6.7.0 build-14320388", None, "hypervisor"), ("vmware-esxi", "6.7")),
    (("IOS-XE", "16.9.4", None, "switch"), ("cisco-ios-xe", "16.9")),
    (("IOS-XE", "16.09.04", None, "switch"), ("cisco-ios-xe", "16.9")),
    (("Cisco IOS XE Software", "17.03.04a", None, "router"), ("cisco-ios-xe", "17.3")),
    (("FortiOS", "6.4.9", None, "firewall"), ("fortios", "6.4")),
    ((None, None, "FortiOS v6.4.9,build1966", "firewall"), ("fortios", "6.4")),
    (("PAN-OS", "10.1.6", None, "firewall"), ("pan-os", "10.1")),
    (("SUSE Linux Enterprise Server", "15 SP4", None, "server"), ("sles", "15.4")),
    (("AXIS OS", "9.80.3.8", None, "camera"), ("axis-os", "9.80-superseded")),
    (("iDRAC", "2.83.83.83", None, "bmc"), ("dell-idrac", "idrac7-8")),
    (("iDRAC", "4.40.10.00", None, "bmc"), ("dell-idrac", "idrac9")),
    (("iDRAC", "2.92", None, "bmc"), ("dell-idrac", "idrac")),
]
SOFTWARE_CASES = [
    (("Microsoft SQL Server 2014 (64-bit)", "12.0.6024.0"), ("mssqlserver", "12.0-sp3")),
    (("mssql-server", "15.0.4153.1"), ("mssqlserver", "15.0")),
    (("Microsoft Exchange Server 2016", "15.1.2507.6"), ("msexchange", "2016")),
    (("postgresql-12", "12.17-1"), ("postgresql", "12")),
    (("postgresql", "9.6.24"), ("postgresql", "9.6")),
    (("mysql-server", "5.7.42"), ("mysql", "5.7")),
    (("tomcat9", "9.0.31"), ("tomcat", "9.0")),
    (("php7.4", "7.4.3"), ("php", "7.4")),
    (("httpd", "2.4.6"), ("apache-http-server", "2.4")),
]


@pytest.fixture(scope="module")
def rules() -> MatchingRules:
    return MatchingRules.from_mapping(load_yaml("lifecycle", "matching.yaml"))


@pytest.mark.parametrize(("given", "want"), OS_CASES)
def test_os_spellings(rules: MatchingRules, given: tuple[Any, ...], want: tuple[str, str]) -> None:
    found = rules.match_os(*given)
    assert found is not None and (found.product, found.cycle) == want


@pytest.mark.parametrize(("given", "want"), SOFTWARE_CASES)
def test_software_spellings(
    rules: MatchingRules, given: tuple[str, str], want: tuple[str, str]
) -> None:
    found = rules.match_software(*given)
    assert found is not None and (found.product, found.cycle) == want


def test_unknowns_stay_unknown(rules: MatchingRules) -> None:
    assert rules.match_os(None, "INV: 02.14.0026", None, "ups") is None, "no Eaton UPS rule"
    assert rules.match_os(None, None, "15.2(7r)E", "switch") is None, "a boot loader names no OS"
    assert rules.match("software", "SQL Server Management Studio 18.12") is None, "a tool"
    partial = rules.match_os("Windows 2000", None, None, "server")
    assert partial is not None and partial.cycle is None, "product known, cycle not"


def test_every_rule_product_is_in_the_catalogue(rules: MatchingRules, catalogue: Lifecycle) -> None:
    """Offline, every product the rules can name has facts."""
    missing = [p for p in rules.products() if catalogue.product(p) is None]
    assert not missing


def test_every_matched_cycle_is_in_the_catalogue(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    for given, (product, cycle) in OS_CASES + [((f"{n} {v}",), w) for (n, v), w in SOFTWARE_CASES]:
        prod = catalogue.product(product)
        assert prod is not None and prod.release(cycle) is not None, (given, product, cycle)


def test_bad_rules_list_every_problem(mappings: dict[str, Any]) -> None:
    data = dict(mappings)
    data["matching"] = {
        "rules": [
            {"product": "x", "name": "(", "cycles": [{"pattern": "a", "cycle": "1"}]},
            {
                "product": "y",
                "name": "y",
                "cycles": [{"pattern": "(?P<major>\\d)", "cycle": "{minor}"}],
            },
            {"product": "z", "name": "z", "classes": ["mainframe"], "cycles": []},
        ]
    }
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(data)
    problems = err.value.problems
    assert any("matching.rules[0].name: not a valid regular expression" in p for p in problems)
    assert any("uses minor which the pattern does not capture" in p for p in problems)
    assert any("'mainframe' is not a device class" in p for p in problems)
    assert any("matching.rules[2].cycles: at least one" in p for p in problems)
