"""Network OS, firmware and hardware verdicts from the shipped catalogue, rules and hardware file.

Each row below was checked by hand against the source it names (the catalogue entry's source, the
endoflife.date snapshot of 2026-08-22 under the shared lifecycle folder, the endoflife.date
product files it quotes, or the vendor notice in hardware.yaml), as of the fixed day ``TODAY``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from planner import (
    AssetInput,
    Estate,
    HardwareOverrides,
    Lifecycle,
    MatchingRules,
    Settings,
    SettingsError,
    assess_support,
    catalogue_from_mapping,
)
from planner.errors import LifecycleDataError
from planner.support import AssetSupport
from tests.planner.conftest import load_yaml

TODAY = date(2026, 11, 1)

# (os_name, os_version, device class, vendor, model) ->
#     (product, cycle, status, the day support ends or ended (None: not published), source)
OS_ROWS: list[tuple[tuple[str, str, str, str, str], tuple[str, str, str, str | None, str]]] = [
    # classic IOS 12.x: IOS 15 replaced it from 2010; Cisco retires each train (12.0 T: 2010)
    (("IOS", "12.2(55)SE12", "switch", "Cisco", "WS-C3750G-24TS-S1U"),
     ("cisco-ios", "12.2", "eol", None, "cisco-ios-software-releases-12-0-t")),
    (("IOS", "12.2(58)SE2", "switch", "Cisco", "WS-C2960G-24TC-L"),
     ("cisco-ios", "12.2", "eol", None, "has been retired")),
    (("IOS", "12.4(24)T8", "router", "Cisco", "CISCO2811"),
     ("cisco-ios", "12.4", "eol", None, "IOS 15 replaced the IOS 12")),
    # Catalyst IOS 15 trains follow the switch: 2960-X to 2027-10-31 (notice c51-744432)
    (("IOS", "15.2(7)E4", "switch", "Cisco", "WS-C2960X-48FPD-L"),
     ("cisco-ios", "15.2e", "supported", "2027-10-31", "eos-eol-notice-c51-744432")),
    (("IOS", "15.2(4)E10", "switch", "Cisco", "WS-C2960X-24PS-L"),
     ("cisco-ios", "15.2e", "supported", "2027-10-31", "214946")),
    # 2960-Plus: last date of support 2026-10-31 (notice c51-744423), the day before TODAY
    (("IOS", "15.2(7)E3", "switch", "Cisco", "WS-C2960+24PC-L"),
     ("cisco-ios", "15.2e", "eol", "2026-10-31", "eos-eol-notice-c51-744423")),
    (("IOS", "15.0(2)SE11", "switch", "Cisco", "WS-C2960S-48FPS-L"),
     ("cisco-ios", "15.0se", "eol", None, "Cisco EoX")),
    # IOS 15 M/T: 15.8(3)M ended 2022-12-14, 15.9(3)M runs to 2029-07-27 (Cisco bulletins)
    (("IOS", "15.4(3)M10", "router", "Cisco", "CISCO2911/K9"),
     ("cisco-ios", "15.4", "eol", None, "15-8-3m-software-release-eol")),
    (("IOS", "15.8(3)M9", "router", "Cisco", "C891F-K9"),
     ("cisco-ios", "15.8", "eol", "2022-12-14", "15-8-3m-software-release-eol")),
    (("IOS", "15.9(3)M7", "router", "Cisco", "C891F-K9"),
     ("cisco-ios", "15.9", "supported", "2029-07-27", "15-9-3-m-software-release-eol")),
    # IOS XE: 16.x before 16.12 by bulletin PB2378701; 16.12 and 17.x from endoflife.date
    (("IOS-XE", "16.9.8", "switch", "Cisco", "WS-C3850-48P"),
     ("cisco-ios-xe", "16.9", "eol", None, "PB2378701")),
    (("IOS-XE", "16.6.10", "switch", "Cisco", "WS-C3650-48PS"),
     ("cisco-ios-xe", "16.6", "eol", None, "PB2378701")),
    (("IOS-XE", "16.12.11", "switch", "Cisco", "C9300-48P"),
     ("cisco-ios-xe", "16.12", "eol", "2023-07-31", "endoflife.date/cisco-ios-xe")),
    (("IOS-XE", "17.9.4a", "switch", "Cisco", "C9300-48P"),
     ("cisco-ios-xe", "17.9", "eol", "2026-07-29", "endoflife.date/cisco-ios-xe")),
    (("IOS-XE", "17.12.4", "switch", "Cisco", "C9300-48P"),
     ("cisco-ios-xe", "17.12", "supported", "2027-07-28", "endoflife.date/cisco-ios-xe")),
    (("IOS-XE", "03.06.10E", "switch", "Cisco", "WS-C3850-24T"),
     ("cisco-ios-xe", "3", "eol", None, "PB726436")),
    # 3.11E is still rebuilt for the Catalyst 4500: it follows the switch, which has no entry
    (("IOS-XE", "03.11.03a.E", "switch", "Cisco", "WS-C4500X-32"),
     ("cisco-ios-xe", "3.11e", "unknown", None, "214946")),
    # NX-OS from endoflife.date's cisco-nx-os file (Cisco bulletins)
    (("NX-OS", "9.3(8)", "switch", "Cisco", "N9K-C93180YC-EX"),
     ("cisco-nx-os", "9.3-nxos", "eol", "2026-04-07", "cisco-nx-os.md")),
    (("NX-OS", "10.4(3)F", "switch", "Cisco", "N9K-C93180YC-FX"),
     ("cisco-nx-os", "10.4-nxos", "supported", "2028-02-29", "cisco-nx-os.md")),
    (("NX-OS", "7.0(3)I7(9)", "switch", "Cisco", "N3K-C3048TP-1GE"),
     ("cisco-nx-os", "7.0-nxos", "unknown", None, "")),
    (("ASA", "8.4(7)", "firewall", "Cisco", "ASA5510"),
     ("cisco-asa", "8", "eol", None, "replaced by the 9.x trains")),
    (("ASA", "9.16(4)", "firewall", "Cisco", "ASA5516"),
     ("cisco-asa", "9.16", "unknown", None, "")),
    # FortiOS before 6.0: the Fortinet policy and 6.0's end (2022-09-29, endoflife.date)
    (("FortiOS", "5.4.13", "firewall", "Fortinet", "FortiGate-60D"),
     ("fortios", "5.4", "eol", None, "Fortinet_Life_Cycle_Policy")),
    (("FortiOS", "6.0.17", "firewall", "Fortinet", "FortiGate-100D"),
     ("fortios", "6.0", "eol", "2022-09-29", "endoflife.date/fortios")),
    (("FortiOS", "7.4.4", "firewall", "Fortinet", "FortiGate-100F"),
     ("fortios", "7.4", "supported", "2028-11-11", "endoflife.date/fortios")),
    (("PAN-OS", "8.1.26", "firewall", "Palo Alto Networks", "PA-220"),
     ("pan-os", "8.1", "eol", "2022-03-01", "endoflife.date/pan-os")),
    (("PAN-OS", "11.1.4-h7", "firewall", "Palo Alto Networks", "PA-440"),
     ("pan-os", "11.1", "supported", "2027-05-03", "endoflife.date/pan-os")),
    # ArubaOS 8.6: released before 8.7.0.0 (shipping in 2021), LSRs last 5 years at most
    (("ArubaOS", "8.6.0.21 (86497)", "wireless", "Aruba", "Aruba7210"),
     ("arubaos", "8.6", "eol", None, "ARUBA-PSA-2021-007")),
    # AOS-CX 10.10: a Long Supported Release (5 years from first release, Aruba policy); the LSR
    # label and 2022 release come from a third-party table, marked unverified in the source
    (("ArubaOS-CX", "FL.10.10.1080", "switch", "Aruba", "6300M 24G CL4 PoE 4SFP56 Swch"),
     ("aos-cx", "10.10", "supported", None, "arubaos-software-release")),
    (("ArubaOS-CX", "FL.10.13.1040", "switch", "Aruba", "6300M 24G CL4 PoE 4SFP56 Swch"),
     ("aos-cx", "10.13", "unknown", None, "")),
    # AXIS OS: only the latest build of a track is supported; 9.80.3.12 was scheduled for May/June
    # 2022 (AXIS OS portal), so earlier LTS 2020 builds are superseded; the track's end is not known
    (("AXIS OS", "9.80.3.8", "camera", "Axis", "AXIS P1448-LE"),
     ("axis-os", "9.80-superseded", "eol", None, "Only the latest AXIS OS version in each track")),
    (("AXIS OS", "9.80.1.2", "camera", "Axis", "AXIS P1448-LE"),
     ("axis-os", "9.80-superseded", "eol", None, "9.80.3.12")),
    (("AXIS OS", "9.80.3.12", "camera", "Axis", "AXIS P1448-LE"),
     ("axis-os", "9.80", "unknown", None, "")),
    (("AXIS OS", "11.11.120", "camera", "Axis", "AXIS P1448-LE"),
     ("axis-os", "11.11", "unknown", None, "")),
    (("APC AOS", "5.1.7", "ups", "APC", "Smart-UPS 1500"),
     ("apc-aos", "5", "eol", None, "Network Management Card 2")),
    # BMC firmware follows its server: PowerEdge 11G and ProLiant Gen8 are past support
    (("iDRAC", "2.92", "bmc", "Dell", "PowerEdge R710"),
     ("dell-idrac", "idrac", "eol", None, "11th-generation PowerEdge")),
    # iDRAC7/8 firmware 2.x: past Dell's end of software maintenance (February 2024, KB 000178044)
    (("iDRAC", "2.83.83.83", "bmc", "Dell", "PowerEdge R730"),
     ("dell-idrac", "idrac7-8", "eol", None, "000178044")),
    (("iDRAC", "2.86.86.86", "bmc", "Dell", "PowerEdge R630"),
     ("dell-idrac", "idrac7-8", "eol", None, "End of Software Maintenance as of February 2024")),
    # iDRAC9 follows its server: 14th generation maintained until 2027-02-01 (KB 000178016);
    # the 15th generation has no entry
    (("iDRAC", "4.40.10.00", "bmc", "Dell", "PowerEdge R740"),
     ("dell-idrac", "idrac9", "supported", None, "000178016")),
    (("iDRAC", "7.00.00.185", "bmc", "Dell", "PowerEdge R640"),
     ("dell-idrac", "idrac9", "supported", None, "February 01, 2027")),
    (("iDRAC", "7.10.70.00", "bmc", "Dell", "PowerEdge R750"),
     ("dell-idrac", "idrac9", "unknown", None, "")),
    (("iLO 4", "2.82", "bmc", "HPE", "ProLiant DL380p Gen8"),
     ("hpe-ilo", "ilo-4", "eol", None, "end-of-service-life")),
    (("iLO 4", "2.55", "bmc", "HPE", "ProLiant DL360 Gen9"),
     ("hpe-ilo", "ilo-4", "unknown", None, "")),
    # ONTAP: snapshot from 9.9.1 (end of full support); older releases ended before 9.9.1
    (("ONTAP", "9.7P22", "storage", "NetApp", "FAS2650"),
     ("netapp-ontap", "9.7", "eol", None, "version-support")),
    (("ONTAP", "9.13.1P6", "storage", "NetApp", "AFF-A250"),
     ("netapp-ontap", "9.13.1", "eol", "2026-06-30", "endoflife.date/netapp-ontap")),
    (("ONTAP", "9.15.1", "storage", "NetApp", "AFF-A250"),
     ("netapp-ontap", "9.15.1", "supported", "2027-07-31", "endoflife.date/netapp-ontap")),
    # Synology DSM from endoflife.date's synology-dsm file (Synology life cycle policy)
    (("DSM", "6.2.4-25556", "storage", "Synology", "DS918+"),
     ("synology-dsm", "6.2", "eol", "2024-09-30", "Software_Life_Cycle_Policy")),
    (("DSM", "7.2.1-69057 Update 5", "storage", "Synology", "DS920+"),
     ("synology-dsm", "7.2", "eol", "2025-12-31", "synology-dsm.md")),
    (("DSM", "7.3.2-86009", "storage", "Synology", "DS925+"),
     ("synology-dsm", "7.3", "supported", "2028-10-31", "synology-dsm.md")),
    (("BIG-IP", "11.5.10", "appliance", "F5", "BIG-IP i4800"),
     ("big-ip", "11.5", "eol", "2020-04-08", "endoflife.date/big-ip")),
    (("BIG-IP", "17.1.3", "appliance", "F5", "BIG-IP i4800"),
     ("big-ip", "17.1", "supported", "2027-03-31", "endoflife.date/big-ip")),
    (("Gaia", "R80.20", "firewall", "Check Point", "Check Point 5600"),
     ("checkpoint-gaia", "r80.20", "eol", None, "support-life-cycle-policy")),
    (("Gaia", "R81.20", "firewall", "Check Point", "Check Point 6600"),
     ("checkpoint-gaia", "r81.20", "unknown", None, "")),
    (("ESXi", "6.7.0 build-17700523", "hypervisor", "Dell", "PowerEdge R730"),
     ("vmware-esxi", "6.7", "eol", "2022-10-15", "endoflife.date/vmware-esxi")),
    (("ESXi", "8.0.3 build-24022510", "hypervisor", "Dell", "PowerEdge R750"),
     ("vmware-esxi", "8.0", "supported", "2027-10-11", "endoflife.date/vmware-esxi")),
    (("VMware vCenter Server", "7.0.3", "server", "VMware", "VMware Virtual Platform"),
     ("vmware-vcenter", "7.0", "eol", "2025-10-02", "endoflife.date/vmware-vcenter")),
    (("Nutanix AOS", "6.5.6.7", "hypervisor", "Nutanix", "NX-3170-G7"),
     ("nutanix-aos", "6.5", "eol", "2025-06-30", "endoflife.date/nutanix-aos")),
    (("Nutanix AOS", "7.3.1.14", "hypervisor", "Nutanix", "NX-3170-G8"),
     ("nutanix-aos", "7.3", "supported", "2027-06-30", "endoflife.date/nutanix-aos")),
    (("XCP-ng", "8.2.1", "hypervisor", "Dell", "PowerEdge R740"),
     ("xcp-ng", "8.2", "eol", "2025-06-25", "endoflife.date/xcp-ng")),
    (("XCP-ng", "8.3.0", "hypervisor", "Dell", "PowerEdge R760"),
     ("xcp-ng", "8.3", "supported", "2028-11-30", "endoflife.date/xcp-ng")),
    (("Junos", "21.4R3-S5.4", "switch", "Juniper", "EX4300-48T"),
     ("junos", "21.4", "unknown", None, "")),
]  # fmt: skip

# (vendor, model) -> (status, the day support ends or ended (None: not published), source)
HARDWARE_ROWS: list[tuple[tuple[str, str], tuple[str, str | None, str] | None]] = [
    (("Cisco", "WS-C2960X-48FPD-L"), ("supported", "2027-10-31", "eos-eol-notice-c51-744432")),
    (("Cisco", "WS-C2960RX-24PS-L"), ("supported", "2027-10-31", "eos-eol-notice-c51-744432")),
    (("Cisco", "WS-C2960+24PC-L"), ("eol", "2026-10-31", "eos-eol-notice-c51-744423")),
    (("Cisco", "WS-C3850-48P"), ("eol", "2025-10-31", "eos-eol-notice-c51-743072")),
    (("Cisco", "WS-C3850-24XS-E"), None),  # the fibre 3850s are not in the notice
    (("Cisco", "WS-C3750G-24TS-S1U"), ("eol", None, "Cisco EoX")),
    (("Cisco", "WS-C2960G-24TC-L"), ("eol", None, "Cisco EoX")),
    (("Cisco", "CISCO2911/K9"), ("eol", None, "ISR G2")),
    (("Cisco", "ISR4331/K9"), ("supported", "2028-11-30", "select-isr4k-series-platform-eol")),
    (("Cisco", "N9K-C93180YC-EX"), ("supported", "2027-08-31", "n9k-c93180yc-c93108tc-ex-eol")),
    (("Cisco", "N9K-C9364C"), ("supported", "2029-01-31", "nexus-9332c-9364c")),
    (("Cisco", "C9200L-48P-4G-E"), ("supported", None, "no end of sale or end of support")),
    (("Cisco", "ASA5510"), ("eol", None, "ASA 5500 Series")),
    (("HPE", "ProLiant DL380p Gen8"), ("eol", None, "end-of-service-life")),
    (("HP", "ProLiant DL380 G7"), ("eol", None, "end-of-service-life")),
    (("HPE", "ProLiant DL360 Gen9"), None),
    (("Dell Inc.", "PowerEdge R710"), ("eol", None, "11th-generation")),
    (("Dell Inc.", "PowerEdge R730"), None),  # Dell gives standalone PowerEdge models no EOSL
    (("Dell Inc.", "PowerEdge R740"), ("supported", None, "000178016")),
    (("Dell Inc.", "PowerEdge R740xd"), ("supported", None, "iDRAC9")),
    (("Dell Inc.", "PowerEdge R750"), None),
    (("HPE", "PowerEdge R740"), None),  # a Dell entry needs a Dell vendor
    (("Juniper Networks", "EX4200-48T"), ("eol", None, "support.juniper.net")),
    (("NetApp", "FAS2240-2"), ("eol", None, "Hardware Universe")),
    (("NetApp", "FAS2650"), None),
    (("Fortinet", "WS-C2960X-48FPD-L"), None),  # a Cisco entry needs a Cisco vendor
]


@pytest.fixture(scope="module")
def catalogue() -> Lifecycle:
    return catalogue_from_mapping(load_yaml("lifecycle", "catalogue.yaml"))


@pytest.fixture(scope="module")
def rules() -> MatchingRules:
    return MatchingRules.from_mapping(load_yaml("lifecycle", "matching.yaml"))


@pytest.fixture(scope="module")
def hardware() -> HardwareOverrides:
    return HardwareOverrides.from_mapping(load_yaml("lifecycle", "hardware.yaml"))


def judge(
    asset: AssetInput, catalogue: Lifecycle, rules: MatchingRules, hardware: HardwareOverrides
) -> AssetSupport:
    (found,) = assess_support(Estate((asset,)), catalogue, rules, TODAY, hardware)
    return found


def test_the_table_is_big_enough() -> None:
    assert len(OS_ROWS) + len(HARDWARE_ROWS) >= 40
    assert len({row[1][0] for row in OS_ROWS}) >= 15, "products from many vendors"


@pytest.mark.parametrize(("given", "expected"), OS_ROWS, ids=[f"{g[0]} {g[1]}" for g, _ in OS_ROWS])
def test_os_and_firmware_verdicts(
    given: tuple[str, str, str, str, str],
    expected: tuple[str, str, str, str | None, str],
    catalogue: Lifecycle,
    rules: MatchingRules,
    hardware: HardwareOverrides,
) -> None:
    name, version, klass, vendor, model = given
    product, cycle, status, ends, source = expected
    asset = AssetInput(
        "a", os_name=name, os_version=version, device_class=klass, vendor=vendor, model=model
    )
    comp = judge(asset, catalogue, rules, hardware).component("os")
    assert comp is not None
    assert (comp.product, comp.cycle, comp.status) == (product, cycle, status), comp.evidence
    assert (comp.ends.isoformat() if comp.ends else None) == ends, comp.evidence
    if status == "unknown":
        assert comp.why, "an unknown says why"
        assert source in (comp.source or comp.evidence)
    else:
        assert comp.source and source in comp.source, comp.source


@pytest.mark.parametrize(
    ("given", "expected"), HARDWARE_ROWS, ids=[f"{g[0]} {g[1]}" for g, _ in HARDWARE_ROWS]
)
def test_hardware_verdicts(
    given: tuple[str, str],
    expected: tuple[str, str | None, str] | None,
    catalogue: Lifecycle,
    rules: MatchingRules,
    hardware: HardwareOverrides,
) -> None:
    vendor, model = given
    found = judge(AssetInput("h", vendor=vendor, model=model), catalogue, rules, hardware)
    comp = found.component("hardware")
    if expected is None:
        assert comp is None, comp
        return
    status, ends, source = expected
    assert comp is not None and comp.status == status, comp
    assert (comp.ends.isoformat() if comp.ends else None) == ends, comp.evidence
    assert comp.source and source in comp.source, comp.source
    assert found.status == status, "the hardware alone gives the asset a verdict"


def test_fourteenth_generation_poweredge_keeps_its_maintenance_day(
    catalogue: Lifecycle, rules: MatchingRules, hardware: HardwareOverrides
) -> None:
    """Dell's 14th generation: supported, the end of iDRAC9 software maintenance kept beside it,
    and the source says it was read through a third party."""
    found = judge(
        AssetInput("r", vendor="Dell", model="PowerEdge R740"), catalogue, rules, hardware
    )
    assert found.hardware is not None and found.status == "supported"
    assert found.hardware.end_of_sw_maintenance == date(2027, 2, 1)
    assert found.hardware.end_of_support is None, "no end-of-service-life date is invented"
    assert "verified: false" in found.hardware.source


def test_hardware_and_os_are_shown_apart(
    catalogue: Lifecycle, rules: MatchingRules, hardware: HardwareOverrides
) -> None:
    """A supported switch running an end-of-life OS: both verdicts, the asset takes the worst."""
    asset = AssetInput(
        "sw",
        os_name="IOS-XE",
        os_version="16.12.11",
        device_class="switch",
        vendor="Cisco",
        model="N9K-C93180YC-EX",
    )
    found = judge(asset, catalogue, rules, hardware)
    os_comp, hw = found.component("os"), found.component("hardware")
    assert os_comp is not None and hw is not None
    assert (os_comp.status, hw.status, found.status) == ("eol", "supported", "eol")
    two = judge(
        AssetInput(
            "x",
            os_name="IOS",
            os_version="15.2(7)E4",
            device_class="switch",
            vendor="Cisco",
            model="WS-C2960X-48FPD-L",
        ),
        catalogue,
        rules,
        hardware,
    ).component("hardware")
    assert two is not None
    assert "end of sale 2022-10-31" in two.evidence
    assert "software maintenance ended 2023-10-31 (security fixes only)" in two.evidence


def test_local_entries_win_over_the_shipped_ones(
    mappings: dict[str, Any], catalogue: Lifecycle, rules: MatchingRules
) -> None:
    user = {
        "hardware": {
            "local": [
                {
                    "model": "WS-C2960X-48FPD-L",
                    "status": "eol",
                    "source": "site: the switch is out of its support contract",
                },
                {"serial": "FOC1911X0AB", "warranty_until": "2025-03-31", "source": "register"},
            ]
        }
    }
    settings = Settings.from_layers([("shipped", mappings), ("site.yaml", user)])
    site = settings.hardware
    mine = judge(
        AssetInput("a", vendor="Cisco", model="WS-C2960X-48FPD-L", serial="FOC1911X0AB"),
        catalogue,
        rules,
        site,
    )
    assert mine.hardware is not None
    assert mine.status == "eol" and mine.hardware.source.startswith("register; site:")
    assert mine.hardware.warranty_until == date(2025, 3, 31)
    assert mine.hardware.end_of_sale == date(2022, 10, 31), "shipped fields still fill in"
    other = judge(AssetInput("b", vendor="Cisco", model="WS-C2960X-24PS-L"), catalogue, rules, site)
    assert other.status == "supported", "the shipped list is still there"


def test_bad_hardware_entries_are_named(mappings: dict[str, Any]) -> None:
    data = dict(mappings)
    data["hardware"] = {
        "hardware": [
            {"model": "X*", "status": "retired", "source": "s"},
            {"model": "Y*", "status": "supported", "end_of_support": "2027-01-01"},
        ]
    }
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(data)
    text = str(info.value)
    assert "hardware.hardware[0].status" in text and "eol" in text
    assert "hardware.hardware[1]" in text and "drop 'status'" in text


def test_follows_hardware_takes_no_dates_of_its_own() -> None:
    bad = {
        "products": {
            "x": {
                "source": "s",
                "releases": [
                    {"cycle": "1", "follows_hardware": True, "security_until": "2030-01-01"},
                    {"cycle": "2", "follows_hardware": "yes"},
                ],
            }
        }
    }
    with pytest.raises(LifecycleDataError) as info:
        catalogue_from_mapping(bad)
    text = str(info.value)
    assert "releases[0]: follows_hardware takes its dates from hardware.yaml" in text
    assert "releases[1].follows_hardware: must be true or false" in text


def test_every_catalogue_only_release_is_a_status_or_follows_hardware(
    catalogue: Lifecycle,
) -> None:
    """No invented dates: a release with no date is eol (with why) or follows its hardware."""
    for product in catalogue.products:
        for rel in product.releases:
            if rel.security_until is None:
                assert rel.eol_flag is not None or rel.follows_hardware, (product.name, rel.cycle)
                assert rel.source, (product.name, rel.cycle)
