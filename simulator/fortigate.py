"""FortiGate firewalls (FortiOS 6.0 to 7.2): the configurable sysDescr, FORTINET-CORE-MIB
fnSysSerial, FORTINET-FORTIGATE-MIB system and HA scalars, named ports with aliases, the
ENTITY-MIB chassis row (model code, serial, firmware) and the ipAddrTable."""

from __future__ import annotations

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.recording import Recording

FORTI = "1.3.6.1.4.1.12356"
HA_MODES = {"standalone": 1, "active-active": 2, "active-passive": 3}


def firmware(dev: Device) -> str:
    build = dev.details.get("build", "0000,000000")
    return f"v{dev.version},build{build} ({dev.details.get('release', 'GA')})"


def describe_fortigate(dev: Device, ctx: Context) -> str:
    return f"{dev.model} {firmware(dev)}"


def render_fortigate(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "fortigate")
    d = dev.details
    uptime = ctx.uptime_ticks(dev)
    serial = dev.serial or ""
    mib2.system(
        rec,
        descr=str(d.get("description", "")),
        object_id=str(d["object_id"]),
        uptime=uptime,
        contact=ctx.estate.contact,
        name=dev.name.upper(),
        location=ctx.location(dev),
        services=78,
    )
    rec.octets("1.3.6.1.6.3.10.2.1.1.0", b"\x80\x00\x30\x44\x04" + serial.encode())
    rec.integer("1.3.6.1.6.3.10.2.1.2.0", 1)
    rec.integer("1.3.6.1.6.3.10.2.1.3.0", min(uptime // 100, 2**31 - 1))
    rec.integer("1.3.6.1.6.3.10.2.1.4.0", 1472)
    ports = [str(p).partition("=")[::2] for p in d.get("interfaces", ["port1=LAN"])]
    addrs = ctx.interfaces(dev)
    links = {n.local_port: n for n in ctx.neighbours(dev)}
    ifaces = []
    ip_rows = []
    for n, (name, alias) in enumerate(ports):
        up = n < len(addrs) or name in links or name.startswith("ha")
        speed = 10**10 if name.startswith("x") or "VM" in str(dev.model) else 10**9
        ifaces.append(
            mib2.Iface(
                n + 1,
                name,
                name,
                6,
                1500,
                speed,
                ctx.mac(dev, n),
                up=up,
                alias=alias,
                traffic=6.0 if up else 0,
            )
        )
        if n < len(addrs):
            ip_rows.append((str(addrs[n]), n + 1))
    ifaces.append(
        mib2.Iface(
            len(ports) + 1, "ssl.root", "ssl.root", 131, 1500, 0, b"", alias="SSL VPN interface"
        )
    )
    mib2.interfaces(rec, ifaces, rng, uptime)
    mib2.ip_addresses(rec, ip_rows, uptime, forwarding=True, modern=False)
    code = str(d.get("model_code", "FGT"))
    mib2.entity(
        rec,
        [
            mib2.Entity(
                1,
                f"Fortinet {code}, HW Serial#: {serial}",
                3,
                code,
                vendor_type="0.0",
                sw_rev=f"{dev.model} {firmware(dev)}",
                serial=serial,
                mfg_name="Fortinet",
                model=code,
                fru=True,
                mfg_date=b"",
            )
        ],
    )
    rec.string(f"{FORTI}.100.1.1.1.0", serial)
    rec.string(f"{FORTI}.101.4.1.1.0", firmware(dev))
    rec.integer(f"{FORTI}.101.4.1.2.0", 1)
    rec.gauge32(f"{FORTI}.101.4.1.3.0", dev.cpu_load)
    rec.gauge32(f"{FORTI}.101.4.1.4.0", dev.memory_used)
    rec.gauge32(f"{FORTI}.101.4.1.5.0", int(dev.memory_gb * 2**20))
    disk = dev.disks[0] if dev.disks else None
    rec.gauge32(
        f"{FORTI}.101.4.1.6.0", int(disk.size_gb * 1024 * disk.used_pct / 100) if disk else 0
    )
    rec.gauge32(f"{FORTI}.101.4.1.7.0", int(disk.size_gb * 1024) if disk else 0)
    rec.gauge32(f"{FORTI}.101.4.1.8.0", rng.randrange(900, 60_000))
    rec.integer(f"{FORTI}.101.13.1.1.0", HA_MODES[str(d.get("ha", "standalone"))])
    if d.get("ha_group"):
        rec.string(f"{FORTI}.101.13.1.7.0", str(d["ha_group"]))
    return rec
