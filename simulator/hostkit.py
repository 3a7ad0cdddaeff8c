"""What Windows, Linux and ESXi recordings share: CPU signatures, process tables that own the
listening sockets and connections, installed-software dates and TCP-MIB rows."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from simulator.context import Context
from simulator.estate_model import ANY_ADDRESS, Device
from simulator.hostmib import Installed, Process
from simulator.recording import RecordingError

# Family 6 model/stepping of the Xeon generations in the estate, matched on the brand string.
CPU_SIGNATURES: tuple[tuple[str, int, int], ...] = (
    (r"X56\d\d|E56\d\d", 44, 2),  # Westmere-EP
    (r"E5-\d{4} 0|E5-\d{4}\b(?! v)", 45, 7),  # Sandy Bridge-EP
    (r"E5-\d{4} v2", 62, 4),  # Ivy Bridge-EP
    (r"E5-\d{4} v3", 63, 2),  # Haswell-EP
    (r"E5-\d{4} v4", 79, 1),  # Broadwell-EP
    (r"(Gold|Silver|Bronze|Platinum) \d1\d\d", 85, 4),  # Skylake-SP
    (r"(Gold|Silver|Bronze|Platinum) \d2\d\d", 85, 7),  # Cascade Lake-SP
    (r"(Gold|Silver|Platinum) \d3\d\d", 106, 6),  # Ice Lake-SP
    (r"E3-12\d\d v[56]|E-22\d\d", 158, 10),  # Kaby/Coffee Lake Xeon E
    (r"Atom|Celeron|J\d{4}", 92, 9),
)


def cpu_signature(model: str | None) -> tuple[int, int]:
    for pattern, family_model, stepping in CPU_SIGNATURES:
        if model and re.search(pattern, model):
            return family_model, stepping
    return 85, 4


class ProcessTable:
    """Processes with stable pids; asking for a name twice gives the same process."""

    def __init__(
        self,
        rng: random.Random,
        *,
        first: int = 300,
        step: tuple[int, int] = (4, 90),
        multiple: int = 1,
    ):
        self._rng = rng
        self._next = first
        self._step = step
        self._multiple = multiple  # Windows hands out process ids in multiples of 4
        self._by_name: dict[str, Process] = {}
        self.rows: list[Process] = []

    def add(
        self,
        name: str,
        path: str = "",
        params: str = "",
        *,
        pid: int | None = None,
        kind: int = 4,
        cpu: int | None = None,
        mem_kb: int | None = None,
        fresh: bool = False,
    ) -> Process:
        if name in self._by_name and not fresh:
            return self._by_name[name]
        if pid is None:
            self._next += self._rng.randrange(*self._step)
            self._next -= self._next % self._multiple
            pid = self._next
        proc = Process(
            pid,
            name,
            path,
            params,
            kind,
            2 if kind == 4 else 1,
            cpu if cpu is not None else self._rng.randrange(10, 900_000),
            mem_kb if mem_kb is not None else self._rng.randrange(900, 260_000),
        )
        self._by_name.setdefault(name, proc)
        self.rows.append(proc)
        return proc

    def pid(self, name: str) -> int:
        return self._by_name[name].pid

    def has(self, name: str) -> bool:
        return name in self._by_name


def parse_listen(text: str) -> tuple[str, int, str]:
    """An image's ``[address:]port@process`` listener."""
    m = re.fullmatch(r"(?:([0-9.]+):)?(\d+)@(\S+)", text)
    if not m:
        raise RecordingError(f"image listener {text!r}: write [address:]port@process")
    return m.group(1) or ANY_ADDRESS, int(m.group(2)), m.group(3)


def tcp_rows(
    ctx: Context,
    dev: Device,
    procs: ProcessTable,
    base: Sequence[str],
    listen_defaults: Mapping[int, str],
    connect_defaults: Mapping[int, str],
    path_of: Mapping[str, str] | None = None,
    forking: frozenset[str] = frozenset(),
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, str, int, int]]]:
    """Listeners and sessions with the pids of the processes that own them. A server in
    ``forking`` (postgres, sshd) hands each accepted connection to a child process."""
    paths = path_of or {}
    listeners: dict[tuple[str, int], int] = {}
    for text in base:
        address, port, name = parse_listen(text.replace("{ip}", dev.address))
        listeners[(address, port)] = procs.add(name, paths.get(name, "")).pid
    by_port: dict[int, int] = {}
    names: dict[int, str] = {}
    for listen in dev.listens:
        owner = listen.process or listen_defaults.get(listen.port)
        if owner is None:
            raise RecordingError(
                f"device {dev.name}: say which process listens on "
                f"{listen.port}: write {listen.port}@process in `listens`"
            )
        name = owner
        pid = procs.add(name, paths.get(name, "")).pid
        listeners[(listen.address, listen.port)] = pid
        by_port[listen.port] = pid
        names[listen.port] = name
    sessions = []
    for s in ctx.sessions(dev):
        if s.inbound and names.get(s.local_port) in forking:
            name = names[s.local_port]
            pid = procs.add(name, paths.get(name, ""), fresh=True).pid
        elif s.inbound:
            pid = by_port.get(s.local_port) or listeners.get((ANY_ADDRESS, s.local_port), 0)
        else:
            client = s.process or connect_defaults.get(s.remote_port)
            if client is None:
                raise RecordingError(
                    f"device {dev.name}: say which process connects to port {s.remote_port}: "
                    f"write peer:{s.remote_port}@process in `connects`"
                )
            name = client
            pid = procs.add(name, paths.get(name, "")).pid
        sessions.append((s.local, s.local_port, s.remote, s.remote_port, pid))
    return sorted((a, p, pid) for (a, p), pid in listeners.items()), sessions


def installed_dates(
    ctx: Context,
    dev: Device,
    names: Sequence[str],
    base_count: int,
    *,
    hours: bool = False,
    os_prefixes: tuple[str, ...] = (),
) -> list[Installed]:
    """Install dates: the image's packages on the OS install day, later software after it.
    Packages named with one of ``os_prefixes`` are typed operatingSystem(2), as net-snmp does
    for rpm's "System Environment" group and dpkg's essential packages."""
    rng = ctx.rng(dev, "installed")
    start = dev.installed or (ctx.estate.epoch.date() - timedelta(days=900))
    span = max((ctx.estate.epoch.date() - start).days - 30, 1)
    out = []
    for n, name in enumerate(names):
        day: date = start if n < base_count else start + timedelta(days=rng.randrange(0, span))
        at = (
            time(rng.randrange(8, 18), rng.randrange(0, 60), rng.randrange(0, 60))
            if hours
            else time(0, 0)
        )
        kind = 2 if os_prefixes and name.startswith(os_prefixes) else 4
        out.append(Installed(name, datetime.combine(day, at), kind))
    return out


def software_names(dev: Device, image: Mapping[str, object]) -> tuple[list[str], int]:
    """The image's software then the device's own, and how many came from the image."""
    base = [str(s) for s in image.get("software", ()) or ()]  # type: ignore[attr-defined]
    return base + list(dev.software), len(base)
