"""``sshfleet``: client CPU per Linux inventory over SSH, against one OpenSSH ``ssh`` per host.

Several real OpenSSH sshd instances run on loopback (each logs in root by key only, with
``MaxStartups 200:30:400`` so that fanning out loses no login, and every session starts with
``SHLVL=1`` so that bash skips root's ``~/.bashrc``, which an inventory account would not have);
N "hosts" are the instances repeated round robin. Ours is ``collectors.ssh.collect_many`` with
``max_workers`` workers: per host one paramiko connection, the Linux platform's allow-listed
scripts from ``config/ssh/commands.yaml`` on parallel exec channels, and parsing into Facts
(the platform is configured as ``linux``, so both sides run exactly the same five scripts and
no probe).

The baseline is what a fair admin script does: one OpenSSH ``ssh`` process per host that runs
the same five scripts, read from the same allow-list, one after another in a single remote
command (one connection, one shell: cheaper than one ``ssh`` per command, which costs a key
exchange each), with the same number of hosts in flight (a thread pool of the same size). Its
CPU is that of the ``ssh`` processes (``RUSAGE_CHILDREN``) plus the driving process's own; it
keeps the raw output and parses nothing. ``parse_cpu_s_per_host`` says how much of ours is
parsing. The key exchange, cipher and MAC of the baseline are pinned to the ones paramiko
negotiated with this sshd, so that both sides do the same cryptography; the cost of
OpenSSH's defaults (a post-quantum key exchange on OpenSSH 9) is reported as
``baseline_default_cpu_s_per_host``, measured on a quarter of the hosts.

Each side runs in its own subprocess, so its CPU time is its own. The sshd instances share the
machine's cores with the client, so their CPU per host (``sshd_cpu_s_per_host``: the
listener and every connection and shell it reaped) is reported for each side as well; ours
opens five channels (five shells) per host, the baseline one. ``--quick``: 2 instances,
24 hosts, 8 workers; otherwise 4 instances, 200 hosts, 16 workers.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import Result, peak_mb, registry

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "linux"
# bash run by sshd reads ~/.bashrc unless it is a nested shell; root's on a developer machine
# may run slow things (version managers). An inventory account would have none: start every
# session at SHLVL=1 so that the login shell reads nothing, on both sides alike.
QUIET_RC = "PermitUserEnvironment yes\n"
SHELL_LEVEL = 'environment="SHLVL=1"'
END_MARKER = "@@cw:end"


def linux_script() -> tuple[int, str]:
    """The Linux platform's allow-listed scripts as one remote command, and how many there are."""
    from collectors.ssh.commands import load_allow_list

    commands = load_allow_list().platform(PLATFORM).commands
    return len(commands), "\n".join(c.run.rstrip("\n") for c in commands) + "\n"


def ssh_args(spec: dict[str, Any], port: int, algorithms: dict[str, str] | None) -> list[str]:
    """One OpenSSH client invocation that trusts only the bench's known_hosts and key."""
    args = [
        "ssh",
        "-F",
        "/dev/null",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        spec["key"],
        "-o",
        f"UserKnownHostsFile={spec['known_hosts']}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=20",
        "-p",
        str(port),
    ]
    if algorithms:
        args += [
            "-o",
            f"KexAlgorithms={algorithms['kex']}",
            "-o",
            f"Ciphers={algorithms['cipher']}",
            "-o",
            f"MACs={algorithms['mac']}",
        ]
    return [*args, f"root@{spec['host']}"]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ours(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess: poll every host with ``collect_many``; then time parsing alone."""
    from collectors.errors import CollectorError
    from collectors.facts import Facts
    from collectors.ssh import SshCredentials, SshTarget, collect_many, parse_fetched
    from collectors.ssh.client import SshSession
    from collectors.ssh.commands import load_allow_list
    from collectors.ssh.fetch import fetch_outputs

    load_allow_list()  # read the YAML before the clock starts, as a running daemon has
    creds = SshCredentials(key_file=Path(spec["key"]))
    targets = [
        SshTarget(
            spec["host"],
            port=port,
            username="root",
            known_hosts=Path(spec["known_hosts"]),
            platform=PLATFORM,
            connect_timeout=20,
            command_timeout=60,
        )
        for port in spec["ports"]
    ]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = collect_many([(t, creds) for t in targets], max_workers=spec["workers"])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    facts = [r for r in results if isinstance(r, Facts)]
    errors = [str(r) for r in results if isinstance(r, CollectorError)]
    with SshSession(targets[0], creds) as session:  # one more fetch, parsed alone
        fetched = fetch_outputs(session, load_allow_list(), PLATFORM, 60, targets[0].label)
    rounds = 5
    parse0 = time.process_time()
    for _ in range(rounds):
        parse_fetched(fetched, target=targets[0].label)
    return {
        "ok": len(facts),
        "errors": len(errors),
        "errors_sample": errors[:3],
        "wall": wall,
        "cpu": cpu,
        "parse_cpu": (time.process_time() - parse0) / rounds,
        "values": sum(f.values_read for f in facts),
        "peak_mb": peak_mb(),
    }


def run_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess: one ``ssh`` per host running the same scripts, same concurrency."""
    count, script = linux_script()
    algorithms = spec.get("algorithms")

    def one(port: int) -> str | None:
        try:
            out = subprocess.run(
                [*ssh_args(spec, port, algorithms), script],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"port {port}: ssh did not finish within 120s"
        if out.returncode != 0 or out.stdout.count(END_MARKER.encode()) != count:
            why = out.stderr.decode(errors="replace").strip()[-300:]
            return f"port {port}: ssh exited {out.returncode}: {why or 'output incomplete'}"
        return None

    cpu0, child0, wall0 = time.process_time(), children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["workers"]) as pool:
        failures = [f for f in pool.map(one, spec["ports"]) if f is not None]
    wall = time.perf_counter() - wall0
    driver, ssh = time.process_time() - cpu0, children_cpu() - child0
    return {
        "ok": len(spec["ports"]) - len(failures),
        "errors": len(failures),
        "errors_sample": failures[:3],
        "wall": wall,
        "cpu": driver + ssh,
        "ssh_cpu": ssh,
        "driver_cpu": driver,
    }


def negotiated_algorithms(spec: dict[str, Any]) -> dict[str, str]:
    """The key exchange, cipher and MAC paramiko agrees with the first sshd (from its debug log)."""
    from collectors.ssh import SshCredentials, SshTarget
    from collectors.ssh.client import SshSession

    agreed: dict[str, str] = {}

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            which, _, value = record.getMessage().partition(": ")
            if which in ("Kex", "Cipher", "MAC") and " " not in value:
                agreed.setdefault(which.lower(), value)

    logger = logging.getLogger("collectors.ssh.transport")
    handler, level = Catch(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        target = SshTarget(
            spec["host"],
            port=spec["ports"][0],
            username="root",
            known_hosts=Path(spec["known_hosts"]),
            platform=PLATFORM,
        )
        with SshSession(target, SshCredentials(key_file=Path(spec["key"]))):
            pass
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if set(agreed) != {"kex", "cipher", "mac"}:
        raise RuntimeError(f"could not tell which algorithms paramiko agreed (saw {agreed})")
    return agreed


def sshd_cpu(pids: list[int]) -> float:
    """CPU seconds of the sshd listeners and every child they have reaped so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def spawn(side: str, spec: dict[str, Any], pids: list[int]) -> dict[str, Any]:
    before = sshd_cpu(pids)
    out = subprocess.run(
        [sys.executable, "-m", "bench.sshfleet", "--child", side, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child ({side}) failed:\n{out.stderr[-2000:]}")
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    time.sleep(0.2)  # let the listeners reap their last connections
    result["sshd_cpu"] = sshd_cpu(pids) - before
    if result["ok"] == 0:
        raise RuntimeError(f"benchmark child ({side}) polled nothing: {result['errors_sample']}")
    return result


@registry.register("sshfleet")
def run(quick: bool) -> Result:
    from tests.sshd import Sshd, make_keypair, start_sshd

    instances, hosts, workers = (2, 24, 8) if quick else (4, 200, 16)
    servers: list[Sshd] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-ssh-") as tmp:
        work = Path(tmp)
        try:
            public = make_keypair(work / "id_ed25519")
            host_key = work / "host_ed25519"
            make_keypair(host_key)
            for i in range(instances):
                server = start_sshd(work / f"sshd{i}", host_key=host_key, extra_config=QUIET_RC)
                servers.append(server)
                server.authorize(public, options=SHELL_LEVEL)
            known_hosts = work / "known_hosts"
            known_hosts.write_text("".join(s.known_hosts_line() for s in servers))
            spec: dict[str, Any] = {
                "host": "127.0.0.1",
                "ports": [servers[i % instances].port for i in range(hosts)],
                "key": str(work / "id_ed25519"),
                "known_hosts": str(known_hosts),
                "workers": workers,
            }
            pids = [s.proc.pid for s in servers if s.proc is not None]
            algorithms = negotiated_algorithms(spec)
            ours = spawn("ours", spec, pids)
            base = spawn("baseline", {**spec, "algorithms": algorithms}, pids)
            few = {**spec, "ports": spec["ports"][: max(workers, hosts // 4)]}
            default = spawn("baseline", few, pids)
        finally:
            for server in servers:
                server.stop()

    def per_host(r: dict[str, Any], key: str = "cpu") -> float:
        return float(r[key] / r["ok"])

    def per_min(r: dict[str, Any]) -> float:
        return float(r["ok"] / r["wall"] * 60)

    return Result(
        "sshfleet",
        per_host(ours),
        per_host(base),
        "cpu_s_per_host",
        {
            "inventories_per_min": round(per_min(ours), 1),
            "baseline_inventories_per_min": round(per_min(base), 1),
            "parse_cpu_s_per_host": ours["parse_cpu"],
            "baseline_default_cpu_s_per_host": per_host(default),
            "sshd_cpu_s_per_host": per_host(ours, "sshd_cpu"),
            "baseline_sshd_cpu_s_per_host": per_host(base, "sshd_cpu"),
            "values_per_host": round(ours["values"] / ours["ok"]),
            "peak_mb": round(ours["peak_mb"]),
            "hosts": hosts,
            "errors": ours["errors"],
            "baseline_errors": base["errors"] + default["errors"],
            "workers": workers,
            "sshd": instances,
            "kex": algorithms["kex"],
            "cipher": algorithms["cipher"],
            "mac": algorithms["mac"],
        },
    )


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    side, child_spec = sys.argv[2], json.loads(sys.argv[3])
    print(json.dumps(run_ours(child_spec) if side == "ours" else run_baseline(child_spec)))
