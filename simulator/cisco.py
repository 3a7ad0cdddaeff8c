"""Cisco Catalyst switches and ISR routers (IOS 12.2/15.x, IOS-XE 16/17) and Aruba CX switches.

Cisco: the multi-line IOS sysDescr, ``Gi1/0/1``-style ports with classic IOS ifIndexes (10101...)
or IOS-XE's sequential ones, SVIs, the ENTITY-MIB stack/chassis/PSU rows (entPhysicalMfgDate
zeroed on IOS-XE, absent on classic IOS), CDP and LLDP caches, CISCO-PROCESS-MIB CPU load and,
on classic IOS, the legacy TCP-MIB connection table that shows a telnet listener.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator import mib2, neighbours
from simulator.context import Context
from simulator.estate_model import ANY_ADDRESS, Device
from simulator.recording import Recording, RecordingError, date_and_time

SPEEDS = {
    "100M": ("FastEthernet", "Fa", 100_000_000),
    "1G": ("GigabitEthernet", "Gi", 10**9),
    "10G": ("TenGigabitEthernet", "Te", 10**10),
    "25G": ("TwentyFiveGigE", "Twe", 25 * 10**9),
    "40G": ("FortyGigabitEthernet", "Fo", 40 * 10**9),
}
CPU = "1.3.6.1.4.1.9.9.109.1.1.1.1"


@dataclass(frozen=True, slots=True)
class Port:
    index: int
    descr: str
    name: str
    speed: int
    uplink: bool


def switch_ports(dev: Device, first_index: int, namer: str) -> list[Port]:
    """Physical ports from a ``48x1G+4x10G`` spec. ``namer`` is ``cisco`` (Gi1/0/1, uplinks
    in the uplink slot) or ``aruba`` (1/1/1 numbered straight through)."""
    spec = dev.ports or "24x1G"
    groups = re.findall(r"(\d+)x(100M|1G|10G|25G|40G)", spec)
    if not groups or "+".join(f"{c}x{s}" for c, s in groups) != spec.replace(" ", ""):
        raise RecordingError(
            f"device {dev.name}: ports {spec!r}: write counts and speeds such as 48x1G+4x10G"
        )
    slot = str(dev.details.get("port_slot", "1/0"))
    uplink_slot = str(dev.details.get("uplink_slot", "1/1"))
    counters: dict[tuple[str, str], int] = {}
    out: list[Port] = []
    for g, (count, speed) in enumerate(groups):
        long, short, bps = SPEEDS[speed]
        for _ in range(int(count)):
            if namer == "aruba":
                number = len(out) + 1
                descr = name = f"1/1/{number}"
            else:
                where = slot if g == 0 else uplink_slot
                key = (short, where)
                counters[key] = counters.get(key, 0) + 1
                descr, name = f"{long}{where}/{counters[key]}", f"{short}{where}/{counters[key]}"
            out.append(Port(first_index + len(out), descr, name, bps, g > 0))
    return out


def _descr(dev: Device) -> str:
    d = dev.details
    train = f" [{d['train']}]" if d.get("train") else ""
    return (
        f"Cisco IOS Software{train}, {d.get('family', 'C2960X')} Software "
        f"({d.get('image', 'C2960X-UNIVERSALK9-M')}), Version {dev.version}, RELEASE "
        f"SOFTWARE ({d.get('fc', 'fc2')})\r\nTechnical Support: "
        f"http://www.cisco.com/techsupport\r\nCopyright (c) 1986-{d.get('year', 2021)} by "
        f"Cisco Systems, Inc.\r\nCompiled {d.get('compiled', 'Tue 23-Mar-21 03:57')} by "
        f"{'mcpre' if d.get('train') else 'prod_rel_team'}"
    )


def describe_cisco(dev: Device, ctx: Context) -> str:
    return _descr(dev)


def _entity(dev: Device, ctx: Context, xe: bool) -> list[mib2.Entity]:
    d = dev.details
    zero = bytes(8) if xe else None
    hw, boot = str(d.get("hw_rev", "V03")), str(d.get("rom", ""))
    serial, model = dev.serial or "", dev.model or ""
    chassis_type = str(d.get("ent_type", "1.3.6.1.4.1.9.12.3.1.3"))
    if dev.device_class == "router":
        return [
            mib2.Entity(
                1,
                f"{model} chassis, Hw Serial#: {serial}, Hw Revision: {hw}",
                3,
                f"{model} chassis",
                vendor_type=chassis_type,
                hw_rev=hw,
                fw_rev=boot,
                sw_rev=dev.version or "",
                serial=serial,
                mfg_name="Cisco Systems Inc",
                model=model,
                fru=False,
                mfg_date=zero,
            )
        ]
    chassis = 1000 if xe else 1001
    rows = [
        mib2.Entity(
            1, str(d.get("stack", "c29xx Stack")), 11, str(d.get("stack", "")), mfg_date=zero
        ),
        mib2.Entity(
            chassis,
            model,
            3,
            "Switch 1",
            contained_in=1,
            rel_pos=1,
            vendor_type=chassis_type,
            hw_rev=hw,
            fw_rev=boot,
            sw_rev=dev.version or "",
            serial=serial,
            mfg_name="Cisco Systems Inc" if xe else "",
            model=model,
            fru=True,
            mfg_date=zero,
        ),
    ]
    psu = d.get("psu")
    if psu:
        rng = ctx.rng(dev, "psu")
        psu_serial = f"{'DCB' if xe else 'LIT'}{serial[3:7]}{rng.randrange(16**4):04X}"
        rows.append(
            mib2.Entity(
                chassis + 9,
                "Switch 1 - Power Supply A",
                6,
                "Switch 1 - Power Supply A",
                contained_in=chassis,
                rel_pos=1,
                hw_rev="A0",
                serial=psu_serial,
                model=str(psu),
                fru=True,
                mfg_name="Cisco Systems Inc" if xe else "",
                mfg_date=zero,
            )
        )
    rows.append(
        mib2.Entity(
            chassis + 13,
            "Switch 1 - FAN 1",
            7,
            "Switch 1 - FAN 1",
            contained_in=chassis,
            rel_pos=1,
            mfg_date=zero,
        )
    )
    return rows


def render_cisco(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "cisco")
    d = dev.details
    xe = dev.os == "IOS-XE"
    router = dev.device_class == "router"
    uptime = ctx.uptime_ticks(dev)
    mib2.system(
        rec,
        descr=_descr(dev),
        object_id=str(d["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.sys_name or dev.name,
        location=ctx.location(dev),
        services=int(d.get("services", 78 if router else 6)),
    )
    base_mac = ctx.mac(dev, 99)
    mib2.engine_id(rec, 9, base_mac)
    if router:
        ports = [
            Port(n + 1, f"GigabitEthernet0/{n}", f"Gi0/{n}", 10**9, False)
            for n in range(int(d.get("router_ports", 3)))
        ]
    else:
        ports = switch_ports(dev, 2 if xe else 10101, "cisco")
    by_name = {p.name.lower(): p.index for p in ports}
    links = {n.local_port.lower(): n for n in ctx.neighbours(dev)}
    for name in links:
        if name not in by_name:
            raise RecordingError(
                f"device {dev.name}: link on {name!r}, which is not one of its "
                f"ports ({ports[0].name} ... {ports[-1].name})"
            )
    up_ratio = float(d.get("up_ratio", 0.5))
    ifaces = []
    addrs = ctx.interfaces(dev)
    ip_rows: list[tuple[str, int]] = []
    for n, p in enumerate(ports):
        link = links.get(p.name.lower())
        up = link is not None or (not p.uplink and rng.random() < up_ratio)
        if router and n < len(addrs):
            up = True
            ip_rows.append((str(addrs[n]), p.index))
        alias = f"{link.device.name} {link.remote_port}" if link else ""
        ifaces.append(
            mib2.Iface(
                p.index,
                p.descr,
                p.name,
                6,
                1500,
                p.speed,
                ctx.mac(dev, 100 + n, "00:1e:bd"),
                up=up,
                admin_up=up or rng.random() > 0.1,
                alias=alias,
                traffic=4.0 if link else 0.3,
            )
        )
    # IOS-XE numbers everything in order (Gi0/0 first); classic IOS puts ports at 10101+,
    # Vlan1 at 1 and the SVIs just after it; routers number their ports from 1.
    next_index = len(ports) + 2 if xe else 2
    if not router:
        svis = [int(v) for v in d.get("svis", [10])]
        vlan1 = next_index if xe else 1
        next_index += 1 if xe else 0
        ifaces.append(
            mib2.Iface(vlan1, "Vlan1", "Vl1", 53, 1500, 10**9, base_mac, up=False, admin_up=False)
        )
        for n, vlan in enumerate(svis):
            ifaces.append(
                mib2.Iface(
                    next_index,
                    f"Vlan{vlan}",
                    f"Vl{vlan}",
                    53,
                    1500,
                    10**9,
                    base_mac,
                    alias=str(d.get("svi_alias", "Management")),
                )
            )
            if n < len(addrs):
                ip_rows.append((str(addrs[n]), next_index))
            next_index += 1
        if xe:
            ifaces.append(
                mib2.Iface(
                    1,
                    "GigabitEthernet0/0",
                    "Gi0/0",
                    6,
                    1500,
                    10**9,
                    ctx.mac(dev, 98, "00:1e:bd"),
                    up=False,
                )
            )
        elif d.get("stack"):
            ifaces.append(
                mib2.Iface(
                    14501,
                    "FastEthernet0",
                    "Fa0",
                    6,
                    1500,
                    10**8,
                    ctx.mac(dev, 98, "00:1e:bd"),
                    up=False,
                )
            )
    if xe or router:
        index = next_index if xe else len(ports) + 1
        ifaces.append(mib2.Iface(index, "Null0", "Nu0", 1, 1500, 4_294_967_295, b""))
    mib2.interfaces(
        rec,
        sorted(ifaces, key=lambda i: i.index),
        rng,
        uptime,
        hc=xe or dev.version is None or not dev.version.startswith("12."),
    )
    mib2.ip_addresses(
        rec, ip_rows, uptime, forwarding=router or bool(d.get("routing", xe)), modern=xe
    )
    mib2.entity(rec, _entity(dev, ctx, xe))
    lldp_rows, cdp_rows = neighbours.tables(dev, ctx, by_name)
    if d.get("lldp", True) is not False:
        mib2.lldp(
            rec,
            chassis_mac=base_mac,
            sys_name=dev.sys_name or dev.name,
            sys_descr=_descr(dev),
            caps=neighbours.ROUTER | (0 if router else neighbours.BRIDGE),
            ports=[(p.index, p.name, p.descr) for p in ports],
            remotes=lldp_rows,
            uptime=uptime,
        )
    mib2.cdp(rec, cdp_rows)
    _cpu(rec, dev, 1000 if xe else 1001)
    if not xe:
        _tcp(rec, dev, ctx, ip_rows)
    return rec


def _cpu(rec: Recording, dev: Device, physical: int) -> None:
    load = dev.cpu_load
    rec.integer(f"{CPU}.2.1", physical)
    for col, value in (
        (3, load + 2),
        (4, load + 1),
        (5, load),
        (6, load + 2),
        (7, load + 1),
        (8, load),
    ):
        rec.gauge32(f"{CPU}.{col}.1", max(0, min(100, value)))


def _tcp(rec: Recording, dev: Device, ctx: Context, ip_rows: list[tuple[str, int]]) -> None:
    """Classic IOS serves only the legacy tcpConnTable: listeners and live sessions."""
    d = dev.details
    ports = [22] + [23] * bool(d.get("telnet")) + [80] * bool(d.get("http"))
    listeners = [(ANY_ADDRESS, p, 0) for p in ports]
    own = ip_rows[0][0].split("/")[0] if ip_rows else dev.address
    rng = ctx.rng(dev, "tcp")
    sessions = [
        (own, 23, str(src), rng.randrange(49152, 65535), 0) for src in d.get("telnet_from", ())
    ]
    mib2.tcp(rec, listeners, sessions, rng, modern=False)


def render_aruba_cx(dev: Device, ctx: Context) -> Recording:
    """Aruba CX (AOS-CX): LLDP, ENTITY-MIB with a real manufacture date, IF-MIB, IP-MIB."""
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "arubacx")
    d = dev.details
    uptime = ctx.uptime_ticks(dev)
    descr = describe_aruba_cx(dev, ctx)
    mib2.system(
        rec,
        descr=descr,
        object_id=str(d["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.name,
        location=ctx.location(dev),
        services=6,
    )
    base_mac = ctx.mac(dev, 99)
    mib2.engine_id(rec, 47196, base_mac)
    ports = switch_ports(dev, 1, "aruba")
    links = {n.local_port.lower(): n for n in ctx.neighbours(dev)}
    by_name = {p.name.lower(): p.index for p in ports}
    ifaces = []
    for n, p in enumerate(ports):
        link = links.get(p.name.lower())
        up = link is not None or (not p.uplink and rng.random() < float(d.get("up_ratio", 0.5)))
        ifaces.append(
            mib2.Iface(
                p.index,
                p.descr,
                p.name,
                6,
                1500,
                p.speed,
                ctx.mac(dev, 100 + n),
                up=up,
                alias=f"{link.device.name} {link.remote_port}" if link else "",
            )
        )
    vlan = int(d.get("mgmt_vlan", 10))
    ifaces.append(
        mib2.Iface(
            100_000_000 + vlan,
            f"vlan{vlan}",
            f"vlan{vlan}",
            136,
            1500,
            10**9,
            base_mac,
            alias="Management",
        )
    )
    mib2.interfaces(rec, ifaces, rng, uptime)
    mib2.ip_addresses(
        rec, [(str(a), 100_000_000 + vlan) for a in ctx.interfaces(dev)], uptime, forwarding=True
    )
    made = dev.manufactured
    mib2.entity(
        rec,
        [
            mib2.Entity(
                1,
                str(d.get("chassis_descr", dev.model)),
                3,
                str(d.get("chassis_name", "1")),
                vendor_type="1.3.6.1.4.1.47196.4.1.1.2.1",
                hw_rev=str(d.get("hw_rev", "A")),
                fw_rev=str(d.get("rom", "")),
                sw_rev=dev.version or "",
                serial=dev.serial or "",
                mfg_name="Aruba",
                model=str(d.get("sku", dev.model)),
                fru=True,
                mfg_date=date_and_time(made, zone=True) if made else bytes(8),
            )
        ],
    )
    lldp_rows, _ = neighbours.tables(dev, ctx, by_name)
    mib2.lldp(
        rec,
        chassis_mac=base_mac,
        sys_name=dev.name,
        sys_descr=descr,
        caps=neighbours.BRIDGE | neighbours.ROUTER,
        ports=[(p.index, p.name, p.descr) for p in ports],
        remotes=lldp_rows,
        uptime=uptime,
    )
    return rec


def describe_aruba_cx(dev: Device, ctx: Context) -> str:
    return (
        f"Aruba {dev.details.get('sku', '')} {dev.details.get('chassis_descr', dev.model)} "
        f"{dev.version}"
    )
