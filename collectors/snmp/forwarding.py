"""Where endpoints sit, read from switches and routers (pure): ARP/ND, forwarding tables, ports.

- IP-MIB ipNetToPhysicalTable (IPv4 and IPv6) and the older ipNetToMediaTable (IPv4): which MAC
  holds which address, on a router or layer-3 switch.
- Q-BRIDGE-MIB dot1qTpFdbTable (MAC per filtering database, mapped to its VLAN through
  dot1qVlanFdbId) and BRIDGE-MIB dot1dTpFdbTable (no VLAN): which bridge port learnt which MAC.
- BRIDGE-MIB dot1dBasePortIfIndex: bridge port number -> ifIndex.

Cisco IOS answers the BRIDGE-MIB for one VLAN at a time, chosen by the community
(``community@vlan``) or, over SNMPv3, the context (``vlan-<id>``). The values read that way are
kept in the raw mapping under :func:`vlan_key` (``vlan<id>/<oid>``), so that fetch still hands
parse one ``{key: value}`` mapping.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from collectors.facts import ArpEntry
from collectors.snmp.values import Raw, RawValue, column, integer, mac

# IP-MIB
IP_NET_TO_PHYSICAL_PHYS = "1.3.6.1.2.1.4.35.1.4"
IP_NET_TO_PHYSICAL_TYPE = "1.3.6.1.2.1.4.35.1.6"
IP_NET_TO_MEDIA_PHYS = "1.3.6.1.2.1.4.22.1.2"
IP_NET_TO_MEDIA_TYPE = "1.3.6.1.2.1.4.22.1.4"
# BRIDGE-MIB
DOT1D_BASE_PORT_IF_INDEX = "1.3.6.1.2.1.17.1.4.1.2"
DOT1D_TP_FDB_PORT = "1.3.6.1.2.1.17.4.3.1.2"
DOT1D_TP_FDB_STATUS = "1.3.6.1.2.1.17.4.3.1.3"
# Q-BRIDGE-MIB
DOT1Q_TP_FDB_PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2"
DOT1Q_TP_FDB_STATUS = "1.3.6.1.2.1.17.7.1.2.2.1.3"
DOT1Q_VLAN_FDB_ID = "1.3.6.1.2.1.17.7.1.4.2.1.3"
# CISCO-VTP-MIB vtpVlanState: the VLANs to read the BRIDGE-MIB of, one community each.
VTP_VLAN_STATE = "1.3.6.1.4.1.9.9.46.1.3.1.1.2"
# LLDP-MIB lldpRemSysCapEnabled, CISCO-CDP-MIB cdpCacheCapabilities
LLDP_REM_CAP_ENABLED = "1.0.8802.1.1.2.1.4.1.1.12"
CDP_CACHE_CAPABILITIES = "1.3.6.1.4.1.9.9.23.1.2.1.1.9"

# Walked with the standard tables on every device (cheap where absent: one response each).
EDGE_ROOTS: tuple[str, ...] = (
    IP_NET_TO_PHYSICAL_PHYS,
    IP_NET_TO_PHYSICAL_TYPE,
    IP_NET_TO_MEDIA_PHYS,
    IP_NET_TO_MEDIA_TYPE,
    DOT1D_BASE_PORT_IF_INDEX,
    DOT1D_TP_FDB_PORT,
    DOT1D_TP_FDB_STATUS,
    DOT1Q_TP_FDB_PORT,
    DOT1Q_TP_FDB_STATUS,
    DOT1Q_VLAN_FDB_ID,
    LLDP_REM_CAP_ENABLED,
    CDP_CACHE_CAPABILITIES,
)
# Walked once per VLAN on Cisco (community@vlan or context vlan-<id>).
PER_VLAN_ROOTS: tuple[str, ...] = (DOT1D_BASE_PORT_IF_INDEX, DOT1D_TP_FDB_PORT, DOT1D_TP_FDB_STATUS)
CISCO_PREFIX = "1.3.6.1.4.1.9."
# Token Ring and FDDI defaults: never have a bridge instance of their own.
RESERVED_VLANS = frozenset({1002, 1003, 1004, 1005})

# LLDP BITS (bit 0 is the first octet's top bit) and CDP capability bits, by name.
LLDP_CAPS = ("other", "repeater", "bridge", "wlan-ap", "router", "telephone", "docsis", "station")
CDP_CAPS = {
    0x01: "router",
    0x02: "bridge",
    0x04: "bridge",
    0x08: "bridge",  # "switch"
    0x10: "host",
    0x20: "igmp",
    0x40: "repeater",
    0x80: "telephone",
}
_FDB_IGNORED_STATUS = {2, 4}  # invalid, self (the switch's own MACs)
_ARP_IGNORED_TYPE = {2}  # invalid
_ARP_LOCAL = 5  # ipNetToPhysicalType local: the device's own address
_ARP_STATIC = 4
# A BITS value some walking tools record as text: the octets in hex, then the set bit numbers
# ("28 2 4" is bridge and router).
_BITS_AS_TEXT = re.compile(rb"^([0-9A-Fa-f]{2})(?: [0-9A-Fa-f]{2})*(?: \d{1,2})*$")


@dataclass(frozen=True, slots=True)
class FdbEntry:
    """A MAC learnt on a bridge port; ``vlan`` is None where the table does not say."""

    mac: str
    port: int  # bridge port number (dot1dBasePort)
    vlan: int | None
    if_index: int | None  # the port's ifIndex, where dot1dBasePortIfIndex maps it


def vlan_key(vlan: int, oid: str) -> str:
    """The raw key of a value read for one VLAN (Cisco per-VLAN community or context)."""
    return f"vlan{vlan}/{oid}"


def vtp_vlans(raw: Raw) -> list[int]:
    """The operational VLANs a Cisco switch lists in CISCO-VTP-MIB, reserved ones left out."""
    out = set()
    for index, state in column(raw, VTP_VLAN_STATE).items():
        vlan = integer(index.rsplit(".", 1)[-1])
        if vlan is not None and integer(state) == 1 and 0 < vlan < 4095:
            out.add(vlan)
    return sorted(out - RESERVED_VLANS)


def _per_vlan(raw: Raw) -> dict[int, dict[str, RawValue]]:
    """The per-VLAN raw values, by VLAN, with plain OIDs as keys."""
    out: dict[int, dict[str, RawValue]] = {}
    for key, value in raw.items():
        if not key.startswith("vlan"):
            continue
        head, sep, oid = key.partition("/")
        vlan = integer(head[4:])
        if sep and vlan is not None:
            out.setdefault(vlan, {})[oid] = value
    return out


def base_ports(raw: Raw) -> dict[int, int]:
    """dot1dBasePort -> ifIndex."""
    out: dict[int, int] = {}
    for index, value in column(raw, DOT1D_BASE_PORT_IF_INDEX).items():
        port, if_index = integer(index), integer(value)
        if port is not None and if_index is not None and if_index > 0:
            out[port] = if_index
    return out


def _mac_index(parts: list[str]) -> str | None:
    if len(parts) == 7 and parts[0] == "6":  # length-prefixed, as some agents (ZyXEL) index it
        parts = parts[1:]
    try:
        octets = bytes(int(p) for p in parts)
    except ValueError:
        return None
    return mac(octets) if len(octets) == 6 else None


def unicast(address: str) -> bool:
    """A MAC that can be an endpoint: not group (multicast/broadcast), not all zeros."""
    first = int(address[:2], 16)
    return not first & 1 and address != "00:00:00:00:00:00"


def _dot1d(raw: Raw, vlan: int | None) -> list[FdbEntry]:
    ports = base_ports(raw)
    status = column(raw, DOT1D_TP_FDB_STATUS)
    out = []
    for index, port_value in column(raw, DOT1D_TP_FDB_PORT).items():
        address = _mac_index(index.split("."))
        port = integer(port_value)
        if address is None or not port or integer(status.get(index)) in _FDB_IGNORED_STATUS:
            continue
        out.append(FdbEntry(address, port, vlan, ports.get(port)))
    return out


def fdb_vlans(raw: Raw) -> dict[int, int]:
    """Q-BRIDGE filtering database id -> VLAN (dot1qVlanFdbId). With shared learning several
    VLANs use one database: the lowest VLAN names it."""
    out: dict[int, int] = {}
    for index, fdb in column(raw, DOT1Q_VLAN_FDB_ID).items():
        vlan, fdb_id = integer(index.rsplit(".", 1)[-1]), integer(fdb)
        if vlan is not None and fdb_id is not None and (fdb_id not in out or vlan < out[fdb_id]):
            out[fdb_id] = vlan
    return out


def parse_fdb(raw: Raw) -> tuple[FdbEntry, ...]:
    """Every unicast MAC learnt on a bridge port, from Q-BRIDGE, BRIDGE and Cisco's per-VLAN
    BRIDGE-MIB; an entry with a VLAN wins over the same MAC and port without one."""
    ports = base_ports(raw)
    vlans = fdb_vlans(raw)
    status = column(raw, DOT1Q_TP_FDB_STATUS)
    found: dict[tuple[str, int], FdbEntry] = {}

    def keep(entry: FdbEntry) -> None:
        if not unicast(entry.mac):
            return
        key = (entry.mac, entry.port)
        if key not in found or (found[key].vlan is None and entry.vlan is not None):
            found[key] = entry

    for index, port_value in column(raw, DOT1Q_TP_FDB_PORT).items():
        parts = index.split(".")
        fdb_id, address, port = integer(parts[0]), _mac_index(parts[1:]), integer(port_value)
        if fdb_id is None or address is None or not port:
            continue
        if integer(status.get(index)) in _FDB_IGNORED_STATUS:
            continue
        # Without dot1qVlanFdbId, agents number their databases by VLAN (independent learning).
        keep(FdbEntry(address, port, vlans.get(fdb_id, fdb_id), ports.get(port)))
    for vlan, values in sorted(_per_vlan(raw).items()):
        for entry in _dot1d(values, vlan):
            keep(entry)
    for entry in _dot1d(raw, None):
        keep(entry)
    return tuple(sorted(found.values(), key=lambda e: (e.if_index or 0, e.vlan or 0, e.mac)))


def _inet_index(parts: list[str]) -> tuple[str, str] | None:
    """InetAddressType.length.octets... -> (address, family)."""
    try:
        kind, length = int(parts[0]), int(parts[1])
        octets = bytes(int(p) for p in parts[2 : 2 + length])
    except (ValueError, IndexError):
        return None
    if len(octets) != length:
        return None
    if kind == 1 and length == 4:
        return str(ipaddress.IPv4Address(octets)), "ipv4"
    if kind == 2 and length == 16:
        return str(ipaddress.IPv6Address(octets)), "ipv6"
    return None


def parse_arp(raw: Raw, if_names: Mapping[int, str]) -> tuple[ArpEntry, ...]:
    """ARP and IPv6 neighbour entries that name a unicast MAC; the device's own are left out."""
    found: dict[tuple[str, str], ArpEntry] = {}
    types = column(raw, IP_NET_TO_PHYSICAL_TYPE)
    for index, phys in column(raw, IP_NET_TO_PHYSICAL_PHYS).items():
        parts = index.split(".")
        if_index, kind = integer(parts[0]), integer(types.get(index))
        decoded = _inet_index(parts[1:])
        address = mac(phys)
        if decoded is None or address is None or not unicast(address):
            continue
        if kind in _ARP_IGNORED_TYPE or kind == _ARP_LOCAL:
            continue
        ip, family = decoded
        name = if_names.get(if_index) if if_index is not None else None
        found[(address, ip)] = ArpEntry(address, ip, name, family, kind == _ARP_STATIC)
    media_types = column(raw, IP_NET_TO_MEDIA_TYPE)
    for index, phys in column(raw, IP_NET_TO_MEDIA_PHYS).items():
        parts = index.split(".")
        address = mac(phys)
        kind = integer(media_types.get(index))
        if len(parts) != 5 or address is None or not unicast(address):
            continue
        if kind in _ARP_IGNORED_TYPE:
            continue
        try:
            ip = str(ipaddress.IPv4Address(".".join(parts[1:])))
        except ValueError:
            continue
        if_index = integer(parts[0])
        name = if_names.get(if_index) if if_index is not None else None
        found.setdefault((address, ip), ArpEntry(address, ip, name, "ipv4", kind == _ARP_STATIC))
    return tuple(sorted(found.values(), key=lambda a: (a.family, a.address, a.mac)))


def _first_octet(value: RawValue) -> int | None:
    if not isinstance(value, bytes) or not value:
        return None
    m = _BITS_AS_TEXT.match(value)
    return int(m.group(1), 16) if m and len(value) > 1 else value[0]


def lldp_caps(value: RawValue) -> str | None:
    """lldpRemSysCapEnabled (BITS) -> comma-separated capability names."""
    bits = _first_octet(value)
    if bits is None:
        return None
    names = [name for i, name in enumerate(LLDP_CAPS) if bits & (0x80 >> i)]
    return ",".join(names) or None


def cdp_caps(value: RawValue) -> str | None:
    """cdpCacheCapabilities (4 octets, bit flags) -> comma-separated capability names."""
    if not isinstance(value, bytes) or not value:
        return None
    flags = int.from_bytes(value[-4:], "big")
    if flags and not flags & 0xFF:  # some agents put the low octet first
        flags = value[0]
    names = dict.fromkeys(name for bit, name in CDP_CAPS.items() if flags & bit)
    return ",".join(names) or None
