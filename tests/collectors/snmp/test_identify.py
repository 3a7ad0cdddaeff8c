"""Identification rule families on small hand-written walks (one per family), and vendor_oids."""

from __future__ import annotations

import pytest

from collectors.facts import DEVICE_CLASSES, UNKNOWN
from collectors.snmp.identify import IdentifyRules, identify, load_rules, vendor_oids
from collectors.snmp.values import RawValue, SnmpOid

DESCR = "1.3.6.1.2.1.1.1.0"
OBJECT_ID = "1.3.6.1.2.1.1.2.0"
ENT = "1.3.6.1.2.1.47.1.1.1.1"


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


def system(descr: str, object_id: str, **more: RawValue) -> dict[str, RawValue]:
    raw: dict[str, RawValue] = {DESCR: descr.encode(), OBJECT_ID: SnmpOid(object_id)}
    raw.update({k.replace("_", "."): v for k, v in more.items()})
    return raw


def chassis(index: int, **cols: RawValue) -> dict[str, RawValue]:
    numbers = {"descr": 2, "contained_in": 4, "klass": 5, "name": 7, "sw": 10, "serial": 11}
    numbers |= {"mfg": 12, "model": 13}
    return {f"{ENT}.{numbers[k]}.{index}": v for k, v in cols.items()}


# --- Cisco IOS ----------------------------------------------------------------------------------

IOS_2960 = (
    "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE "
    "SOFTWARE (fc2)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) "
    "1986-2021 by Cisco Systems, Inc.\r\nCompiled Sat 13-Feb-21 04:28 by mcpre"
)


def test_cisco_ios_switch_takes_model_and_serial_from_the_chassis(rules: IdentifyRules) -> None:
    raw = system(IOS_2960, "1.3.6.1.4.1.9.1.1208")
    raw |= chassis(1, descr=b"WS-C2960X-48FPD-L", klass=3, contained_in=0, serial=b"FOC1234X0AB")
    raw |= chassis(1001, klass=3, contained_in=1, model=b"WS-C2960X-48FPD-L", serial=b"FOC9")
    raw |= chassis(1, model=b"WS-C2960X-48FPD-L")
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_name) == ("Cisco", "switch", "IOS")
    assert ident.os_version == "15.2(7)E4"
    assert ident.model == "WS-C2960X-48FPD-L"
    assert ident.serial == "FOC1234X0AB"  # the top chassis, not the stacked member
    assert ident.evidence["serial"] == "default: entPhysicalSerialNum.1"
    assert ident.evidence["os_version"] == "cisco-ios: sysDescr"
    assert "enterprise 9" in ident.evidence["vendor"] or "cisco-ios" in ident.evidence["vendor"]


@pytest.mark.parametrize(
    ("descr", "klass"),
    [
        ("Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M8", "router"),
        ("Cisco IOS Software, C880 Software (C880DATA-UNIVERSALK9-M), Version 15.4(3)M3", "router"),
        ("Cisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), Version 15.0(2)SE", "switch"),
        (
            "Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M), Version 15.0(2)SE11",
            "switch",
        ),
        ("Cisco IOS Software, C1140 Software (C1140-K9W7-M), Version 15.3(3)JF15", "wireless"),
    ],
)
def test_cisco_ios_tells_routers_from_switches(
    rules: IdentifyRules, descr: str, klass: str
) -> None:
    ident = identify(system(descr, "1.3.6.1.4.1.9.1.1"), rules)
    assert (ident.os_name, ident.device_class) == ("IOS", klass)


def test_cisco_ios_xe_release_train(rules: IdentifyRules) -> None:
    descr = (
        "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), "
        "Version 17.9.4, RELEASE SOFTWARE (fc5)"
    )
    ident = identify(system(descr, "1.3.6.1.4.1.9.1.2494"), rules)
    assert (ident.os_name, ident.os_version, ident.device_class) == ("IOS-XE", "17.9.4", "switch")


def test_cisco_without_entity_mib_names_the_platform(rules: IdentifyRules) -> None:
    """No ENTITY-MIB: the sysObjectID names the product as CISCO-PRODUCTS-MIB registers it
    (its description gives no product number, so the object name stands); with an OID the
    table does not hold, the platform in sysDescr."""
    descr = "Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M), Version 15.0(2)SE11, R"
    assert identify(system(descr, "1.3.6.1.4.1.9.1.615"), rules).model == "catalyst3560G24TS"
    assert identify(system(descr, "1.3.6.1.4.1.9.1.99999"), rules).model == "Catalyst 3560"


# --- Windows ------------------------------------------------------------------------------------

SERVER = "1.3.6.1.4.1.311.1.1.3.1.2"
WORKSTATION = "1.3.6.1.4.1.311.1.1.3.1.1"


def windows(nt: str, build: int) -> str:
    return (
        "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows "
        f"Version {nt} (Build {build} Multiprocessor Free)"
    )


@pytest.mark.parametrize(
    ("nt", "build", "release"),
    [
        ("6.0", 6002, "Server 2008 SP2 (NT 6.0.6002)"),
        ("6.1", 7601, "Server 2008 R2 SP1 (NT 6.1.7601)"),
        ("6.2", 9200, "Server 2012 (NT 6.2.9200)"),
        ("6.3", 9600, "Server 2012 R2 (NT 6.3.9600)"),
        # Windows 10 era agents still say "Version 6.3": the build number decides
        ("6.3", 14393, "Server 2016 (NT 10.0.14393)"),
        ("6.3", 17763, "Server 2019 (NT 10.0.17763)"),
        ("6.3", 20348, "Server 2022 (NT 10.0.20348)"),
        ("6.3", 26100, "Server 2025 (NT 10.0.26100)"),
        ("6.3", 99999, "NT 6.3.99999"),
    ],
)
def test_windows_server_releases(rules: IdentifyRules, nt: str, build: int, release: str) -> None:
    ident = identify(system(windows(nt, build), SERVER), rules)
    assert (ident.vendor, ident.os_name, ident.device_class) == ("Microsoft", "Windows", "server")
    assert ident.os_version == release


def test_windows_workstation_is_an_endpoint(rules: IdentifyRules) -> None:
    ident = identify(system(windows("6.3", 19045), WORKSTATION), rules)
    assert (ident.device_class, ident.os_version) == ("endpoint", "10 22H2 (NT 10.0.19045)")


def test_windows_on_proliant_reports_the_hardware(rules: IdentifyRules) -> None:
    raw = system(windows("6.1", 7601), SERVER)
    raw["1.3.6.1.4.1.232.2.2.4.2.0"] = b"ProLiant DL360 G7"
    raw["1.3.6.1.4.1.232.2.2.2.1.0"] = b"CZJ1234567  "
    ident = identify(raw, rules)
    # the vendor is the OS's (Microsoft); the hardware shows in model and serial
    assert (ident.vendor, ident.model, ident.serial) == (
        "Microsoft",
        "ProLiant DL360 G7",
        "CZJ1234567",
    )
    assert ident.evidence["model"] == "windows-server: 1.3.6.1.4.1.232.2.2.4.2.0"


# --- net-snmp Linux -----------------------------------------------------------------------------

LINUX = "Linux web01 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 x86_64"


def test_net_snmp_linux_has_no_vendor_without_other_evidence(rules: IdentifyRules) -> None:
    ident = identify(system(LINUX, "1.3.6.1.4.1.8072.3.2.10"), rules)
    assert (ident.vendor, ident.os_name, ident.device_class) == (UNKNOWN, "Ubuntu", "server")
    assert ident.os_version == "22.04"  # the GA kernel of 22.04; distributions: test_identify_linux
    assert ident.model is None
    assert ident.evidence["os_version"] == "linux-ubuntu-kernel: sysDescr"


def test_net_snmp_linux_with_dell_openmanage(rules: IdentifyRules) -> None:
    raw = system(LINUX, "1.3.6.1.4.1.8072.3.2.10")
    raw["1.3.6.1.4.1.674.10892.1.300.10.1.9.1"] = b"PowerEdge R740"
    raw["1.3.6.1.4.1.674.10892.1.300.10.1.11.1"] = b"7XK2M53"
    ident = identify(raw, rules)
    assert (ident.vendor, ident.model, ident.serial) == ("Dell", "PowerEdge R740", "7XK2M53")


def test_net_snmp_nas_is_told_apart_by_its_vendor_mib(rules: IdentifyRules) -> None:
    raw = system(
        "Linux nas 4.4.302+ #72806 SMP Thu Sep 5 13:45:09 CST 2024 x86_64",
        "1.3.6.1.4.1.8072.3.2.10",
    )
    raw |= {
        "1.3.6.1.4.1.6574.1.5.1.0": b"DS920+",
        "1.3.6.1.4.1.6574.1.5.2.0": b"2060RQR123456",
        "1.3.6.1.4.1.6574.1.5.3.0": b"DSM 7.2-72806",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_name) == ("Synology", "storage", "DSM")
    assert (ident.model, ident.os_version, ident.serial) == ("DS920+", "7.2-72806", "2060RQR123456")


# --- printers -----------------------------------------------------------------------------------


def test_printer_from_host_resources_and_printer_mib(rules: IdentifyRules) -> None:
    raw = system("HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153", "1.3.6.1.4.1.11.2.3.9.1")
    raw |= {
        "1.3.6.1.2.1.25.3.2.1.2.1": SnmpOid("1.3.6.1.2.1.25.3.1.5"),
        "1.3.6.1.2.1.25.3.2.1.3.1": b"HP LaserJet Pro M404dn",
        "1.3.6.1.2.1.43.5.1.1.17.1": b"PHBQB12345",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class) == ("HP", "printer")
    assert (ident.model, ident.serial) == ("LaserJet Pro M404dn", "PHBQB12345")
    assert ident.evidence["model"] == "hp-jetdirect: hrDeviceDescr.1"


def test_printer_of_an_unlisted_maker_is_still_a_printer(rules: IdentifyRules) -> None:
    raw = system("Acme Print 9000", "1.3.6.1.4.1.999999.1")
    raw |= {
        "1.3.6.1.2.1.25.3.2.1.2.1": SnmpOid("1.3.6.1.2.1.25.3.1.5"),
        "1.3.6.1.2.1.25.3.2.1.3.1": b"Acme Print 9000",
        "1.3.6.1.2.1.43.5.1.1.17.1": b"AC9K000123",
    }
    ident = identify(raw, rules)
    assert (ident.device_class, ident.model, ident.serial) == (
        "printer",
        "Acme Print 9000",
        "AC9K000123",
    )


# --- UPSs ---------------------------------------------------------------------------------------


def test_ups_mib_identifies_an_unlisted_ups(rules: IdentifyRules) -> None:
    raw = system("NetMan 204", "1.3.6.1.4.1.5491.6")
    raw |= {
        "1.3.6.1.2.1.33.1.1.1.0": b"RPS SpA",
        "1.3.6.1.2.1.33.1.1.2.0": b"SEP 3000",
        "1.3.6.1.2.1.33.1.1.3.0": b"SWM073-01-04",
        "1.3.6.1.2.1.33.1.1.4.0": b"NetMan 204 v01.03",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.model) == ("RPS SpA", "ups", "SEP 3000")
    assert (ident.os_version, ident.firmware) == ("SWM073-01-04", "NetMan 204 v01.03")


def test_apc_management_card(rules: IdentifyRules) -> None:
    descr = (
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin AF1:v6.9.6 "
        "AN1:apc_hw05_sumx_696.bin MN:AP9630 HR:05 SN: ZA1234567890 MD:02/11/2015)"
    )
    raw = system(descr, "1.3.6.1.4.1.318.1.3.27")
    raw |= {
        "1.3.6.1.4.1.318.1.1.1.1.1.1.0": b"Smart-UPS X 3000",
        "1.3.6.1.4.1.318.1.1.1.1.2.3.0": b"AS1234123456",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_version) == ("APC", "ups", "6.9.6")
    assert (ident.model, ident.serial) == ("Smart-UPS X 3000", "AS1234123456")


def test_apc_rack_pdu_is_a_pdu(rules: IdentifyRules) -> None:
    descr = (
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6 PN:apc_hw05_aos_646.bin AF1:v6.4.6 "
        "AN1:apc_hw05_rpdu2g_646.bin MN:AP8941 HR:02 SN: 5A1234E12345 MD:03/21/2014)"
    )
    ident = identify(system(descr, "1.3.6.1.4.1.318.1.3.4.6"), rules)
    assert (ident.device_class, ident.model, ident.serial) == ("pdu", "AP8941", "5A1234E12345")


# --- unknown and garbage ------------------------------------------------------------------------


def test_unknown_object_id_gives_unknown(rules: IdentifyRules) -> None:
    ident = identify(system("Mystery box", "1.3.6.1.4.1.999999.7.1"), rules)
    assert (ident.vendor, ident.device_class, ident.os_name, ident.model) == (
        UNKNOWN,
        UNKNOWN,
        None,
        None,
    )
    assert ident.evidence["device_class"] == "no rule matched"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {DESCR: None, OBJECT_ID: None},
        {DESCR: b"\xff\xfe\x00garbage", OBJECT_ID: b"not an oid"},
        {OBJECT_ID: "1.3.6.1.4.1.9", f"{ENT}.5": 3, f"{ENT}.13.x": b"odd index"},
        {DESCR: 12345, OBJECT_ID: 7, f"{ENT}.5.1": b"three"},
    ],
)
def test_garbage_is_unknown_not_an_error(rules: IdentifyRules, raw: dict[str, RawValue]) -> None:
    ident = identify(raw, rules)
    assert ident.device_class in DEVICE_CLASSES
    assert isinstance(ident.vendor, str)


def test_placeholder_serials_are_dropped(rules: IdentifyRules) -> None:
    raw = system(IOS_2960, "1.3.6.1.4.1.9.1.1208")
    raw |= chassis(1, klass=3, contained_in=0, serial=b"To Be Filled By O.E.M.", model=b"X")
    raw |= chassis(2, klass=3, contained_in=0, serial=b"000000000000")
    assert identify(raw, rules).serial is None


def test_entity_without_class_column_uses_every_entry_in_order(rules: IdentifyRules) -> None:
    raw = system(
        "Aruba JL658A 6300M 24SFP+ 4SFP56 Swch FL.10.10.1030", "1.3.6.1.4.1.47196.4.1.1.1.100"
    )
    raw |= chassis(1, descr=b"Aruba 6300 VSF Stack", sw=b"FL.10.10.1030")
    raw |= chassis(101001, descr=b"6300M 24-port SFP+ Switch", serial=b"SG19KMX0MQ")
    ident = identify(raw, rules)
    assert (ident.os_name, ident.model, ident.serial) == (
        "ArubaOS-CX",
        "6300 VSF Stack",
        "SG19KMX0MQ",
    )
    assert ident.evidence["serial"] == "default: entPhysicalSerialNum.101001"


def test_lldp_capabilities_classify_an_unlisted_device(rules: IdentifyRules) -> None:
    raw = system("Acme Switch OS 1.2", "1.3.6.1.4.1.999999.1")
    raw["1.0.8802.1.1.2.1.3.6.0"] = bytes([0b00101000])  # bits 2 (bridge) and 4 (router)
    ident = identify(raw, rules)
    assert ident.device_class == "switch"
    assert "1.0.8802.1.1.2.1.3.6.0" in ident.evidence["device_class"]


# --- vendor_oids --------------------------------------------------------------------------------


def test_vendor_oids_for_a_family(rules: IdentifyRules) -> None:
    juniper = vendor_oids(rules, "1.3.6.1.4.1.2636.1.1.1.2.39")
    assert "1.3.6.1.4.1.2636.3.1.3.0" in juniper  # jnxBoxSerialNo, fetched with GET
    assert "1.3.6.1.2.1.33.1.1.1.0" not in juniper  # no generic probes for a known family


def test_vendor_oids_for_unknown_and_net_snmp_devices(rules: IdentifyRules) -> None:
    unknown = vendor_oids(rules, "1.3.6.1.4.1.999999.1")
    assert "1.3.6.1.2.1.33.1.1.2.0" in unknown and "1.3.6.1.2.1.43.5.1.1.17" in unknown
    assert vendor_oids(rules, None) == vendor_oids(rules, "garbage")
    linux = vendor_oids(rules, ".1.3.6.1.4.1.8072.3.2.10")
    assert "1.3.6.1.4.1.6574.1.5.1.0" in linux  # Synology runs net-snmp
    assert "1.3.6.1.2.1.33.1.1.2.0" in linux


def test_vendor_oids_are_few_and_well_formed(rules: IdentifyRules) -> None:
    for object_id in ("1.3.6.1.4.1.9.1.1", "1.3.6.1.4.1.8072.3.2.10", "1.3.6.1.4.1.318.1.3.27"):
        found = vendor_oids(rules, object_id)
        # scalars cost one GET between them; each walked subtree costs requests of its own
        walked = [o for o in found if not o.endswith(".0")]
        assert len(walked) <= 10 and len(found) - len(walked) <= 40
        assert all(o.replace(".", "").isdigit() and not o.startswith(".") for o in found)
        assert list(found) == sorted(set(found), key=lambda o: [int(a) for a in o.split(".")])


# --- sysDescr conventions of other families -----------------------------------------------------

FAMILIES = [
    # (sysDescr, sysObjectID, vendor, class, os, os_version, model)
    (
        "Juniper Networks, Inc. ex4300-48p Ethernet Switch, kernel JUNOS 18.4R3-S9.2, Build date:"
        " 2021-09-10 03:25:56 UTC Copyright (c) 1996-2021 Juniper Networks, Inc.",
        "1.3.6.1.4.1.2636.1.1.1.2.63",
        ("Juniper", "switch", "Junos", "18.4R3-S9.2", "EX4300-48P"),
    ),
    (
        "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 21.2R3-S2.9, Build date: x",
        "1.3.6.1.4.1.2636.1.1.1.2.160",
        ("Juniper", "router", "Junos", "21.2R3-S2.9", "MX204"),
    ),
    (
        "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7280SR-48C6",
        "1.3.6.1.4.1.30065.1.3011.7280.3738.48",
        ("Arista", "switch", "EOS", "4.28.3M", "DCS-7280SR-48C6"),
    ),
    (
        "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8), RELEASE SOFTWARE Copyright",
        "1.3.6.1.4.1.9.12.3.1.3.1812",
        ("Cisco", "switch", "NX-OS", "9.3(8)", None),
    ),
    (
        "Cisco Adaptive Security Appliance Version 9.8(4)32",
        "1.3.6.1.4.1.9.1.2313",
        ("Cisco", "firewall", "ASA", "9.8(4)32", "Fpr4110SM12"),  # CISCO-PRODUCTS-MIB
    ),
    (
        "Cisco IOS Software [Bengaluru], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version "
        "17.6.5, RELEASE SOFTWARE (fc2)",
        "1.3.6.1.4.1.9.1.2068",
        ("Cisco", "router", "IOS-XE", "17.6.5", "ISR 4331"),  # CISCO-PRODUCTS-MIB
    ),
    (
        "HP J9729A 2920-48G-POE+ Switch, revision WB.16.10.0016, ROM WB.16.03 (/ws/swbuildm)",
        "1.3.6.1.4.1.11.2.3.7.11.154",
        ("HPE", "switch", "ArubaOS-Switch", "WB.16.10.0016", "J9729A 2920-48G-POE+"),
    ),
    (
        "ProCurve J4903A Switch 2824, revision I.10.77, ROM I.08.07 (/sw/code/build/mako(ts_10))",
        "1.3.6.1.4.1.11.2.3.7.11.31",
        ("HPE", "switch", "ArubaOS-Switch", "I.10.77", "J4903A 2824"),
    ),
    (
        "Palo Alto Networks PA-3200 series firewall",
        "1.3.6.1.4.1.25461.2.3.43",
        # PAN-PRODUCTS-MIB registers panProductsMibs 43 as PA-3220 (config/snmp/products)
        ("Palo Alto Networks", "firewall", "PAN-OS", None, "PA-3220"),
    ),
    (
        "VMware ESXi 7.0.3 build-21930508 VMware, Inc. x86_64",
        "1.3.6.1.4.1.6876.4.1",
        ("VMware", "hypervisor", "ESXi", "7.0.3 build-21930508", None),
    ),
    (
        "Integrated Lights-Out 5 2.72 Sep 04 2022",
        "1.3.6.1.4.1.232.9.4.11",
        ("HPE", "bmc", "iLO 5", "2.72", None),
    ),
    (
        "Linux pve1 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 x86_64",
        "1.3.6.1.4.1.8072.3.2.10",
        ("unknown", "hypervisor", "Linux", "6.8.12-4-pve", None),
    ),
    (
        "FreeBSD fw1 13.2-RELEASE-p4 FreeBSD 13.2-RELEASE-p4 GENERIC amd64",
        "1.3.6.1.4.1.8072.3.2.8",
        ("unknown", "server", "FreeBSD", "13.2-RELEASE-p4", None),
    ),
    (
        "NetApp Release 9.10.1P7: Fri Aug 26 07:47:55 UTC 2022",
        "1.3.6.1.4.1.789.2.5",
        ("NetApp", "storage", "ONTAP", "9.10.1P7", None),
    ),
    (
        "RouterOS CCR2004-1G-12S+2XS",
        "1.3.6.1.4.1.14988.1",
        ("MikroTik", "router", "RouterOS", None, "CCR2004-1G-12S+2XS"),
    ),
    (
        "ArubaOS (MODEL: Aruba7010), Version 8.7.1.5 (80373)",
        "1.3.6.1.4.1.14823.1.1.36",
        ("Aruba", "wireless", "ArubaOS", "8.7.1.5", "Aruba7010"),
    ),
    (
        "S5720-28X-SI-AC\r\nHuawei Versatile Routing Platform Software\r\n VRP (R) software,"
        "Version 5.170 (S5720 V200R011C10SPC600)",
        "1.3.6.1.4.1.2011.2.23.340",
        ("Huawei", "switch", "VRP", "5.170 (V200R011C10SPC600)", "S5720-28X-SI-AC"),
    ),
    (
        "Dell EMC Networking OS10 Enterprise.\r\nCopyright (c) 1999-2020 by Dell Inc. All Rights "
        "Reserved.\r\nSystem Description: OS10 Enterprise.\r\nOS Version: 10.5.1.0.\r\nSystem "
        "Type: S4148F-ON",
        "1.3.6.1.4.1.674.11000.5000.100.2.1.11",
        ("Dell", "switch", "Dell OS10", "10.5.1.0", "S4148F-ON"),
    ),
    (
        "Dell Networking N3048P, 6.6.3.6, Linux 4.14.138",
        "1.3.6.1.4.1.674.10895.3085",
        ("Dell", "switch", "Dell OS6", "6.6.3.6", "N3048P"),
    ),
    (
        "TiMOS-B-20.10.R12 both/x86_64 Nokia 7750 SR Copyright (c) 2000-2021 Nokia.",
        "1.3.6.1.4.1.6527.1.3.17",
        ("Nokia", "router", "SR OS", "20.10.R12", "7750 SR"),
    ),
]


@pytest.mark.parametrize(("descr", "object_id", "expected"), FAMILIES)
def test_sysdescr_conventions(
    rules: IdentifyRules,
    descr: str,
    object_id: str,
    expected: tuple[str, str, str, str | None, str | None],
) -> None:
    ident = identify(system(descr, object_id), rules)
    got = (ident.vendor, ident.device_class, ident.os_name, ident.os_version, ident.model)
    assert got == expected


# --- ENTITY-MIB read robustly; vendor MIB readers; net-snmp appliances ---------------------------


def test_binary_entity_descriptions_are_not_models(rules: IdentifyRules) -> None:
    raw = system("Acme OS", "1.3.6.1.4.1.99999.1")
    raw |= chassis(1, klass=3, contained_in=0, descr=b"CHASSIS\x00\x00\x00\x01\x02\x7f")
    raw |= chassis(2, klass=3, contained_in=1, descr=b"CHASSIS 00 00 00 01 02 03 04")
    assert identify(raw, rules).model is None
    raw |= chassis(1, name=b"AX-2000-24T")  # a product-number-looking entPhysicalName
    ident = identify(raw, rules)
    assert (ident.model, ident.evidence["model"]) == ("AX-2000-24T", "default: entPhysicalName.1")
    raw |= chassis(2, descr=b"Slot 1 Fan Tray 2")  # a component, never a model
    assert identify(raw, rules).model == "AX-2000-24T"


def test_vmware_appliance_reports_its_product_release_not_the_kernel(rules: IdentifyRules) -> None:
    raw = system(
        "Linux vcsa.example 4.19.283-3.ph3-esx #1-photon SMP Fri Jun 16 02:25:10 UTC 2023 x86_64",
        "1.3.6.1.4.1.8072.3.2.10",
        **{
            "1.3.6.1.4.1.6876.1.1.0": b"VMware vCenter Server Appliance",
            "1.3.6.1.4.1.6876.1.2.0": b"7.0.3",
            "1.3.6.1.4.1.6876.1.4.0": b"21958406",
        },
    )
    ident = identify(raw, rules)
    assert (ident.vendor, ident.os_name, ident.os_version) == (
        "VMware",
        "vCenter Server Appliance",
        "7.0.3 build-21958406",
    )
    assert "1.3.6.1.4.1.6876.1.2.0" in vendor_oids(rules, "1.3.6.1.4.1.8072.3.2.10")


def test_supermicro_bmc_model_and_serial_from_aten_ipmi_mib(rules: IdentifyRules) -> None:
    raw = system(
        "Linux bmc 2.6.28 #1 Tue Jul 25 2023 armv5tejl",
        "1.3.6.1.4.1.8072.3.2.10",
        **{
            "1.3.6.1.4.1.21317.1.5.1.0": 3,
            "1.3.6.1.4.1.21317.1.5.2.0": 88,
            "1.3.6.1.4.1.21317.1.16.2.3.0": b"X10SLE-HF",
            "1.3.6.1.4.1.21317.1.16.3.6.0": b"S12345678901",
        },
    )
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_version) == ("Supermicro", "bmc", "3.88")
    assert (ident.model, ident.serial) == ("X10SLE-HF", "S12345678901")


def test_eaton_ups_serial_from_xups_mib(rules: IdentifyRules) -> None:
    raw = system(
        "Eaton 9PX",
        "1.3.6.1.4.1.534.1",
        **{"1.3.6.1.4.1.534.1.1.2.0": b"Eaton 9PX 3000", "1.3.6.1.4.1.534.1.1.6.0": b"GA123A0001"},
    )
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.serial) == ("Eaton", "ups", "GA123A0001")
    assert ident.evidence["serial"] == "eaton-powerware: 1.3.6.1.4.1.534.1.1.6.0"


def test_storage_arrays_describing_themselves_in_fcmgmt_mib(rules: IdentifyRules) -> None:
    unit = "1.3.6.1.3.94.1.6.1"
    index = "16.32.0.0.192.255.10.20.30.0.0.0.0.0.0.0.0"
    raw = system(
        "HPE MSA Storage",
        "1.3.6.1.4.1.11.10.2.1.3.25",
        **{
            f"{unit}.3.{index}": 11,
            f"{unit}.7.{index}": b"MSA 2060 SAN",
            f"{unit}.8.{index}": b"00C0FF123456",
        },
    )
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_name) == ("HPE", "storage", "MSA")
    assert (ident.model, ident.serial) == ("MSA 2060 SAN", "00C0FF123456")


def test_ruckus_zonedirector_from_its_system_mib(rules: IdentifyRules) -> None:
    base = "1.3.6.1.4.1.25053.1.2.1.1.1.1"
    raw = system(
        "Ruckus Wireless ZD1200",
        "1.3.6.1.4.1.25053.3.1.5.15",
        **{
            f"{base}.9.0": b"zd1200",
            f"{base}.15.0": b"431703000123",
            f"{base}.18.0": b"10.1.2.0 build 275",
        },
    )
    ident = identify(raw, rules)
    assert (ident.os_name, ident.device_class, ident.model, ident.serial) == (
        "ZoneDirector",
        "wireless",
        "zd1200",
        "431703000123",
    )
    assert ident.os_version == "10.1.2.0 build 275"
