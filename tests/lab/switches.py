"""A lab of switches as generated snmpsim recordings: forwarding tables, ARP, LLDP and CDP that
agree with one wiring plan, so a test knows where every endpoint really is.

Wiring (addresses on loopback; each switch is served by its own snmpsim on port ``port``):

    core  127.0.0.11  router and layer-3 switch (Q-BRIDGE FDB, ARP in ipNetToPhysicalTable)
      ge1/0/1 <-> acc1 ge8        (LLDP both ways)
      ge1/0/2 <-> acc2 Gi0/48     (CDP on acc2, LLDP on core)
      ge1/0/3:  LLDP neighbour at 127.0.0.99, outside the lab's range (a partner's router)
    acc1  127.0.0.12  Q-BRIDGE, ports ge1..ge8
      ge1..ge3: one PC each; ge4: an IP phone (LLDP bridge,telephone) with a PC behind it;
      ge5: an unmanaged switch with 20 MACs; ge7 <-> acc3 ge1 (LLDP); ge8: uplink to core
    acc2  127.0.0.13  Cisco IOS: BRIDGE-MIB per VLAN (community public@10, public@20), VTP
      Gi0/1, Gi0/2: PCs in VLAN 10; Gi0/3: a printer in VLAN 20; Gi0/48: uplink (CDP to core)
    acc3  127.0.0.14  Q-BRIDGE, found only through acc1 (depth 2); old ipNetToMediaTable ARP
      ge2: a server; ge1: uplink to acc1

Every endpoint's MAC is also learnt on the uplinks above it, as real switches do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

COMMUNITY = "public"
RANGE = "127.0.0.8/29"  # .8 - .15: the lab; 127.0.0.99 is outside it
CISCO_2960X = "1.3.6.1.4.1.9.1.1208"
GENERIC_SWITCH = "1.3.6.1.4.1.8072.3.2.10"
# LLDP capability octets (BITS, first octet): bridge 0x20, router 0x08, telephone 0x04
BRIDGE, ROUTER, TELEPHONE, STATION = 0x20, 0x08, 0x04, 0x01
# CDP: router 0x01, switch 0x08
CDP_ROUTER_SWITCH = "00000009"


@dataclass(frozen=True)
class Endpoint:
    mac: str
    ip: str
    switch: str
    port: str
    vlan: int


@dataclass
class Switch:
    name: str
    address: str
    sys_oid: str = GENERIC_SWITCH
    ports: list[str] = field(default_factory=list)
    fdb: list[tuple[int, str, str]] = field(default_factory=list)  # vlan, mac, port
    lldp: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    cdp: list[tuple[str, str, str, str]] = field(default_factory=list)
    arp_physical: list[tuple[str, str, str]] = field(default_factory=list)  # port, ip, mac
    arp_media: list[tuple[str, str, str]] = field(default_factory=list)
    cisco_vlans: tuple[int, ...] = ()

    def if_index(self, port: str) -> int:
        return self.ports.index(port) + 1

    def mac(self, port: str) -> str:
        n = int(self.address.rsplit(".", 1)[1])
        return f"02:00:00:00:{n:02x}:{self.if_index(port):02x}"


def _mac(i: int, oui: str) -> str:
    return f"{oui}:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}"


# Real OUIs, so the vendor of each can be checked against the IEEE registry.
DELL, HP, POLYCOM, BROTHER, SUPERMICRO, TPLINK = (
    "00:14:22",
    "00:1b:78",
    "00:04:f2",
    "00:1b:a9",
    "00:25:90",
    "50:c7:bf",
)


def build() -> tuple[dict[str, Switch], list[Endpoint], list[str]]:
    """The lab's switches, its endpoints (where each really is) and the MACs behind the
    unmanaged switch (which no edge port may claim)."""
    core = Switch("core", "127.0.0.11", ports=["ge1/0/1", "ge1/0/2", "ge1/0/3", "vlan10"])
    acc1 = Switch("acc1", "127.0.0.12", ports=[f"ge{i}" for i in range(1, 9)])
    acc2 = Switch(
        "acc2",
        "127.0.0.13",
        sys_oid=CISCO_2960X,
        ports=["Gi0/1", "Gi0/2", "Gi0/3", *[f"Gi0/{i}" for i in range(4, 48)], "Gi0/48"],
        cisco_vlans=(1, 10, 20, 1002),
    )
    acc3 = Switch("acc3", "127.0.0.14", ports=["ge1", "ge2"])
    switches = {s.name: s for s in (core, acc1, acc2, acc3)}
    endpoints = [
        Endpoint(_mac(1, DELL), "10.10.1.1", "acc1", "ge1", 1),
        Endpoint(_mac(2, DELL), "10.10.1.2", "acc1", "ge2", 1),
        Endpoint(_mac(3, HP), "10.10.1.3", "acc1", "ge3", 1),
        Endpoint(_mac(4, POLYCOM), "10.10.1.4", "acc1", "ge4", 1),
        Endpoint(_mac(5, DELL), "10.10.1.5", "acc1", "ge4", 1),
        Endpoint(_mac(6, DELL), "10.10.10.6", "acc2", "Gi0/1", 10),
        Endpoint(_mac(7, HP), "10.10.10.7", "acc2", "Gi0/2", 10),
        Endpoint(_mac(8, BROTHER), "10.10.20.8", "acc2", "Gi0/3", 20),
        Endpoint(_mac(9, SUPERMICRO), "10.10.1.9", "acc3", "ge2", 1),
    ]
    hidden = [_mac(100 + i, TPLINK) for i in range(20)]
    path = {"acc1": ("ge8", "ge1/0/1"), "acc2": ("Gi0/48", "ge1/0/2")}
    for ep in endpoints:
        sw = switches[ep.switch]
        sw.fdb.append((ep.vlan, ep.mac, ep.port))
        if ep.switch == "acc3":
            acc1.fdb.append((ep.vlan, ep.mac, "ge7"))
            core.fdb.append((ep.vlan, ep.mac, "ge1/0/1"))
            acc3.arp_media.append(("ge2", ep.ip, ep.mac))
        else:
            core.fdb.append((ep.vlan, ep.mac, path[ep.switch][1]))
            # Learnt on the uplinks of the other access switches too (traffic between them).
            for other, (uplink, _core_port) in path.items():
                if other != ep.switch:
                    switches[other].fdb.append((ep.vlan, ep.mac, uplink))
            if ep.switch == "acc1":
                acc3.fdb.append((ep.vlan, ep.mac, "ge1"))
        core.arp_physical.append(("vlan10", ep.ip, ep.mac))
    for m in hidden:
        acc1.fdb.append((1, m, "ge5"))
        core.fdb.append((1, m, "ge1/0/1"))
    # Neighbours: (local port, remote name, remote chassis MAC, management address, caps)
    acc1.lldp += [
        ("ge8", "core", core.mac("ge1/0/1"), core.address, BRIDGE | ROUTER),
        ("ge7", "acc3", acc3.mac("ge1"), acc3.address, BRIDGE),
        ("ge4", "phone-4", _mac(4, POLYCOM), "10.10.1.4", BRIDGE | TELEPHONE),
    ]
    acc3.lldp += [("ge1", "acc1", acc1.mac("ge7"), acc1.address, BRIDGE)]
    core.lldp += [
        ("ge1/0/1", "acc1", acc1.mac("ge8"), acc1.address, BRIDGE),
        ("ge1/0/2", "acc2", acc2.mac("Gi0/48"), acc2.address, BRIDGE),
        ("ge1/0/3", "partner-rtr", "02:99:00:00:00:01", "127.0.0.99", ROUTER),
    ]
    acc2.cdp += [("Gi0/48", "core", "ge1/0/2", core.address)]
    return switches, endpoints, hidden


def _octets(mac: str) -> str:
    return ".".join(str(int(p, 16)) for p in mac.split(":"))


def _hex(mac: str) -> str:
    return mac.replace(":", "")


def render(sw: Switch, *, vlan: int | None = None) -> str:
    """The switch's recording; with ``vlan``, the Cisco per-VLAN BRIDGE-MIB view only."""
    lines: list[str] = []
    add = lines.append
    ports = {p: i for i, p in enumerate(sw.ports, 1)}
    if vlan is not None:
        add(f"1.3.6.1.2.1.1.1.0|4|{sw.name} vlan {vlan}")
        for idx in ports.values():
            add(f"1.3.6.1.2.1.17.1.4.1.2.{idx}|2|{idx}")
        for v, mac, port in sw.fdb:
            if v == vlan:
                add(f"1.3.6.1.2.1.17.4.3.1.2.{_octets(mac)}|2|{ports[port]}")
                add(f"1.3.6.1.2.1.17.4.3.1.3.{_octets(mac)}|2|3")
        return _sorted(lines)
    descr = "Cisco IOS Software, C2960X Software" if sw.sys_oid == CISCO_2960X else "lab switch"
    add(f"1.3.6.1.2.1.1.1.0|4|{descr}")
    add(f"1.3.6.1.2.1.1.2.0|6|{sw.sys_oid}")
    add("1.3.6.1.2.1.1.3.0|67|123456")
    add(f"1.3.6.1.2.1.1.5.0|4|{sw.name}")
    add("1.3.6.1.2.1.1.7.0|2|6")
    for port, idx in ports.items():
        kind = 136 if port.startswith("vlan") else 6  # l3ipvlan, ethernetCsmacd
        add(f"1.3.6.1.2.1.2.2.1.2.{idx}|4|{port}")
        add(f"1.3.6.1.2.1.2.2.1.3.{idx}|2|{kind}")
        add(f"1.3.6.1.2.1.2.2.1.6.{idx}|4x|{_hex(sw.mac(port))}")
        add(f"1.3.6.1.2.1.2.2.1.8.{idx}|2|1")
        add(f"1.3.6.1.2.1.31.1.1.1.1.{idx}|4|{port}")
        if not port.startswith("vlan") and not sw.cisco_vlans:
            add(f"1.3.6.1.2.1.17.1.4.1.2.{idx}|2|{idx}")
    for v, mac, port in sw.fdb if not sw.cisco_vlans else ():
        add(f"1.3.6.1.2.1.17.7.1.2.2.1.2.{v}.{_octets(mac)}|2|{ports[port]}")
        add(f"1.3.6.1.2.1.17.7.1.2.2.1.3.{v}.{_octets(mac)}|2|3")
    for v in sorted({v for v, _m, _p in sw.fdb}) if not sw.cisco_vlans else ():
        add(f"1.3.6.1.2.1.17.7.1.4.2.1.3.0.{v}|66|{v}")
    for v in sw.cisco_vlans:
        add(f"1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.{v}|2|1")
    # The switch's own MAC, which the default view lists as self (status 4).
    if sw.cisco_vlans:
        own = sw.mac(sw.ports[0])
        add(f"1.3.6.1.2.1.17.4.3.1.2.{_octets(own)}|2|0")
        add(f"1.3.6.1.2.1.17.4.3.1.3.{_octets(own)}|2|4")
    for port, ip, mac in sw.arp_physical:
        idx = ports[port]
        add(f"1.3.6.1.2.1.4.35.1.4.{idx}.1.4.{ip}|4x|{_hex(mac)}")
        add(f"1.3.6.1.2.1.4.35.1.6.{idx}.1.4.{ip}|2|3")
    if sw.arp_physical:  # the router's own address: local, never an endpoint
        idx = ports[sw.ports[-1]]
        add(f"1.3.6.1.2.1.4.35.1.4.{idx}.1.4.10.10.1.254|4x|{_hex(sw.mac(sw.ports[-1]))}")
        add(f"1.3.6.1.2.1.4.35.1.6.{idx}.1.4.10.10.1.254|2|5")
    for port, ip, mac in sw.arp_media:
        add(f"1.3.6.1.2.1.4.22.1.2.{ports[port]}.{ip}|4x|{_hex(mac)}")
        add(f"1.3.6.1.2.1.4.22.1.4.{ports[port]}.{ip}|2|3")
    add("1.0.8802.1.1.2.1.3.1.0|2|4")
    add(f"1.0.8802.1.1.2.1.3.2.0|4x|{_hex(sw.mac(sw.ports[0]))}")
    for port, idx in ports.items():
        add(f"1.0.8802.1.1.2.1.3.7.1.3.{idx}|4|{port}")
    for n, (port, name, chassis, mgmt, caps) in enumerate(sw.lldp, 1):
        row = f"0.{ports[port]}.{n}"
        add(f"1.0.8802.1.1.2.1.4.1.1.4.{row}|2|4")
        add(f"1.0.8802.1.1.2.1.4.1.1.5.{row}|4x|{_hex(chassis)}")
        add(f"1.0.8802.1.1.2.1.4.1.1.7.{row}|4|port-{n}")
        add(f"1.0.8802.1.1.2.1.4.1.1.9.{row}|4|{name}")
        add(f"1.0.8802.1.1.2.1.4.1.1.12.{row}|4x|{caps:02x}00")
        add(f"1.0.8802.1.1.2.1.4.2.1.3.{row}.1.4.{mgmt}|2|2")
    for n, (port, name, remote_port, mgmt) in enumerate(sw.cdp, 1):
        row = f"{ports[port]}.{n}"
        add(f"1.3.6.1.4.1.9.9.23.1.2.1.1.3.{row}|2|1")
        add(f"1.3.6.1.4.1.9.9.23.1.2.1.1.4.{row}|4x|{bytes(map(int, mgmt.split('.'))).hex()}")
        add(f"1.3.6.1.4.1.9.9.23.1.2.1.1.6.{row}|4|{name}")
        add(f"1.3.6.1.4.1.9.9.23.1.2.1.1.7.{row}|4|{remote_port}")
        add(f"1.3.6.1.4.1.9.9.23.1.2.1.1.9.{row}|4x|{CDP_ROUTER_SWITCH}")
    return _sorted(lines)


def _sorted(lines: list[str]) -> str:
    def key(line: str) -> list[int]:
        return [int(p) for p in line.split("|", 1)[0].split(".")]

    return "\n".join(sorted(lines, key=key)) + "\n"


def write(root: Path, switches: dict[str, Switch]) -> dict[str, Path]:
    """One folder per switch holding ``public.snmprec`` (and ``public@<vlan>.snmprec``)."""
    out = {}
    for sw in switches.values():
        folder = root / sw.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{COMMUNITY}.snmprec").write_text(render(sw))
        for vlan in sw.cisco_vlans:
            if vlan < 1002:
                (folder / f"{COMMUNITY}@{vlan}.snmprec").write_text(render(sw, vlan=vlan))
        out[sw.name] = folder
    return out


@dataclass
class Lab:
    switches: dict[str, Switch]
    endpoints: list[Endpoint]
    hidden: list[str]
    port: int


@contextmanager
def serve(root: Path) -> Iterator[Lab]:
    """The lab, each switch answered by its own snmpsim on its own loopback address (all on
    one free port), stopped on exit."""
    from tests.peers import free_port, need
    from tests.snmpsim import SnmpsimPeer, responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    switches, endpoints, hidden = build()
    folders = write(root, switches)
    port = free_port()
    peers: list[SnmpsimPeer] = []
    try:
        for name, sw in switches.items():
            peers.append(
                SnmpsimPeer.start(folders[name], port, host=sw.address, probe_community=COMMUNITY)
            )
        yield Lab(switches, endpoints, hidden, port)
    finally:
        for peer in peers:
            peer.stop()
