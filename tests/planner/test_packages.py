"""Which installed packages are products, on real package inventories, and how long they live.

``tests/data/lifecycle/debian12-dpkg-query.txt`` is ``dpkg-query -W -f='${Package} ${Version}\\n'``
of a Debian 12 machine running PostgreSQL 15, MariaDB 10.11, OpenJDK 17 and Redis 7.0, with their
helper packages (postgresql-common, mysql-common, mariadb-client, libmariadb3...). The Ubuntu,
RHEL and Windows inventories are the SSH collector's golden outputs of recorded machines.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from planner import (
    AssetInput,
    Estate,
    Lifecycle,
    MatchingRules,
    Settings,
    SettingsError,
    assess_support,
    parse_product,
)
from planner.lifecycle import COMMUNITY, EXTENDED, PAID, Release, standing_on
from planner.matching import upstream_version
from planner.support import AssetSupport
from planner.verdicts import ComponentSupport
from tests.planner.conftest import DATA, TODAY, load_yaml

GOLDEN = DATA.parent / "golden" / "ssh"
DPKG = DATA / "lifecycle" / "debian12-dpkg-query.txt"
HELPERS = (
    "postgresql-common",
    "postgresql-client-common",
    "postgresql-client-15",
    "postgresql-contrib",
    "mysql-common",
    "mariadb-common",
    "mariadb-client",
    "mariadb-client-core",
    "libmariadb3",
    "redis-tools",
)


@pytest.fixture(scope="module")
def rules() -> MatchingRules:
    return MatchingRules.from_mapping(load_yaml("lifecycle", "matching.yaml"))


def dpkg_packages() -> tuple[tuple[str, str], ...]:
    rows = []
    for line in DPKG.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition(" ")
        rows.append((name, version))
    return tuple(rows)


def golden(name: str) -> AssetInput:
    data = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return AssetInput(
        name,
        name=name,
        device_class=data["device_class"],
        vendor=data.get("vendor"),
        model=data.get("model"),
        os_name=data.get("os_name"),
        os_version=data.get("os_version"),
        software=tuple((s["name"], s.get("version")) for s in data["software"]),
    )


def assess(
    asset: AssetInput, catalogue: Lifecycle, rules: MatchingRules, today: date = TODAY
) -> AssetSupport:
    return assess_support(Estate((asset,)), catalogue, rules, today)[0]


def software(sup: AssetSupport) -> dict[str, ComponentSupport]:
    return {str(c.product): c for c in sup.components if c.component == "software"}


def test_the_recording_is_a_real_debian_12_inventory() -> None:
    names = {n for n, _ in dpkg_packages()}
    assert len(names) > 500, "a whole machine's packages"
    assert {"postgresql-15", "mariadb-server", "openjdk-17-jre-headless", *HELPERS} <= names


def test_helper_packages_are_never_products(rules: MatchingRules) -> None:
    packages = dict(dpkg_packages())
    for name in HELPERS:
        assert rules.match_software(name, packages[name]) is None, name
    matched = {n for n, v in dpkg_packages() if rules.match_software(n, v) is not None}
    assert matched == {
        "postgresql",  # the metapackage of the default release: the same PostgreSQL 15
        "postgresql-15",
        "mariadb-server",
        "mariadb-server-core",
        "openjdk-17-jdk",
        "openjdk-17-jdk-headless",
        "openjdk-17-jre",
        "openjdk-17-jre-headless",
        "redis-server",
    }


def test_the_version_is_the_products(rules: MatchingRules) -> None:
    packages = dict(dpkg_packages())
    want = {
        "postgresql-15": ("postgresql", "15"),  # from the name, not 15.20-0+deb12u1's 'deb12'
        "mariadb-server": ("mariadb", "10.11"),  # 1:10.11.19-0+deb12u1
        "openjdk-17-jre-headless": ("openjdk-builds-from-oracle", "17"),
        "redis-server": ("redis", "7.0"),  # 5:7.0.15-1~deb12u10
    }
    for name, (product, cycle) in want.items():
        found = rules.match_software(name, packages[name])
        assert found is not None and (found.product, found.cycle) == (product, cycle), name
    assert upstream_version("1:10.11.19-0+deb12u1") == "10.11.19"
    assert upstream_version("248+deb12u2") == "248"
    assert upstream_version("9.6.24-1PGDG.rhel7") == "9.6.24"


def test_debian_built_products_live_as_long_as_debian_12(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    host = AssetInput("db1", os_name="Debian GNU/Linux", os_version="12", software=dpkg_packages())
    sup = assess(host, catalogue, rules)
    comps = software(sup)
    assert set(comps) == {
        "postgresql",
        "mariadb",
        "openjdk-builds-from-oracle",
        "redis",
    }, "one verdict per product release (postgresql and postgresql-15 are one)"
    for product, comp in comps.items():
        assert comp.packaged_by == "debian 12", product
        assert comp.verdict == "extended (community)", product
        assert comp.extended_until == date(2028, 6, 30), f"{product}: Debian 12 LTS ends then"
        assert "software.packaging in matching.yaml" in comp.evidence
        assert "https://wiki.debian.org/LTS" in (comp.source or "")
        assert "endoflife.date/debian" in (comp.source or "")
    pg = comps["postgresql"]
    assert pg.cycle == "15" and pg.evidence.startswith("PostgreSQL 15, built by Debian 12")
    assert pg.subject == "postgresql-15 15.20-0+deb12u1", "the package naming the release is shown"
    assert "free community long-term support" in pg.evidence
    redis = comps["redis"]
    assert redis.status == EXTENDED, "upstream Redis 7.0 ended in 2024; Debian still patches it"
    assert sup.verdict == "extended (community)", "not eol, and not paid"
    os_comp = sup.component("os")
    assert os_comp is not None and os_comp.verdict == sup.verdict


def test_without_the_distribution_marker_upstream_decides(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    sup = assess(
        AssetInput(
            "x",
            os_name="Debian",
            os_version="12",
            software=(
                ("postgresql-15", "15.8-1.pgdg120+1"),  # PGDG's repository
                ("mariadb-server", "1:10.11.8+maria~deb12"),  # MariaDB's repository
                ("redis-server", "7.0.15-1"),  # no marker: cannot tell it is Debian's
            ),
        ),
        catalogue,
        rules,
    )
    comps = software(sup)
    assert all(c.packaged_by is None for c in comps.values())
    assert comps["postgresql"].security_until == date(2027, 11, 11), "upstream PostgreSQL 15"
    assert comps["mariadb"].security_until == date(2028, 2, 16), "upstream MariaDB 10.11"
    assert comps["redis"].status == "eol" and sup.status == "eol", "upstream Redis 7.0"


def test_a_package_left_from_an_older_release_follows_that_release(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    comp = software(
        assess(
            AssetInput(
                "old",
                os_name="Debian",
                os_version="12",
                software=(("postgresql-13", "13.16-0+deb11u1"),),
            ),
            catalogue,
            rules,
        )
    )["postgresql"]
    assert (comp.packaged_by, comp.extended_until) == ("debian 11", date(2026, 8, 31))
    assert comp.status == "eol", "Debian 11 LTS ended 2026-08-31"


def test_ubuntu_inventory(rules: MatchingRules, catalogue: Lifecycle) -> None:
    sup = assess(golden("linux-ubuntu2204-dell"), catalogue, rules)
    comps = software(sup)
    assert set(comps) == {"apache-http-server", "openjdk-builds-from-oracle", "php", "tomcat"}, (
        "mysql-client-8.0 is a client; docker-ce is Docker's own build of no known product"
    )
    for product, comp in comps.items():
        assert comp.packaged_by == "ubuntu 22.04", product  # '1ubuntu4.9': from the OS
        assert comp.verdict == "supported" and comp.ends == date(2027, 4, 1), product
    assert sup.verdict == "supported"


def test_rhel_and_windows_inventories_hold_no_product(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    for name in ("linux-rhel79-hpe", "windows-win2019-hyperv", "windows-win2012r2-single"):
        asset = golden(name)
        assert asset.software, name
        assert [s for s in asset.software if rules.match_software(*s)] == [], name
        assert [c.component for c in assess(asset, catalogue, rules).components] == ["os"]
    rhel = assess(golden("linux-rhel79-hpe"), catalogue, rules)
    assert rhel.verdict == "extended (paid)", "RHEL 7 is on paid ELS to 2029"


def test_rpm_names(rules: MatchingRules, catalogue: Lifecycle) -> None:
    cases = {
        ("postgresql-server", "10.23-4.el8"): ("postgresql", "10"),
        ("postgresql96-server", "9.6.24-1PGDG.rhel7"): ("postgresql", "9.6"),
        ("mariadb-server", "3:10.5.22-1.el9_2"): ("mariadb", "10.5"),
        ("java-1.8.0-openjdk-headless", "1:1.8.0.402.b06-1.el7_9"): (
            "red-hat-build-of-openjdk",
            "8",
        ),
    }
    for given, want in cases.items():
        found = rules.match_software(*given)
        assert found is not None and (found.product, found.cycle) == want, given
    for client in (("postgresql", "10.23-4.el8"), ("mariadb", "3:10.5.22-1.el9_2")):
        assert rules.match_software(*client) is None, f"{client[0]} is the client on RPM"
    sup = assess(
        AssetInput(
            "r",
            os_name="Rocky Linux",
            os_version="9.4",
            software=(
                ("mariadb-server", "3:10.5.22-1.el9_2"),
                ("java-11-openjdk-headless", "1:11.0.25.0.9-1.el9"),
            ),
        ),
        catalogue,
        rules,
    )
    comps = software(sup)
    assert comps["mariadb"].packaged_by == "rocky-linux 9", "the asset's OS of the el family"
    assert comps["mariadb"].verdict == "supported"
    java = comps["red-hat-build-of-openjdk"]
    assert java.packaged_by is None and java.status == "eol", (
        "Red Hat's OpenJDK 11 has its own life cycle (ended 2024-10-31), shorter than RHEL 9's"
    )


def test_sql_server_box_with_its_drivers(rules: MatchingRules, catalogue: Lifecycle) -> None:
    """The demo estate's th-sql03: Windows Server 2019 and SQL Server 2019 with the names its
    installer leaves in Add/Remove Programs."""
    estate = load_yaml("demo", "estate.yaml")
    dev = next(d for d in estate["devices"] if d["name"] == "th-sql03")
    names = [str(s) for s in dev["software"]]
    assert "Microsoft OLE DB Driver for SQL Server" in names
    extra = (
        "Microsoft ODBC Driver 17 for SQL Server",
        "SQL Server Management Studio",
        "Microsoft SQL Server 2012 Native Client",
        "Microsoft System CLR Types for SQL Server 2019",
        "SQL Server 2019 Common Files",
        "Microsoft SQL Server 2019 Setup (English)",
        "Browser for SQL Server 2019",
        "Microsoft VSS Writer for SQL Server 2019",
    )
    for name in (*extra, "Microsoft OLE DB Driver for SQL Server"):
        assert rules.match_software(name, None) is None, name
    sup = assess(
        AssetInput(
            "th-sql03",
            os_name="Windows",
            os_version="Server 2019",
            device_class="server",
            software=tuple((n, None) for n in names + list(extra)),
        ),
        catalogue,
        rules,
    )
    assert [(c.component, c.product, c.cycle) for c in sup.components] == [
        ("os", "windows-server", "2019"),
        ("software", "mssqlserver", "15.0"),
    ]
    assert sup.verdict == "supported"


def test_an_unknown_component_never_outranks_known_ones(
    rules: MatchingRules, catalogue: Lifecycle
) -> None:
    sup = assess(
        AssetInput(
            "w",
            os_name="Windows",
            os_version="Server 2019",
            software=(("mssql-server", None), ("Microsoft SQL Server 2019 (64-bit)", None)),
        ),
        catalogue,
        rules,
    )
    partial = next(c for c in sup.components if c.subject == "mssql-server")
    assert (partial.status, partial.why) == ("unknown", "version not parsed")
    assert sup.verdict == "supported" and sup.why is None


def test_unknown_carries_why(rules: MatchingRules, catalogue: Lifecycle) -> None:
    found = {
        s.asset_id: s
        for s in assess_support(
            Estate(
                (
                    AssetInput("a", os_name="Plan 9", os_version="4"),
                    AssetInput("b", device_class="ups", model="SMT1500RMI2U", vendor="APC"),
                    AssetInput("c", os_name="Ubuntu", os_version="4.10"),
                )
            ),
            catalogue,
            rules,
            TODAY,
        )
    }
    assert all(s.verdict == "unknown" for s in found.values())
    assert found["a"].why == "os 'plan 9 4': no product matched"
    assert found["b"].why is not None and "no OS or firmware reported" in found["b"].why
    assert "hardware model 'SMT1500RMI2U'" in found["b"].why
    assert found["c"].why == "os 'ubuntu 4.10': not in the lifecycle data"


def test_debian_lts_is_community_and_survives_a_sync(catalogue: Lifecycle) -> None:
    debian = catalogue.product("debian")
    assert debian is not None and debian.extended_support == COMMUNITY
    assert catalogue.product("ubuntu").extended_support is None  # type: ignore[union-attr]
    rel = Release("12", "12", security_until=date(2026, 7, 11), extended_until=date(2028, 6, 30))
    lts = standing_on(rel, TODAY, COMMUNITY)
    assert (lts.status, lts.extended, lts.verdict) == (EXTENDED, COMMUNITY, "extended (community)")
    assert "paid" not in lts.phase
    esu = standing_on(rel, TODAY)
    assert (esu.extended, esu.verdict) == (PAID, "extended (paid)")
    synced = parse_product(
        {
            "result": {
                "name": "debian",
                "releases": [{"name": "12", "eolFrom": "2026-07-11", "eoesFrom": "2028-06-30"}],
            }
        }
    )
    assert synced.extended_support is None, "endoflife.date does not say who pays"
    merged = catalogue.merged([synced]).product("debian")
    assert merged is not None and merged.extended_support == COMMUNITY


def test_bad_software_sections_are_refused(mappings: dict[str, Any]) -> None:
    data = dict(mappings)
    data["matching"] = {
        "software": {"not_products": ["("], "packaging": {"distributions": [{"marker": "x"}]}},
        "rules": [
            {"product": "x", "cycles": [{"pattern": "a", "cycle": "1"}]},
            {
                "product": "y",
                "name": "y",
                "package": "y",
                "cycles": [{"pattern": "a", "cycle": "1"}],
            },
            {"product": "z", "package": "z", "cycles": [{"pattern": "a", "cycle": "1"}]},
        ],
    }
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(data)
    problems = "\n".join(err.value.problems)
    assert "matching.software.not_products[0]: not a valid regular expression" in problems
    assert "matching.software.packaging.distributions[0].products" in problems
    assert "matching.rules[0]: needs either 'name'" in problems
    assert "matching.rules[1]: needs either 'name'" in problems
    assert "matching.rules[2]: 'package' is for software rules" in problems
