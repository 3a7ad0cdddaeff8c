"""A light utilisation sample between full inventories: CPU, memory, disk and network counters.

Read over SNMP (HOST-RESOURCES-MIB hrProcessorLoad and hrStorage, UCD-SNMP-MIB, IF-MIB 64-bit
octet counters; :func:`collectors.snmp.fetch.collect_snmp_sample`) or over SSH (the Linux
``sample`` command of the allow-list: /proc/stat twice, /proc/meminfo, /proc/net/dev, df;
:mod:`collectors.ssh.sampler`). Network throughput needs two samples:
:func:`throughput` turns the octet counters of consecutive samples into bits per second.
The caller stamps each sample with the time it was taken; parsing here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp import oids
from collectors.snmp.values import Raw, column, integer, text

IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
IF_TYPE_LOOPBACK = 24
# UCD-SNMP-MIB raw CPU counters (ticks): user, nice, system, idle, wait.
SS_CPU_RAW = {"user": 50, "nice": 51, "system": 52, "idle": 53, "wait": 54}

SAMPLE_SCALARS: tuple[str, ...] = (
    oids.UCD_MEM_TOTAL_REAL,
    oids.UCD_MEM_AVAIL_REAL,
    oids.UCD_CPU_IDLE,
    oids.UCD_LOAD1,
    *(f"1.3.6.1.4.1.2021.11.{n}.0" for n in SS_CPU_RAW.values()),
)
SAMPLE_ROOTS: tuple[str, ...] = (
    oids.HR_PROCESSOR_LOAD,
    *(f"{oids.HR_STORAGE}.{n}" for n in oids.HR_STORAGE_COLUMNS.values()),
    oids.IF_TYPE,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_IN_OCTETS,
    IF_OUT_OCTETS,
)
COUNTER64 = 1 << 64
COUNTER32 = 1 << 32


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading; a value the device did not give is None. ``net_*_octets`` are counters
    summed over the non-loopback interfaces; ``counter_bits`` is their width (32 or 64)."""

    cpu_pct: float | None = None
    mem_pct: float | None = None
    disk_pct: float | None = None
    load1: float | None = None
    net_in_octets: int | None = None
    net_out_octets: int | None = None
    counter_bits: int = 64
    interfaces: int = 0
    cpu_busy_ticks: int | None = None  # raw CPU counters: busy and total (busy plus idle)
    cpu_total_ticks: int | None = None


def percent(used: float, total: float) -> float | None:
    return round(max(0.0, min(100.0, 100.0 * used / total)), 1) if total > 0 else None


def sample_from_snmp(raw: Raw) -> Sample:
    """A sample from the values of SAMPLE_SCALARS and SAMPLE_ROOTS."""
    loads = [
        v
        for v in (integer(x) for x in column(raw, oids.HR_PROCESSOR_LOAD).values())
        if v is not None and 0 <= v <= 100
    ]
    cpu = round(sum(loads) / len(loads), 1) if loads else None
    idle = integer(raw.get(oids.UCD_CPU_IDLE))
    if cpu is None and idle is not None and 0 <= idle <= 100:
        cpu = float(100 - idle)
    total, avail = (
        integer(raw.get(oids.UCD_MEM_TOTAL_REAL)),
        integer(raw.get(oids.UCD_MEM_AVAIL_REAL)),
    )
    mem = percent(total - avail, total) if total and avail is not None and avail <= total else None
    disk_size = disk_used = 0
    ram_size = ram_used = 0
    cols = oids.HR_STORAGE_COLUMNS
    types = column(raw, f"{oids.HR_STORAGE}.{cols['type']}")
    for index, kind in types.items():
        units = integer(raw.get(f"{oids.HR_STORAGE}.{cols['units']}.{index}")) or 0
        size = integer(raw.get(f"{oids.HR_STORAGE}.{cols['size']}.{index}"))
        used = integer(raw.get(f"{oids.HR_STORAGE}.{cols['used']}.{index}"))
        if units <= 0 or not size or used is None:
            continue
        if str(kind).endswith(".25.2.1.4"):  # hrStorageFixedDisk
            disk_size += size * units
            disk_used += used * units
        elif str(kind).endswith(".25.2.1.2"):  # hrStorageRam
            ram_size += size * units
            ram_used += used * units
    if mem is None and ram_size:
        mem = percent(ram_used, ram_size)
    load_text = text(raw.get(oids.UCD_LOAD1))
    try:
        load1 = float(load_text) if load_text else None
    except ValueError:
        load1 = None
    net_in, net_out, bits, count = _if_counters(raw)
    ticks = {k: integer(raw.get(f"1.3.6.1.4.1.2021.11.{n}.0")) for k, n in SS_CPU_RAW.items()}
    busy = total = None
    if all(v is not None for v in ticks.values()):
        busy = sum(ticks[k] or 0 for k in ("user", "nice", "system"))
        total = busy + (ticks["idle"] or 0) + (ticks["wait"] or 0)
    return Sample(
        cpu_pct=cpu,
        mem_pct=mem,
        disk_pct=percent(disk_used, disk_size) if disk_size else None,
        load1=load1,
        net_in_octets=net_in,
        net_out_octets=net_out,
        counter_bits=bits,
        interfaces=count,
        cpu_busy_ticks=busy,
        cpu_total_ticks=total,
    )


def _if_counters(raw: Raw) -> tuple[int | None, int | None, int, int]:
    types = {k: integer(v) for k, v in column(raw, oids.IF_TYPE).items()}
    hc_in, hc_out = column(raw, IF_HC_IN_OCTETS), column(raw, IF_HC_OUT_OCTETS)
    wide = bool(hc_in)
    ins = hc_in if wide else column(raw, IF_IN_OCTETS)
    outs = hc_out if wide else column(raw, IF_OUT_OCTETS)
    keep = [i for i in ins if types.get(i) != IF_TYPE_LOOPBACK and i in outs]
    if not keep:
        return None, None, 64, 0
    total_in = sum(integer(ins[i]) or 0 for i in keep)
    total_out = sum(integer(outs[i]) or 0 for i in keep)
    return total_in, total_out, 64 if wide else 32, len(keep)


def parse_netdev(text_: str) -> tuple[int | None, int | None, int]:
    """/proc/net/dev -> (received octets, sent octets, interfaces), loopback left out."""
    rx = tx = count = 0
    for line in text_.splitlines():
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 9 or name.strip() == "lo" or not fields[0].isdigit():
            continue
        rx += int(fields[0])
        tx += int(fields[8])
        count += 1
    return (rx, tx, count) if count else (None, None, 0)


def cpu_between(before: Sample, after: Sample) -> float | None:
    """CPU busy % between two samples from their raw counters (agents that keep no average of
    their own, or have not had time to); None without counters or after a reset."""
    b0, t0, b1, t1 = (
        before.cpu_busy_ticks,
        before.cpu_total_ticks,
        after.cpu_busy_ticks,
        after.cpu_total_ticks,
    )
    if b0 is None or t0 is None or b1 is None or t1 is None or t1 <= t0 or b1 < b0:
        return None
    return round(max(0.0, min(100.0, 100.0 * (b1 - b0) / (t1 - t0))), 1)


def _delta(before: int, after: int, bits: int) -> int | None:
    if after >= before:
        return after - before
    if bits == 32 and before - after > COUNTER32 // 2:  # one wrap of a 32-bit counter
        return after + COUNTER32 - before
    return None  # a reset (reboot, interface removed): no rate for this interval


def throughput(before: Sample, after: Sample, seconds: float) -> tuple[float, float] | None:
    """Bits per second in and out between two samples of one device ``seconds`` apart; None
    when a counter is missing, went back (a reboot), or the set of interfaces changed."""
    if seconds <= 0 or before.interfaces != after.interfaces or not after.interfaces:
        return None
    if None in (before.net_in_octets, before.net_out_octets):
        return None
    if after.net_in_octets is None or after.net_out_octets is None:
        return None
    assert before.net_in_octets is not None and before.net_out_octets is not None
    rx = _delta(before.net_in_octets, after.net_in_octets, after.counter_bits)
    tx = _delta(before.net_out_octets, after.net_out_octets, after.counter_bits)
    if rx is None or tx is None:
        return None
    return rx * 8 / seconds, tx * 8 / seconds
