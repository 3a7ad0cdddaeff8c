"""Aruba mobility controllers (ArubaOS 8): the ``ArubaOS (MODEL: ...)`` sysDescr, WLSX-SWITCH-MIB
identity scalars and the WLSX-WLAN-MIB table of the access points that have joined it."""

from __future__ import annotations

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.recording import Recording

WLSX = "1.3.6.1.4.1.14823.2.2.1"


def describe_aruba(dev: Device, ctx: Context) -> str:
    build = dev.details.get("build", "")
    model = dev.details.get("model_name", dev.model)
    return f"ArubaOS (MODEL: {model}), Version {dev.version}" + (f" ({build})" if build else "")


def render_aruba_controller(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "aruba")
    d = dev.details
    uptime = ctx.uptime_ticks(dev)
    mib2.system(
        rec,
        descr=describe_aruba(dev, ctx),
        object_id=str(d["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.name,
        location=ctx.location(dev),
        services=72,
    )
    base_mac = ctx.mac(dev, 0)
    mib2.engine_id(rec, 14823, base_mac)
    count = int(d.get("ports", 4))
    links = {n.local_port: n for n in ctx.neighbours(dev)}
    ifaces = [
        mib2.Iface(
            n + 1,
            f"GE0/0/{n}",
            f"GE0/0/{n}",
            6,
            1500,
            10**9,
            ctx.mac(dev, n + 1),
            up=f"GE0/0/{n}" in links,
            traffic=3.0,
        )
        for n in range(count)
    ]
    vlan = int(d.get("mgmt_vlan", 10))
    ifaces.append(mib2.Iface(count + vlan, f"VLAN{vlan}", f"vlan{vlan}", 53, 1500, 10**9, base_mac))
    mib2.interfaces(rec, ifaces, rng, uptime)
    mib2.ip_addresses(
        rec,
        [(str(a), count + vlan) for a in ctx.interfaces(dev)],
        uptime,
        modern=False,
        forwarding=True,
    )
    rec.ip(f"{WLSX}.1.1.1.0", dev.address)
    rec.integer(f"{WLSX}.1.1.4.0", 1)  # master
    rec.string(f"{WLSX}.1.1.12.0", dev.serial or "")
    aps = ctx.joined(dev)
    base = f"{WLSX}.5.2.1.4.1"
    for ap in aps:
        mac = ".".join(str(b) for b in ctx.mac(ap, 0))
        rec.ip(f"{base}.2.{mac}", ap.address)
        rec.string(f"{base}.3.{mac}", ap.name)
        rec.string(f"{base}.4.{mac}", str(ap.details.get("group", "default")))
        rec.string(f"{base}.6.{mac}", ap.serial or "")
        rec.ticks(f"{base}.12.{mac}", ctx.uptime_ticks(ap))
        rec.string(f"{base}.13.{mac}", ap.model or "")
        rec.integer(f"{base}.19.{mac}", 1)  # up
    return rec
