"""Linux servers as net-snmp's snmpd serves them (RHEL/CentOS 6 and 7, Ubuntu): MIB-II, IF-MIB,
IP-MIB with IPv6 link-locals, TCP-MIB with owning processes, HOST-RESOURCES (net-snmp's storage,
device and rpm/dpkg package naming) and the UCD-SNMP-MIB memory, load and CPU scalars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import mib2
from simulator.context import Context
from simulator.estate_model import Device
from simulator.hostkit import ProcessTable, installed_dates, software_names, tcp_rows
from simulator.hostmib import (
    COPROCESSOR,
    DISK,
    FIXED,
    NETWORK_DEV,
    OTHER,
    PROCESSOR,
    RAM,
    VIRTUAL,
    DeviceRow,
    StorageRow,
    host_resources,
    storage_row,
    ucd,
)
from simulator.recording import Recording

NET_SNMP = "1.3.6.1.4.1.8072.3.2.10"
LISTEN = {
    22: "sshd",
    80: "httpd",
    443: "httpd",
    5432: "postgres",
    8080: "java",
    8443: "java",
    8009: "java",
    10050: "zabbix_agentd",
    10051: "zabbix_server",
    3306: "mysqld",
    111: "rpcbind",
    25: "master",
}
CONNECT = {
    389: "sssd_be",
    636: "sssd_be",
    88: "sssd_be",
    10051: "zabbix_agentd",
    5432: "java",
    1433: "java",
}
FORKING = frozenset({"postgres", "postmaster", "sshd", "httpd", "apache2"})
PATHS = {
    "java": "/usr/bin/java",
    "httpd": "/usr/sbin/httpd",
    "apache2": "/usr/sbin/apache2",
    "zabbix_agentd": "/usr/sbin/zabbix_agentd",
    "zabbix_server": "/usr/sbin/zabbix_server",
    "sshd": "/usr/sbin/sshd",
    "snmpd": "/usr/sbin/snmpd",
    "master": "/usr/libexec/postfix/master",
    "sssd_be": "/usr/libexec/sssd/sssd_be",
    "systemd": "/usr/lib/systemd/systemd",
    "init": "/sbin/init",
}
KERNEL_THREADS = (
    "kthreadd",
    "ksoftirqd/0",
    "migration/0",
    "rcu_sched",
    "watchdog/0",
    "kworker/0:1H",
    "kswapd0",
    "khugepaged",
    "jbd2/sda1-8",
    "xfsaild/dm-0",
)
OS_PACKAGES = (
    "kernel-",
    "glibc-",
    "bash",
    "systemd",
    "redhat-release",
    "centos-release",
    "base-files_",
    "libc6_",
    "linux-image-",
)
DEFAULT_CONTACT = "Root <root@localhost> (configure /etc/snmp/snmp.local.conf)"
DEFAULT_LOCATION = "Unknown (edit /etc/snmp/snmpd.conf)"


def _processes(
    ctx: Context, dev: Device, image: Mapping[str, Any], paths: Mapping[str, str]
) -> ProcessTable:
    procs = ProcessTable(ctx.rng(dev, "pids"), first=1, step=(1, 60))
    init = str(image.get("init", "systemd"))
    procs.add(init, paths.get(init, f"/sbin/{init}"), pid=1, mem_kb=6000)
    procs.add("kthreadd", "", pid=2, kind=2, mem_kb=0)
    for name in KERNEL_THREADS[1:]:
        procs.add(name, "", kind=2, mem_kb=0)
    for name in [*image.get("processes", ()), *dev.details.get("processes", ())]:
        procs.add(str(name), paths.get(str(name), f"/usr/sbin/{name}"))
    procs.add("snmpd", paths["snmpd"], "-LS0-6d -f")
    return procs


def _storage(dev: Device, image: Mapping[str, Any]) -> list[StorageRow]:
    mem = dev.memory_gb * 2**30
    swap = float(dev.details.get("swap_gb", min(dev.memory_gb, 8))) * 2**30
    used = dev.memory_used
    rows = [
        storage_row(1, RAM, "Physical memory", mem, used, units=1024),
        storage_row(
            3, VIRTUAL, "Virtual memory", mem + swap, used * mem / (mem + swap), units=1024
        ),
        storage_row(6, OTHER, "Memory buffers", mem, 2, units=1024),
        storage_row(7, OTHER, "Cached memory", mem, max(90 - used, 5) / 2, units=1024),
        storage_row(8, OTHER, "Shared memory", mem, 1, units=1024),
        storage_row(10, VIRTUAL, "Swap space", swap, 3, units=1024),
    ]
    index = 31
    shm = "/dev/shm"  # noqa: S108 - a mount point reported by the agent, not a file we open
    tmpfs = [shm, "/run", "/sys/fs/cgroup"] if image.get("init") == "systemd" else [shm]
    mounts = [(d.mount, d.size_gb, d.used_pct) for d in dev.disks]
    mounts[1:1] = [(t, dev.memory_gb / 2, 1 if t != "/run" else 3) for t in tmpfs]
    for mount, size_gb, used_pct in mounts:
        rows.append(
            storage_row(
                index,
                FIXED,
                mount,
                size_gb * 2**30,
                used_pct,
                units=1024 if mount == "/boot" else 4096,
            )
        )
        index += 1
    return rows


def render_linux(dev: Device, ctx: Context) -> Recording:
    image = ctx.estate.images[dev.image or ""]
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "linux")
    uptime = ctx.uptime_ticks(dev)
    host = dev.name if dev.details.get("short_hostname") else ctx.fqdn(dev)
    defaults = bool(dev.details.get("snmpd_defaults", False))
    mib2.system(
        rec,
        descr=f"Linux {host} {image['kernel']} {image['kernel_build']} x86_64",
        object_id=NET_SNMP,
        uptime=uptime,
        contact=DEFAULT_CONTACT if defaults else ctx.estate.contact,
        name=host,
        location=DEFAULT_LOCATION if defaults else ctx.location(dev),
        services=72,
    )
    rec.octets(
        "1.3.6.1.6.3.10.2.1.1.0", b"\x80\x00\x1f\x88\x80" + ctx.rng(dev, "engine").randbytes(8)
    )
    rec.integer("1.3.6.1.6.3.10.2.1.2.0", 7)
    rec.integer("1.3.6.1.6.3.10.2.1.3.0", min(uptime // 100, 2**31 - 1))
    rec.integer("1.3.6.1.6.3.10.2.1.4.0", 65507)
    nic = str(image.get("nic", "ens192"))
    addrs = ctx.interfaces(dev)
    virtual = dev.host is not None
    ifaces = [mib2.Iface(1, "lo", "lo", 24, 65536, 10_000_000, b"")]
    for n, _ in enumerate(addrs):
        name = nic[:-1] + str(int(nic[-1]) + n) if nic[-1].isdigit() else f"{nic}{n}"
        ifaces.append(
            mib2.Iface(
                2 + n,
                name,
                name,
                6,
                1500,
                10_000_000_000 if virtual else 1_000_000_000,
                ctx.mac(dev, n, "00:50:56" if virtual else "24:6e:96"),
            )
        )
    mib2.interfaces(rec, ifaces, rng, uptime)
    ip_rows = [("127.0.0.1/8", 1)] + [(str(a), 2 + n) for n, a in enumerate(addrs)]
    ll = [(mib2.link_local(i.mac), i.index) for i in ifaces[1:]]
    mib2.ip_addresses(rec, ip_rows, uptime, link_local=ll)
    paths = {
        **PATHS,
        **{str(k): str(v) for k, v in (image.get("paths") or {}).items()},
        **{str(k): str(v) for k, v in (dev.details.get("paths") or {}).items()},
    }
    procs = _processes(ctx, dev, image, paths)
    listen_names = {
        **LISTEN,
        **{int(k): str(v) for k, v in (image.get("listen_names") or {}).items()},
    }
    listeners, sessions = tcp_rows(
        ctx,
        dev,
        procs,
        [str(x) for x in image.get("listens", ())],
        listen_names,
        CONNECT,
        paths,
        FORKING,
    )
    mib2.tcp(rec, listeners, sessions, ctx.rng(dev, "tcp"))
    cpu = f"GenuineIntel: {dev.cpu_model or 'Intel(R) Xeon(R) CPU'}"
    devices = [
        DeviceRow(196608 + n, PROCESSOR, cpu, load=_load(dev, rng.randrange(-3, 4)))
        for n in range(min(dev.cpu_count, 64))
    ]
    devices += [
        DeviceRow(262145 + n, NETWORK_DEV, f"network interface {i.name}")
        for n, i in enumerate(ifaces)
    ]
    devices += [
        DeviceRow(393216 + 16 * n, DISK, f"SCSI disk (/dev/sd{chr(97 + n)})")
        for n in range(max(1, len(dev.disks) - 1))
    ]
    devices.append(
        DeviceRow(786432, COPROCESSOR, "Guessing that there's a floating point co-processor")
    )
    names, base_count = software_names(dev, image)
    host_resources(
        rec,
        uptime=uptime,
        now=ctx.estate.epoch,
        memory_kb=int(dev.memory_gb * 2**20),
        storage=_storage(dev, image),
        devices=devices,
        processes=sorted(procs.rows, key=lambda p: p.pid),
        installed=installed_dates(ctx, dev, names, base_count, hours=True, os_prefixes=OS_PACKAGES),
        users=int(dev.details.get("users", 0)),
        load_device=393216,
        max_processes=int(image.get("pid_max", 32768)),
    )
    ucd(
        rec,
        ctx.rng(dev, "ucd"),
        memory_kb=int(dev.memory_gb * 2**20),
        used_pct=dev.memory_used,
        swap_kb=int(float(dev.details.get("swap_gb", min(dev.memory_gb, 8))) * 2**20),
        cpu_load=dev.cpu_load,
        cpus=dev.cpu_count,
    )
    return rec


def _load(dev: Device, jitter: int) -> int:
    if dev.cpu_load <= 3:
        return max(0, min(dev.cpu_load, abs(jitter) // 2))
    return max(0, min(100, dev.cpu_load + jitter))
