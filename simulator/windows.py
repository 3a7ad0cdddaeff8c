"""Windows Server as its SNMP service (snmp.exe with inetmib1 and hostmib) serves it: MIB-II,
IF-MIB, IP-MIB, TCP-MIB with owning processes, and HOST-RESOURCES (drives with their volume
serial numbers, processors, the printers of a print server, running processes, installed
programs by display name). SNMPv1/v2c only, so there is no snmpEngineID."""

from __future__ import annotations

import ipaddress
import random

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.hostkit import (
    ProcessTable,
    cpu_signature,
    installed_dates,
    software_names,
    tcp_rows,
)
from simulator.hostmib import (
    CD,
    DISK,
    FIXED,
    NETWORK_DEV,
    PRINTER,
    PROCESSOR,
    RAM,
    VIRTUAL,
    DeviceRow,
    StorageRow,
    host_resources,
    storage_row,
)
from simulator.recording import Recording

SERVER, DOMAIN_CONTROLLER = "1.3.6.1.4.1.311.1.1.3.1.2", "1.3.6.1.4.1.311.1.1.3.1.3"
LISTEN = {
    53: "dns.exe",
    88: "lsass.exe",
    135: "svchost.exe",
    389: "lsass.exe",
    445: "System",
    464: "lsass.exe",
    636: "lsass.exe",
    3268: "lsass.exe",
    3269: "lsass.exe",
    3389: "svchost.exe",
    5985: "System",
    80: "System",
    443: "System",
    1433: "sqlservr.exe",
    10050: "zabbix_agentd.exe",
    9389: "Microsoft.ActiveDirectory.WebServices.exe",
    25: "MSExchangeFrontendTransport.exe",
}
CONNECT = {
    53: "svchost.exe",
    88: "lsass.exe",
    389: "lsass.exe",
    636: "lsass.exe",
    3268: "lsass.exe",
    445: "System",
    135: "svchost.exe",
    10051: "zabbix_agentd.exe",
}
SYSTEM32 = "C:\\Windows\\system32\\"
PATHS = {
    "sqlservr.exe": "C:\\Program Files\\Microsoft SQL Server\\MSSQL{sql}.MSSQLSERVER\\MSSQL\\"
    "Binn\\sqlservr.exe",
    "zabbix_agentd.exe": "C:\\Program Files\\Zabbix Agent\\zabbix_agentd.exe",
    "vmtoolsd.exe": "C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe",
    "w3wp.exe": "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
    "WmiPrvSE.exe": "C:\\Windows\\system32\\wbem\\WmiPrvSE.exe",
}
BASE_PROCESSES = (
    "smss.exe",
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "services.exe",
    "lsass.exe",
    "svchost.exe",
    "spoolsv.exe",
    "snmp.exe",
    "WmiPrvSE.exe",
    "msdtc.exe",
    "LogonUI.exe",
    "dwm.exe",
)
SYSTEM_EXTRAS = ("dns.exe", "dfsrs.exe", "ismserv.exe", "rdpclip.exe")
SVCHOSTS = 9


def _path(name: str, dev: Device) -> str:
    if name == "System":
        return ""
    template = PATHS.get(name)
    if template is None:
        return SYSTEM32 + name if name in BASE_PROCESSES or name in SYSTEM_EXTRAS else ""
    sql = str(dev.details.get("sql_instance_version", "13"))
    return template.replace("{sql}", sql)


def _processes(ctx: Context, dev: Device, virtual: bool) -> ProcessTable:
    procs = ProcessTable(ctx.rng(dev, "pids"), first=200, step=(8, 400), multiple=4)
    procs.add("System", pid=4, kind=2, mem_kb=140)
    for name in BASE_PROCESSES:
        procs.add(name, _path(name, dev))
    procs.add("csrss.exe", _path("csrss.exe", dev), fresh=True)
    for _ in range(SVCHOSTS - 1):
        procs.add("svchost.exe", _path("svchost.exe", dev), "-k netsvcs", fresh=True)
    if virtual:
        procs.add("vmtoolsd.exe", _path("vmtoolsd.exe", dev))
        procs.add(
            "VGAuthService.exe",
            "C:\\Program Files\\VMware\\VMware Tools\\VMware VGAuth\\VGAuthService.exe",
        )
    for name in dev.details.get("processes", ()):
        procs.add(str(name), _path(str(name), dev))
    return procs


def _storage(dev: Device, ctx: Context) -> list[StorageRow]:
    rng = ctx.rng(dev, "volumes")
    rows = []
    letters = set()
    for n, disk in enumerate(dev.disks, start=1):
        letter, _, label = disk.mount.partition(" ")
        letters.add(letter.rstrip(":").upper())
        descr = f"{letter}\\ Label:{label}  Serial Number {rng.getrandbits(32):08x}"
        rows.append(storage_row(n, FIXED, descr, disk.size_gb * 2**30, disk.used_pct))
    cd = next(c for c in "DEFGHIJ" if c not in letters)
    rows.append(StorageRow(len(rows) + 1, CD, f"{cd}:\\", 0, 0, 0))
    mem = dev.memory_gb * 2**30
    rows.append(
        storage_row(
            len(rows) + 1, VIRTUAL, "Virtual Memory", mem * 1.25, dev.memory_used * 0.8, units=65536
        )
    )
    rows.append(
        storage_row(len(rows) + 1, RAM, "Physical Memory", mem, dev.memory_used, units=65536)
    )
    return rows


def render_windows(dev: Device, ctx: Context) -> Recording:
    image = ctx.estate.images[dev.image or ""]
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "windows")
    uptime = ctx.uptime_ticks(dev)
    virtual = dev.host is not None
    family_model, stepping = cpu_signature(dev.cpu_model)
    descr = (
        f"Hardware: Intel64 Family 6 Model {family_model} Stepping {stepping} AT/AT "
        f"COMPATIBLE - Software: Windows Version {image['nt']} "
        f"(Build {image['build']} Multiprocessor Free)"
    )
    is_dc = any(listen.port == 88 for listen in dev.listens)
    mib2.system(
        rec,
        descr=descr,
        object_id=DOMAIN_CONTROLLER if is_dc else SERVER,
        uptime=uptime,
        contact=ctx.estate.contact,
        name=(dev.sys_name or dev.name).upper(),
        location=ctx.location(dev),
        services=76,
    )
    nic = (
        "vmxnet3 Ethernet Adapter"
        if virtual
        else str(dev.details.get("nic", "Broadcom NetXtreme Gigabit Ethernet"))
    )
    ifaces = [
        mib2.Iface(1, "Software Loopback Interface 1", "loopback_0", 24, 1500, 1_073_741_824, b"")
    ]
    addrs = ctx.interfaces(dev)
    for n, _ in enumerate(addrs):
        label = nic if n == 0 else f"{nic} #{n + 1}"
        ifaces.append(
            mib2.Iface(
                11 + n,
                label,
                f"ethernet_{32768 + n}",
                6,
                1500,
                10_000_000_000 if virtual else 1_000_000_000,
                ctx.mac(dev, n, "00:50:56" if virtual else "24:6e:96"),
                alias=f"Ethernet{n}"
                if virtual
                else f"Local Area Connection{'' if n == 0 else f' {n + 1}'}",
            )
        )
    if image.get("isatap", False):
        ifaces.append(
            mib2.Iface(
                13 + len(addrs),
                "Microsoft ISATAP Adapter",
                "tunnel_32512",
                131,
                1280,
                100_000,
                b"",
                up=False,
                alias=f"isatap.{ctx.estate.domain}",
            )
        )
    ifaces.append(
        mib2.Iface(
            20 + len(addrs),
            "Microsoft Kernel Debug Network Adapter",
            "ethernet_0",
            6,
            1500,
            0,
            b"",
            up=False,
            alias="Ethernet (Kernel Debugger)",
        )
    )
    mib2.interfaces(rec, ifaces, rng, uptime)
    ip_rows = [(str(a), 11 + n) for n, a in enumerate(addrs)] + [("127.0.0.1/8", 1)]
    ll = [(_random_link_local(ctx, dev), 11)]
    mib2.ip_addresses(rec, ip_rows, uptime, link_local=ll)
    procs = _processes(ctx, dev, virtual)
    listeners, sessions = tcp_rows(
        ctx, dev, procs, [str(x) for x in image.get("listens", ())], LISTEN, CONNECT, {}
    )
    mib2.tcp(rec, listeners, sessions, ctx.rng(dev, "tcp"))
    devices = [
        DeviceRow(n + 1, PROCESSOR, dev.cpu_model or "Intel(R) Xeon(R) CPU", load=_load(dev, rng))
        for n in range(min(dev.cpu_count, 64))
    ]
    base = len(devices) + 1
    devices.append(DeviceRow(base, NETWORK_DEV, "Software Loopback Interface 1"))
    devices += [
        DeviceRow(base + 1 + n, NETWORK_DEV, i.descr)
        for n, i in enumerate(ifaces[1 : 1 + len(addrs)])
    ]
    queues = [str(q) for q in dev.details.get("print_queues", ())]
    if image["build"] >= 14393:
        queues = ["Microsoft XPS Document Writer", "Microsoft Print to PDF", *queues]
    start = len(devices) + 1
    devices += [DeviceRow(start + n, PRINTER, q, status=2) for n, q in enumerate(queues)]
    devices.append(DeviceRow(len(devices) + 1, DISK, ""))
    devices.append(
        DeviceRow(len(devices) + 1, 13, "IBM enhanced (101- or 102-key) keyboard, Subtype=(0)")
    )
    _agents(rec, dev)
    names, base_count = software_names(dev, image)
    if virtual:
        names.insert(base_count, "VMware Tools")
        base_count += 1
    host_resources(
        rec,
        uptime=uptime,
        now=ctx.estate.epoch,
        memory_kb=int(dev.memory_gb * 2**20),
        storage=_storage(dev, ctx),
        devices=devices,
        processes=sorted(procs.rows, key=lambda p: p.pid),
        installed=installed_dates(ctx, dev, names, base_count),
        users=int(dev.details.get("users", 1)),
        zone=False,
    )
    return rec


def _agents(rec: Recording, dev: Device) -> None:
    """The hardware agents of a physical server: HPE Insight (CPQSINFO-MIB) or Dell OpenManage
    Server Administrator (MIB-Dell-10892), which extend the Windows SNMP service."""
    agents = dev.details.get("agents")
    if agents == "hpe-insight":
        rec.string("1.3.6.1.4.1.232.2.2.2.1.0", dev.serial or "")
        rec.string("1.3.6.1.4.1.232.2.2.4.2.0", dev.model or "")
        rec.string("1.3.6.1.4.1.232.2.2.4.3.0", str(dev.details.get("product_id", "")))
    elif agents == "dell-omsa":
        rec.string("1.3.6.1.4.1.674.10892.1.300.10.1.8.1", "Dell Inc.")
        rec.string("1.3.6.1.4.1.674.10892.1.300.10.1.9.1", dev.model or "")
        rec.string("1.3.6.1.4.1.674.10892.1.300.10.1.11.1", dev.serial or "")


def _load(dev: Device, rng: random.Random) -> int:
    return max(
        0,
        min(100, dev.cpu_load + rng.randrange(-3, 4) if dev.cpu_load > 3 else rng.randrange(0, 2)),
    )


def _random_link_local(ctx: Context, dev: Device) -> str:
    """Windows uses a random interface identifier, not EUI-64, for its link-local address."""
    tail = ctx.rng(dev, "ipv6").getrandbits(64)
    return str(ipaddress.IPv6Address((0xFE80 << 112) | tail))
