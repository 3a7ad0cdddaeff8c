"""Embedded agents: APC Smart-UPS network cards (PowerNet-MIB), Eaton UPS cards (UPS-MIB and
MG-SNMP-UPS-MIB), HP Jetdirect and Ricoh printers (Printer-MIB, hrPrinter) and Axis cameras.
They serve a small MIB-II and their vendor's identity objects, no HOST-RESOURCES or TCP-MIB."""

from __future__ import annotations

from datetime import date

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.recording import Recording

APC = "1.3.6.1.4.1.318.1.1.1"
UPS = "1.3.6.1.2.1.33.1"
MGE = "1.3.6.1.4.1.705.1.1"
PRT = "1.3.6.1.2.1.43"


def _base(
    dev: Device,
    ctx: Context,
    rec: Recording,
    *,
    descr: str,
    enterprise: int,
    ifname: str = "eth0",
    ifx: bool = True,
    engine: bool = True,
) -> int:
    """System group, one Ethernet port with the device's address; returns sysUpTime."""
    uptime = ctx.uptime_ticks(dev)
    mib2.system(
        rec,
        descr=descr,
        object_id=str(dev.details["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.sys_name or dev.name,
        location=ctx.location(dev),
        services=72,
    )
    mac = ctx.mac(dev, 0)
    if dev.kind == "axis" and dev.serial:  # an Axis serial number is its MAC address
        mac = bytes.fromhex(dev.serial)
    if engine:
        mib2.engine_id(rec, enterprise, mac)
    speed = int(dev.details.get("speed", 100_000_000))
    mib2.interfaces(
        rec,
        [mib2.Iface(1, ifname, ifname, 6, 1500, speed, mac, traffic=0.01)],
        ctx.rng(dev, "if"),
        uptime,
        ifx=ifx,
        hc=False,
    )
    mib2.ip_addresses(rec, [(dev.addresses[0], 1)], uptime, modern=False)
    return uptime


def _us_date(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day else ""


def describe_apc(dev: Device, ctx: Context) -> str:
    d = dev.details
    aos, app = dev.firmware or "6.9.6", str(d.get("app", dev.firmware or "6.9.6"))
    flat = aos.replace(".", "")
    return (
        f"APC Web/SNMP Management Card (MB:v4.1.0 PF:v{aos} PN:apc_hw05_aos_{flat}.bin "
        f"AF1:v{app} AN1:apc_hw05_sumx_{app.replace('.', '')}.bin MN:{d.get('card', 'AP9631')}"
        f" HR:05 SN: {d.get('card_serial', '')} MD:{_us_date(dev.manufactured)}) "
        "(Embedded PowerNet SNMP Agent SW v2.2 compatible)"
    )


def render_apc(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    d = dev.details
    _base(dev, ctx, rec, descr=describe_apc(dev, ctx), enterprise=318, ifx=False)
    rec.string(f"{APC}.1.1.1.0", dev.model or "")
    rec.string(f"{APC}.1.1.2.0", dev.name.upper())
    rec.string(f"{APC}.1.2.1.0", str(d.get("ups_firmware", "")))
    rec.string(f"{APC}.1.2.2.0", _us_date(dev.manufactured))
    rec.string(f"{APC}.1.2.3.0", dev.serial or "")
    rec.string(f"{APC}.1.2.5.0", str(d.get("sku", "")))
    replaced = d.get("battery_replaced")
    due = bool(d.get("battery_due", False))
    rec.integer(f"{APC}.2.1.1.0", 2)  # batteryNormal
    rec.ticks(f"{APC}.2.1.2.0", 0)
    rec.string(f"{APC}.2.1.3.0", _us_date(replaced) if isinstance(replaced, date) else "")
    rec.gauge32(f"{APC}.2.2.1.0", 100)
    rec.gauge32(f"{APC}.2.2.2.0", 27)
    rec.ticks(f"{APC}.2.2.3.0", int(d.get("runtime_min", 25)) * 6000)
    rec.integer(f"{APC}.2.2.4.0", 2 if due else 1)
    rec.integer(f"{APC}.4.1.1.0", 2)  # onLine
    rec.gauge32(f"{APC}.3.2.1.0", 238)
    rec.gauge32(f"{APC}.4.2.1.0", 230)
    rec.gauge32(f"{APC}.4.2.3.0", dev.cpu_load)
    return rec


def describe_eaton(dev: Device, ctx: Context) -> str:
    return f"Eaton {dev.model}" if dev.model else "Eaton UPS"


def render_eaton(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    d = dev.details
    _base(dev, ctx, rec, descr=describe_eaton(dev, ctx), enterprise=705)
    rec.string(f"{UPS}.1.1.0", "EATON")
    rec.string(f"{UPS}.1.2.0", describe_eaton(dev, ctx))
    rec.string(f"{UPS}.1.3.0", str(d.get("ups_firmware", "")))
    rec.string(f"{UPS}.1.4.0", dev.firmware or "")
    rec.string(f"{UPS}.1.5.0", dev.name.upper())
    rec.string(f"{UPS}.1.6.0", str(d.get("attached", "")))
    rec.integer(f"{UPS}.2.1.0", 2)  # batteryNormal
    rec.integer(f"{UPS}.2.2.0", 0)
    rec.integer(f"{UPS}.2.3.0", int(d.get("runtime_min", 18)))
    rec.integer(f"{UPS}.2.4.0", 100)
    rec.integer(f"{UPS}.3.3.1.3.1", 237)
    rec.integer(f"{UPS}.4.1.0", 3)  # normal
    rec.integer(f"{UPS}.4.4.1.2.1", 230)
    rec.integer(f"{UPS}.4.4.1.5.1", dev.cpu_load)
    family, _, model = (dev.model or "").partition(" ")
    rec.string(f"{MGE}.1.0", family)
    rec.string(f"{MGE}.2.0", model)
    rec.string(f"{MGE}.4.0", str(d.get("ups_firmware", "")))
    rec.string(f"{MGE}.6.0", _us_date(dev.manufactured))
    rec.string(f"{MGE}.7.0", dev.serial or "")
    return rec


def describe_printer(dev: Device, ctx: Context) -> str:
    return str(dev.details.get("descr", dev.model))


def render_printer(dev: Device, ctx: Context) -> Recording:
    """HP (Jetdirect) and Ricoh printers: Printer-MIB, hrDevice printer and vendor identity."""
    rec = Recording(dev.name)
    d = dev.details
    ricoh = dev.kind == "printer-ricoh"
    uptime = _base(
        dev,
        ctx,
        rec,
        descr=describe_printer(dev, ctx),
        enterprise=367 if ricoh else 11,
        ifname="ncmac0" if ricoh else "NetDrvr",
    )
    rng = ctx.rng(dev, "printer")
    rec.ticks("1.3.6.1.2.1.25.1.1.0", uptime)
    rec.integer("1.3.6.1.2.1.25.2.2.0", int(dev.memory_gb * 2**20) or 524288)
    rec.integer("1.3.6.1.2.1.25.3.2.1.1.1", 1)
    rec.object_id("1.3.6.1.2.1.25.3.2.1.2.1", "1.3.6.1.2.1.25.3.1.5")
    rec.string("1.3.6.1.2.1.25.3.2.1.3.1", str(d.get("hr_descr", dev.model)))
    rec.object_id("1.3.6.1.2.1.25.3.2.1.4.1", "0.0")
    rec.integer("1.3.6.1.2.1.25.3.2.1.5.1", 2)
    rec.counter32("1.3.6.1.2.1.25.3.2.1.6.1", 0)
    rec.integer("1.3.6.1.2.1.25.3.5.1.1.1", 3)  # idle
    rec.octets("1.3.6.1.2.1.25.3.5.1.2.1", b"\x00")
    rec.integer(f"{PRT}.5.1.1.1.1", 1)
    rec.string(f"{PRT}.5.1.1.16.1", dev.name.upper())
    rec.string(f"{PRT}.5.1.1.17.1", dev.serial or "")
    rec.counter32(f"{PRT}.10.2.1.4.1.1", int(d.get("pages", rng.randrange(20_000, 900_000))))
    supplies = d.get("supplies", ["Black Cartridge"])
    for n, name in enumerate(supplies, start=1):
        rec.integer(
            f"{PRT}.11.1.1.5.1.{n}", 3 if "Toner" in str(name) or "Cartridge" in str(name) else 9
        )
        rec.string(f"{PRT}.11.1.1.6.1.{n}", str(name))
        rec.integer(f"{PRT}.11.1.1.7.1.{n}", 19)  # percent
        rec.integer(f"{PRT}.11.1.1.8.1.{n}", 100)
        rec.integer(f"{PRT}.11.1.1.9.1.{n}", rng.randrange(4, 96))
    rec.string(f"{PRT}.16.5.1.2.1.1", "Ready")
    if ricoh:
        rec.string("1.3.6.1.4.1.367.3.2.1.1.1.1.0", dev.model or "")
        rec.string("1.3.6.1.4.1.367.3.2.1.1.1.2.0", dev.version or "")
        rec.string("1.3.6.1.4.1.367.3.2.1.2.1.4.0", dev.serial or "")
    return rec


def describe_axis(dev: Device, ctx: Context) -> str:
    d = dev.details
    return (
        f"; {dev.model}; {d.get('product', 'Network Camera')}; {dev.version}; "
        f"{d.get('built', 'Jun 14 2022 13:02')}; {d.get('hw_id', '1F6')}; 1;"
    )


def render_axis(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    _base(dev, ctx, rec, descr=describe_axis(dev, ctx), enterprise=368, engine=False)
    return rec
