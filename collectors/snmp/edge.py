"""Which endpoint sits on which switch port (pure): forwarding tables joined with ports,
neighbours and ARP/ND tables, uplinks left out.

A MAC is learnt on every switch port on its way to the switch it is plugged into; only that
last, edge port says where it is. A port is an uplink, and its MACs are not sightings, when

- an LLDP or CDP neighbour on it says it is a bridge or router (a telephone or station that
  also bridges - an IP phone with a PC behind it - stays an edge port), or when the neighbour
  gives no capabilities at all;
- it learnt more than ``max_macs`` MACs (a switch that speaks neither protocol; the limit is
  policy: a hypervisor's port carries one MAC per guest);
- it is a link aggregate (ifType ieee8023adLag) and ``lag_is_uplink`` holds.

The switch's own interface MACs are never sightings. :func:`attach` fills addresses and vendors
from ARP/ND tables of other devices (routers), for the whole estate at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from collectors.facts import ArpEntry, Interface, Sighting
from collectors.snmp import oids
from collectors.snmp.forwarding import (
    CDP_CACHE_CAPABILITIES,
    LLDP_REM_CAP_ENABLED,
    FdbEntry,
    base_ports,
    cdp_caps,
    lldp_caps,
)
from collectors.snmp.values import Raw, column, integer, text

IF_TYPE_LAG = 161
Vendor = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class EdgePolicy:
    max_macs: int = 16
    lag_is_uplink: bool = True
    uplink_caps: frozenset[str] = frozenset({"bridge", "router", "repeater"})
    endpoint_caps: frozenset[str] = frozenset({"telephone", "station", "host"})


@dataclass(frozen=True, slots=True)
class PortNeighbour:
    protocol: str
    name: str | None
    caps: str | None


@dataclass(frozen=True, slots=True)
class EdgeResult:
    sightings: tuple[Sighting, ...]
    uplinks: Mapping[int, str] = field(default_factory=dict)  # ifIndex -> why


def _unique_match(interfaces: Iterable[Interface], label: str | None) -> int | None:
    if not label:
        return None
    hits = {
        i.index
        for i in interfaces
        if i.index is not None and label in (i.name, i.descr, i.alias) and label
    }
    return hits.pop() if len(hits) == 1 else None


def lldp_port_if_index(
    raw: Raw, local_port: int, interfaces: tuple[Interface, ...], ports: Mapping[int, int]
) -> int | None:
    """The ifIndex of an LLDP local port number: by its port id or description naming one
    interface, else as a bridge port number, else as an ifIndex (agents differ in which)."""
    for base in (oids.LLDP_LOC_PORT_ID, oids.LLDP_LOC_PORT_DESCR):
        hit = _unique_match(interfaces, text(raw.get(f"{base}.{local_port}")))
        if hit is not None:
            return hit
    if local_port in ports:
        return ports[local_port]
    known = {i.index for i in interfaces}
    return local_port if local_port in known else None


def port_neighbours(raw: Raw, interfaces: tuple[Interface, ...]) -> dict[int, list[PortNeighbour]]:
    """ifIndex -> the LLDP and CDP neighbours seen on it."""
    ports = base_ports(raw)
    out: dict[int, list[PortNeighbour]] = {}
    names = column(raw, f"{oids.LLDP_REM}.{oids.LLDP_REM_COLUMNS['sys_name']}")
    chassis = column(raw, f"{oids.LLDP_REM}.{oids.LLDP_REM_COLUMNS['chassis_id']}")
    caps = column(raw, LLDP_REM_CAP_ENABLED)
    for index in sorted(set(names) | set(chassis) | set(caps)):
        parts = index.split(".")
        local = integer(parts[1]) if len(parts) >= 3 else None
        if_index = lldp_port_if_index(raw, local, interfaces, ports) if local else None
        if if_index is not None:
            name = text(names.get(index))
            out.setdefault(if_index, []).append(
                PortNeighbour("lldp", name, lldp_caps(caps.get(index)))
            )
    cdp_names = column(raw, f"{oids.CDP_CACHE}.{oids.CDP_COLUMNS['device_id']}")
    cdp_cap = column(raw, CDP_CACHE_CAPABILITIES)
    for index in sorted(set(cdp_names) | set(cdp_cap)):
        if_index = integer(index.split(".")[0])
        if if_index is not None:
            caps_text = cdp_caps(cdp_cap.get(index))
            out.setdefault(if_index, []).append(
                PortNeighbour("cdp", text(cdp_names.get(index)), caps_text)
            )
    return out


def _neighbour_is_uplink(nb: PortNeighbour, policy: EdgePolicy) -> bool:
    if not nb.caps:
        return True  # says nothing about itself: assume a network device
    caps = set(nb.caps.split(","))
    if caps & policy.endpoint_caps:
        return False
    return bool(caps & policy.uplink_caps)


def uplinks(
    fdb: Iterable[FdbEntry],
    interfaces: tuple[Interface, ...],
    neighbours: Mapping[int, list[PortNeighbour]],
    policy: EdgePolicy,
) -> dict[int, str]:
    """ifIndex -> why it is an uplink."""
    out: dict[int, str] = {}
    for if_index, found in sorted(neighbours.items()):
        for nb in found:
            if _neighbour_is_uplink(nb, policy):
                caps = f" ({nb.caps})" if nb.caps else " (no capabilities given)"
                out[if_index] = f"{nb.protocol} neighbour {nb.name or '?'}{caps}"
                break
    counts = Counter(e.if_index for e in fdb if e.if_index is not None)
    for if_index, n in sorted(counts.items()):
        if n > policy.max_macs and if_index not in out:
            out[if_index] = f"{n} MACs learnt (more than {policy.max_macs})"
    if policy.lag_is_uplink:
        for i in interfaces:
            if i.type == IF_TYPE_LAG and i.index is not None and i.index not in out:
                out[i.index] = "link aggregate"
    return out


def preferred_addresses(arp: Iterable[ArpEntry]) -> dict[str, str]:
    """MAC -> the address to show for it: the lowest IPv4, else the lowest IPv6 (link-local
    last)."""

    def rank(a: ArpEntry) -> tuple[int, int, str]:
        return (a.family != "ipv4", a.address.startswith("fe80:"), a.address)

    out: dict[str, ArpEntry] = {}
    for entry in arp:
        if entry.mac not in out or rank(entry) < rank(out[entry.mac]):
            out[entry.mac] = entry
    return {m: e.address for m, e in out.items()}


def edge_sightings(
    raw: Raw,
    *,
    switch: str,
    fdb: tuple[FdbEntry, ...],
    interfaces: tuple[Interface, ...],
    arp: tuple[ArpEntry, ...] = (),
    policy: EdgePolicy = EdgePolicy(),
    vendor: Vendor = lambda _mac: None,
) -> EdgeResult:
    """The endpoints on this switch's edge ports, with this device's own ARP/ND addresses."""
    names = {i.index: i.name for i in interfaces if i.index is not None}
    own = {i.mac for i in interfaces if i.mac}
    up = uplinks(fdb, interfaces, port_neighbours(raw, interfaces), policy)
    addresses = preferred_addresses(arp)
    out: dict[tuple[str, int, int | None], Sighting] = {}
    for entry in fdb:
        idx = entry.if_index
        if idx is None or idx in up or idx not in names or entry.mac in own:
            continue
        out[(entry.mac, idx, entry.vlan)] = Sighting(
            mac=entry.mac,
            switch=switch,
            port=names[idx],
            if_index=idx,
            vlan=entry.vlan,
            address=addresses.get(entry.mac),
            vendor=vendor(entry.mac),
        )
    return EdgeResult(tuple(sorted(out.values(), key=_order)), up)


def _order(s: Sighting) -> tuple[str, int, int, str]:
    return (s.switch, s.if_index or 0, s.vlan or 0, s.mac)


def attach(
    sightings: Iterable[Sighting], arp: Iterable[ArpEntry], vendor: Vendor | None = None
) -> tuple[Sighting, ...]:
    """Fill each sighting's address from the estate's ARP/ND entries (every router's), and its
    vendor when ``vendor`` is given. An address already known is kept."""
    addresses = preferred_addresses(arp)
    out = []
    for s in sightings:
        address = s.address if s.address is not None else addresses.get(s.mac)
        maker = s.vendor if s.vendor is not None or vendor is None else vendor(s.mac)
        out.append(replace(s, address=address, vendor=maker))
    return tuple(sorted(out, key=_order))
