"""VMware ESXi hosts as the ESXi SNMP agent serves them: MIB-II, IF-MIB (vmnics and VMkernel
ports), IP-MIB, ENTITY-MIB chassis (server model and serial), HOST-RESOURCES (datastores, cores,
installed VIBs) and VMWARE-SYSTEM-MIB / VMWARE-VMINFO-MIB (product, build and the VMs it runs)."""

from __future__ import annotations

import uuid

from simulator import mib2
from simulator.context import OUIS, Context
from simulator.estate_model import Device
from simulator.hostkit import ProcessTable
from simulator.hostmib import (
    DISK,
    FIXED,
    NETWORK_DEV,
    PROCESSOR,
    RAM,
    DeviceRow,
    Installed,
    host_resources,
    storage_row,
)
from simulator.recording import Recording

ESXI = "1.3.6.1.4.1.6876.4.1"
VMW = "1.3.6.1.4.1.6876"
GUEST_IDS = {
    "windows": "windows9Server64Guest",
    "linux": "rhel7_64Guest",
    "fortigate": "otherLinux64Guest",
}
WORLDS = (
    "vmkeventd",
    "vmkiscsid",
    "hostd",
    "vpxa",
    "sfcbd",
    "slpd",
    "snmpd",
    "ntpd",
    "dcui",
    "lwsmd",
    "vobd",
    "vmsyslogd",
    "rhttpproxy",
    "fdm",
    "nscd",
)
# Per major version: VIBs beyond esx-base, with the version they carry.
VIBS = (
    "vsan",
    "vsanhealth",
    "esx-ui",
    "esx-xserver",
    "tools-light",
    "cpu-microcode",
    "vmkusb",
    "nvme-pcie",
    "lsi-mr3",
    "lpfc",
    "qlnativefc",
    "i40en",
    "ixgben",
    "ntg3",
    "nmlx5-core",
    "vmw-ahci",
)


def _vm_guest(vm: Device, ctx: Context) -> str:
    image = ctx.estate.images.get(vm.image or "", {})
    if vm.kind == "linux" and str(image.get("release", "")).startswith("ubuntu"):
        return "ubuntu64Guest"
    if vm.kind == "linux" and image.get("release") == "el6":
        return "rhel6_64Guest"
    if vm.kind == "windows" and int(image.get("build", 0)) < 9600:
        return "windows7Server64Guest"
    return GUEST_IDS.get(vm.kind, "otherGuest64")


def describe_esxi(dev: Device, ctx: Context) -> str:
    return (
        f"VMware ESXi {dev.version or '6.7.0'} build-{dev.details.get('build', '0')} "
        "VMware, Inc. x86_64"
    )


def render_esxi(dev: Device, ctx: Context) -> Recording:
    rec = Recording(dev.name)
    rng = ctx.rng(dev, "esxi")
    uptime = ctx.uptime_ticks(dev)
    version = dev.version or "6.7.0"
    build = str(dev.details.get("build", "0"))
    descr = describe_esxi(dev, ctx)
    mib2.system(
        rec,
        descr=descr,
        object_id=ESXI,
        uptime=uptime,
        contact=ctx.estate.contact,
        name=ctx.fqdn(dev),
        location=ctx.location(dev),
        services=72,
    )
    dell = dev.details.get("hardware_vendor", "Dell") == "Dell"
    oui = OUIS["dell"] if dell else OUIS["hpe"]
    mib2.engine_id(rec, 6876, ctx.mac(dev, 0, oui))
    rec.string(f"{VMW}.1.1.0", "VMware ESXi")
    rec.string(f"{VMW}.1.2.0", version)
    rec.object_id(f"{VMW}.1.3.0", ESXI)
    rec.string(f"{VMW}.1.4.0", build)
    rec.string(f"{VMW}.1.5.0", str(dev.details.get("update", "0")))
    rec.string(f"{VMW}.1.6.0", str(dev.details.get("patch", "0")))
    driver = str(dev.details.get("nic_driver", "ntg3"))
    nics = int(dev.details.get("nics", 4))
    speed = 10_000_000_000 if driver in ("ixgben", "i40en", "bnxtnet") else 1_000_000_000
    ifaces = [
        mib2.Iface(
            n + 1,
            f"Device vmnic{n} at 0000:0{1 + n // 2}:00.{n % 2} {driver}",
            f"vmnic{n}",
            6,
            1500,
            speed,
            ctx.mac(dev, n, oui),
            up=n < nics - 1,
        )
        for n in range(nics)
    ]
    addrs = ctx.interfaces(dev)
    for n, _ in enumerate(addrs):
        group = "Management Network" if n == 0 else "vMotion"
        ifaces.append(
            mib2.Iface(
                nics + 1 + n,
                f"Virtual interface vmk{n} on vswitch vSwitch0 portgroup {group}",
                f"vmk{n}",
                6,
                1500,
                speed,
                ctx.mac(dev, 10 + n, "00:50:56"),
            )
        )
    mib2.interfaces(rec, ifaces, rng, uptime)
    mib2.ip_addresses(rec, [(str(a), nics + 1 + n) for n, a in enumerate(addrs)], uptime)
    manufacturer = "Dell Inc." if dell else "HPE"
    mib2.entity(
        rec,
        [
            mib2.Entity(
                1,
                dev.model or "",
                3,
                dev.model or "",
                serial=dev.serial or "",
                mfg_name=manufacturer,
                model=dev.model or "",
                fru=False,
            )
        ],
    )
    cores = min(dev.cpu_count, 64)
    devices = [
        DeviceRow(
            n + 1,
            PROCESSOR,
            dev.cpu_model or "",
            load=max(0, min(100, dev.cpu_load + rng.randrange(-6, 7))),
        )
        for n in range(cores)
    ]
    devices += [DeviceRow(cores + 1 + n, NETWORK_DEV, f"vmnic{n}") for n in range(nics)]
    devices.append(DeviceRow(cores + nics + 1, DISK, "Local storage controller"))
    storage = [
        storage_row(1, RAM, "Real Memory", dev.memory_gb * 2**30, dev.memory_used, units=1024)
    ]
    for n, disk in enumerate(dev.disks, start=2):
        storage.append(
            storage_row(
                n,
                FIXED,
                f"/vmfs/volumes/{disk.mount}",
                disk.size_gb * 2**30,
                disk.used_pct,
                units=1_048_576,
            )
        )
    procs = ProcessTable(ctx.rng(dev, "worlds"), first=2097000, step=(3, 900))
    for world in WORLDS:
        procs.add(world, f"/bin/{world}")
    vib_version = f"{version}-{dev.details.get('vib_release', '0.0')}.{build}"
    when = ctx.estate.epoch.replace(hour=0, minute=0, second=0)
    installed_at = when.replace(year=when.year - int(dev.details.get("patched_years_ago", 1)))
    vibs = [Installed(f"esx-base {vib_version}", installed_at)]
    vibs += [
        Installed(f"{name} {version}-{rng.randrange(1, 40)}.{build}", installed_at) for name in VIBS
    ]
    vibs += [Installed(str(extra), installed_at) for extra in dev.software]
    host_resources(
        rec,
        uptime=uptime,
        now=ctx.estate.epoch,
        memory_kb=int(dev.memory_gb * 2**20),
        storage=storage,
        devices=devices,
        processes=procs.rows,
        installed=vibs,
        users=0,
    )
    _vms(rec, dev, ctx)
    return rec


def _vms(rec: Recording, dev: Device, ctx: Context) -> None:
    """VMWARE-VMINFO-MIB vmwVmTable: every VM the estate places on this host."""
    base = f"{VMW}.2.1.1"
    for n, vm in enumerate(ctx.hosted(dev), start=1):
        vmid = n * 3 + 1
        datastore = dev.disks[0].mount if dev.disks else "datastore1"
        rec.string(f"{base}.2.{vmid}", vm.name)
        rec.string(f"{base}.3.{vmid}", f"/vmfs/volumes/{datastore}/{vm.name}/{vm.name}.vmx")
        rec.string(f"{base}.4.{vmid}", _vm_guest(vm, ctx))
        rec.integer(f"{base}.5.{vmid}", int(vm.memory_gb * 1024) or 2048)
        rec.string(f"{base}.6.{vmid}", "poweredOn")
        rec.integer(f"{base}.7.{vmid}", vmid)
        rec.string(f"{base}.8.{vmid}", "running")
        rec.integer(f"{base}.9.{vmid}", vm.cpu_count)
        vm_uuid = uuid.UUID(bytes=ctx.rng(vm, "uuid").randbytes(16), version=4)
        rec.string(f"{base}.10.{vmid}", str(vm_uuid))
