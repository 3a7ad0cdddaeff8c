"""Pure parsing of the Linux allow-list scripts' output into :class:`Facts`.

Input is ``{command name: CommandOutput}`` as fetched (names from ``config/ssh/commands.yaml``:
system, storage, packages, sockets, sample), each split into ``@@cw:`` sections. Missing or
unreadable parts become warnings; only a ``system`` answer with none of its sections is an error
(:class:`ProtocolError`: the login shell did not run the script).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collectors.errors import ProtocolError
from collectors.facts import (
    Address,
    Connection,
    Facts,
    Identity,
    Interface,
    Listening,
    Software,
    Storage,
    Utilisation,
)
from collectors.ssh.guests import linux_guests
from collectors.ssh.linux_inventory import parse_df, parse_lsblk, parse_packages
from collectors.ssh.output import CommandOutput, RawOutput, split_sections
from collectors.ssh.rules import IdentityRules, load_identity_rules
from collectors.ssh.sockets import parse_proc_net, parse_ss
from collectors.system_uuid import canonical

_IP_ADDR = re.compile(r"^(\d+):\s+(\S+)\s+(inet6?)\s+([0-9A-Fa-f.:]+)/(\d+)")
_ESXI = re.compile(r"VMware ESXi (\S+)")
_BIG_ENDIAN = re.compile(r"^(s390x?|ppc64|ppc|mips|mips64|sparc64|m68k)$")
_ARPHRD_TO_IFTYPE = {"1": 6, "772": 24, "512": 23, "776": 131, "65534": 131}


@dataclass
class _Notes:
    """Warnings and a count of items read, gathered while parsing."""

    warnings: list[str] = field(default_factory=list)
    values: int = 0


def parse_linux(
    raw: RawOutput,
    *,
    target: str,
    address: str | None = None,
    platform_evidence: str = "",
    rules: IdentityRules | None = None,
) -> Facts:
    rules = rules or load_identity_rules()
    notes = _Notes()
    system = _sections(raw, "system", notes)
    if not system or not ({"os-release", "uname", "meminfo"} & system.keys()):
        got = raw.get("system")
        shown = repr(got.text[:60]) if got is not None and got.text.strip() else "nothing"
        raise ProtocolError(
            f"{target}: the system script printed none of its sections (got {shown}); "
            "the login shell must be a POSIX shell on a Linux/Unix host",
            target=target,
        )
    osr = parse_os_release(system.get("os-release", ""))
    uname = [*system.get("uname", "").splitlines(), "", "", "", ""][:4]
    kernel_name, hostname, kernel, machine = (u.strip() or None for u in uname)
    dmi = parse_keyvalues(system.get("dmi", ""), "=")
    meminfo = parse_meminfo(system.get("meminfo", ""))
    notes.values += len(osr) + len([v for v in dmi.values() if rules.clean(v)]) + len(meminfo)

    software = parse_packages(_sections(raw, "packages", notes), notes.warnings)
    disks = _sections(raw, "storage", notes)
    storage = parse_df(disks.get("df", ""), rules, notes.warnings) + parse_lsblk(
        disks.get("lsblk", "")
    )
    interfaces, physical = parse_net(system.get("net", ""))
    addresses = parse_ip_addr(system.get("ip-addr", ""))
    big_endian = bool(machine and _BIG_ENDIAN.match(machine))
    as_root = system.get("id", "").strip() == "0"
    listening, connections = _sockets(_sections(raw, "sockets", notes), big_endian, as_root, notes)
    utilisation = _utilisation(_sections(raw, "sample", notes), meminfo, storage)
    notes.values += len(software) + len(storage) + len(interfaces) + len(addresses)
    notes.values += len(listening) + len(connections)

    identity = _identity(osr, kernel_name, system, dmi, software, rules, platform_evidence, notes)
    cpu_count, cpu_model = _cpu(system)
    pretty = osr.get("PRETTY_NAME") or identity.os_name
    descr = " ".join(x for x in (kernel_name, kernel, machine) if x)
    return Facts(
        target=target,
        protocol="ssh",
        address=address,
        sys_name=hostname,
        sys_descr=f"{pretty}; {descr}" if pretty else descr or None,
        uptime_s=first_float(system.get("uptime", "")),
        identity=identity,
        kernel=kernel,
        chassis_id=physical,
        cpu_count=cpu_count,
        cpu_model=cpu_model,
        memory_bytes=meminfo.get("MemTotal"),
        bios_date=_bios_date(rules.clean(dmi.get("bios_date"))),
        system_uuid=canonical(dmi.get("product_uuid")),
        interfaces=tuple(interfaces),
        addresses=tuple(addresses),
        software=tuple(software),
        storage=tuple(storage),
        listening=tuple(listening),
        connections=tuple(connections),
        utilisation=utilisation,
        guests=linux_guests(_optional_sections(raw, "guests")),
        values_read=notes.values,
        warnings=tuple(notes.warnings),
    )


def _optional_sections(raw: RawOutput, name: str) -> dict[str, str]:
    """The sections of a command whose absence is no news (a host without a hypervisor)."""
    out: CommandOutput | None = raw.get(name)
    return split_sections(out.text) if out is not None else {}


def _sections(raw: RawOutput, name: str, notes: _Notes) -> dict[str, str]:
    out: CommandOutput | None = raw.get(name)
    if out is None:
        notes.warnings.append(f"{name}: not run")
        return {}
    sections = split_sections(out.text)
    if out.truncated:
        notes.warnings.append(f"{name}: output cut at the size limit; some items are missing")
    if out.refused:
        notes.warnings.append(f"{name}: the server refused to run it ({out.stderr.strip()[:80]})")
    elif not sections:
        why = (
            (out.stderr.strip()[:80] or repr(out.text[:40]))
            if out.text.strip() or out.stderr.strip()
            else "no output"
        )
        notes.warnings.append(f"{name}: unexpected output (exit {out.exit_status}): {why}")
    elif "end" not in sections and not out.truncated:
        notes.warnings.append(f"{name}: output ended early (exit {out.exit_status})")
    return sections


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): ``KEY=value`` with shell quoting."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            continue
        try:
            parts = shlex.split(value)
            values[key] = " ".join(parts)
        except ValueError:
            values[key] = value.strip("\"'")
    return values


def parse_keyvalues(text: str, sep: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found and key.strip():
            out[key.strip()] = value.strip()
    return out


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?\s*$", line)
        if match:
            scale = 1024 if line.rstrip().endswith("kB") else 1
            out[match[1]] = int(match[2]) * scale
    return out


def parse_net(text: str) -> tuple[list[Interface], str | None]:
    """The ``net`` section (one line per /sys/class/net entry) -> interfaces, first physical MAC."""
    interfaces: list[Interface] = []
    physical: list[tuple[int, str]] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or not fields[2].isdigit():
            continue
        name, phys, ifindex, arphrd, mtu, state, mac = fields[:7]
        speed = fields[7] if len(fields) > 7 else ""
        mac = mac.lower()
        valid_mac = (
            re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac) and mac != "00:00:00:00:00:00"
        )
        interfaces.append(
            Interface(
                index=int(ifindex),
                name=name,
                type=_ARPHRD_TO_IFTYPE.get(arphrd),
                mac=mac if valid_mac else None,
                speed=int(speed) * 1_000_000 if speed.isdigit() and int(speed) > 0 else None,
                mtu=int(mtu) if mtu.isdigit() else None,
                oper_status=state if state in {"up", "down", "unknown", "dormant"} else None,
            )
        )
        if phys == "1" and valid_mac:
            physical.append((int(ifindex), mac))
    interfaces.sort(key=lambda i: (i.index or 0, i.name))
    return interfaces, (min(physical)[1] if physical else None)


def parse_ip_addr(text: str) -> list[Address]:
    out: list[Address] = []
    for line in text.splitlines():
        match = _IP_ADDR.match(line.strip())
        if match:
            family = "ipv6" if match[3] == "inet6" else "ipv4"
            out.append(Address(match[4], int(match[5]), int(match[1]), family))
    return out


def _identity(
    osr: Mapping[str, str],
    kernel_name: str | None,
    system: Mapping[str, str],
    dmi: Mapping[str, str],
    software: list[Software],
    rules: IdentityRules,
    platform_evidence: str,
    notes: _Notes,
) -> Identity:
    evidence: dict[str, str] = {}
    if platform_evidence:
        evidence["platform"] = f"linux: {platform_evidence}"
    os_name = rules.os_name(osr.get("ID"), osr.get("NAME"))
    os_version = osr.get("VERSION_ID")
    if os_name:
        evidence["os_name"] = f"/etc/os-release ID={osr.get('ID')!r} NAME={osr.get('NAME')!r}"
    if os_version:
        evidence["os_version"] = f"/etc/os-release VERSION_ID={os_version!r}"
    esxi = _ESXI.search(system.get("esxi", ""))
    if esxi:
        os_name, os_version = "ESXi", esxi[1]
        evidence["os_name"] = evidence["os_version"] = f"vmware -v: {esxi[0]!r}"
    if os_name is None and kernel_name:
        os_name = kernel_name
        evidence["os_name"] = f"uname -s {kernel_name!r} (no /etc/os-release)"
    hyper = rules.is_hypervisor(kernel_name, (s.name for s in software))
    evidence["device_class"] = (
        f"hypervisor: {hyper}" if hyper else "a Linux/Unix host (no hypervisor found)"
    )
    virt = system.get("virt", "").strip()
    if virt and virt != "none":
        evidence["virtualisation"] = f"systemd-detect-virt: {virt}"
    vendor = rules.vendor(dmi.get("sys_vendor"))
    if vendor:
        evidence["vendor"] = f"DMI sys_vendor {dmi.get('sys_vendor')!r}"
    model = rules.clean(dmi.get("product_name"))
    if model:
        evidence["model"] = f"DMI product_name {model!r}"
    serial = rules.clean(dmi.get("product_serial")) or rules.clean(dmi.get("chassis_serial"))
    if serial:
        evidence["serial"] = "DMI product_serial"
    if dmi and all(v == "!absent" for v in dmi.values()):
        notes.warnings.append(
            "no DMI data (/sys/class/dmi absent: a container or a board without SMBIOS)"
        )
    elif dmi.get("product_serial") == "!unreadable" and serial is None:
        notes.warnings.append(
            "serial number not readable: DMI product_serial is readable by root only"
        )
    return Identity(
        vendor=vendor or "unknown",
        device_class="hypervisor" if hyper else "server",
        model=model,
        os_name=os_name,
        os_version=os_version,
        serial=serial,
        firmware=rules.clean(dmi.get("bios_version")),
        evidence=evidence,
    )


def _cpu(system: Mapping[str, str]) -> tuple[int | None, str | None]:
    nproc = system.get("nproc", "").strip()
    lines = system.get("cpuinfo", "").splitlines()
    count = int(nproc) if nproc.isdigit() else None
    if count is None and lines and lines[0].strip().isdigit() and int(lines[0]) > 0:
        count = int(lines[0])
    model = None
    for line in lines[1:]:
        _key, sep, value = line.partition(":")
        if sep and value.strip():
            model = " ".join(value.split())
            break
    return count, model


def _sockets(
    sections: Mapping[str, str], big_endian: bool, as_root: bool, notes: _Notes
) -> tuple[list[Listening], list[Connection]]:
    listening: list[Listening] = []
    connections: list[Connection] = []
    hidden = 0
    for proto in ("tcp", "udp"):
        ss_text = sections.get(f"ss-{proto}", "")
        if ss_text.strip():
            found, conns, missing = parse_ss(ss_text, proto)
            listening += found
            connections += conns
            hidden += missing
            continue
        for suffix in ("", "6"):
            text = sections.get(f"proc-{proto}{suffix}", "")
            found, conns = parse_proc_net(text, proto, big_endian=big_endian)
            listening += found
            connections += conns
        if f"proc-{proto}" in sections:
            notes.warnings.append(
                f"ss not available: {proto} sockets read from /proc/net without owning process"
            )
    if hidden and not as_root:  # as root, a socket without a process belongs to the kernel
        notes.warnings.append(
            f"owning process not visible for {hidden} sockets (other users' processes are "
            "hidden unless logged in as root)"
        )
    return listening, connections


def _utilisation(
    sample: Mapping[str, str], meminfo: Mapping[str, int], storage: list[Storage]
) -> Utilisation | None:
    load = first_float(sample.get("loadavg", ""))
    cpu = cpu_pct(sample.get("stat1", ""), sample.get("stat2", ""))
    total = meminfo.get("MemTotal")
    avail = meminfo.get("MemAvailable")
    if avail is None and "MemFree" in meminfo:
        avail = sum(meminfo.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    mem = round(100.0 * (1 - avail / total), 1) if total and avail is not None else None
    disks = [s for s in storage if s.kind == "fixed" and s.size_bytes and s.used_bytes is not None]
    size = sum(s.size_bytes or 0 for s in disks)
    disk = round(100.0 * sum(s.used_bytes or 0 for s in disks) / size, 1) if size else None
    if load is None and cpu is None and mem is None and disk is None:
        return None
    return Utilisation(cpu_pct=cpu, mem_pct=mem, load1=load, disk_pct=disk)


def cpu_pct(first: str, second: str) -> float | None:
    def counters(text: str) -> list[int] | None:
        fields = text.split()
        if len(fields) < 5 or fields[0] != "cpu" or not all(f.isdigit() for f in fields[1:]):
            return None
        return [int(f) for f in fields[1:9]]

    a, b = counters(first), counters(second)
    if a is None or b is None or len(a) != len(b):
        return None
    total = sum(b) - sum(a)
    # idle, and iowait where the kernel counts it (Linux 2.5.41 on: before, four counters)
    idle = sum(b[3:5]) - sum(a[3:5])
    if total <= 0:
        return None
    return round(max(0.0, min(100.0, 100.0 * (total - idle) / total)), 1)


def first_float(text: str) -> float | None:
    fields = text.split()
    try:
        value = float(fields[0]) if fields else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _bios_date(text: str | None) -> str | None:
    """DMI ``MM/DD/YYYY`` -> ISO ``YYYY-MM-DD``; other shapes are kept as given."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").replace(tzinfo=UTC).date().isoformat()
    except ValueError:
        return text
