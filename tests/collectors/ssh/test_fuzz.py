"""Garbage, binary, truncated or empty output: parsers give Facts (with warnings) or a clean
CollectorError, never any other exception."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.errors import CollectorError
from collectors.facts import Facts
from collectors.ssh.linux import parse_linux
from collectors.ssh.output import CommandOutput, decode
from collectors.ssh.sockets import parse_proc_net, parse_ss
from collectors.ssh.windows import parse_windows, sample_from_windows
from tests.collectors.ssh.recorded import DATA, load_raw
from tests.collectors.ssh.test_cisco_parse import DEVICES, parse_device, recorded_raw
from tests.collectors.ssh.test_linux_parse import HOSTS

FUZZ = settings(
    max_examples=int(os.environ.get("CLOUDWARD_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SECTIONS = [
    "os-release",
    "uname",
    "id",
    "esxi",
    "virt",
    "dmi",
    "nproc",
    "cpuinfo",
    "meminfo",
    "uptime",
    "net",
    "ip-addr",
    "df",
    "lsblk",
    "dpkg",
    "rpm",
    "apk",
    "ss-tcp",
    "ss-udp",
    "proc-tcp",
    "proc-tcp6",
    "proc-udp",
    "loadavg",
    "stat1",
    "stat2",
    "end",
]
LINUX_COMMANDS = ["system", "storage", "packages", "sockets", "sample"]

noise = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(decode),
    st.lists(
        st.sampled_from(
            [
                "0",
                "-1",
                "nan",
                "inf",
                "1e999",
                ":",
                "=",
                "\t",
                " ",
                "%",
                "!absent",
                "*:*",
                "[::]:",
                "LISTEN",
                "ESTAB",
                "UNCONN",
                "0A",
                "01",
                "kB",
                "/",
                "ii ",
            ]
        ),
        max_size=40,
    ).map(" ".join),
)


def _accept(make: Any) -> None:
    try:
        result = make()
    except CollectorError:
        return
    assert isinstance(result, Facts)
    json.dumps(result.to_dict())  # what the probe prints must always serialise


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(LINUX_COMMANDS),
        st.dictionaries(st.sampled_from(SECTIONS), noise, max_size=12),
        max_size=5,
    )
)
def test_linux_sections_with_garbage(raw: dict[str, dict[str, str]]) -> None:
    outputs = {
        name: CommandOutput("".join(f"@@cw:{sec}\n{body}\n" for sec, body in secs.items()))
        for name, secs in raw.items()
    }
    _accept(lambda: parse_linux(outputs, target="t"))


@FUZZ
@given(st.sampled_from(HOSTS), st.sampled_from(LINUX_COMMANDS), st.integers(0, 5000), noise)
def test_linux_recordings_cut_and_corrupted(host: str, name: str, cut: int, junk: str) -> None:
    raw = load_raw(DATA / "linux" / host)
    if name in raw:
        raw[name] = CommandOutput(raw[name].text[:cut] + junk, 1, truncated=True)
    _accept(lambda: parse_linux(raw, target="t"))


@FUZZ
@given(
    st.sampled_from(sorted(DEVICES)),
    st.sampled_from(["version", "inventory", "interfaces", "cdp", "lldp"]),
    st.integers(0, 4000),
    noise,
)
def test_cisco_recordings_cut_and_corrupted(device: str, name: str, cut: int, junk: str) -> None:
    raw = recorded_raw(device, DEVICES[device])
    raw[name] = CommandOutput(raw[name].text[:cut] + junk)
    _accept(lambda: parse_device(device, raw))


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["version", "inventory", "interfaces", "cdp", "lldp"]), noise)
)
def test_cisco_garbage(raw: dict[str, str]) -> None:
    _accept(lambda: parse_device("nxos-n9k", {k: CommandOutput(v) for k, v in raw.items()}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
system_keys = st.sampled_from(
    [
        "Caption",
        "Version",
        "CSName",
        "UptimeSeconds",
        "TotalVisibleMemoryKB",
        "FreePhysicalMemoryKB",
        "Manufacturer",
        "Model",
        "SerialNumber",
        "BIOSVersion",
        "BIOSDate",
        "Processors",
        "Adapters",
        "Disks",
        "HyperV",
        "Tcp",
        "Udp",
        "IP",
        "Subnet",
        "Index",
        "MAC",
        "Logical",
        "Load",
        "Size",
        "Free",
        "Net",
        "In",
        "Out",
        "Name",
    ]
)
windows_objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(system_keys, inner, max_size=6),
    max_leaves=40,
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["system", "software", "sockets"]),
        st.one_of(windows_objects.map(json.dumps), json_values.map(json.dumps), noise),
    )
)
def test_windows_garbage(raw: dict[str, str]) -> None:
    _accept(lambda: parse_windows({k: CommandOutput(v) for k, v in raw.items()}, target="t"))


@FUZZ
@given(noise, st.sampled_from(["tcp", "udp"]), st.booleans())
def test_socket_tables_with_garbage(text: str, proto: str, big_endian: bool) -> None:
    parse_ss(text, proto)
    parse_proc_net(text, proto, big_endian=big_endian)


@FUZZ
@given(st.one_of(windows_objects.map(json.dumps), json_values.map(json.dumps), noise))
def test_windows_sample_garbage(text: str) -> None:
    try:
        got = sample_from_windows(text, "t")
    except CollectorError:
        return
    for pct in (got.cpu_pct, got.mem_pct, got.disk_pct):
        assert pct is None or 0 <= pct <= 100
    for octets in (got.net_in_octets, got.net_out_octets):
        assert octets is None or octets >= 0
