"""``sshfleet --quick`` against real sshd instances: one line, its ratio, nothing lost."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.sshfleet import linux_script, ssh_args
from tests.bench.lines import check_ratio, parse_line
from tests.peers import need, need_binary

ROOT = Path(__file__).resolve().parents[2]


def test_baseline_runs_the_allow_listed_linux_scripts() -> None:
    from collectors.ssh.commands import load_allow_list

    count, script = linux_script()
    commands = load_allow_list().platform("linux").commands
    assert count == len(commands) == script.count("@@cw:end")
    assert all(c.run.strip() in script for c in commands)


def test_baseline_ssh_trusts_only_the_given_known_hosts() -> None:
    spec = {"host": "127.0.0.1", "key": "/k/id", "known_hosts": "/k/known_hosts"}
    args = ssh_args(spec, 2222, {"kex": "curve25519-sha256", "cipher": "aes128-ctr", "mac": "m"})
    joined = " ".join(args)
    assert "StrictHostKeyChecking=yes" in joined and "UserKnownHostsFile=/k/known_hosts" in joined
    assert "KexAlgorithms=curve25519-sha256" in joined and args[-1] == "root@127.0.0.1"
    assert "KexAlgorithms" not in " ".join(ssh_args(spec, 2222, None))


@pytest.mark.peer
@pytest.mark.slow
def test_quick_run_prints_one_line_with_its_ratio() -> None:
    need_binary("sshd", "/usr/sbin/sshd")
    need_binary("ssh")
    need(os.geteuid() == 0, "the sshd peers log in as root with a key and must run as root")
    out = subprocess.run(
        [sys.executable, "-m", "bench", "sshfleet", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = out.stdout.splitlines()
    fields = parse_line(line, "sshfleet", "cpu_s_per_host")
    check_ratio(fields)
    assert fields["hosts"] == "24" and fields["workers"] == "8"
    assert fields["errors"] == "0" and fields["baseline_errors"] == "0"
    assert float(fields["inventories_per_min"]) > 0 and float(fields["values_per_host"]) > 100
    assert re.fullmatch(r"[\w.@-]+", fields["kex"])
