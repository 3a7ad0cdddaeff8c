"""Windows over OpenSSH: parsing recorded PowerShell ConvertTo-Json output."""

from __future__ import annotations

import pytest

from collectors.errors import ProtocolError
from collectors.facts import Connection, Facts, Listening
from collectors.ssh.output import CommandOutput
from collectors.ssh.windows import parse_windows, sample_from_windows
from tests.collectors.ssh.recorded import DATA, check_golden, load_raw

HOSTS = sorted(p.name for p in (DATA / "windows").iterdir())


def _parse(host: str) -> Facts:
    return parse_windows(load_raw(DATA / "windows" / host), target=f"ssh://admin@{host}:22")


@pytest.mark.parametrize("host", HOSTS)
def test_golden(host: str) -> None:
    check_golden(_parse(host), f"windows-{host}")


def test_hyperv_host() -> None:
    f = _parse("win2019-hyperv")
    i = f.identity
    assert (i.os_name, i.os_version, i.device_class) == ("Windows", "2019", "hypervisor")
    assert (i.vendor, i.model, i.serial, i.firmware) == (
        "HPE",
        "ProLiant DL380 Gen10",
        "CZ29170XYZ",
        "U30",
    )
    assert f.kernel == "10.0.17763" and f.sys_name == "HQ-HV-02" and f.bios_date == "2022-10-27"
    assert f.cpu_count == 80 and f.memory_bytes == 402436096 * 1024
    assert f.chassis_id == "b8:83:03:5a:10:20"
    assert ("10.40.20.12", 24) in [(a.address, a.prefix_len) for a in f.addresses]
    assert ("fe80::a1b2:c3d4:e5f6:1234", 64) in [(a.address, a.prefix_len) for a in f.addresses]
    assert Listening("tcp", "0.0.0.0", 445, "System", 4) in f.listening
    assert Listening("udp", "0.0.0.0", 161, "snmp", 2290) in f.listening
    assert (
        Connection("tcp", "10.40.20.12", 22, "10.20.120.50", 59933, "sshd", 3120) in f.connections
    )
    assert len(f.software) == 4  # the duplicated registry entry is counted once
    assert {s.install_date for s in f.software if s.name.startswith("Veeam")} == {"2021-11-02"}
    assert f.utilisation is not None and f.utilisation.cpu_pct == 29.0


def test_powershell_51_single_objects_and_preamble() -> None:
    f = _parse("win2012r2-single")
    assert f.identity.os_version == "2012 R2" and f.identity.device_class == "server"
    assert f.identity.vendor == "VMware" and f.cpu_count == 4
    assert [s.name for s in f.software] == ["Sage 200 Server"]
    assert f.listening == (Listening("tcp", "0.0.0.0", 1433, "sqlservr", 1804),)
    assert [(d.mount, d.used_bytes) for d in f.storage] == [("C:", 107372081152 - 9663676416)]


def test_windows_client_is_an_endpoint() -> None:
    raw = {"system": CommandOutput('{"Caption":"Microsoft Windows 10 Pro","Version":"10.0.19045"}')}
    f = parse_windows(raw, target="t")
    assert f.identity.device_class == "endpoint" and f.identity.os_version == "10"


@pytest.mark.parametrize("text", ["", "Access is denied.", "{not json", "[1, 2]"])
def test_unreadable_system_answer_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_windows({"system": CommandOutput(text)}, target="t")


def test_unreadable_optional_answer_is_a_warning() -> None:
    raw = load_raw(DATA / "windows" / "win2019-hyperv")
    raw["software"] = CommandOutput("{broken")
    f = parse_windows(raw, target="t")
    assert f.software == () and any(w.startswith("software:") for w in f.warnings)


def test_sample_from_the_recorded_sample_answer() -> None:
    text = (DATA / "windows" / "win2019-hyperv" / "sample.txt").read_text()
    got = sample_from_windows(text, "ssh://admin@win2019-hyperv:22")
    assert got.cpu_pct == 29.0  # the two processors' LoadPercentage, 31 and 27
    assert got.mem_pct == round(100 * (402436096 - 100213344) / 402436096, 1)
    size, free = 479554957312 + 3840601280512, 301237489664 + 1210223951872
    assert got.disk_pct == round(100 * (size - free) / size, 1)
    # the two adapters' raw 64-bit octet counters; the isatap pseudo-interface is left out
    assert (got.net_in_octets, got.net_out_octets) == (
        918273645512 + 88172635241,
        401928374651 + 77162534122,
    )
    assert got.interfaces == 2 and got.counter_bits == 64 and got.load1 is None


def test_sample_from_powershell_51_single_objects_and_gaps() -> None:
    # PowerShell 5.1: a one-element array is a bare value; a counter it could not read is null.
    text = (
        'Preamble\r\n{"Load":12,"TotalVisibleMemoryKB":8388608,"FreePhysicalMemoryKB":2097152,'
        '"Disks":{"Size":1000,"Free":250},"Net":{"Name":"vmxnet3 Ethernet Adapter","In":5,'
        '"Out":null}}'
    )
    got = sample_from_windows(text, "t")
    assert (got.cpu_pct, got.mem_pct, got.disk_pct) == (12.0, 75.0, 75.0)
    assert got.net_in_octets is None and got.net_out_octets is None and got.interfaces == 1


@pytest.mark.parametrize("text", ["", "not json at all", "[1, 2]", '"text"', "{"])
def test_sample_garbage_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError, match="Windows sample query"):
        sample_from_windows(text, "ssh://admin@w:22")


def test_a_sample_that_lies_gives_no_figure_out_of_range() -> None:
    text = (
        '{"Load":[250,-4,"x"],"TotalVisibleMemoryKB":100,"FreePhysicalMemoryKB":400,'
        '"Disks":[{"Size":10,"Free":20},{"Size":0,"Free":0}],"Net":[]}'
    )
    got = sample_from_windows(text, "t")
    assert got.cpu_pct == 100.0  # clamped; the negative and the text are not loads
    assert got.mem_pct is None and got.disk_pct is None and got.net_in_octets is None
