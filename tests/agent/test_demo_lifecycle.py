"""Lifecycle coverage of the demo estate: the share of assets with a support verdict.

The demo recordings are parsed by the shipped SNMP identification rules, saved as a poll would
save them, and read back as the planner's estate; the shipped matching rules, catalogue and
hardware file then judge every asset as of a fixed day. Every verdict other than unknown must
name the source of its facts.

The goal set for this coverage is 95% of assets. What is still unknown is reported by the test
(run with ``-s``): each is a device whose vendor dates or status could not be found in a named
source (HPE ProLiant Gen9 servers behind their iLO 4, the HP and Ricoh printers, the Eaton UPSs
and the APC card on AOS 6.x). Such a gap closes by adding the vendor's date, with its source, to
``config/lifecycle/hardware.yaml`` (``local:`` for a site's own) or to the catalogue; guessing a
date would close it dishonestly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import planner
from agent.bridge.plan_runs import estate_from_store, load_lifecycle, load_planner_settings
from agent.store import Store
from collectors.snmp.identify import load_rules
from collectors.snmp.parse import parse
from simulator import estate as demo
from tests.snmprec import load

TODAY = date(2026, 11, 1)
FLOOR = 0.83  # measured (46 of 55): the share must not fall back below what the shipped data gives


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[planner.AssetInput, object]]:
    rules = load_rules()
    path: Path = tmp_path_factory.mktemp("lifecycle") / "cw.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        for dev in demo.load_estate().devices:
            if dev.record:
                raw = load(demo.recordings_dir() / f"{dev.name}.snmprec")
                store.save_facts(parse(raw, target=dev.name, address=dev.address, rules=rules))
        estate = estate_from_store(store)
    finally:
        store.close()
    settings = load_planner_settings()
    support = planner.assess_support(
        estate, load_lifecycle(), settings.matching, TODAY, settings.hardware
    )
    by_id = {s.asset_id: s for s in support}
    return [(a, by_id[a.id]) for a in estate.assets if not a.external]


def test_share_of_assets_with_a_verdict(
    judged: list[tuple[planner.AssetInput, planner.AssetSupport]],
) -> None:
    known = [(a, s) for a, s in judged if s.status != "unknown"]
    share = len(known) / len(judged)
    print(f"\ndemo estate lifecycle verdicts: {len(known)} of {len(judged)} assets ({share:.0%})")
    for asset, sup in judged:
        if sup.status == "unknown":
            print(f"  unknown: {asset.name} ({asset.vendor} {asset.model}): {sup.why}")
    assert len(judged) >= 50, "the demo estate is all there"
    assert share >= FLOOR, f"{share:.0%} of the demo estate has a verdict (at least {FLOOR:.0%})"


def test_every_verdict_names_its_source(
    judged: list[tuple[planner.AssetInput, planner.AssetSupport]],
) -> None:
    for asset, sup in judged:
        if sup.status == "unknown":
            assert sup.why, f"{asset.name}: an unknown says why"
            continue
        deciding = [c for c in sup.components if c.verdict == sup.verdict]
        assert deciding, f"{asset.name}: the verdict comes from a component"
        for comp in deciding:
            assert comp.source, f"{asset.name}: {comp.component} {comp.subject!r} has no source"


def test_network_devices_of_the_demo_are_judged(
    judged: list[tuple[planner.AssetInput, planner.AssetSupport]],
) -> None:
    """The classic IOS switches, the ISR, the WLC, the NAS and the array the issue named; the
    camera, the AOS-CX switch and the iDRACs."""
    status = {a.name: s for a, s in judged}
    expected = {
        "th-acc-sw01": ("supported", "cisco-ios", "15.2e"),  # 2960-X to 2027-10-31
        "dp-sw01": ("supported", "cisco-ios", "15.2e"),
        "th-acc-sw02": ("eol", "cisco-ios", "12.2"),  # 3750G
        "dp-sw02": ("eol", "cisco-ios", "12.2"),  # 2960G
        "lib-rtr01": ("eol", "cisco-ios", "15.4"),  # ISR 2911
        "th-wlc01": ("eol", "arubaos", "8.6"),
        "th-san01": ("eol", "netapp-ontap", "9.7"),
        "dp-nas01": ("eol", "synology-dsm", "6.2"),
        "th-dist-sw01": ("eol", "cisco-ios-xe", "16.9"),  # and a 3850 past 2025-10-31
        "dp-cam01": ("eol", "axis-os", "9.80-superseded"),  # not the latest LTS 2020 build
        "lib-sw01": ("supported", "aos-cx", "10.10"),  # a Long Supported Release
        "th-idrac01": ("eol", "dell-idrac", "idrac7-8"),  # iDRAC8 maintenance ended 2024
        "th-idrac03": ("supported", "dell-idrac", "idrac9"),  # R740: iDRAC9 to 2027-02-01
    }
    for name, (verdict, product, cycle) in expected.items():
        sup = status[name]
        os_comp = sup.component("os")
        assert os_comp is not None and (os_comp.product, os_comp.cycle) == (product, cycle), name
        assert sup.status == verdict, f"{name}: {[c.evidence for c in sup.components]}"
    switch = status["th-dist-sw01"].component("hardware")
    assert switch is not None and switch.ends == date(2025, 10, 31)
