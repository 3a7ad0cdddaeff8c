"""HOST-RESOURCES-MIB (RFC 2790) and net-snmp's UCD-SNMP-MIB memory, load and CPU scalars."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from simulator.recording import Recording, date_and_time

HR = "1.3.6.1.2.1.25"
HR_TYPES = "1.3.6.1.2.1.25.2.1"  # hrStorageTypes
HR_DEVICE_TYPES = "1.3.6.1.2.1.25.3.1"  # hrDeviceTypes
RAM, VIRTUAL, OTHER, FIXED, REMOVABLE, CD, NETWORK, FLASH = 2, 3, 1, 4, 5, 7, 10, 9
PROCESSOR, NETWORK_DEV, PRINTER, DISK, VIDEO, COPROCESSOR = 3, 4, 5, 6, 10, 12
UCD = "1.3.6.1.4.1.2021"


@dataclass(frozen=True, slots=True)
class StorageRow:
    index: int
    type: int
    descr: str
    units: int
    size: int  # in units
    used: int  # in units


@dataclass(frozen=True, slots=True)
class DeviceRow:
    index: int
    type: int
    descr: str
    status: int = 2  # running
    load: int | None = None  # processors only: hrProcessorLoad


@dataclass(frozen=True, slots=True)
class Process:
    pid: int
    name: str
    path: str = ""
    params: str = ""
    type: int = 4  # application
    status: int = 2  # runnable
    cpu: int = 0  # centi-seconds
    mem_kb: int = 0


@dataclass(frozen=True, slots=True)
class Installed:
    name: str
    when: datetime | None
    type: int = 4  # application


def storage_row(
    index: int, kind: int, descr: str, size_bytes: float, used_pct: float, units: int = 4096
) -> StorageRow:
    """A storage row from a size in bytes (hrStorageSize is a 32-bit count of ``units``)."""
    while size_bytes / units > 2**31 - 1:
        units *= 2
    size = int(size_bytes // units)
    return StorageRow(index, kind, descr, units, size, int(size * used_pct / 100))


def host_resources(
    rec: Recording,
    *,
    uptime: int,
    now: datetime,
    memory_kb: int,
    storage: Sequence[StorageRow],
    devices: Sequence[DeviceRow],
    processes: Sequence[Process],
    installed: Sequence[Installed],
    users: int,
    zone: bool = True,
    load_device: int = 0,
    max_processes: int = 0,
) -> None:
    rec.ticks(f"{HR}.1.1.0", uptime)
    rec.octets(f"{HR}.1.2.0", date_and_time(now, zone=zone))
    rec.integer(f"{HR}.1.3.0", load_device)
    rec.string(f"{HR}.1.4.0", "")
    rec.gauge32(f"{HR}.1.5.0", users)
    rec.gauge32(f"{HR}.1.6.0", len(processes))
    rec.integer(f"{HR}.1.7.0", max_processes)
    rec.integer(f"{HR}.2.2.0", memory_kb)
    for s in storage:
        n = s.index
        rec.integer(f"{HR}.2.3.1.1.{n}", n)
        rec.object_id(f"{HR}.2.3.1.2.{n}", f"{HR_TYPES}.{s.type}")
        rec.string(f"{HR}.2.3.1.3.{n}", s.descr)
        rec.integer(f"{HR}.2.3.1.4.{n}", s.units)
        rec.integer(f"{HR}.2.3.1.5.{n}", s.size)
        rec.integer(f"{HR}.2.3.1.6.{n}", s.used)
        rec.counter32(f"{HR}.2.3.1.7.{n}", 0)
    for d in devices:
        n = d.index
        rec.integer(f"{HR}.3.2.1.1.{n}", n)
        rec.object_id(f"{HR}.3.2.1.2.{n}", f"{HR_DEVICE_TYPES}.{d.type}")
        rec.string(f"{HR}.3.2.1.3.{n}", d.descr)
        rec.object_id(f"{HR}.3.2.1.4.{n}", "0.0")
        rec.integer(f"{HR}.3.2.1.5.{n}", d.status)
        rec.counter32(f"{HR}.3.2.1.6.{n}", 0)
        if d.type == PROCESSOR and d.load is not None:
            rec.object_id(f"{HR}.3.3.1.1.{n}", "0.0")
            rec.integer(f"{HR}.3.3.1.2.{n}", max(0, min(100, d.load)))
    for p in processes:
        n = p.pid
        rec.integer(f"{HR}.4.2.1.1.{n}", n)
        rec.string(f"{HR}.4.2.1.2.{n}", p.name)
        rec.object_id(f"{HR}.4.2.1.3.{n}", "0.0")
        rec.string(f"{HR}.4.2.1.4.{n}", p.path)
        rec.string(f"{HR}.4.2.1.5.{n}", p.params)
        rec.integer(f"{HR}.4.2.1.6.{n}", p.type)
        rec.integer(f"{HR}.4.2.1.7.{n}", p.status)
        rec.integer(f"{HR}.5.1.1.1.{n}", p.cpu)
        rec.integer(f"{HR}.5.1.1.2.{n}", p.mem_kb)
    if installed:
        rec.ticks(f"{HR}.6.1.0", max(uptime - 4_320_000, 0))
        rec.ticks(f"{HR}.6.2.0", uptime)
    for n, sw in enumerate(installed, start=1):
        rec.integer(f"{HR}.6.3.1.1.{n}", n)
        rec.string(f"{HR}.6.3.1.2.{n}", sw.name)
        rec.object_id(f"{HR}.6.3.1.3.{n}", "0.0")
        rec.integer(f"{HR}.6.3.1.4.{n}", sw.type)
        if sw.when is not None:
            rec.octets(f"{HR}.6.3.1.5.{n}", date_and_time(sw.when))
        else:
            rec.octets(f"{HR}.6.3.1.5.{n}", bytes(8))


def ucd(
    rec: Recording,
    rng: random.Random,
    *,
    memory_kb: int,
    used_pct: int,
    swap_kb: int,
    cpu_load: int,
    cpus: int,
) -> None:
    """net-snmp's memory, load average and CPU statistics (UCD-SNMP-MIB)."""
    used = memory_kb * used_pct // 100
    buffers, cached = memory_kb // 40, max(memory_kb - used - memory_kb // 20, 0) // 2
    avail = memory_kb - used
    swap_free = swap_kb - swap_kb * rng.randrange(0, 12) // 100
    rec.integer(f"{UCD}.4.1.0", 0)
    rec.string(f"{UCD}.4.2.0", "swap")
    rec.integer(f"{UCD}.4.3.0", swap_kb)
    rec.integer(f"{UCD}.4.4.0", swap_free)
    rec.integer(f"{UCD}.4.5.0", memory_kb)
    rec.integer(f"{UCD}.4.6.0", avail)
    rec.integer(f"{UCD}.4.11.0", avail + swap_free)
    rec.integer(f"{UCD}.4.12.0", 16000)
    rec.integer(f"{UCD}.4.13.0", memory_kb // 90)
    rec.integer(f"{UCD}.4.14.0", buffers)
    rec.integer(f"{UCD}.4.15.0", cached)
    rec.integer(f"{UCD}.4.100.0", 0)
    rec.string(f"{UCD}.4.101.0", "")
    load = cpus * cpu_load / 100
    for n, (name, factor) in enumerate((("Load-1", 1.0), ("Load-5", 0.9), ("Load-15", 0.85)), 1):
        value = max(load * factor * rng.uniform(0.8, 1.2), 0.0)
        rec.integer(f"{UCD}.10.1.1.{n}", n)
        rec.string(f"{UCD}.10.1.2.{n}", name)
        rec.string(f"{UCD}.10.1.3.{n}", f"{value:.2f}")
        rec.string(f"{UCD}.10.1.4.{n}", "12.00" if n == 1 else "10.00")
        rec.integer(f"{UCD}.10.1.5.{n}", int(value * 100))
        rec.integer(f"{UCD}.10.1.100.{n}", 0)
        rec.string(f"{UCD}.10.1.101.{n}", "")
    user = cpu_load * 2 // 3
    system = cpu_load - user
    rec.integer(f"{UCD}.11.1.0", 1)
    rec.string(f"{UCD}.11.2.0", "systemStats")
    rec.integer(f"{UCD}.11.3.0", 0)
    rec.integer(f"{UCD}.11.4.0", 0)
    rec.integer(f"{UCD}.11.5.0", rng.randrange(5, 400))
    rec.integer(f"{UCD}.11.6.0", rng.randrange(1, 90))
    rec.integer(f"{UCD}.11.7.0", rng.randrange(200, 9000))
    rec.integer(f"{UCD}.11.8.0", rng.randrange(400, 20000))
    rec.integer(f"{UCD}.11.9.0", user)
    rec.integer(f"{UCD}.11.10.0", system)
    rec.integer(f"{UCD}.11.11.0", 100 - cpu_load)
    total = rng.randrange(10**8, 4 * 10**9)
    rec.counter32(f"{UCD}.11.50.0", total * user // 100)
    rec.counter32(f"{UCD}.11.51.0", total // 5000)
    rec.counter32(f"{UCD}.11.52.0", total * system // 100)
    rec.counter32(f"{UCD}.11.53.0", total * (100 - cpu_load) // 100)
    rec.counter32(f"{UCD}.11.54.0", total // 400)
    rec.counter32(f"{UCD}.11.55.0", 0)
    rec.counter32(f"{UCD}.11.56.0", total // 3000)
    rec.counter32(f"{UCD}.11.59.0", total * 3)
    rec.counter32(f"{UCD}.11.60.0", total * 7)
    rec.counter32(f"{UCD}.11.61.0", total // 900)
