"""Linux parsing: golden Facts from recorded output, plus the facts that matter, by hand."""

from __future__ import annotations

import pytest

from collectors.errors import ProtocolError
from collectors.facts import Connection, Facts, Listening
from collectors.ssh.linux import cpu_pct, parse_linux, parse_os_release
from collectors.ssh.linux_inventory import parse_df
from collectors.ssh.output import CommandOutput
from collectors.ssh.rules import load_identity_rules
from collectors.ssh.sockets import parse_proc_net, parse_ss, split_endpoint
from tests.collectors.ssh.recorded import DATA, check_golden, load_raw

HOSTS = sorted(p.name for p in (DATA / "linux").iterdir())


def _parse(host: str) -> Facts:
    return parse_linux(load_raw(DATA / "linux" / host), target=f"ssh://root@{host}:22")


@pytest.mark.parametrize("host", HOSTS)
def test_golden(host: str) -> None:
    check_golden(_parse(host), f"linux-{host}")


def test_dell_ubuntu_server() -> None:
    f = _parse("ubuntu2204-dell")
    ident = f.identity
    assert (ident.vendor, ident.model, ident.serial) == ("Dell", "PowerEdge R740", "7XK2Q93")
    assert (ident.os_name, ident.os_version, ident.device_class) == ("Ubuntu", "22.04", "server")
    assert (ident.firmware, f.bios_date) == ("2.19.1", "2023-06-13")
    assert f.kernel == "5.15.0-105-generic" and f.sys_name == "hq-app-07"
    assert f.cpu_count == 32 and f.memory_bytes == 196692412 * 1024
    assert f.chassis_id == "24:6e:96:8a:11:40"  # eno1, the first physical NIC
    names = {s.name for s in f.software}
    assert "linux-image-5.15.0-91-generic" not in names  # only config files left ("rc")
    assert len(f.software) == 21 and "docker-ce" in names
    by_mount = {s.mount: s for s in f.storage}
    assert by_mount["/mnt/shared"].kind == "network" and "/run" not in by_mount
    assert by_mount["/"].size_bytes == 479555068 * 1024
    disks = [s for s in f.storage if s.kind == "disk"]
    assert [d.descr for d in disks] == [
        "/dev/sda PERC H730P Mini ssd",
        "/dev/sdb PERC H730P Mini hdd",
    ]
    assert Listening("tcp", "0.0.0.0", 80, "apache2", 1822) in f.listening
    assert Listening("tcp", "127.0.0.53", 53, "systemd-resolve", 802) in f.listening
    assert Listening("udp", "0.0.0.0", 161, "snmpd", 1290) in f.listening
    assert Connection("tcp", "10.40.1.37", 48812, "10.40.2.15", 3306, "java", 2210) in f.connections
    assert Connection("tcp", "10.40.1.37", 8080, "10.40.3.9", 50422, "java", 2210) in f.connections
    assert all(c.state == "established" for c in f.connections)
    assert not any(c.remote_port == 443 for c in f.connections)  # TIME-WAIT, CLOSE-WAIT
    assert f.utilisation is not None
    assert f.utilisation.load1 == 3.41 and f.utilisation.cpu_pct is not None
    assert 0 <= f.utilisation.cpu_pct <= 100 and f.utilisation.mem_pct == 23.1
    assert f.warnings == ()


def test_rhel7_with_old_ss_and_rpm() -> None:
    f = _parse("rhel79-hpe")
    assert f.identity.os_name == "Red Hat Enterprise Linux" and f.identity.os_version == "7.9"
    assert f.identity.vendor == "HP" and f.identity.serial == "CZJ61201AB"
    versions = {(s.name, s.version) for s in f.software}
    assert ("openssl", "1:1.0.2k-26.el7_9") in versions
    assert not any(s.name == "gpg-pubkey" for s in f.software)
    assert sum(1 for s in f.software if s.name == "kernel") == 2
    assert {s.install_date for s in f.software if s.name == "bash"} == {"2022-05-11"}
    assert Listening("tcp", "::", 22, "sshd", 1432) in f.listening
    assert Listening("tcp", "0.0.0.0", 1521, "tnslsnr", 3012) in f.listening
    assert len(f.connections) == 3
    assert {s.kind for s in f.storage if s.mount == "/mnt/backup"} == {"network"}


def test_proxmox_is_a_hypervisor() -> None:
    f = _parse("proxmox8-supermicro")
    assert f.identity.device_class == "hypervisor"
    assert "proxmox-ve" in f.identity.evidence["device_class"]
    assert f.identity.vendor == "Supermicro" and f.identity.serial == "S349812X1234567"
    assert f.chassis_id == "ac:1f:6b:d0:10:20"
    # Process names with spaces ("pveproxy worker") are kept whole.
    assert any(x.port == 8006 and x.process == "pveproxy worker" for x in f.listening)


def test_esxi_shell_is_a_hypervisor_with_warnings() -> None:
    f = _parse("esxi7")
    assert (f.identity.os_name, f.identity.os_version) == ("ESXi", "7.0.3")
    assert f.identity.device_class == "hypervisor"
    assert any("no package manager" in w for w in f.warnings)
    assert any("DMI" in w for w in f.warnings)


def test_busybox_falls_back_to_proc_net() -> None:
    f = _parse("alpine318-busybox")
    assert f.identity.os_name == "Alpine Linux" and f.identity.os_version == "3.18.6"
    assert Listening("tcp", "0.0.0.0", 80) in f.listening
    assert Listening("tcp", "::1", 8000) in f.listening
    assert Listening("udp", "0.0.0.0", 123) in f.listening
    assert Connection("tcp", "10.90.5.14", 22, "10.20.120.50", 50010) in f.connections
    assert {(s.name, s.version) for s in f.software} >= {("haproxy", "2.6.16-r0")}
    assert any("/proc/net" in w for w in f.warnings)
    assert f.utilisation is not None and f.utilisation.mem_pct is not None  # no MemAvailable


def test_non_root_login_warns_about_what_it_could_not_read() -> None:
    f = _parse("debian11-nonroot")
    assert f.identity.serial is None and f.identity.vendor == "VMware"
    assert any("root only" in w for w in f.warnings)
    assert any("owning process not visible" in w for w in f.warnings)
    assert f.identity.evidence["virtualisation"] == "systemd-detect-virt: vmware"
    assert "telegraf" in {s.name for s in f.software}  # unpacked but not configured ("iU")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:22", ("127.0.0.1", 22)),
        ("[::]:22", ("::", 22)),
        ("*:8080", ("0.0.0.0", 8080)),
        ("127.0.0.53%lo:53", ("127.0.0.53", 53)),
        ("[fe80::1%eth0]:123", ("fe80::1", 123)),
        ("[::ffff:10.0.0.1]:443", ("10.0.0.1", 443)),
        ("0.0.0.0:*", None),
        ("garbage", None),
    ],
)
def test_split_endpoint(text: str, expected: tuple[str, int] | None) -> None:
    assert split_endpoint(text) == expected


def test_proc_net_on_a_big_endian_host() -> None:
    row = "0: 7F000001:0016 00000000:0000 0A 0:0 0:0 0 0 0 1"
    assert parse_proc_net(row, "tcp", big_endian=True)[0] == [Listening("tcp", "127.0.0.1", 22)]
    assert parse_proc_net(row, "tcp")[0] == [Listening("tcp", "1.0.0.127", 22)]


def test_ss_counts_sockets_without_a_visible_process() -> None:
    listening, _, hidden = parse_ss("LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n", "tcp")
    assert listening == [Listening("tcp", "0.0.0.0", 22)] and hidden == 1


def test_df_mount_points_with_spaces() -> None:
    text = "/dev/sdc1 ext4 100 50 50 50% /srv/My Files\n"
    (fs,) = parse_df(text, load_identity_rules(), [])
    assert fs.mount == "/srv/My Files" and fs.used_bytes == 50 * 1024


def test_os_release_quoting() -> None:
    text = 'NAME=\'Foo Linux\'\nVERSION_ID="1.0"\nBROKEN="unterminated\nlower=skip\n'
    assert parse_os_release(text) == {
        "NAME": "Foo Linux",
        "VERSION_ID": "1.0",
        "BROKEN": "unterminated",
    }


@pytest.mark.parametrize("text", ["", "\x00\xff garbage", "Last login: yesterday\n$ "])
def test_system_answer_without_sections_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError, match="POSIX shell"):
        parse_linux({"system": CommandOutput(text)}, target="t")


def test_missing_commands_become_warnings() -> None:
    raw = load_raw(DATA / "linux" / "ubuntu2204-dell")
    raw = {"system": raw["system"], "packages": CommandOutput("", 1, "dpkg: broken", refused=True)}
    f = parse_linux(raw, target="t")
    assert f.identity.os_name == "Ubuntu"
    assert any(w.startswith("storage: not run") for w in f.warnings)
    assert any("refused" in w for w in f.warnings)


def test_cpu_share_from_proc_stat_with_or_without_iowait() -> None:
    """/proc/stat's cpu line has four counters on kernels before 2.5.41 (no iowait) and more
    after: both give a share, and two samples of different widths give none (found by the
    randomised fuzz test: a recording cut after the fourth counter raised IndexError)."""
    assert cpu_pct("cpu 100 0 100 800", "cpu 200 0 200 1400") == 25.0
    assert cpu_pct("cpu 100 0 100 700 100 0 0", "cpu 200 0 200 1200 200 0 0") == 25.0
    assert cpu_pct("cpu 100 0 100 800", "cpu 200 0 200 1200 200 0 0") is None
    assert cpu_pct("cpu 1 2 3", "cpu 4 5 6") is None
