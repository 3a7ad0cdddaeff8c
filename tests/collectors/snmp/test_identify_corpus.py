"""Identification measured against real device recordings and LibreNMS's own verdicts.

The recordings and LibreNMS's identification (``expected.json``) are GPL test data kept outside
the project, in ``../shared/corpus/librenms`` beside the repository; they are read in place,
never copied. Each recording is filtered to what cloudward's collector would actually fetch (the
GET scalars and walked columns in ``collectors.snmp.oids`` plus ``vendor_oids`` for its
sysObjectID), identified, and compared field by field. ``pytest -s`` prints the table.

How values are compared (LibreNMS formats its strings its own way):
- normalised: lower case, only letters and digits kept ("FortiGateRugged-60F-3G4G" and
  "FortiGate Rugged 60F_3G4G" are equal);
- equal, or one contains the other when the shorter has at least 3 characters ("8325" matches
  "Aruba 8325 1-slot Chassis"; "17.6.2" matches "PPC_LINUX_IOSD-UNIVERSALK9_NPE-M 17.6.2");
- not scored when LibreNMS has no value: None, empty, anonymised (``<private>``, ``xxxx``, one
  repeated character) or placeholders ("SerialNumber"); for ``hardware``, also CPU or
  architecture descriptions LibreNMS writes when it knows no model ("Generic x86 64-bit",
  "Intel x64", "amd64 Intel(R) Core...");
- class: our class counts as agreeing with LibreNMS ``type`` through CLASS_TYPES below (LibreNMS
  has no camera, console-server, load-balancer or endpoint class; it files some BMCs under
  ``appliance``);
- OS family: our os_name maps to LibreNMS ``os`` ids through OS_FAMILIES; where LibreNMS names an
  embedded device's OS after its maker (ricoh, brother, eatonups...) and we report no OS name,
  the vendor is compared instead. LibreNMS files every Linux distribution under ``linux``;
- version of a Linux host: LibreNMS's ``version`` is the kernel release, while cloudward reports
  the distribution's release as ``os_version`` and keeps the kernel in ``Facts.kernel``
  (``kernel_release``): the kernel is what is compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from collectors.facts import Identity
from collectors.snmp import oids
from collectors.snmp.identify import (
    IdentifyRules,
    identify,
    kernel_release,
    load_rules,
    vendor_oids,
)
from collectors.snmp.values import RawValue
from tests.peers import need
from tests.snmprec import load

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "librenms"

# Agreement floors, a little under what the rules reach today: a regression fails the test.
FLOORS = {"class": 0.97, "os": 0.97, "model": 0.89, "version": 0.95, "serial": 0.94}

CLASS_TYPES: dict[str, set[str]] = {
    "switch": {"network"},
    "router": {"network"},
    "firewall": {"firewall"},
    "server": {"server"},
    "hypervisor": {"server"},
    "endpoint": {"server", "workstation"},
    "bmc": {"management", "appliance"},
    "storage": {"storage"},
    "ups": {"power"},
    "pdu": {"power"},
    "printer": {"printer"},
    "wireless": {"wireless"},
    "camera": {"appliance", "video"},
    "appliance": {"appliance", "management", "loadbalancer"},
}

# Names cloudward gives Linux distributions; LibreNMS calls each of them `linux`.
LINUX_DISTRIBUTIONS = (
    "Red Hat Enterprise Linux",
    "CentOS",
    "CentOS Stream",
    "Rocky Linux",
    "AlmaLinux",
    "Oracle Linux",
    "Amazon Linux",
    "Fedora",
    "SUSE Linux Enterprise Server",
    "SUSE Linux Enterprise Desktop",
    "openSUSE Leap",
    "Debian",
    "Ubuntu",
)

OS_FAMILIES: dict[str, set[str]] = {
    "IOS": {"ios"},
    "IOS-XE": {"iosxe"},
    "IOS-XR": {"iosxr"},
    "NX-OS": {"nxos"},
    "ASA": {"asa"},
    "FTD": {"ftd"},
    "CIMC": {"cimc"},
    "Cisco SB": {"ciscosb"},
    "AireOS": {"ciscowlc"},
    "Meraki": {"merakimr", "merakims", "merakimx", "merakimv"},
    "Junos": {"junos"},
    "ScreenOS": {"screenos"},
    "EOS": {"arista_eos"},
    "ArubaOS-CX": {"arubaos-cx"},
    "ArubaOS-Switch": {"procurve"},
    "ArubaOS": {"arubaos", "aruba-instant"},
    "Comware": {"comware"},
    "VRP": {"vrp"},
    "iBMC": {"ibmc"},
    "Dell OS9": {"dnos", "ftos"},
    "Dell OS10": {"dell-os10"},
    "Dell OS6": {"dnos", "powerconnect"},
    "EXOS": {"xos"},
    "VOSS": {"voss"},
    "FabOS": {"fabos"},
    "FastIron": {"ironware"},
    "NetIron": {"ironware"},
    "AOS": {"aos", "aos7"},
    "RouterOS": {"routeros"},
    "EdgeOS": {"edgeos"},
    "EdgeSwitch": {"edgeswitch"},
    "UniFi": {"unifi"},
    "airOS": {"airos", "airos-af"},
    "Netgear": {"netgear"},
    "ZyNOS": {"zynos"},
    "ZLD": {"zywall"},
    "AlliedWare": {"allied"},
    "AlliedWare Plus": {"awplus", "allied"},
    "WebSmart": {"allied"},
    "DrayOS": {"draytek"},
    "HiveOS": {"hiveos-wireless"},
    "FortiOS": {"fortigate"},
    "FortiSwitchOS": {"fortiswitch"},
    "FortiAP": {"fortiap"},
    "PAN-OS": {"panos"},
    "Gaia": {"gaia"},
    "SonicOS": {"sonicwall"},
    "SMA": {"sonicwall"},
    "pfSense": {"pfsense"},
    "OPNsense": {"opnsense"},
    "CloudGen Firewall": {"barracudangfirewall"},
    "BIG-IP": {"f5"},
    "iDRAC": {"drac"},
    "iLO": {"hpe-ilo"},
    "XCC": {"xclarity"},
    "Supermicro BMC": {"supermicro-bmc"},
    "DSM": {"dsm"},
    "TrueNAS": {"truenas", "freenas"},
    "EqualLogic": {"equallogic"},
    "ESXi": {"vmware"},
    "Windows": {"windows"},
    "Linux": {"linux"},
    **{name: {"linux"} for name in LINUX_DISTRIBUTIONS},
    "AIX": {"aix"},
    "FreeBSD": {"freebsd"},
    "APC AOS": {"apc"},
    "AXIS OS": {"axiscam"},
    "Opengear": {"opengear"},
    "Avocent ACS": {"avocent"},
}
# When we report no OS name: LibreNMS ids that name the maker, by our vendor.
VENDOR_OS: dict[str, set[str]] = {
    "HP": {"jetdirect"},
    "Eaton": {"eatonups", "eaton-mgeups"},
    "Dell": {"dell-powervault"},
    "Konica Minolta": {"konica"},
}

_NOT_SCORED = re.compile(r"(?i)^(none|<private>|serialnumber|n/?a|unknown|)$|xxxx|^(.)\2+$")
_CPU_NOT_MODEL = re.compile(r"(?i)^(generic\b|(intel|amd) x(64|86)$|amd64\b|x86\b|i[3-6]86\b)")


def norm(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


def agree(ours: str | None, expected: str) -> bool:
    a, b = norm(ours), norm(expected)
    if not a or not b:
        return False
    if a == b:
        return True
    return min(len(a), len(b)) >= 3 and (a in b or b in a)


def scorable(field: str, expected: Any) -> bool:
    if not isinstance(expected, str) or _NOT_SCORED.search(expected.strip()):
        return False
    return not (field == "model" and _CPU_NOT_MODEL.search(expected.strip()))


def os_agrees(ident: Identity, expected_os: str) -> bool:
    if ident.os_name:
        if expected_os in OS_FAMILIES.get(ident.os_name, set()):
            return True
        prefix = ident.os_name.split()[0]
        return expected_os in OS_FAMILIES.get(prefix, set()) or norm(ident.os_name) == norm(
            expected_os
        )
    if expected_os in VENDOR_OS.get(ident.vendor, set()):
        return True
    return agree(ident.vendor, expected_os)


def fetched(raw: Mapping[str, RawValue], rules: IdentifyRules) -> dict[str, RawValue]:
    """What the collector's ``fetch`` would return for this recording.

    Like ``collectors.snmp.fetch``: a GET of ``oids.SCALARS`` and of the vendor_oids entries
    ending in ``.0`` (those exact OIDs), and a GETBULK walk of ``oids.WALK_ROOTS`` and the other
    vendor_oids entries (every OID strictly under each root)."""
    sys_oid = raw.get(oids.SYS_OBJECT_ID)
    extra = vendor_oids(rules, sys_oid if isinstance(sys_oid, str) else None)
    gets = set(oids.SCALARS) | {o for o in extra if o.endswith(".0")}
    walks = tuple(o + "." for o in (*oids.WALK_ROOTS, *(o for o in extra if not o.endswith(".0"))))
    return {oid: value for oid, value in raw.items() if oid in gets or oid.startswith(walks)}


def load_corpus() -> list[dict[str, Any]]:
    need(CORPUS.is_dir(), f"device recordings not found at {CORPUS}")
    records: list[dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
    return records


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


Result = tuple[dict[str, Any], Identity, str | None]  # LibreNMS's record, ours, our kernel


@pytest.fixture(scope="module")
def results(rules: IdentifyRules) -> list[Result]:
    out = []
    for rec in load_corpus():
        raw = fetched(load(CORPUS / "snmprec" / f"{rec['name']}.snmprec"), rules)
        out.append((rec, identify(raw, rules), kernel_release(raw)))
    return out


def our_version(rec: dict[str, Any], ident: Identity, kernel: str | None) -> str | None:
    """What to hold against LibreNMS's ``version``: for Linux, the kernel (see above)."""
    return kernel if rec["os"] == "linux" and kernel else ident.os_version


def score(results: list[Result]) -> dict[str, tuple[int, int]]:
    counts = {k: [0, 0] for k in FLOORS}
    for rec, ident, kernel in results:
        counts["class"][1] += 1
        counts["class"][0] += rec["type"] in CLASS_TYPES.get(ident.device_class, set())
        counts["os"][1] += 1
        counts["os"][0] += os_agrees(ident, rec["os"])
        for field, ours, theirs in (
            ("model", ident.model, rec["hardware"]),
            ("version", our_version(rec, ident, kernel), rec["version"]),
            ("serial", ident.serial, rec["serial"]),
        ):
            if scorable(field, theirs):
                counts[field][1] += 1
                counts[field][0] += agree(ours, theirs)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def test_corpus_agreement(results: list[Result]) -> None:
    def cell(ok: bool, ours: str | None, theirs: Any, field: str) -> str:
        if not scorable(field, theirs):
            return f"  {ours or '-'}"
        return f"{'ok' if ok else 'XX'} {ours or '-'} | {theirs}"

    print(f"\n{'recording':42} {'class':24} {'os':26} model / version / serial")
    for rec, ident, kernel in results:
        c_ok = rec["type"] in CLASS_TYPES.get(ident.device_class, set())
        klass = f"{'ok' if c_ok else 'XX'} {ident.device_class}/{rec['type']}"
        family = f"{'ok' if os_agrees(ident, rec['os']) else 'XX'} {ident.os_name}/{rec['os']}"
        print(f"{rec['name'][:42]:42} {klass:24} {family:26}")
        for field, ours, theirs in (
            ("model", ident.model, rec["hardware"]),
            ("version", our_version(rec, ident, kernel), rec["version"]),
            ("serial", ident.serial, rec["serial"]),
        ):
            print(f"{'':44}{field:8} {cell(agree(ours, theirs), ours, theirs, field)}")
    scores = score(results)
    print("\nagreement with LibreNMS:")
    for field, (hit, total) in scores.items():
        print(f"  {field:8} {hit:3}/{total:3} = {hit / total:6.1%}   (floor {FLOORS[field]:.0%})")
    for field, (hit, total) in scores.items():
        assert total > 0, field
        assert hit / total >= FLOORS[field], (
            f"{field} agreement {hit}/{total} fell below {FLOORS[field]:.0%}"
        )


def test_every_recording_gets_a_vendor_and_a_class(results: list[Result]) -> None:
    unknown = [rec["name"] for rec, ident, _ in results if ident.device_class == "unknown"]
    assert unknown == []
    for rec, ident, _ in results:
        assert ident.evidence["device_class"], rec["name"]
        for field in ("model", "os_version", "serial"):
            if getattr(ident, field) is not None:
                assert field in ident.evidence, (rec["name"], field)


def test_filter_mirrors_a_walk(rules: IdentifyRules) -> None:
    raw: dict[str, RawValue] = {
        oids.SYS_OBJECT_ID: "1.3.6.1.4.1.2636.1.1.1.2.39",
        "1.3.6.1.4.1.2636.3.1.3.0": b"AG3213AK0210",  # asked for by GET
        "1.3.6.1.4.1.2636.3.1.30.0": b"not asked for",
        "1.3.6.1.2.1.47.1.1.1.1.13.1": b"SRX240H",  # a walked column
        "1.3.6.1.2.1.47.1.1.1.1.130.1": b"not a walked column",
    }
    kept = fetched(raw, rules)
    assert set(kept) == {
        oids.SYS_OBJECT_ID,
        "1.3.6.1.4.1.2636.3.1.3.0",
        "1.3.6.1.2.1.47.1.1.1.1.13.1",
    }
