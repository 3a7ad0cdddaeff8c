"""Lifecycle gaps: what has no lifecycle data, by how many assets it touches."""

from __future__ import annotations

from datetime import date
from typing import Any

from planner import (
    AssetInput,
    Estate,
    Lifecycle,
    MatchingRules,
    assess_support,
    lifecycle_gaps,
)
from tests.planner.conftest import TODAY, load_yaml
from tests.planner.test_packages import dpkg_packages


def gaps_of(
    assets: list[AssetInput], catalogue: Lifecycle, today: date = TODAY
) -> list[dict[str, Any]]:
    rules = MatchingRules.from_mapping(load_yaml("lifecycle", "matching.yaml"))
    estate = Estate(tuple(assets))
    found = lifecycle_gaps(estate, assess_support(estate, catalogue, rules, today), rules)
    return [
        {
            "kind": g.kind,
            "subject": g.subject,
            "assets": g.assets,
            "reason": g.reason,
            "examples": g.examples,
            "versions": g.versions,
        }
        for g in found
    ]


def test_gaps_are_counted_by_assets_most_first(catalogue: Lifecycle) -> None:
    assets = [
        *(
            AssetInput(
                f"sw{i}",
                name=f"sw{i}",
                os_name="OS/2 Warp",
                os_version="4",
                device_class="switch",
                vendor="Cisco",
                model="WS-C2960X-48FPD-L",
            )
            for i in range(3)
        ),
        AssetInput("w2k", name="w2k", os_name="Windows 2000", device_class="server"),
        AssetInput("u", name="u", os_name="Ubuntu", os_version="4.10", device_class="server"),
        AssetInput(
            "db1",
            name="db1",
            os_name="Debian",
            os_version="12",
            device_class="server",
            vendor="Dell Inc.",
            model="PowerEdge R740",
            software=dpkg_packages(),
        ),
        AssetInput(
            "vm",
            name="vm",
            os_name="Debian",
            os_version="12",
            model="VMware7,1",
            virtual=True,
            software=(("openssh-server", "1:9.2p1-2+deb12u10"),),
        ),
        AssetInput("ext", external=True, os_name="Plan 9"),
    ]
    gaps = gaps_of(assets, catalogue)
    assert gaps[0]["assets"] == 3 and gaps[0]["kind"] == "os"
    assert gaps[0]["subject"] == "os/2 warp 4" and gaps[0]["examples"] == ("sw0", "sw1", "sw2")
    assert "no lifecycle rule reads this text" in gaps[0]["reason"]
    assert gaps[1]["assets"] == 3 and gaps[1]["kind"] == "hardware"
    assert gaps[1]["subject"] == "Cisco WS-C2960X-48FPD-L"
    counts = [g["assets"] for g in gaps]
    assert counts == sorted(counts, reverse=True), "most assets first"
    by_subject = {g["subject"]: g for g in gaps}
    ssh = by_subject["openssh-server"]
    assert (ssh["kind"], ssh["assets"]) == ("software", 2), "a notable package no rule names"
    assert ssh["versions"] == ("1:9.2p1-2+deb12u10",)
    assert "looks like windows-server" in by_subject["windows 2000"]["reason"]
    assert by_subject["ubuntu 4.10"]["reason"].startswith("not in the lifecycle data")
    assert "Dell Inc. PowerEdge R740" in by_subject
    for helper in ("postgresql-common", "mysql-common", "mariadb-client", "libmariadb3"):
        assert helper not in by_subject, "a helper package is never a gap"
    for product in ("postgresql-15", "mariadb-server", "redis-server", "postgresql"):
        assert product not in by_subject, "matched products are no gap"
    assert not any(g["subject"].startswith("plan 9") for g in gaps), "externals are not ours"
    assert not any("VMware7,1" in g["subject"] for g in gaps), "a VM has no hardware of its own"


def test_a_product_without_a_readable_version_is_a_gap(catalogue: Lifecycle) -> None:
    gaps = gaps_of(
        [
            AssetInput(
                "w", os_name="Windows", os_version="Server 2019", software=(("mssql-server", None),)
            )
        ],
        catalogue,
    )
    assert [(g["kind"], g["subject"]) for g in gaps] == [("software", "mssqlserver")]
    assert "no release could be read" in gaps[0]["reason"]
