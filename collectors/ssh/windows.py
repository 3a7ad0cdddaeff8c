"""Pure parsing of the Windows allow-list (PowerShell ``ConvertTo-Json`` output) into Facts.

PowerShell 5.1 writes a one-element array as a bare object and an empty one as nothing; both are
accepted. An unreadable ``system`` answer is a :class:`ProtocolError`; the rest give warnings.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from typing import Any

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
from collectors.sample import Sample, percent
from collectors.ssh.guests import hyperv_guests
from collectors.ssh.output import RawOutput
from collectors.ssh.rules import IdentityRules, load_identity_rules
from collectors.ssh.sockets import normalise_address
from collectors.system_uuid import canonical

_SERVER = re.compile(r"Windows Server (\d{4})(?: (R2))?")
_CLIENT = re.compile(r"Windows (\d+)\b")


def load_json(text: str) -> Any:
    """The first JSON value in ``text`` (PowerShell may print a preamble); None when empty."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        if text.strip():
            raise ValueError(f"no JSON in {text.strip()[:40]!r}")
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    return value


def _list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _int(value: Any) -> int | None:
    """A non-negative whole number, or None (PowerShell may give int, float or string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


def parse_windows(
    raw: RawOutput,
    *,
    target: str,
    address: str | None = None,
    platform_evidence: str = "",
    rules: IdentityRules | None = None,
) -> Facts:
    rules = rules or load_identity_rules()
    warnings: list[str] = []
    parsed: dict[str, Any] = {}
    for name, out in raw.items():
        if name == "guests":  # Get-VM: only where Hyper-V is; read apart below
            continue
        try:
            parsed[name] = load_json(out.text)
        except ValueError as exc:
            parsed[name] = None
            if name == "system":
                raise ProtocolError(
                    f"{target}: Windows system query did not return JSON ({exc}); is PowerShell "
                    "available to this user?",
                    target=target,
                ) from exc
            warnings.append(f"{name}: {exc}")
        if out.truncated:
            warnings.append(f"{name}: output cut at the size limit")
    system = parsed.get("system")
    if not isinstance(system, dict):
        raise ProtocolError(f"{target}: Windows system query returned no object", target=target)
    caption = _str(system.get("Caption")) or "Windows"
    server = _SERVER.search(caption)
    client = _CLIENT.search(caption)
    os_version = (
        " ".join(x for x in server.groups() if x) if server else client[1] if client else None
    )
    hyperv = bool(system.get("HyperV"))
    klass = "hypervisor" if hyperv else "server" if "Server" in caption else "endpoint"
    vendor = rules.vendor(_str(system.get("Manufacturer")))
    evidence = {
        "os_name": f"Win32_OperatingSystem Caption {caption!r}",
        "device_class": "Hyper-V service (vmms) present" if hyperv else f"Caption {caption!r}",
    }
    if platform_evidence:
        evidence["platform"] = f"windows: {platform_evidence}"
    if vendor:
        evidence["vendor"] = f"Win32_ComputerSystem Manufacturer {system.get('Manufacturer')!r}"
    procs = _list(system.get("Processors"))
    logical = [n for n in (_int(p.get("Logical")) for p in procs) if n]
    loads = [n for n in (_int(p.get("Load")) for p in procs) if n is not None]
    total_kb, free_kb = (
        _int(system.get("TotalVisibleMemoryKB")),
        _int(system.get("FreePhysicalMemoryKB")),
    )
    interfaces, addresses = _adapters(_list(system.get("Adapters")))
    storage = _disks(_list(system.get("Disks")))
    software = _software(_list(parsed.get("software")))
    listening, connections = _sockets(parsed.get("sockets"))
    size = sum(s.size_bytes or 0 for s in storage)
    mem_pct = (
        round(100.0 * (1 - free_kb / total_kb), 1) if total_kb and free_kb is not None else None
    )
    util = Utilisation(
        cpu_pct=round(sum(loads) / len(loads), 1) if loads else None,
        mem_pct=mem_pct,
        disk_pct=round(100.0 * sum(s.used_bytes or 0 for s in storage) / size, 1) if size else None,
    )
    uptime = _int(system.get("UptimeSeconds"))
    return Facts(
        target=target,
        protocol="ssh",
        address=address,
        sys_name=_str(system.get("CSName")),
        sys_descr=" ".join(x for x in (caption, _str(system.get("Version"))) if x),
        uptime_s=float(uptime) if uptime is not None and uptime >= 0 else None,
        identity=Identity(
            vendor=vendor or "unknown",
            device_class=klass,
            model=rules.clean(_str(system.get("Model"))),
            os_name="Windows",
            os_version=os_version,
            serial=rules.clean(_str(system.get("SerialNumber"))),
            firmware=rules.clean(_str(system.get("BIOSVersion"))),
            evidence=evidence,
        ),
        kernel=_str(system.get("Version")),
        chassis_id=next((i.mac for i in interfaces if i.mac), None),
        cpu_count=sum(logical) or None,
        cpu_model=_str(procs[0].get("Name")) if procs else None,
        memory_bytes=total_kb * 1024 if total_kb else None,
        bios_date=_str(system.get("BIOSDate")),
        system_uuid=canonical(_str(system.get("SystemUUID"))),
        interfaces=tuple(interfaces),
        addresses=tuple(addresses),
        software=tuple(software),
        storage=tuple(storage),
        listening=tuple(listening),
        connections=tuple(connections),
        utilisation=util,
        guests=hyperv_guests(raw["guests"].text) if "guests" in raw else (),
        values_read=len(system) + len(software) + len(listening) + len(connections) + len(storage),
        warnings=tuple(warnings),
    )


def _adapters(rows: list[dict[str, Any]]) -> tuple[list[Interface], list[Address]]:
    interfaces: list[Interface] = []
    addresses: list[Address] = []
    for row in rows:
        index = _int(row.get("Index"))
        mac = (_str(row.get("MAC")) or "").lower().replace("-", ":") or None
        interfaces.append(
            Interface(index, _str(row.get("Description")) or f"adapter {index}", mac=mac)
        )
        ips, subnets = _values(row.get("IP")), _values(row.get("Subnet"))
        for ip, subnet in zip(ips, [*subnets, *[None] * len(ips)], strict=False):
            addr = _address(_str(ip), _str(subnet), index)
            if addr is not None:
                addresses.append(addr)
    return interfaces, addresses


def _address(ip: str | None, subnet: str | None, index: int | None) -> Address | None:
    if not ip:
        return None
    try:
        parsed = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return None
    prefix: int | None = None
    if subnet and subnet.isdigit():
        prefix = int(subnet)
    elif subnet:
        try:
            prefix = ipaddress.ip_network(f"0.0.0.0/{subnet}").prefixlen
        except ValueError:
            prefix = None
    return Address(str(parsed), prefix, index, f"ipv{parsed.version}")


def _disks(rows: list[dict[str, Any]]) -> list[Storage]:
    out: list[Storage] = []
    for row in rows:
        size, free = _int(row.get("Size")), _int(row.get("Free"))
        drive = _str(row.get("Drive")) or "?"
        used = size - free if size is not None and free is not None else None
        out.append(
            Storage(
                f"{drive} {_str(row.get('FileSystem')) or ''}".strip(), "fixed", size, used, drive
            )
        )
    return out


def _software(rows: list[dict[str, Any]]) -> list[Software]:
    out: list[Software] = []
    for row in rows:
        name = _str(row.get("Name"))
        if not name:
            continue
        date = _str(row.get("InstallDate"))
        iso = (
            f"{date[:4]}-{date[4:6]}-{date[6:8]}" if date and re.fullmatch(r"\d{8}", date) else None
        )
        out.append(
            Software(name, _str(row.get("Version")), "application", iso, _str(row.get("Vendor")))
        )
    return sorted(set(out), key=lambda s: (s.name, s.version or ""))


def _sockets(value: Any) -> tuple[list[Listening], list[Connection]]:
    listening: list[Listening] = []
    connections: list[Connection] = []
    if not isinstance(value, dict):
        return listening, connections
    for row in _list(value.get("Tcp")):
        port, rport = _int(row.get("LocalPort")), _int(row.get("RemotePort"))
        local = normalise_address(_str(row.get("LocalAddress")) or "")
        process, pid = _str(row.get("Process")), _int(row.get("Pid"))
        if port is None:
            continue
        if row.get("State") == "Listen":
            listening.append(Listening("tcp", local, port, process, pid))
        elif row.get("State") == "Established" and rport is not None:
            remote = normalise_address(_str(row.get("RemoteAddress")) or "")
            connections.append(Connection("tcp", local, port, remote, rport, process, pid))
    for row in _list(value.get("Udp")):
        port = _int(row.get("LocalPort"))
        if port is not None:
            local = normalise_address(_str(row.get("LocalAddress")) or "")
            listening.append(
                Listening("udp", local, port, _str(row.get("Process")), _int(row.get("Pid")))
            )
    return listening, connections


# Per-interface performance counters that are not a network interface's own traffic.
_VIRTUAL_IF = re.compile(r"(?i)isatap|teredo|loopback|6to4|pseudo-interface")


def sample_from_windows(text: str, target: str) -> Sample:
    """The Windows allow-list's ``sample`` answer -> a :class:`Sample`: the processors'
    LoadPercentage (mean), physical memory in use, fixed disks' space in use, and the 64-bit
    BytesReceived/SentPersec raw counters (cumulative octets) summed over the interfaces."""
    try:
        data = load_json(text)
    except ValueError as exc:
        raise ProtocolError(
            f"{target}: Windows sample query did not return JSON ({exc}); is PowerShell "
            "available to this account?",
            target=target,
        ) from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"{target}: Windows sample query returned no object", target=target)
    loads = [n for n in (_int(v) for v in _values(data.get("Load"))) if n is not None]
    total_kb = _int(data.get("TotalVisibleMemoryKB"))
    free_kb = _int(data.get("FreePhysicalMemoryKB"))
    sizes = [(_int(d.get("Size")), _int(d.get("Free"))) for d in _list(data.get("Disks"))]
    disks = [(size, free) for size, free in sizes if size and free is not None and free <= size]
    nets = [n for n in _list(data.get("Net")) if not _VIRTUAL_IF.search(_str(n.get("Name")) or "")]
    rx = [_int(n.get("In")) for n in nets]
    tx = [_int(n.get("Out")) for n in nets]
    whole = bool(nets) and None not in rx and None not in tx
    return Sample(
        cpu_pct=percent(sum(loads) / len(loads), 100) if loads else None,
        mem_pct=percent(total_kb - free_kb, total_kb)
        if total_kb and free_kb is not None and free_kb <= total_kb
        else None,
        disk_pct=percent(sum(s - f for s, f in disks), sum(s for s, _ in disks)) if disks else None,
        net_in_octets=sum(x or 0 for x in rx) if whole else None,
        net_out_octets=sum(x or 0 for x in tx) if whole else None,
        counter_bits=64,
        interfaces=len(nets),
    )
