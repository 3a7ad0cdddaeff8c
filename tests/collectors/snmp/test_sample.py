"""The light utilisation poll over SNMP against a real net-snmp snmpd (HOST-RESOURCES, UCD-SNMP
and IF-MIB counters of this machine), and its pure parts on fixed values."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from collectors.sample import Sample, cpu_between, parse_netdev, sample_from_snmp, throughput
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, collect_snmp_sample


def _sample(peer: Any) -> Sample:
    async def run() -> Sample:
        client = SnmpClient()
        try:
            ep = SnmpEndpoint(peer.host, peer.port, timeout=5.0)
            auth = SnmpAuth("2c", community=peer.community)
            return await collect_snmp_sample(client, SnmpTarget(ep, auth))
        finally:
            client.close()

    return asyncio.run(run())


def _proc_net_bytes() -> tuple[int, int]:
    with open("/proc/net/dev", encoding="ascii") as fh:
        rx, tx, _n = parse_netdev(fh.read())
    assert rx is not None and tx is not None
    return rx, tx


@pytest.mark.peer
def test_snmpd_sample_reads_this_machine(snmpd: Any) -> None:
    first = _sample(snmpd)
    # A fresh snmpd has no CPU average yet (hrProcessorLoad, ssCpuIdle): its raw counters are
    # there, and two samples give the CPU in between.
    assert first.cpu_total_ticks is not None and first.cpu_busy_ticks is not None
    assert first.mem_pct is not None and 0 < first.mem_pct < 100
    assert first.disk_pct is not None and 0 < first.disk_pct <= 100
    assert first.counter_bits == 64 and first.interfaces >= 1
    assert first.net_in_octets is not None and first.net_out_octets is not None
    deadline = time.monotonic() + 20
    second = _sample(snmpd)
    while second.cpu_total_ticks == first.cpu_total_ticks and time.monotonic() < deadline:
        time.sleep(1)  # net-snmp refreshes its CPU counters every few seconds
        second = _sample(snmpd)
    cpu = cpu_between(first, second)
    assert cpu is not None and 0 <= cpu <= 100
    rates = throughput(first, second, 1.0)
    for _ in range(3):  # this machine's interfaces are not the test's: one may come or go
        if rates is not None:
            break
        first, second = second, _sample(snmpd)
        rates = throughput(first, second, 1.0)
    assert rates is not None and min(rates) >= 0  # our own SNMP traffic, at least


def test_rates_from_counters_wraps_and_resets() -> None:
    a = Sample(net_in_octets=1_000, net_out_octets=2_000, interfaces=2)
    b = Sample(net_in_octets=1_000 + 125_000, net_out_octets=2_000 + 250_000, interfaces=2)
    assert throughput(a, b, 10.0) == (100_000.0, 200_000.0)
    wrapped = Sample(net_in_octets=(1 << 32) - 100, net_out_octets=0, counter_bits=32, interfaces=1)
    after = Sample(net_in_octets=900, net_out_octets=8, counter_bits=32, interfaces=1)
    assert throughput(wrapped, after, 1.0) == (8_000.0, 64.0)
    reset = Sample(net_in_octets=10, net_out_octets=10, interfaces=2)
    assert throughput(b, reset, 10.0) is None  # the device rebooted: no rate
    assert throughput(a, Sample(net_in_octets=5, net_out_octets=5, interfaces=3), 1.0) is None


def test_snmp_sample_from_values() -> None:
    raw = {
        "1.3.6.1.2.1.25.3.3.1.2.196608": 30,
        "1.3.6.1.2.1.25.3.3.1.2.196609": 50,
        "1.3.6.1.4.1.2021.4.5.0": 1000,
        "1.3.6.1.4.1.2021.4.6.0": 250,
        "1.3.6.1.2.1.25.2.3.1.2.31": "1.3.6.1.2.1.25.2.1.4",
        "1.3.6.1.2.1.25.2.3.1.4.31": 4096,
        "1.3.6.1.2.1.25.2.3.1.5.31": 1000,
        "1.3.6.1.2.1.25.2.3.1.6.31": 400,
        "1.3.6.1.2.1.2.2.1.3.1": 24,  # loopback: left out
        "1.3.6.1.2.1.2.2.1.3.2": 6,
        "1.3.6.1.2.1.31.1.1.1.6.1": 999_999,
        "1.3.6.1.2.1.31.1.1.1.10.1": 999_999,
        "1.3.6.1.2.1.31.1.1.1.6.2": 5_000,
        "1.3.6.1.2.1.31.1.1.1.10.2": 7_000,
    }
    s = sample_from_snmp(raw)
    assert (s.cpu_pct, s.mem_pct, s.disk_pct) == (40.0, 75.0, 40.0)
    assert (s.net_in_octets, s.net_out_octets, s.interfaces) == (5_000, 7_000, 1)


def test_cpu_between_from_raw_counters() -> None:
    a = Sample(cpu_busy_ticks=100, cpu_total_ticks=1_000)
    assert cpu_between(a, Sample(cpu_busy_ticks=350, cpu_total_ticks=2_000)) == 25.0
    assert cpu_between(a, Sample(cpu_busy_ticks=5, cpu_total_ticks=50)) is None  # rebooted
    assert cpu_between(a, Sample()) is None
