"""Turn raw SNMP values of the standard MIBs into :class:`~collectors.facts.Facts` (pure).

Every value may be missing, of the wrong type or garbage: the parser skips what it cannot use
and records a warning rather than raising.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Mapping

from collectors.facts import (
    Address,
    Connection,
    Facts,
    HardwareComponent,
    Interface,
    Listening,
    Neighbor,
    Software,
    Storage,
    Utilisation,
)
from collectors.snmp import forwarding, oids
from collectors.snmp.edge import Vendor, edge_sightings
from collectors.snmp.identify import IdentifyRules, identify, kernel_release
from collectors.snmp.values import Raw, RawValue, integer, mac, text
from collectors.snmp.vminfo import parse_guests

_IF_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
_MAX_TEXT = 4096


def _rows(raw: Raw, base: str, cols: Mapping[str, int]) -> dict[str, dict[str, RawValue]]:
    """Group a table's columns by row index: ``{index: {column_name: value}}``."""
    by_num = {str(n): name for name, n in cols.items()}
    prefix = base + "."
    rows: dict[str, dict[str, RawValue]] = defaultdict(dict)
    for oid, value in raw.items():
        if not oid.startswith(prefix):
            continue
        col, _, index = oid[len(prefix) :].partition(".")
        name = by_num.get(col)
        if name and index:
            rows[index][name] = value
    return dict(rows)


def _column(raw: Raw, base: str) -> dict[str, RawValue]:
    prefix = base + "."
    return {oid[len(prefix) :]: v for oid, v in raw.items() if oid.startswith(prefix)}


def _short(value: RawValue) -> str | None:
    s = text(value)
    return s[:_MAX_TEXT] if s else None


def parse_interfaces(raw: Raw) -> tuple[Interface, ...]:
    cols = {"descr": 2, "type": 3, "mtu": 4, "speed": 5, "phys": 6, "admin": 7, "oper": 8}
    rows = _rows(raw, "1.3.6.1.2.1.2.2.1", cols)
    for index, row in _rows(
        raw, "1.3.6.1.2.1.31.1.1.1", {"name": 1, "high": 15, "alias": 18}
    ).items():
        rows.setdefault(index, {}).update(row)
    out = []
    for index, row in rows.items():
        idx = integer(index) if index.isdigit() else None
        name = _short(row.get("name")) or _short(row.get("descr")) or f"if{index}"
        speed = integer(row.get("speed"))
        high = integer(row.get("high"))
        if high and (speed is None or speed >= 4_294_967_295 or high * 1_000_000 > speed):
            speed = high * 1_000_000
        out.append(
            Interface(
                index=idx,
                name=name,
                descr=_short(row.get("descr")),
                alias=_short(row.get("alias")),
                type=integer(row.get("type")),
                mac=mac(row.get("phys")),
                speed=speed if speed and speed > 0 else None,
                mtu=integer(row.get("mtu")),
                admin_status=_IF_STATUS.get(integer(row.get("admin")) or 0),
                oper_status=_IF_STATUS.get(integer(row.get("oper")) or 0),
            )
        )
    return tuple(sorted(out, key=lambda i: (i.index is None, i.index or 0, i.name)))


def _mask_len(mask: RawValue) -> int | None:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen if isinstance(mask, str) else None
    except ValueError:
        return None


def parse_addresses(raw: Raw) -> tuple[Address, ...]:
    found: dict[str, Address] = {}
    masks = _column(raw, oids.IP_AD_ENT_NETMASK)
    for index, if_index in _column(raw, oids.IP_AD_ENT_IF_INDEX).items():
        try:
            addr = str(ipaddress.IPv4Address(index))
        except ValueError:
            continue
        found[addr] = Address(addr, _mask_len(masks.get(index)), integer(if_index), "ipv4")
    prefixes = _column(raw, oids.IP_ADDRESS_PREFIX)
    types = _column(raw, oids.IP_ADDRESS_TYPE)
    for index, if_index in _column(raw, oids.IP_ADDRESS_IF_INDEX).items():
        parts = index.split(".")
        try:
            family, length, octets = int(parts[0]), int(parts[1]), [int(p) for p in parts[2:]]
            if len(octets) != length or integer(types.get(index)) not in (None, 1):
                continue  # not unicast, or a malformed index
            if family == 1 and length == 4:
                addr = str(ipaddress.IPv4Address(bytes(octets)))
                fam = "ipv4"
            elif family == 2 and length == 16:
                addr = str(ipaddress.IPv6Address(bytes(octets)))
                fam = "ipv6"
            else:
                continue
        except (ValueError, IndexError):
            continue
        plen = None
        pfx = prefixes.get(index)
        if isinstance(pfx, str) and "." in pfx:
            tail = pfx.rsplit(".", 1)[-1]
            plen = int(tail) if tail.isdigit() and int(tail) <= 128 else None
        if addr not in found or found[addr].prefix_len is None:
            found[addr] = Address(addr, plen, integer(if_index), fam)
    return tuple(sorted(found.values(), key=lambda a: (a.family, a.address)))


def parse_hardware(raw: Raw) -> tuple[HardwareComponent, ...]:
    out = []
    for index, row in _rows(raw, oids.ENT, oids.ENT_COLUMNS).items():
        out.append(
            HardwareComponent(
                index=integer(index) if index.isdigit() else None,
                klass=oids.ENT_CLASS_NAMES.get(integer(row.get("class")) or 0),
                name=_short(row.get("name")),
                descr=_short(row.get("descr")),
                model=_short(row.get("model")),
                serial=_short(row.get("serial")),
                hw_rev=_short(row.get("hw_rev")),
                fw_rev=_short(row.get("fw_rev")),
                sw_rev=_short(row.get("sw_rev")),
                manufacturer=_short(row.get("mfg_name")),
                parent_index=integer(row.get("contained_in")),
                mfg_date=_date_and_time(row.get("mfg_date")),
            )
        )
    return tuple(sorted(out, key=lambda h: (h.index is None, h.index or 0)))


def _date_and_time(value: RawValue) -> str | None:
    """SNMPv2-TC DateAndTime (8 or 11 octets) -> ISO date; anything else -> None."""
    if not isinstance(value, bytes) or len(value) not in (8, 11):
        return None
    year = value[0] << 8 | value[1]
    month, day = value[2], value[3]
    if not (1970 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_storage(raw: Raw) -> tuple[Storage, ...]:
    out = []
    for _index, row in _rows(raw, oids.HR_STORAGE, oids.HR_STORAGE_COLUMNS).items():
        descr = _short(row.get("descr"))
        if not descr:
            continue
        kind_oid = row.get("type")
        kind = None
        if isinstance(kind_oid, str) and kind_oid.startswith("1.3.6.1.2.1.25.2.1."):
            kind = oids.HR_STORAGE_TYPES.get(integer(kind_oid.rsplit(".", 1)[-1]) or 0, "other")
        units = integer(row.get("units")) or 0
        size, used = integer(row.get("size")), integer(row.get("used"))
        out.append(
            Storage(
                descr=descr,
                kind=kind,
                size_bytes=size * units if size is not None and units > 0 else None,
                used_bytes=used * units if used is not None and units > 0 else None,
                mount=descr if descr.startswith("/") else None,
            )
        )
    return tuple(sorted(out, key=lambda s: s.descr))


# Debian's hrSWInstalledName is name_version_arch with a Debian architecture name; RPM's is
# name-version-release[.arch] (the release may hold an underscore: el7_9).
_DPKG = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9+.\-]+)_(?P<ver>[^_\s]+)_"
    r"(?P<arch>all|amd64|i386|arm64|armhf|armel|ppc64el|s390x|mips64el|riscv64|x32)$"
)
_RPM = re.compile(
    r"^(?P<name>[A-Za-z0-9_+.\-]+?)-(?P<ver>\d[^-\s]*-[^-\s]+?)"
    r"(?:\.(?:x86_64|i[3-6]86|noarch|aarch64|ppc64le?|s390x))?$"
)
_TRAILING_VERSION = re.compile(
    r"^(?P<name>.+?)[\s_-]+v?(?P<ver>\d+(?:\.\d+)+(?:[.\-]?[A-Za-z0-9]+)*)(?:\s*\(.*\))?$"
)


def split_software(name: str) -> tuple[str, str | None]:
    """Split an hrSWInstalledName into (name, version) for dpkg, rpm and display names."""
    for pattern in (_DPKG, _RPM, _TRAILING_VERSION):
        m = pattern.match(name)
        if m:
            return m.group("name").strip(), m.group("ver")
    return name, None


def parse_software(raw: Raw) -> tuple[Software, ...]:
    names = _column(raw, oids.HR_SW_INSTALLED_NAME)
    types = _column(raw, oids.HR_SW_INSTALLED_TYPE)
    dates = _column(raw, oids.HR_SW_INSTALLED_DATE)
    kinds = {1: "unknown", 2: "os", 3: "driver", 4: "application"}
    out = []
    for index, value in names.items():
        full = _short(value)
        if not full:
            continue
        name, version = split_software(full)
        kind = kinds.get(integer(types.get(index)) or 0, "package")
        out.append(
            Software(
                name=name, version=version, kind=kind, install_date=_date_and_time(dates.get(index))
            )
        )
    return tuple(sorted(set(out), key=lambda s: (s.name, s.version or "")))


def _lldp_id(subtype: RawValue, value: RawValue) -> str | None:
    # chassis subtype 4 / port subtype 3 = macAddress; 5/4 = networkAddress; else text
    if isinstance(value, bytes) and len(value) == 6 and integer(subtype) in (3, 4):
        return mac(value)
    return _short(value) or (value.hex() if isinstance(value, bytes) and value else None)


def parse_neighbors(raw: Raw, interfaces: tuple[Interface, ...]) -> tuple[Neighbor, ...]:
    if_names = {i.index: i.name for i in interfaces if i.index is not None}
    loc_desc = _column(raw, oids.LLDP_LOC_PORT_DESCR)
    loc_id = _column(raw, oids.LLDP_LOC_PORT_ID)
    lldp_caps = _column(raw, forwarding.LLDP_REM_CAP_ENABLED)
    cdp_caps = _column(raw, forwarding.CDP_CACHE_CAPABILITIES)
    man_addr: dict[str, str] = {}
    for index in _column(raw, oids.LLDP_REM_MAN_ADDR_IF_SUBTYPE):
        parts = index.split(".")
        # timemark.localport.remindex.addrsubtype.addrlen.addr...
        if len(parts) >= 9 and parts[3] == "1" and parts[4] == "4":
            man_addr.setdefault(".".join(parts[:3]), ".".join(parts[5:9]))
    out: list[Neighbor] = []
    for index, row in _rows(raw, oids.LLDP_REM, oids.LLDP_REM_COLUMNS).items():
        parts = index.split(".")
        local = parts[1] if len(parts) >= 3 else None
        local_port = None
        if local is not None:
            local_port = (
                _short(loc_desc.get(local))
                or _short(loc_id.get(local))
                or if_names.get(integer(local) or -1)
            )
        out.append(
            Neighbor(
                protocol="lldp",
                local_port=local_port,
                remote_chassis_id=_lldp_id(row.get("chassis_subtype"), row.get("chassis_id")),
                remote_port=_short(row.get("port_descr"))
                or _lldp_id(row.get("port_subtype"), row.get("port_id")),
                remote_sys_name=_short(row.get("sys_name")),
                remote_descr=_short(row.get("sys_descr")),
                remote_address=man_addr.get(".".join(parts[:3])),
                remote_caps=forwarding.lldp_caps(lldp_caps.get(index)),
            )
        )
    for index, row in _rows(raw, oids.CDP_CACHE, oids.CDP_COLUMNS).items():
        if_index = integer(index.split(".")[0])
        address = row.get("address")
        addr = None
        if (
            isinstance(address, bytes)
            and len(address) == 4
            and integer(row.get("address_type")) in (None, 1)
        ):
            addr = str(ipaddress.IPv4Address(address))
        out.append(
            Neighbor(
                protocol="cdp",
                local_port=if_names.get(if_index) if if_index is not None else None,
                remote_chassis_id=_short(row.get("device_id")),
                remote_port=_short(row.get("device_port")),
                remote_sys_name=_short(row.get("device_id")),
                remote_descr=_short(row.get("version")),
                remote_address=addr,
                remote_platform=_short(row.get("platform")),
                remote_caps=forwarding.cdp_caps(cdp_caps.get(index)),
            )
        )
    return tuple(
        sorted(out, key=lambda n: (n.protocol, n.local_port or "", n.remote_sys_name or ""))
    )


def _inet(parts: list[str], pos: int) -> tuple[str | None, int]:
    """Decode an InetAddressType + length-prefixed InetAddress from an index at ``pos``."""
    kind, length = int(parts[pos]), int(parts[pos + 1])
    octets = bytes(int(p) for p in parts[pos + 2 : pos + 2 + length])
    end = pos + 2 + length
    if kind == 1 and length == 4:
        return str(ipaddress.IPv4Address(octets)), end
    if kind == 2 and length == 16:
        return str(ipaddress.IPv6Address(octets)), end
    if length == 0:
        return ("0.0.0.0" if kind == 1 else "::"), end  # noqa: S104 - an address read, not bound
    return None, end


def parse_tcp(raw: Raw) -> tuple[tuple[Listening, ...], tuple[Connection, ...]]:
    """TCP-MIB listeners and established connections, with process names from hrSWRun."""
    procs = {k: _short(v) for k, v in _column(raw, oids.HR_SW_RUN_NAME).items()}

    def proc(pid: RawValue) -> tuple[str | None, int | None]:
        n = integer(pid)
        return (procs.get(str(n)) if n else None), (n or None)

    listening: dict[tuple[str, int], Listening] = {}
    for index, pid in _column(raw, oids.TCP_LISTENER_PROCESS).items():
        try:
            parts = index.split(".")
            addr, end = _inet(parts, 0)
            port = int(parts[end])
        except (ValueError, IndexError):
            continue
        if addr is None or not 0 < port < 65536:
            continue
        name, n = proc(pid)
        listening[(addr, port)] = Listening("tcp", addr, port, name, n)
    conns: dict[tuple[str, int, str, int], Connection] = {}
    pids = _column(raw, oids.TCP_CONNECTION_PROCESS)
    for index, state in _column(raw, oids.TCP_CONNECTION_STATE).items():
        if integer(state) != 5:  # established
            continue
        try:
            parts = index.split(".")
            laddr, end = _inet(parts, 0)
            lport = int(parts[end])
            raddr, end2 = _inet(parts, end + 1)
            rport = int(parts[end2])
        except (ValueError, IndexError):
            continue
        if laddr is None or raddr is None:
            continue
        name, n = proc(pids.get(index))
        conns[(laddr, lport, raddr, rport)] = Connection("tcp", laddr, lport, raddr, rport, name, n)
    for index, state in _column(raw, oids.TCP_CONN_STATE_LEGACY).items():
        parts = index.split(".")
        if len(parts) != 10:
            continue
        try:
            laddr = str(ipaddress.IPv4Address(".".join(parts[0:4])))
            lport = int(parts[4])
            raddr = str(ipaddress.IPv4Address(".".join(parts[5:9])))
            rport = int(parts[9])
        except ValueError:
            continue
        code = integer(state)
        if code == 2 and (laddr, lport) not in listening:
            listening[(laddr, lport)] = Listening("tcp", laddr, lport)
        elif code == 5 and (laddr, lport, raddr, rport) not in conns:
            conns[(laddr, lport, raddr, rport)] = Connection("tcp", laddr, lport, raddr, rport)
    return (
        tuple(sorted(listening.values(), key=lambda x: (x.port, x.address))),
        tuple(
            sorted(conns.values(), key=lambda c: (c.remote_address, c.remote_port, c.local_port))
        ),
    )


def _utilisation(raw: Raw) -> Utilisation | None:
    loads = [
        v
        for v in (integer(x) for x in _column(raw, oids.HR_PROCESSOR_LOAD).values())
        if v is not None and 0 <= v <= 100
    ]
    cpu = sum(loads) / len(loads) if loads else None
    idle = integer(raw.get(oids.UCD_CPU_IDLE))
    if cpu is None and idle is not None and 0 <= idle <= 100:
        cpu = float(100 - idle)
    mem = None
    total, avail = (
        integer(raw.get(oids.UCD_MEM_TOTAL_REAL)),
        integer(raw.get(oids.UCD_MEM_AVAIL_REAL)),
    )
    if total and avail is not None and 0 <= avail <= total:
        mem = round(100.0 * (total - avail) / total, 1)
    load1 = None
    la = text(raw.get(oids.UCD_LOAD1))
    if la:
        try:
            load1 = float(la)
        except ValueError:
            load1 = None
    if cpu is None and mem is None and load1 is None:
        return None
    return Utilisation(cpu_pct=None if cpu is None else round(cpu, 1), mem_pct=mem, load1=load1)


def parse(
    raw: Raw,
    *,
    target: str,
    address: str | None,
    rules: IdentifyRules,
    snmp_version: str | None = None,
    vendor: Vendor | None = None,
) -> Facts:
    """``vendor`` names the maker of a MAC (the OUI registry) for the endpoint sightings."""
    interfaces = parse_interfaces(raw)
    ticks = integer(raw.get(oids.SYS_UPTIME))
    hr_ticks = integer(raw.get(oids.HR_SYSTEM_UPTIME))
    uptime = (hr_ticks or ticks or 0) / 100.0 or None
    engine = raw.get(oids.SNMP_ENGINE_ID)
    chassis = raw.get(oids.LLDP_LOC_CHASSIS_ID)
    mem_kb = integer(raw.get(oids.HR_MEMORY_SIZE))
    cpu_rows = [
        k for k, v in _column(raw, oids.HR_DEVICE_TYPE).items() if v == oids.HR_DEVICE_PROCESSOR
    ]
    cpu_descr = [text(_column(raw, oids.HR_DEVICE_DESCR).get(k)) for k in cpu_rows]
    hardware = parse_hardware(raw)
    mfg_dates = sorted(h.mfg_date for h in hardware if h.mfg_date and h.klass == "chassis")
    sys_oid = raw.get(oids.SYS_OBJECT_ID)
    listening, connections = parse_tcp(raw)
    arp = forwarding.parse_arp(raw, {i.index: i.name for i in interfaces if i.index is not None})
    edge = edge_sightings(
        raw,
        switch=target,
        fdb=forwarding.parse_fdb(raw),
        interfaces=interfaces,
        arp=arp,
        vendor=vendor or (lambda _mac: None),
    )
    return Facts(
        target=target,
        protocol="snmp",
        address=address,
        sys_name=_short(raw.get(oids.SYS_NAME)),
        sys_descr=_short(raw.get(oids.SYS_DESCR)),
        sys_object_id=str(sys_oid) if isinstance(sys_oid, str) else None,
        sys_location=_short(raw.get(oids.SYS_LOCATION)),
        sys_contact=_short(raw.get(oids.SYS_CONTACT)),
        uptime_s=uptime,
        identity=identify(raw, rules),
        kernel=kernel_release(raw),
        engine_id=engine.hex() if isinstance(engine, bytes) and engine else None,
        chassis_id=_lldp_id(raw.get(oids.LLDP_LOC_CHASSIS_SUBTYPE), chassis) if chassis else None,
        cpu_count=len(cpu_rows) or None,
        cpu_model=next((d for d in cpu_descr if d), None),
        memory_bytes=mem_kb * 1024 if mem_kb and mem_kb > 0 else None,
        manufacture_date=mfg_dates[0] if mfg_dates else None,
        snmp_version=snmp_version,
        interfaces=interfaces,
        addresses=parse_addresses(raw),
        software=parse_software(raw),
        hardware=hardware,
        storage=parse_storage(raw),
        neighbors=parse_neighbors(raw, interfaces),
        listening=listening,
        connections=connections,
        utilisation=_utilisation(raw),
        arp=arp,
        sightings=edge.sightings,
        guests=parse_guests(raw),
        values_read=len(raw),
    )
