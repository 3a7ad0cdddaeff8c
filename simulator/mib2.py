"""Writers for the standard MIB tables every agent kind shares: SNMPv2-MIB system group,
SNMP-FRAMEWORK engine ID, IF-MIB, IP-MIB, TCP-MIB, ENTITY-MIB, LLDP-MIB and CISCO-CDP-MIB.

Each writer takes plain records and fills a :class:`~simulator.recording.Recording` with the
columns a real agent serves, in the shapes the RFCs define (table indexes, value types).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.estate_model import ANY_ADDRESS
from simulator.recording import Recording, index_of

SYSTEM = "1.3.6.1.2.1.1"
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
ENT = "1.3.6.1.2.1.47.1.1.1.1"
LLDP_LOC = "1.0.8802.1.1.2.1.3"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_MAN = "1.0.8802.1.1.2.1.4.2.1"
CDP = "1.3.6.1.4.1.9.9.23.1.2.1.1"


@dataclass(frozen=True, slots=True)
class Iface:
    index: int
    descr: str
    name: str
    type: int = 6  # ethernetCsmacd
    mtu: int = 1500
    speed: int = 1_000_000_000
    mac: bytes = b""
    up: bool = True
    admin_up: bool = True
    alias: str = ""
    traffic: float = 1.0  # relative busyness, scales the counters


@dataclass(frozen=True, slots=True)
class Entity:
    index: int
    descr: str
    cls: int  # 3 chassis, 5 container, 6 powerSupply, 7 fan, 9 module, 10 port, 11 stack
    name: str
    contained_in: int = 0
    vendor_type: str = "0.0"
    rel_pos: int = -1
    hw_rev: str = ""
    fw_rev: str = ""
    sw_rev: str = ""
    serial: str = ""
    mfg_name: str = ""
    model: str = ""
    fru: bool = False
    mfg_date: bytes | None = None  # None: the agent does not serve entPhysicalMfgDate


@dataclass(frozen=True, slots=True)
class LldpRemote:
    local_port: int
    index: int
    chassis_id: bytes
    port_id: str | bytes
    port_subtype: int  # 3 macAddress, 5 interfaceName, 7 local
    port_descr: str
    sys_name: str
    sys_descr: str
    caps: int  # bit 2 bridge, 3 wlanAccessPoint, 4 router, 7 station (LldpSystemCapabilitiesMap)
    address: str | None = None


@dataclass(frozen=True, slots=True)
class CdpEntry:
    if_index: int
    index: int
    address: str
    version: str
    device_id: str
    device_port: str
    platform: str
    caps: int  # 0x01 router, 0x08 switch, 0x20 igmp, 0x10 host


def system(
    rec: Recording,
    *,
    descr: str,
    object_id: str,
    uptime: int,
    contact: str,
    name: str,
    location: str,
    services: int,
) -> None:
    rec.string(f"{SYSTEM}.1.0", descr)
    rec.object_id(f"{SYSTEM}.2.0", object_id)
    rec.ticks(f"{SYSTEM}.3.0", uptime)
    rec.string(f"{SYSTEM}.4.0", contact)
    rec.string(f"{SYSTEM}.5.0", name)
    rec.string(f"{SYSTEM}.6.0", location)
    rec.integer(f"{SYSTEM}.7.0", services)


def engine_id(rec: Recording, enterprise: int, mac: bytes) -> None:
    """snmpEngineID in the RFC 3411 MAC-address format most embedded agents use."""
    value = (0x80000000 | enterprise).to_bytes(4, "big") + b"\x03" + mac
    rec.octets("1.3.6.1.6.3.10.2.1.1.0", value)
    rec.integer("1.3.6.1.6.3.10.2.1.2.0", 3)  # snmpEngineBoots
    rec.integer("1.3.6.1.6.3.10.2.1.3.0", 86_400)  # snmpEngineTime (seconds since last boot)
    rec.integer("1.3.6.1.6.3.10.2.1.4.0", 1500)  # snmpEngineMaxMessageSize


def bits(*positions: int, length: int = 2) -> bytes:
    """A BITS value (LldpSystemCapabilitiesMap and friends) with the given bit numbers set."""
    out = bytearray(length)
    for n in positions:
        out[n // 8] |= 0x80 >> (n % 8)
    return bytes(out)


def interfaces(
    rec: Recording,
    ifaces: Sequence[Iface],
    rng: random.Random,
    uptime: int,
    *,
    ifx: bool = True,
    hc: bool = True,
) -> None:
    """ifNumber, ifTable and (unless ``ifx`` is off, as on old agents) ifXTable."""
    rec.integer("1.3.6.1.2.1.2.1.0", len(ifaces))
    for i in ifaces:
        n = i.index
        live = i.up and i.admin_up
        octets_in = int(rng.uniform(2e9, 9e11) * i.traffic) if live else 0
        octets_out = int(octets_in * rng.uniform(0.3, 1.6))
        pkts_in, pkts_out = octets_in // 700, octets_out // 640
        # an unconnected auto-negotiating port reports its lowest speed
        speed = i.speed if live or i.type != 6 or i.speed == 0 else 10_000_000
        rec.integer(f"{IF}.1.{n}", n)
        rec.string(f"{IF}.2.{n}", i.descr)
        rec.integer(f"{IF}.3.{n}", i.type)
        rec.integer(f"{IF}.4.{n}", i.mtu)
        rec.gauge32(f"{IF}.5.{n}", min(speed, 4_294_967_295))
        rec.octets(f"{IF}.6.{n}", i.mac)
        rec.integer(f"{IF}.7.{n}", 1 if i.admin_up else 2)
        rec.integer(f"{IF}.8.{n}", 1 if live else 2)
        rec.ticks(f"{IF}.9.{n}", rng.randrange(0, max(uptime, 1)) if live else 0)
        rec.counter32(f"{IF}.10.{n}", octets_in)
        rec.counter32(f"{IF}.11.{n}", pkts_in)
        rec.counter32(f"{IF}.13.{n}", rng.randrange(0, 40) if live else 0)
        rec.counter32(f"{IF}.14.{n}", rng.randrange(0, 6) if live else 0)
        rec.counter32(f"{IF}.16.{n}", octets_out)
        rec.counter32(f"{IF}.17.{n}", pkts_out)
        rec.counter32(f"{IF}.19.{n}", 0)
        rec.counter32(f"{IF}.20.{n}", 0)
        if not ifx:
            continue
        rec.string(f"{IFX}.1.{n}", i.name)
        rec.counter32(f"{IFX}.2.{n}", pkts_in // 90)
        rec.counter32(f"{IFX}.3.{n}", pkts_in // 40)
        rec.counter32(f"{IFX}.4.{n}", pkts_out // 120)
        rec.counter32(f"{IFX}.5.{n}", pkts_out // 60)
        if hc:
            rec.counter64(f"{IFX}.6.{n}", octets_in)
            rec.counter64(f"{IFX}.7.{n}", pkts_in)
            rec.counter64(f"{IFX}.10.{n}", octets_out)
            rec.counter64(f"{IFX}.11.{n}", pkts_out)
        rec.integer(f"{IFX}.14.{n}", 1 if i.type == 6 else 2)
        rec.gauge32(f"{IFX}.15.{n}", speed // 1_000_000)
        rec.integer(f"{IFX}.16.{n}", 2)
        rec.integer(f"{IFX}.17.{n}", 1 if i.type in (6, 71) else 2)
        rec.string(f"{IFX}.18.{n}", i.alias)
        rec.ticks(f"{IFX}.19.{n}", 0)


def ip_addresses(
    rec: Recording,
    entries: Sequence[tuple[str, int]],
    uptime: int,
    *,
    forwarding: bool = False,
    modern: bool = True,
    link_local: Sequence[tuple[str, int]] = (),
    dhcp: bool = False,
) -> None:
    """ipAddrTable (IPv4) and, on agents that have it, ipAddressTable for both families.

    ``entries`` are ``(address/prefix, ifIndex)``; ``link_local`` are ``(fe80::..., ifIndex)``.
    """
    rec.integer("1.3.6.1.2.1.4.1.0", 1 if forwarding else 2)
    rec.integer("1.3.6.1.2.1.4.2.0", 64 if not forwarding else 255)
    for text, if_index in entries:
        iface = ipaddress.IPv4Interface(text)
        ip = str(iface.ip)
        rec.ip(f"1.3.6.1.2.1.4.20.1.1.{ip}", ip)
        rec.integer(f"1.3.6.1.2.1.4.20.1.2.{ip}", if_index)
        rec.ip(f"1.3.6.1.2.1.4.20.1.3.{ip}", str(iface.netmask))
        rec.integer(f"1.3.6.1.2.1.4.20.1.4.{ip}", 1)
        rec.integer(f"1.3.6.1.2.1.4.20.1.5.{ip}", 65535)
    if not modern:
        return
    rows: list[tuple[str, int, int, str, int]] = []
    for text, if_index in entries:
        iface = ipaddress.IPv4Interface(text)
        net = iface.network
        prefix = f"{if_index}.{index_of(str(net.network_address))}.{net.prefixlen}"
        rows.append((index_of(str(iface.ip)), if_index, 4 if dhcp else 2, prefix, 1))
    for address, if_index in link_local:
        net6 = ipaddress.IPv6Network(f"{address}/64", strict=False)
        prefix = f"{if_index}.{index_of(str(net6.network_address))}.64"
        rows.append((index_of(address), if_index, 6, prefix, 1))
    base = "1.3.6.1.2.1.4.34.1"
    for index, if_index, origin, prefix, _ in rows:
        rec.integer(f"{base}.3.{index}", if_index)
        rec.integer(f"{base}.4.{index}", 1)  # unicast
        rec.object_id(f"{base}.5.{index}", f"1.3.6.1.2.1.4.32.1.5.{prefix}")
        rec.integer(f"{base}.6.{index}", origin)
        rec.integer(f"{base}.7.{index}", 1)  # preferred
        rec.ticks(f"{base}.8.{index}", min(uptime, 1500))
        rec.ticks(f"{base}.9.{index}", min(uptime, 1500))
        rec.integer(f"{base}.10.{index}", 1)  # active
        rec.integer(f"{base}.11.{index}", 2)  # volatile


def link_local(mac: bytes) -> str:
    """The EUI-64 IPv6 link-local address an OS derives from a MAC address."""
    eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))


def tcp(
    rec: Recording,
    listeners: Sequence[tuple[str, int, int]],
    sessions: Sequence[tuple[str, int, str, int, int]],
    rng: random.Random,
    *,
    modern: bool = True,
    legacy: bool = True,
) -> None:
    """TCP-MIB scalars, tcpConnectionTable / tcpListenerTable (RFC 4022, with owning process)
    and the legacy IPv4 tcpConnTable. Listeners are ``(address, port, pid)``; sessions are
    ``(local, local port, remote, remote port, pid)``."""
    opens = rng.randrange(20_000, 9_000_000)
    rec.integer("1.3.6.1.2.1.6.1.0", 5)  # vanj
    rec.integer("1.3.6.1.2.1.6.2.0", 200)
    rec.integer("1.3.6.1.2.1.6.3.0", 120_000)
    rec.integer("1.3.6.1.2.1.6.4.0", -1)
    rec.counter32("1.3.6.1.2.1.6.5.0", opens)
    rec.counter32("1.3.6.1.2.1.6.6.0", opens // 3)
    rec.counter32("1.3.6.1.2.1.6.7.0", opens // 50)
    rec.counter32("1.3.6.1.2.1.6.8.0", opens // 80)
    rec.gauge32("1.3.6.1.2.1.6.9.0", len(sessions))
    rec.counter32("1.3.6.1.2.1.6.10.0", opens * 41)
    rec.counter32("1.3.6.1.2.1.6.11.0", opens * 37)
    rec.counter32("1.3.6.1.2.1.6.12.0", opens // 9)
    if legacy:
        base = "1.3.6.1.2.1.6.13.1"
        rows = [(a, p, ANY_ADDRESS, 0, 2) for a, p, _ in listeners]
        rows += [(la, lp, ra, rp, 5) for la, lp, ra, rp, _ in sessions]
        for la, lp, ra, rp, state in rows:
            idx = f"{la}.{lp}.{ra}.{rp}"
            rec.integer(f"{base}.1.{idx}", state)
            rec.ip(f"{base}.2.{idx}", la)
            rec.integer(f"{base}.3.{idx}", lp)
            rec.ip(f"{base}.4.{idx}", ra)
            rec.integer(f"{base}.5.{idx}", rp)
    if not modern:
        return
    for la, lp, ra, rp, pid in sessions:
        idx = f"{index_of(la)}.{lp}.{index_of(ra)}.{rp}"
        rec.integer(f"1.3.6.1.2.1.6.19.1.7.{idx}", 5)
        rec.gauge32(f"1.3.6.1.2.1.6.19.1.8.{idx}", pid)
    for address, port, pid in listeners:
        rec.gauge32(f"1.3.6.1.2.1.6.20.1.4.{index_of(address)}.{port}", pid)


def entity(rec: Recording, rows: Sequence[Entity]) -> None:
    for e in rows:
        n = e.index
        rec.string(f"{ENT}.2.{n}", e.descr)
        rec.object_id(f"{ENT}.3.{n}", e.vendor_type)
        rec.integer(f"{ENT}.4.{n}", e.contained_in)
        rec.integer(f"{ENT}.5.{n}", e.cls)
        rec.integer(f"{ENT}.6.{n}", e.rel_pos)
        rec.string(f"{ENT}.7.{n}", e.name)
        rec.string(f"{ENT}.8.{n}", e.hw_rev)
        rec.string(f"{ENT}.9.{n}", e.fw_rev)
        rec.string(f"{ENT}.10.{n}", e.sw_rev)
        rec.string(f"{ENT}.11.{n}", e.serial)
        rec.string(f"{ENT}.12.{n}", e.mfg_name)
        rec.string(f"{ENT}.13.{n}", e.model)
        rec.string(f"{ENT}.14.{n}", "")
        rec.string(f"{ENT}.15.{n}", "")
        rec.integer(f"{ENT}.16.{n}", 1 if e.fru else 2)
        if e.mfg_date is not None:
            rec.octets(f"{ENT}.17.{n}", e.mfg_date)


def lldp(
    rec: Recording,
    *,
    chassis_mac: bytes,
    sys_name: str,
    sys_descr: str,
    caps: int,
    ports: Sequence[tuple[int, str, str]],
    remotes: Sequence[LldpRemote],
    uptime: int,
) -> None:
    """LLDP-MIB local system, local ports ``(num, port id, port description)`` and remote table."""
    rec.integer(f"{LLDP_LOC}.1.0", 4)  # chassis id subtype: macAddress
    rec.octets(f"{LLDP_LOC}.2.0", chassis_mac)
    rec.string(f"{LLDP_LOC}.3.0", sys_name)
    rec.string(f"{LLDP_LOC}.4.0", sys_descr)
    rec.octets(f"{LLDP_LOC}.5.0", bits(*_cap_bits(caps)))
    rec.octets(f"{LLDP_LOC}.6.0", bits(*_cap_bits(caps)))
    for num, port_id, descr in ports:
        rec.integer(f"{LLDP_LOC}.7.1.2.{num}", 5)  # interfaceName
        rec.string(f"{LLDP_LOC}.7.1.3.{num}", port_id)
        rec.string(f"{LLDP_LOC}.7.1.4.{num}", descr)
    mark = max(uptime - 360_000, 0) % 2**32
    for r in remotes:
        idx = f"{mark}.{r.local_port}.{r.index}"
        rec.integer(f"{LLDP_REM}.4.{idx}", 4)
        rec.octets(f"{LLDP_REM}.5.{idx}", r.chassis_id)
        rec.integer(f"{LLDP_REM}.6.{idx}", r.port_subtype)
        if isinstance(r.port_id, bytes):
            rec.octets(f"{LLDP_REM}.7.{idx}", r.port_id)
        else:
            rec.string(f"{LLDP_REM}.7.{idx}", r.port_id)
        rec.string(f"{LLDP_REM}.8.{idx}", r.port_descr)
        rec.string(f"{LLDP_REM}.9.{idx}", r.sys_name)
        rec.string(f"{LLDP_REM}.10.{idx}", r.sys_descr)
        rec.octets(f"{LLDP_REM}.11.{idx}", bits(*_cap_bits(r.caps)))
        rec.octets(f"{LLDP_REM}.12.{idx}", bits(*_cap_bits(r.caps)))
        if r.address:
            man = f"{idx}.1.4.{r.address}"
            rec.integer(f"{LLDP_MAN}.3.{man}", 2)  # ifIndex
            rec.integer(f"{LLDP_MAN}.4.{man}", 0)
            rec.object_id(f"{LLDP_MAN}.5.{man}", "0.0")


def _cap_bits(caps: int) -> list[int]:
    return [n for n in range(8) if caps & (1 << n)]


def cdp(rec: Recording, entries: Sequence[CdpEntry]) -> None:
    for e in entries:
        idx = f"{e.if_index}.{e.index}"
        rec.integer(f"{CDP}.3.{idx}", 1)  # ip
        rec.octets(f"{CDP}.4.{idx}", ipaddress.IPv4Address(e.address).packed)
        rec.string(f"{CDP}.5.{idx}", e.version)
        rec.string(f"{CDP}.6.{idx}", e.device_id)
        rec.string(f"{CDP}.7.{idx}", e.device_port)
        rec.string(f"{CDP}.8.{idx}", e.platform)
        rec.octets(f"{CDP}.9.{idx}", e.caps.to_bytes(4, "big"))
        rec.integer(f"{CDP}.11.{idx}", 1)
        rec.integer(f"{CDP}.12.{idx}", 3)  # fullDuplex
