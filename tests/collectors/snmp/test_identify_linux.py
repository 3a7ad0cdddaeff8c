"""Linux distributions and storage arrays on small hand-written walks.

A net-snmp Linux host says which distribution it runs through its release package in
HOST-RESOURCES hrSWInstalledName (exact), the LibreNMS/Observium `distro` extend, or its kernel
(family and major release only); the kernel itself is kept apart (``kernel_release``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from collectors.facts import UNKNOWN, Identity
from collectors.snmp.identify import (
    IdentifyRules,
    RulesError,
    identify,
    kernel_release,
    load_rules,
    vendor_oids,
)
from collectors.snmp.parse import parse
from collectors.snmp.rawindex import RawIndex
from collectors.snmp.values import RawValue, SnmpOid
from tests.collectors.snmp.test_identify_rules import write_rules

NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"
SW_NAME = "1.3.6.1.2.1.25.6.3.1.2"
# Packages every host has: the release package must be found among them, not by position.
COMMON = ["bash-4.2.46-35.el7_9", "zlib-1.2.7-21.el7_9", "openssl-1.0.2k-26.el7_9"]
DEB_COMMON = ["bash_5.1-6ubuntu1.1_amd64", "zlib1g_1:1.2.13.dfsg-1_amd64", "adduser_3.134_all"]

EL7 = "Linux app01 3.10.0-1160.105.1.el7.x86_64 #1 SMP Thu Dec 7 15:39:45 EST 2023 x86_64"
EL8 = "Linux app02 4.18.0-553.el8_10.x86_64 #1 SMP Fri May 10 15:19:13 EDT 2024 x86_64"
UBUNTU_GA = "Linux web01 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 x86_64"
BIONIC = "Linux mon01 4.15.0-213-generic #224-Ubuntu SMP Mon Jun 19 13:30:12 UTC 2023 x86_64"
DEBIAN12 = "Linux db01 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64"
SLES15 = "Linux sap01 5.14.21-150500.55.39-default #1 SMP PREEMPT_DYNAMIC x86_64"


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


def host(descr: str, packages: Sequence[str] = (), **more: RawValue) -> dict[str, RawValue]:
    """A net-snmp Linux walk: system group plus hrSWInstalledName rows (indexes not in name
    order, as dpkg/rpm list them)."""
    raw: dict[str, RawValue] = {
        "1.3.6.1.2.1.1.1.0": descr.encode(),
        "1.3.6.1.2.1.1.2.0": SnmpOid(NET_SNMP_LINUX),
    }
    for n, name in enumerate(reversed(packages)):
        raw[f"{SW_NAME}.{101 + 7 * n}"] = name.encode()
    raw.update({k.replace("_", "."): v for k, v in more.items()})
    return raw


def os_of(ident: Identity) -> tuple[str | None, str | None]:
    return ident.os_name, ident.os_version


# --- the release package ------------------------------------------------------------------------

RELEASE_PACKAGES = [
    # (what the host has, sysDescr, expected os, expected version, profile)
    pytest.param(
        ["base-files_10.1ubuntu2.12_amd64", *DEB_COMMON],
        BIONIC,
        "Ubuntu",
        "18.04",
        "linux-ubuntu",
        id="ubuntu-18.04",
    ),
    pytest.param(
        # a 24.04 hardware-enablement-style kernel does not outvote the release package
        ["base-files_12ubuntu4.6_amd64", *DEB_COMMON],
        "Linux gis01 6.8.0-40-generic #40~22.04.3-Ubuntu SMP PREEMPT_DYNAMIC x86_64",
        "Ubuntu",
        "22.04",
        "linux-ubuntu",
        id="ubuntu-22.04",
    ),
    pytest.param(
        ["base-files_12.4+deb12u11_amd64", "lsb-release_12.0-1_all", *DEB_COMMON],
        DEBIAN12,
        "Debian",
        "12",
        "linux-debian",
        id="debian-12",
    ),
    pytest.param(
        ["base-files_7.1wheezy11_amd64"],
        "Linux old 3.2.0-4-amd64 #1 SMP Debian 3.2.96-2 x86_64",
        "Debian",
        "7",
        "linux-debian",
        id="debian-7",
    ),
    pytest.param(
        ["redhat-release-server-7.9-8.el7_9", *COMMON],
        EL7,
        "Red Hat Enterprise Linux",
        "7.9",
        "linux-rhel",
        id="rhel-7.9",
    ),
    pytest.param(
        ["redhat-release-server-6Server-6.10.0.24.el6", *COMMON],
        "Linux revs01 2.6.32-754.35.1.el6.x86_64 #1 SMP Wed Sep 16 06:48:01 EDT 2020 x86_64",
        "Red Hat Enterprise Linux",
        "6.10",
        "linux-rhel",
        id="rhel-6.10",
    ),
    pytest.param(
        ["redhat-release-eula-8.10-0.3.el8", "redhat-release-8.10-0.3.el8", *COMMON],
        EL8,
        "Red Hat Enterprise Linux",
        "8.10",
        "linux-rhel",
        id="rhel-8.10",
    ),
    pytest.param(
        # centos-release-scl is a repository package, not the release
        ["centos-release-scl-2-3.el7.centos", "centos-release-7-9.2009.1.el7.centos", *COMMON],
        EL7,
        "CentOS",
        "7.9",
        "linux-centos",
        id="centos-7.9",
    ),
    pytest.param(
        ["centos-linux-release-8.5-1.2111.el8", *COMMON],
        EL8,
        "CentOS",
        "8.5",
        "linux-centos",
        id="centos-8.5",
    ),
    pytest.param(
        ["rocky-gpg-keys-8.10-1.6.el8", "rocky-release-8.10-1.6.el8", "rocky-repos-8.10-1.6.el8"],
        EL8,
        "Rocky Linux",
        "8.10",
        "linux-rocky",
        id="rocky-8.10",
    ),
    pytest.param(
        ["almalinux-release-9.4-1.el9"],
        "Linux a 5.14.0-427.13.1.el9_4.x86_64 #1 SMP x86_64",
        "AlmaLinux",
        "9.4",
        "linux-almalinux",
        id="almalinux-9.4",
    ),
    pytest.param(
        # Oracle Linux also carries a rebuilt redhat-release-server
        [
            "redhat-release-server-7.9-6.0.1.el7_9",
            "oraclelinux-release-el7-1.0-17.el7",
            "oraclelinux-release-7.9-1.0.9.el7",
        ],
        EL7,
        "Oracle Linux",
        "7.9",
        "linux-oracle",
        id="oracle-7.9",
    ),
    pytest.param(
        ["sles-release-15.5-150500.45.1", "sles-release-DVD-15.5-150500.45.1"],
        SLES15,
        "SUSE Linux Enterprise Server",
        "15 SP5",
        "linux-sles",
        id="sles-15-sp5",
    ),
    pytest.param(
        ["SLES_SAP-release-15-64.1"],
        SLES15,
        "SUSE Linux Enterprise Server",
        "15",
        "linux-sles",
        id="sles-sap-15",
    ),
    pytest.param(
        ["system-release-2-15.amzn2", *COMMON],
        "Linux ip-10-0-0-5 4.14.336-257.562.amzn2.x86_64 #1 SMP x86_64",
        "Amazon Linux",
        "2",
        "linux-amazon",
        id="amazon-linux-2",
    ),
    pytest.param(
        ["system-release-2023.4.20240401-1.amzn2023"],
        "Linux ip-10-0-0-6 6.1.82-99.168.amzn2023.x86_64 #1 SMP x86_64",
        "Amazon Linux",
        "2023",
        "linux-amazon",
        id="amazon-linux-2023",
    ),
]


@pytest.mark.parametrize(("packages", "descr", "os_name", "version", "profile"), RELEASE_PACKAGES)
def test_release_package_names_the_distribution(
    rules: IdentifyRules, packages: list[str], descr: str, os_name: str, version: str, profile: str
) -> None:
    ident = identify(host(descr, packages), rules)
    assert os_of(ident) == (os_name, version)
    assert (ident.vendor, ident.device_class) == (UNKNOWN, "server")  # a distribution is no vendor
    assert ident.evidence["profile"].startswith(f"{profile}: ")
    assert "installed" in ident.evidence["profile"]
    assert ident.evidence["os_version"].startswith(f"{profile}: hrSWInstalledName.")


def test_evidence_points_at_the_release_package_row(rules: IdentifyRules) -> None:
    raw = host(EL7, ["redhat-release-server-7.9-8.el7_9", *COMMON])
    ident = identify(raw, rules)
    row = ident.evidence["os_version"].split("hrSWInstalledName", 1)[1]
    assert raw[SW_NAME + row] == b"redhat-release-server-7.9-8.el7_9"


def test_an_unknown_ubuntu_base_files_gives_no_version_rather_than_a_guess(
    rules: IdentifyRules,
) -> None:
    # an interim release: not in the LTS table, and its 6.5 kernel is no LTS's GA kernel
    raw = host(
        "Linux dev01 6.5.0-9-generic #9-Ubuntu SMP PREEMPT_DYNAMIC x86_64",
        ["base-files_13ubuntu2.1_amd64"],
    )
    assert os_of(identify(raw, rules)) == ("Ubuntu", None)


def test_proxmox_is_a_debian_hypervisor(rules: IdentifyRules) -> None:
    raw = host(
        "Linux pve1 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 x86_64",
        ["base-files_12.7+deb12u1_amd64", "pve-manager_8.2.7_amd64"],
    )
    ident = identify(raw, rules)
    assert (ident.device_class, *os_of(ident)) == ("hypervisor", "Debian", "12")


def test_hardware_vendor_stays_the_hardwares(rules: IdentifyRules) -> None:
    raw = host(EL7, ["redhat-release-server-7.9-8.el7_9"])
    raw |= {
        "1.3.6.1.4.1.232.2.2.4.2.0": b"ProLiant DL380 Gen10",
        "1.3.6.1.4.1.232.2.2.2.1.0": b"CZJ12345AB",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.model, ident.serial) == (
        "HPE",
        "ProLiant DL380 Gen10",
        "CZJ12345AB",
    )
    assert os_of(ident) == ("Red Hat Enterprise Linux", "7.9")


# --- the kernel alone ---------------------------------------------------------------------------

KERNELS = [
    pytest.param(EL7, "Red Hat Enterprise Linux", "7", "linux-el-kernel", id="el7"),
    pytest.param(EL8, "Red Hat Enterprise Linux", "8", "linux-el-kernel", id="el8"),
    pytest.param(
        "Linux db02 5.4.17-2136.307.3.1.el8uek.x86_64 #2 SMP Mon May 9 17:29:47 PDT 2022 x86_64",
        "Oracle Linux",
        "8",
        "linux-el-kernel",
        id="oracle-uek",
    ),
    pytest.param(
        "Linux ip-10-1-2-3 4.14.336-257.562.amzn2.x86_64 #1 SMP Sat Feb 24 09:50:35 UTC 2024",
        "Amazon Linux",
        "2",
        "linux-amazon-kernel",
        id="amzn2",
    ),
    pytest.param(UBUNTU_GA, "Ubuntu", "22.04", "linux-ubuntu-kernel", id="ubuntu-ga"),
    pytest.param(
        "Linux old01 5.4.0-150-generic #167~18.04.1-Ubuntu SMP Wed May 24 00:51:42 UTC 2023 x86_64",
        "Ubuntu",
        "18.04",
        "linux-ubuntu-kernel",
        id="ubuntu-hwe",
    ),
    pytest.param(DEBIAN12, "Debian", "12", "linux-debian-kernel", id="debian-12"),
    pytest.param(
        "Linux fs9 4.19.0-26-amd64 #1 SMP Debian 4.19.304-1 (2024-01-09) x86_64",
        "Debian",
        "10",
        "linux-debian-kernel",
        id="debian-10",
    ),
    pytest.param(
        "Linux bpo 6.6.13+bpo-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.6.13-1~bpo12+1 (2024-02-15)"
        " x86_64",
        "Debian",
        "12",
        "linux-debian-kernel",
        id="debian-backports",
    ),
    pytest.param(
        "Linux box 3.16.0-6-amd64 #1 SMP Debian 3.16.56-1+deb8u1 (2018-05-08) x86_64",
        "Debian",
        "8",
        "linux-debian-kernel",
        id="debian-8-update",
    ),
    pytest.param(
        "Linux pi 6.1.21-v8+ #1642 SMP PREEMPT Mon Apr  3 17:24:16 BST 2023 aarch64",
        "Linux",
        "6.1.21-v8+",
        "linux",
        id="no-hint",
    ),
]


@pytest.mark.parametrize(("descr", "os_name", "version", "profile"), KERNELS)
def test_kernel_names_the_family_when_no_package_does(
    rules: IdentifyRules, descr: str, os_name: str, version: str, profile: str
) -> None:
    ident = identify(host(descr), rules)
    assert os_of(ident) == (os_name, version)
    assert ident.evidence["profile"].startswith(f"{profile}: ")
    assert ident.evidence["os_version"] == f"{profile}: sysDescr"


def test_kernel_release_is_kept_apart(rules: IdentifyRules) -> None:
    assert kernel_release(host(EL7)) == "3.10.0-1160.105.1.el7.x86_64"
    assert kernel_release(host(UBUNTU_GA)) == "5.15.0-91-generic"
    assert kernel_release(host("FreeBSD fw1 13.2-RELEASE-p4 FreeBSD 13.2-RELEASE-p4 amd64")) is None
    assert kernel_release({}) is None
    assert kernel_release({"1.3.6.1.2.1.1.1.0": 42}) is None
    facts = parse(
        host(EL7, ["centos-release-7-9.2009.1.el7.centos"]), target="t", address=None, rules=rules
    )
    assert facts.kernel == "3.10.0-1160.105.1.el7.x86_64"
    assert os_of(facts.identity) == ("CentOS", "7.9")


# --- the distro script --------------------------------------------------------------------------

DISTRO = ".6.100.105.115.116.114.111"  # the extend named "distro"
RELOCATED = "1.3.6.1.4.1.2021.7890.1.3.1.1"  # extend .1.3.6.1.4.1.2021.7890.1 distro ...
NAMED = "1.3.6.1.4.1.8072.1.3.2.3.1.1"  # extend distro ... (nsExtendOutput1Line)


@pytest.mark.parametrize(
    ("oid", "output", "os_name", "version"),
    [
        (RELOCATED, "CentOS 7.9.2009", "CentOS", "7.9"),
        (RELOCATED, "RedHat 8.10", "Red Hat Enterprise Linux", "8.10"),
        (NAMED, "Debian 12.4", "Debian", "12"),
        (NAMED, "Ubuntu 20.04", "Ubuntu", "20.04"),
        (RELOCATED, "SLES 15.5", "SUSE Linux Enterprise Server", "15 SP5"),
        (RELOCATED, "SLES 11 SP4", "SUSE Linux Enterprise Server", "11 SP4"),
        (RELOCATED, "Amazon Linux 2023", "Amazon Linux", "2023"),
        (RELOCATED, "Gentoo 2.14", "Linux", "4.19.0-26-amd64"),
    ],
)
def test_distro_script_output(
    rules: IdentifyRules, oid: str, output: str, os_name: str, version: str
) -> None:
    descr = "Linux h 4.19.0-26-amd64 #1 SMP Debian 4.19.304-1 (2024-01-09) x86_64"
    raw = host(descr) | {oid + DISTRO: output.encode()}
    ident = identify(raw, rules)
    assert os_of(ident) == (os_name, version)
    assert ident.evidence["profile"].startswith("linux-distro-script: ")


def test_release_package_outranks_the_distro_script(rules: IdentifyRules) -> None:
    # the script calls Rocky Linux "RedHat"; the package knows better
    raw = host(EL8, ["rocky-release-8.10-1.6.el8"]) | {RELOCATED + DISTRO: b"RedHat 8.10"}
    assert os_of(identify(raw, rules)) == ("Rocky Linux", "8.10")


def test_another_extend_is_not_taken_for_the_distro(rules: IdentifyRules) -> None:
    docker = ".6.100.111.99.107.101.114"  # an extend named "docker"
    raw = host(UBUNTU_GA) | {NAMED + docker: b'{"version":"1","data":[]}'}
    assert os_of(identify(raw, rules)) == ("Ubuntu", "22.04")


def test_dmi_extends_give_the_hardware(rules: IdentifyRules) -> None:
    raw = host(EL7, ["redhat-release-server-7.9-8.el7_9"])
    raw |= {
        "1.3.6.1.4.1.2021.7890.2.3.1.1.8.104.97.114.100.119.97.114.101": b"PowerEdge R640",
        "1.3.6.1.4.1.2021.7890.3.4.1.2.6.118.101.110.100.111.114.1": b"Dell Inc.",
        "1.3.6.1.4.1.2021.7890.4.3.1.1.6.115.101.114.105.97.108": b"7XK2M53",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.model, ident.serial) == ("Dell", "PowerEdge R640", "7XK2M53")


def test_linux_walks_include_the_extends_but_stay_few(rules: IdentifyRules) -> None:
    walks = vendor_oids(rules, NET_SNMP_LINUX)
    assert "1.3.6.1.4.1.2021.7890" in walks
    assert NAMED + DISTRO[: DISTRO.rindex(".")] in walks  # only rows named "distr..."
    # scalars (ending .0) are one GET between them; only subtrees cost requests of their own
    assert len([w for w in walks if not w.endswith(".0")]) <= 10 and len(walks) <= 50


# --- the package index and the rule format ------------------------------------------------------


def test_package_index_answers_prefixes_in_name_order() -> None:
    raw = host(
        "Linux x 1 #1 x86_64",
        [
            "base-files_12.4+deb12u11_amd64",
            "base-passwd_3.6.1_amd64",
            "base-files-doc_1_all",
            "bash_5.2.15-2+b2_amd64",
            "base-files_0_all",
        ],
    )
    raw[f"{SW_NAME}.999"] = 12345  # not text: ignored
    index = RawIndex(raw)
    assert [n for _, n in index.packages("base-files_")] == [
        "base-files_0_all",
        "base-files_12.4+deb12u11_amd64",
    ]
    assert [n for _, n in index.packages("base-")] == [
        "base-files-doc_1_all",
        "base-files_0_all",
        "base-files_12.4+deb12u11_amd64",
        "base-passwd_3.6.1_amd64",
    ]
    assert list(index.packages("zzz")) == []
    assert all(oid.startswith(SW_NAME + ".") for oid, _ in index.packages("b"))


def test_package_rules_load_and_bad_ones_are_named(tmp_path: Path) -> None:
    good = write_rules(
        tmp_path / "good",
        """
profiles:
  - id: acme-linux
    when: {package: {acme-release-: '^acme-release-\\d'}}
    os: AcmeLinux
    class: server
    version:
      - package: acme-release-
        match: '^acme-release-(\\d+)'
""",
    )
    raw = host("Linux a 5.0 #1 x86_64", ["acme-release-notes-1", "acme-release-7-1"])
    assert os_of(identify(raw, load_rules(good))) == ("AcmeLinux", "7")
    bad = write_rules(
        tmp_path / "bad",
        """
profiles:
  - id: broken
    when: {package: {'': '(unclosed'}}
    class: server
    version:
      - package: 42
""",
    )
    with pytest.raises(RulesError) as err:
        load_rules(bad)
    text = str(err.value)
    assert "package name prefix" in text and "(unclosed" in text and "42" in text


# --- storage arrays -----------------------------------------------------------------------------


def test_netapp_reads_the_product_group(rules: IdentifyRules) -> None:
    raw: dict[str, RawValue] = {
        "1.3.6.1.2.1.1.1.0": b"NetApp Release 9.7P22: Wed May 10 09:11:05 UTC 2023",
        "1.3.6.1.2.1.1.2.0": SnmpOid("1.3.6.1.4.1.789.2.5"),
        "1.3.6.1.4.1.789.1.1.2.0": b"NetApp Release 9.7P22: Wed May 10 09:11:05 UTC 2023",
        "1.3.6.1.4.1.789.1.1.5.0": b"FAS2650",
        "1.3.6.1.4.1.789.1.1.6.0": b"11.5",
        "1.3.6.1.4.1.789.1.1.9.0": b"721830000482",
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_name, ident.os_version) == (
        "NetApp",
        "storage",
        "ONTAP",
        "9.7P22",
    )
    assert (ident.model, ident.serial, ident.firmware) == ("FAS2650", "721830000482", "11.5")
    assert ident.evidence["serial"] == "netapp-ontap: 1.3.6.1.4.1.789.1.1.9.0"
    walks = vendor_oids(rules, "1.3.6.1.4.1.789.2.5")
    assert {"1.3.6.1.4.1.789.1.1.5.0", "1.3.6.1.4.1.789.1.1.9.0"} <= set(walks)


def test_netapp_7_mode_version_from_sysdescr(rules: IdentifyRules) -> None:
    raw: dict[str, RawValue] = {
        "1.3.6.1.2.1.1.1.0": b"NetApp Release 8.2.4P5 7-Mode: Tue Jun 14 08:05:04 PDT 2016",
        "1.3.6.1.2.1.1.2.0": SnmpOid("1.3.6.1.4.1.789.2.3"),
    }
    assert os_of(identify(raw, rules)) == ("ONTAP", "8.2.4P5")


@pytest.mark.parametrize(
    ("descr", "object_id", "expected"),
    [
        (
            "isilon-1 Isilon OneFS v8.2.2.0 Isilon OneFS v8.2.2.0 B_8_2_2_0_005(RELEASE) amd64",
            "1.3.6.1.4.1.12325.1.1.2.1.1",
            ("Dell EMC", "storage", "OneFS", "8.2.2.0", None),
        ),
        (
            "HP_3PAR 8200, ID: 12345, Serial number: 1612345, InForm OS version: 3.3.1 (MU5)",
            "1.3.6.1.4.1.12925.1",
            ("HPE", "storage", "3PAR OS", "3.3.1", "8200"),
        ),
        (
            "Nimble Storage array",
            "1.3.6.1.4.1.37447.3.1",
            ("HPE", "storage", "NimbleOS", None, None),
        ),
        (
            "Pure Storage FlashArray",
            "1.3.6.1.4.1.40482",
            ("Pure Storage", "storage", "Purity", None, None),
        ),
    ],
)
def test_other_storage_families(
    rules: IdentifyRules, descr: str, object_id: str, expected: tuple[str, ...]
) -> None:
    raw: dict[str, RawValue] = {
        "1.3.6.1.2.1.1.1.0": descr.encode(),
        "1.3.6.1.2.1.1.2.0": SnmpOid(object_id),
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.device_class, ident.os_name, ident.os_version, ident.model) == (
        expected
    )
