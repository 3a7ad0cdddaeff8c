"""Cisco IOS / IOS-XE / NX-OS parsing through the ntc-templates TextFSM templates."""

from __future__ import annotations

import pytest

from collectors.errors import ProtocolError
from collectors.facts import Facts
from collectors.ssh.cisco import parse_cisco
from collectors.ssh.commands import load_allow_list
from collectors.ssh.output import CommandOutput, decode
from tests.collectors.ssh.recorded import DATA, check_golden
from tests.sshreplay import command_file

DEVICES = {"ios-c2960x": "cisco_ios", "xe-isr4331": "cisco_xe", "nxos-n9k": "cisco_nxos"}


def recorded_raw(device: str, platform: str) -> dict[str, CommandOutput]:
    plat = load_allow_list().platform(platform)
    folder = DATA / "cisco" / device
    return {
        c.name: CommandOutput(decode(command_file(folder, c.run).read_bytes()))
        for c in plat.commands
    }


def parse_device(device: str, raw: dict[str, CommandOutput] | None = None) -> Facts:
    platform = DEVICES[device]
    plat = load_allow_list().platform(platform)
    return parse_cisco(
        raw if raw is not None else recorded_raw(device, platform),
        platform=platform,
        textfsm_platform=plat.textfsm or platform,
        commands={c.name: c.run for c in plat.commands},
        target=f"ssh://admin@{device}:22",
    )


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_golden(device: str) -> None:
    check_golden(parse_device(device), f"cisco-{device}")


def test_catalyst_2960x_on_ios() -> None:
    f = parse_device("ios-c2960x")
    i = f.identity
    assert (i.vendor, i.model, i.serial, i.device_class) == (
        "Cisco",
        "WS-C2960X-48FPD-L",
        "FOC2041X1AB",
        "switch",
    )
    assert (i.os_name, i.os_version, i.firmware) == ("IOS", "15.2(7)E8", "15.2(7r)E")
    assert f.sys_name == "hq-acc-sw03" and f.chassis_id == "70:db:98:a1:b2:00"
    assert f.uptime_s == 365 * 86400 + 12 * 7 * 86400 + 3 * 86400 + 4 * 3600 + 17 * 60
    assert f.memory_bytes == 524288 * 1024
    assert [n.remote_sys_name for n in f.neighbors if n.protocol == "cdp"] == [
        "hq-core-sw01.council.local",
        "SEP0CD0F8A1B2C3",
    ]
    lldp = [n for n in f.neighbors if n.protocol == "lldp"]
    assert lldp[0].remote_chassis_id == "00a3.d15e.7f80" and lldp[0].remote_port == "Te1/1/3"
    ifs = {x.name: x for x in f.interfaces}
    assert ifs["Vlan1"].admin_status == "down" and ifs["GigabitEthernet1/0/2"].oper_status == "down"
    assert ifs["TenGigabitEthernet1/0/1"].speed == 10_000_000_000
    assert [(a.address, a.prefix_len) for a in f.addresses] == [("10.20.120.13", 24)]
    assert [h.klass for h in f.hardware] == ["chassis", "powerSupply", "port", "port"]


def test_isr4331_on_ios_xe_is_a_router() -> None:
    f = parse_device("xe-isr4331")
    i = f.identity
    assert (i.os_name, i.os_version, i.device_class, i.model) == (
        "IOS-XE",
        "16.12.5",
        "router",
        "ISR4331/K9",
    )
    assert f.memory_bytes == (1687137 + 6147) * 1024
    assert f.chassis_id == "7c:21:0e:4a:9b:30"  # no base MAC in show version: first interface
    assert any("LLDP is not enabled" in w for w in f.warnings)
    assert [h.klass for h in f.hardware][:3] == ["chassis", "powerSupply", "fan"]


def test_nexus_on_nxos() -> None:
    f = parse_device("nxos-n9k")
    i = f.identity
    assert (i.os_name, i.os_version, i.model, i.serial) == (
        "NX-OS",
        "9.3(10)",
        "N9K-C93180YC-EX",
        "FDO22280FJK",
    )
    assert i.device_class == "switch" and i.firmware == "05.47"
    assert f.uptime_s == 212 * 86400 + 7 * 3600 + 41 * 60 + 3
    assert f.memory_bytes == 24632252 * 1024
    cdp = next(n for n in f.neighbors if n.protocol == "cdp")
    assert (cdp.remote_sys_name, cdp.remote_address, cdp.local_port) == (
        "dc1-spine01",
        "10.99.0.11",
        "Ethernet1/49",
    )
    assert {n.remote_sys_name for n in f.neighbors if n.protocol == "lldp"} == {
        "dc1-spine01",
        "dc1-esx01.council.local",
    }
    assert ("10.255.1.1", 31) in [(a.address, a.prefix_len) for a in f.addresses]


@pytest.mark.parametrize(
    "text", ["", "\x00\x01binary\xff", "% Invalid input detected at '^' marker."]
)
def test_unreadable_show_version_is_a_protocol_error(text: str) -> None:
    raw = recorded_raw("ios-c2960x", "cisco_ios")
    raw["version"] = CommandOutput(text)
    with pytest.raises(ProtocolError, match="show version"):
        parse_device("ios-c2960x", raw)


def test_broken_optional_output_is_a_warning() -> None:
    raw = recorded_raw("nxos-n9k", "cisco_nxos")
    raw["interfaces"] = CommandOutput("Ethernet1/1 is up\nthis line is not NX-OS\n")
    raw["inventory"] = CommandOutput("", None, refused=True)
    f = parse_device("nxos-n9k", raw)
    assert f.identity.os_version == "9.3(10)"
    assert any(w.startswith("show interface:") for w in f.warnings)
    assert any("refused" in w for w in f.warnings)
