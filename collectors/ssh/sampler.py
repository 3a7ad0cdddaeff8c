"""The light utilisation poll over SSH: only the platform allow-list's ``sample`` command (Linux:
/proc/stat twice, /proc/meminfo, /proc/net/dev, df; Windows: CIM processor load, memory, fixed
disks, interface counters), parsed into a :class:`Sample`."""

from __future__ import annotations

from collections.abc import Mapping

from collectors.errors import ProtocolError
from collectors.sample import Sample, parse_netdev, percent
from collectors.ssh.client import SshSession
from collectors.ssh.commands import load_allow_list
from collectors.ssh.hostspec import SshCredentials, SshTarget
from collectors.ssh.linux import cpu_pct, first_float, parse_meminfo
from collectors.ssh.linux_inventory import parse_df
from collectors.ssh.output import split_sections
from collectors.ssh.rules import load_identity_rules
from collectors.ssh.windows import sample_from_windows


def collect_ssh_sample(target: SshTarget, creds: SshCredentials) -> Sample:
    """The light utilisation poll of a Linux host (``target.platform`` linux or unset: /proc/stat
    twice, /proc/meminfo, /proc/net/dev, df) or a Windows host (``windows``: CIM processor load,
    memory, fixed disks and interface counters): only the platform's allow-listed ``sample``
    command. Raises a CollectorError on failure."""
    family = target.platform or "linux"
    command = load_allow_list().platform(family).command("sample")
    with SshSession(target, creds) as session:
        out = session.run_exec([command], target.command_timeout)[command.name]
    if out.refused or not out.text.strip():
        raise ProtocolError(
            f"{target.label}: the sample command gave no output (exit {out.exit_status}); "
            + (
                "check that the account may run PowerShell and read CIM"
                if family == "windows"
                else "check that the account may read /proc"
            ),
            target=target.label,
        )
    if family == "windows":
        return sample_from_windows(out.text, target.label)
    sections = split_sections(out.text)
    disks = [
        s
        for s in parse_df(sections.get("df", ""), load_identity_rules(), [])
        if s.kind == "fixed" and s.size_bytes
    ]
    size = sum(s.size_bytes or 0 for s in disks)
    disk = round(100.0 * sum(s.used_bytes or 0 for s in disks) / size, 1) if size else None
    return sample_from_linux(sections, disk)


def sample_from_linux(sections: Mapping[str, str], disk_pct: float | None) -> Sample:
    """A sample from the ``sample`` command's sections (``disk_pct`` from its df, parsed by
    the Linux collector's df parser)."""
    meminfo = parse_meminfo(sections.get("meminfo", ""))
    total = meminfo.get("MemTotal")
    avail = meminfo.get("MemAvailable")
    if avail is None and "MemFree" in meminfo:
        avail = sum(meminfo.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    rx, tx, count = parse_netdev(sections.get("netdev", ""))
    return Sample(
        cpu_pct=cpu_pct(sections.get("stat1", ""), sections.get("stat2", "")),
        mem_pct=percent(total - avail, total) if total and avail is not None else None,
        disk_pct=disk_pct,
        load1=first_float(sections.get("loadavg", "")),
        net_in_octets=rx,
        net_out_octets=tx,
        counter_bits=64,
        interfaces=count,
    )
