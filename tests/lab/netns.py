"""A lab of real hosts in network namespaces, for end-to-end tests of scanning and mapping.

    from tests.lab import tcp
    from tests.lab.netns import netns_lab

    with netns_lab(("h1", "h2", "h3"), bare=("h4",)) as lab:
        h1, h2 = lab.hosts["h1"], lab.hosts["h2"]        # h1.address == "10.200.N.11", ...
        db = lab.program("orders-db")                    # shows as "orders-db" in ss -p
        lab.spawn("h2", [str(db), tcp.__file__, "serve", h2.address, "5432"], ready="listening")
        ... scan h1..h3 at their addresses: snmpd on udp/161, sshd on tcp/22 ...

Each host is a namespace ``cwlN-NAME`` with one interface ``eth0`` (a veth pair whose other end
is on the bridge ``cwlN-br`` in the root namespace, which holds ``10.200.N.1/24``), so the test
process reaches every host directly; a host may have further addresses (``aliases``). A host
with agents runs sshd (root, key only: the lab's ``client_key``) and net-snmp snmpd (v2c
community ``public`` from the lab subnet, SNMPv3 user as in ``tests/snmpd.py``), both listening
on all its addresses; sshd runs in a UTS namespace with the host name ``cwlN-NAME``, which is also
snmpd's sysName. Each host then reports its own name, interfaces, addresses and sockets, as
separate machines would. When the
machine exposes DMI (``/sys/class/dmi/id``), sshd's mount namespace gets a per-host copy with its
own serial number, so that the hosts do not all share the real box's serial.

Everything made is removed on exit, also when the test fails: processes still in the namespaces,
the namespaces, links, bridge and the work directory (``$TMPDIR/cw-labN-*``). Runs are told
apart by a slot number N (the third octet of the subnet) held with an exclusive lock file, so
parallel runs do not collide; a slot whose lock is free but whose namespaces or links still exist
belongs to a run that crashed, and is cleaned before anything else. Needs root and iproute2;
when missing, the test fails under ``CI=true`` and is skipped locally.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import need, need_binary
from tests.snmpd import SNMPD, SnmpdPeer
from tests.sshd import SSHD_CANDIDATES, Sshd, make_keypair, start_sshd

log = logging.getLogger(__name__)

PREFIX = "cwl"
LOCK_DIR = Path(tempfile.gettempdir()) / "cloudward-netns-lab"
WORKDIR_PREFIX = "cw-lab"  # + slot + "-": a run's temporary directory
SUBNET = "10.200.{slot}.0/24"
FIRST_HOST_OCTET = 11  # hosts are .11, .12, ...; h1's aliases .111, .121, ...
ANY = "0.0.0.0"  # agents listen on all of a lab host's addresses, as servers do
_NAMED = re.compile(rf"^{PREFIX}(\d+)-")
_HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")  # interface names are at most 15 characters

# Runs inside the host's namespaces before the agent: set the host name, give it its own DMI.
_HOST_SHELL = (
    'hostname "$0" || exit 1; dmi="$1"; shift; '
    'if [ -d /sys/class/dmi/id ]; then mount --bind "$dmi" /sys/class/dmi/id || exit 1; fi; '
    'exec "$@"'
)


@dataclass
class LabHost:
    name: str  # "h1"
    netns: str  # "cwl7-h1"
    address: str  # "10.200.7.11"
    hostname: str  # what the host reports as its name (uname -n, sysName)
    veth: str  # the root-namespace end of its link, on the bridge
    workdir: Path
    serial: str  # the DMI serial number it reports (where the machine has DMI)
    aliases: tuple[str, ...] = ()  # further addresses on eth0 (the agents answer there too)
    snmpd: SnmpdPeer | None = None
    sshd: Sshd | None = None


@dataclass
class Spawned:
    """A process started inside a lab host; stopped when the lab closes."""

    host: str
    argv: tuple[str, ...]
    proc: subprocess.Popen[str]
    first_line: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def comm(self) -> str:
        """The kernel's name for the process, as ``ss -p`` and hrSWRunName show it."""
        return Path(f"/proc/{self.pid}/comm").read_text().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def namespaces() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def links() -> list[str]:
    out = _ip("-o", "link", "show", check=False).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def namespace_pids(netns: str) -> list[int]:
    return [int(p) for p in _ip("netns", "pids", netns, check=False).stdout.split()]


def _kill_namespace_processes(netns: str) -> None:
    """Stop every process still inside ``netns`` (all were started by the lab)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(netns)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not namespace_pids(netns):
                return
            time.sleep(0.05)


def _clean_slot(slot: int) -> int:
    """Remove what a run in ``slot`` left behind; return how many things were removed."""
    tag = f"{PREFIX}{slot}-"
    removed = 0
    for netns in namespaces():
        if netns.startswith(tag):
            _kill_namespace_processes(netns)
            _ip("netns", "del", netns, check=False)
            removed += 1
    for link in links():
        if link.startswith(tag):
            _ip("link", "del", link, check=False)
            removed += 1
    for workdir in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}{slot}-*"):
        shutil.rmtree(workdir, ignore_errors=True)
        removed += 1
    return removed


def _try_lock(slot: int) -> int | None:
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(LOCK_DIR / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def clean_crashed_runs() -> list[int]:
    """Clean every slot whose namespaces or links exist but whose run is gone; return them."""
    slots = {int(m[1]) for name in (*namespaces(), *links()) if (m := _NAMED.match(name))}
    cleaned = []
    for slot in sorted(slots):
        fd = _try_lock(slot)
        if fd is None:  # a live run holds it
            continue
        try:
            if _clean_slot(slot):
                cleaned.append(slot)
                log.warning("removed lab slot %d left behind by a run that did not finish", slot)
        finally:
            _unlock(fd)
    return cleaned


def _routed_networks() -> list[ipaddress.IPv4Network]:
    nets = []
    for args in (("-4", "-o", "addr", "show"), ("-4", "route", "show")):
        for token in _ip(*args, check=False).stdout.split():
            with contextlib.suppress(ValueError):
                if "/" in token:
                    nets.append(ipaddress.IPv4Network(token, strict=False))
    return nets


def _claim_slot() -> tuple[int, int]:
    """A free slot (its subnet unused in the root namespace) and the lock that holds it."""
    used = _routed_networks()
    for slot in range(1, 255):
        subnet = ipaddress.IPv4Network(SUBNET.format(slot=slot))
        if any(subnet.overlaps(n) for n in used if n.prefixlen > 0):
            continue
        fd = _try_lock(slot)
        if fd is not None:
            _clean_slot(slot)
            return slot, fd
    raise RuntimeError(f"no free lab slot: every subnet {SUBNET.format(slot='N')} is in use")


def require_lab() -> None:
    """Fail (CI) or skip (locally) unless namespaces, sshd and snmpd can be used here."""
    need(os.geteuid() == 0, "the namespace lab needs root (ip netns, mount, sshd as root)")
    need_binary("ip")
    need_binary("unshare")
    need_binary("sshd", *SSHD_CANDIDATES)
    need_binary("snmpd", SNMPD)
    probe = f"{PREFIX}probe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    need(made.returncode == 0, f"cannot create network namespaces here: {made.stderr.strip()}")


@dataclass
class NetnsLab:
    slot: int
    workdir: Path
    community: str = "public"
    hosts: dict[str, LabHost] = field(default_factory=dict)
    spawned: list[Spawned] = field(default_factory=list)
    public_key: str = ""  # the line authorised on every lab sshd
    _lock: int | None = field(default=None, repr=False)

    @property
    def tag(self) -> str:
        return f"{PREFIX}{self.slot}-"

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(SUBNET.format(slot=self.slot))

    @property
    def gateway(self) -> str:
        """The bridge's address in the root namespace: where the test process comes from."""
        return str(self.subnet.network_address + 1)

    @property
    def bridge(self) -> str:
        return f"{self.tag}br"

    @property
    def client_key(self) -> Path:
        """The private key authorised for root on every lab sshd."""
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        """An empty known_hosts file, for trust on first use."""
        return self.workdir / "known_hosts"

    # -- building -----------------------------------------------------------------------------

    def _make_bridge(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        self.public_key = make_keypair(self.client_key)
        self.known_hosts.touch()

    def add_host(self, name: str, *, agents: bool = True, aliases: int = 0) -> LabHost:
        """A namespace on the bridge; with ``agents``, sshd on tcp/22 and snmpd on udp/161 (on
        all its addresses). ``aliases`` adds that many further addresses (``.1XX``) to eth0."""
        if not _HOST_NAME.match(name) or name in self.hosts:
            raise ValueError(f"lab host name {name!r} must be new, short and alphanumeric")
        netns = f"{self.tag}{name}"
        index = len(self.hosts)
        address = str(self.subnet.network_address + FIRST_HOST_OCTET + index)
        host = LabHost(
            name=name,
            netns=netns,
            address=address,
            hostname=netns,
            veth=netns,
            workdir=self.workdir / name,
            serial=f"CWLAB{self.slot:03d}{index + 1:02d}{name.upper()}",
        )
        host.aliases = tuple(
            str(self.subnet.network_address + 100 + FIRST_HOST_OCTET + index + 10 * i)
            for i in range(aliases)
        )
        host.workdir.mkdir()
        self.hosts[name] = host
        inner = f"{self.tag}{name}p"[:15]
        _ip("netns", "add", netns)
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", inner)
        _ip("link", "set", host.veth, "master", self.bridge)
        _ip("link", "set", host.veth, "up")
        _ip("link", "set", inner, "netns", netns)
        ns = ("-n", netns)
        _ip(*ns, "link", "set", inner, "name", "eth0")
        for addr in (address, *host.aliases):
            _ip(*ns, "addr", "add", f"{addr}/{self.subnet.prefixlen}", "dev", "eth0")
        _ip(*ns, "link", "set", "lo", "up")
        _ip(*ns, "link", "set", "eth0", "up")
        _ip(*ns, "route", "add", "default", "via", self.gateway)
        if agents:
            self._start_agents(host)
        return host

    def _start_agents(self, host: LabHost) -> None:
        dmi = host.workdir / "dmi"
        dmi.mkdir()
        for key, value in {
            "sys_vendor": "cloudward lab",
            "product_name": "netns host",
            "product_serial": host.serial,
            "chassis_serial": host.serial,
        }.items():
            (dmi / key).write_text(value + "\n")
        prefix = (
            "ip",
            "netns",
            "exec",
            host.netns,
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            _HOST_SHELL,
            host.hostname,
            str(dmi),
        )
        host.sshd = start_sshd(host.workdir / "sshd", address=ANY, port=22, prefix=prefix)
        host.sshd.authorize(self.public_key)
        (host.workdir / "snmpd").mkdir()
        host.snmpd = SnmpdPeer.start(
            161,
            host=ANY,
            netns=host.netns,
            community=self.community,
            sys_name=host.hostname,
            extra_config=f"rocommunity {self.community} {self.subnet}\n",
            workdir=host.workdir / "snmpd",
        )
        host.snmpd.host = host.address  # where the readiness probe goes (from this namespace)
        host.snmpd.wait_ready()

    # -- using --------------------------------------------------------------------------------

    def run(
        self, host: str, argv: Sequence[str], *, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside ``host`` and wait for it."""
        return subprocess.run(
            ["ip", "netns", "exec", self.hosts[host].netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(
        self,
        host: str,
        argv: Sequence[str],
        *,
        ready: str | None = None,
        timeout: float = 20.0,
        cwd: Path | None = None,
    ) -> Spawned:
        """Start a long-running process inside ``host``; with ``ready``, wait until its first
        output line starts with it. The process is stopped when the lab closes."""
        log_path = self.hosts[host].workdir / f"spawned-{len(self.spawned)}.log"
        with log_path.open("w") as err:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.hosts[host].netns, *argv],
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=cwd,
            )
        item = Spawned(host, tuple(argv), proc)
        self.spawned.append(item)
        if ready is None:
            return item
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{argv[0]} in {host} exited with {proc.returncode}: "
                    f"{log_path.read_text(errors='replace')[-2000:]}"
                )
            readable, _, _ = select.select([proc.stdout], [], [], 0.2)
            if readable:
                item.first_line = proc.stdout.readline().strip()
                if item.first_line.startswith(ready):
                    return item
                raise RuntimeError(f"{argv[0]} in {host} said {item.first_line!r}, not {ready!r}")
        raise TimeoutError(f"{' '.join(argv)} in {host} not ready within {timeout:g}s")

    def program(self, name: str) -> Path:
        """This Python under another name, so its processes show as ``name`` in ``ss -p`` and
        hrSWRunName (the kernel names a process after the path it was started from)."""
        bindir = self.workdir / "bin"
        bindir.mkdir(exist_ok=True)
        path = bindir / name
        if not path.exists():
            path.symlink_to(sys.executable)
        return path

    def set_link(self, host: str, up: bool) -> None:
        """Take a host's link down (a dead host) or back up."""
        _ip("link", "set", self.hosts[host].veth, "up" if up else "down")

    # -- removing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Remove everything the lab made; every step is tried even when an earlier one fails."""
        for item in reversed(self.spawned):
            with contextlib.suppress(Exception):
                item.stop()
        for host in self.hosts.values():
            if host.sshd is not None:
                with contextlib.suppress(Exception):
                    host.sshd.stop()
            if host.snmpd is not None:
                with contextlib.suppress(Exception):
                    host.snmpd.stop()
        _clean_slot(self.slot)
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._lock is not None:
            _unlock(self._lock)
            self._lock = None


@contextmanager
def netns_lab(
    hosts: Sequence[str] = ("h1", "h2", "h3"),
    *,
    bare: Sequence[str] = (),
    aliases: Mapping[str, int] | None = None,
    community: str = "public",
) -> Iterator[NetnsLab]:
    """Hosts with agents (``hosts``) and without (``bare``) on one bridge, ``aliases[name]``
    further addresses on a host; all removed on exit."""
    require_lab()
    clean_crashed_runs()
    slot, lock = _claim_slot()
    lab = NetnsLab(
        slot,
        Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{slot}-")),
        community=community,
        _lock=lock,
    )
    try:
        lab._make_bridge()
        extra = aliases or {}
        for name in hosts:
            lab.add_host(name, aliases=extra.get(name, 0))
        for name in bare:
            lab.add_host(name, agents=False, aliases=extra.get(name, 0))
        yield lab
    finally:
        lab.close()
