"""Server management controllers and storage: Dell iDRAC (IDRAC-MIB-SMIv2), HPE iLO (CPQSINFO
and CPQSM2), NetApp ONTAP (NETAPP-MIB product and volume tables) and Synology DiskStation (net-snmp
underneath, plus SYNOLOGY-SYSTEM/DISK/RAID-MIB)."""

from __future__ import annotations

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.linux import render_linux
from simulator.recording import Recording

IDRAC = "1.3.6.1.4.1.674.10892.5"
CPQ = "1.3.6.1.4.1.232"
NETAPP = "1.3.6.1.4.1.789.1"
SYNO = "1.3.6.1.4.1.6574"


def _managed(dev: Device, ctx: Context) -> Device:
    server = ctx.managed(dev)
    return server if server is not None else dev


def _mgmt_port(dev: Device, ctx: Context, rec: Recording, descr: str, enterprise: int) -> None:
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
    mib2.engine_id(rec, enterprise, ctx.mac(dev, 0))
    ifaces = [
        mib2.Iface(1, "lo", "lo", 24, 65536, 10_000_000, b""),
        mib2.Iface(2, "eth0", "eth0", 6, 1500, 10**9, ctx.mac(dev, 0), traffic=0.02),
    ]
    mib2.interfaces(rec, ifaces, ctx.rng(dev, "if"), uptime)
    mib2.ip_addresses(rec, [("127.0.0.1/8", 1), (dev.addresses[0], 2)], uptime)


def describe_idrac(dev: Device, ctx: Context) -> str:
    return str(dev.details.get("descr", ""))


def render_idrac(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    server = _managed(dev, ctx)
    _mgmt_port(dev, ctx, rec, describe_idrac(dev, ctx), 674)
    generation = str(dev.details.get("generation", "9"))
    tag = dev.serial or ""
    rec.string(f"{IDRAC}.1.1.1.0", f"Integrated Dell Remote Access Controller {generation}")
    rec.string(f"{IDRAC}.1.1.2.0", f"iDRAC{generation}")
    rec.string(
        f"{IDRAC}.1.1.3.0",
        "This system component provides a complete set of remote "
        "management functions for Dell PowerEdge Servers",
    )
    rec.string(f"{IDRAC}.1.1.4.0", "Dell")
    rec.string(f"{IDRAC}.1.1.5.0", dev.version or "")
    rec.string(f"{IDRAC}.1.1.6.0", f"https://{dev.address}:443")
    rec.integer(f"{IDRAC}.1.1.7.0", 16 if generation == "9" else 32)
    rec.string(f"{IDRAC}.1.1.8.0", dev.version or "")
    rec.integer(f"{IDRAC}.1.2.1.0", 3)  # globalSystemStatus ok
    rec.integer(f"{IDRAC}.1.2.2.0", 3)
    rec.integer(f"{IDRAC}.1.2.3.0", 3)
    rec.string(f"{IDRAC}.1.3.1.0", ctx.fqdn(server))
    rec.string(f"{IDRAC}.1.3.2.0", tag)
    rec.string(f"{IDRAC}.1.3.3.0", str(int(tag, 36)) if tag.isalnum() and tag else "")
    rec.string(f"{IDRAC}.1.3.4.0", "")
    rec.string(f"{IDRAC}.1.3.6.0", _os_name(server))
    rec.string(f"{IDRAC}.1.3.12.0", dev.model or "")
    return rec


def _os_name(server: Device) -> str:
    if server.kind == "esxi":
        return "VMware ESXi"
    if server.kind == "windows":
        return "Microsoft Windows Server"
    return server.os or ""


def describe_ilo(dev: Device, ctx: Context) -> str:
    generation = str(dev.details.get("generation", "4"))
    return f"Integrated Lights-Out {generation} {dev.version} {dev.details.get('date', '')}"


def render_ilo(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    _mgmt_port(dev, ctx, rec, describe_ilo(dev, ctx).strip(), 232)
    d = dev.details
    rec.string(f"{CPQ}.2.2.2.1.0", dev.serial or "")
    rec.string(f"{CPQ}.2.2.4.2.0", dev.model or "")
    rec.string(f"{CPQ}.2.2.4.3.0", str(d.get("product_id", "")))
    rec.string(f"{CPQ}.9.2.2.1.0", str(d.get("date_us", "")))
    rec.string(f"{CPQ}.9.2.2.2.0", dev.version or "")
    return rec


def describe_netapp(dev: Device, ctx: Context) -> str:
    return f"NetApp Release {dev.version}: {dev.details.get('built', '')}".strip()


def render_netapp(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    d = dev.details
    uptime = ctx.uptime_ticks(dev)
    descr = describe_netapp(dev, ctx)
    mib2.system(
        rec,
        descr=descr,
        object_id=str(d["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.name,
        location=ctx.location(dev),
        services=72,
    )
    mib2.engine_id(rec, 789, ctx.mac(dev, 0))
    names = [str(p) for p in d.get("ports", ["e0M", "e0a", "e0b", "e0c", "e0d"])]
    links = {n.local_port for n in ctx.neighbours(dev)}
    ifaces = [
        mib2.Iface(
            n + 1,
            name,
            name,
            6,
            1500,
            10**9 if name == "e0M" else 10**10,
            ctx.mac(dev, n),
            up=name in links or name == "e0M",
            traffic=8.0,
        )
        for n, name in enumerate(names)
    ]
    mib2.interfaces(rec, ifaces, ctx.rng(dev, "if"), uptime)
    mib2.ip_addresses(rec, [(a, 1 + n) for n, a in enumerate(dev.addresses)], uptime, modern=False)
    rec.string(f"{NETAPP}.1.1.0", "")
    rec.string(f"{NETAPP}.1.2.0", descr)
    rec.string(f"{NETAPP}.1.3.0", str(d.get("system_id", "")))
    rec.string(f"{NETAPP}.1.4.0", "netapp")
    rec.string(f"{NETAPP}.1.5.0", dev.model or "")
    rec.string(f"{NETAPP}.1.6.0", str(d.get("bios", "")))
    rec.string(f"{NETAPP}.1.9.0", dev.serial or "")
    for n, disk in enumerate(dev.disks, start=1):
        total = int(disk.size_gb * 2**20)
        used = int(total * disk.used_pct / 100)
        rec.string(f"{NETAPP}.5.4.1.2.{n}", f"/vol/{disk.mount}/")
        rec.counter64(f"{NETAPP}.5.4.1.29.{n}", total)
        rec.counter64(f"{NETAPP}.5.4.1.30.{n}", used)
        rec.counter64(f"{NETAPP}.5.4.1.31.{n}", total - used)
    return rec


def render_synology(dev: Device, ctx: Context) -> Recording:
    rec = render_linux(dev, ctx)
    d = dev.details
    rec.integer(f"{SYNO}.1.1.0", 1)  # systemStatus normal
    rec.integer(f"{SYNO}.1.2.0", 41)
    rec.integer(f"{SYNO}.1.3.0", 1)
    rec.integer(f"{SYNO}.1.4.1.0", 1)
    rec.integer(f"{SYNO}.1.4.2.0", 1)
    rec.string(f"{SYNO}.1.5.1.0", dev.model or "")
    rec.string(f"{SYNO}.1.5.2.0", dev.serial or "")
    rec.string(f"{SYNO}.1.5.3.0", f"DSM {dev.version}")
    rec.integer(f"{SYNO}.1.5.4.0", 2)  # no upgrade offered: end of life
    for n, model in enumerate(d.get("disks", []), start=0):
        rec.string(f"{SYNO}.2.1.1.2.{n}", f"Disk {n + 1}")
        rec.string(f"{SYNO}.2.1.1.3.{n}", str(model))
        rec.string(f"{SYNO}.2.1.1.4.{n}", "SATA")
        rec.integer(f"{SYNO}.2.1.1.5.{n}", 1)
        rec.integer(f"{SYNO}.2.1.1.6.{n}", 36 + n)
    rec.string(f"{SYNO}.3.1.1.2.0", "Volume 1")
    rec.integer(f"{SYNO}.3.1.1.3.0", 1)
    return rec
