"""Start snmpsim serving a directory of ``.snmprec`` recordings on a free loopback port.

The v2c community (and SNMPv3 context) is each file's stem. SNMPv3 user: ``simulator`` with SHA
auth ``auctoritas`` and AES priv ``privatus`` (snmpsim's documented test user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import stop as stop_process
from tests.peers import wait_snmp_answer

V3_USER, V3_AUTH, V3_PRIV = "simulator", "auctoritas", "privatus"


def responder_binary() -> str | None:
    here = Path(sys.executable).parent / "snmpsim-command-responder"
    if here.exists():
        return str(here)
    return shutil.which("snmpsim-command-responder")


@dataclass
class SnmpsimPeer:
    port: int
    data_dir: Path
    workdir: Path
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        data_dir: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        probe_community: str | None = None,
        timeout: float = 120.0,
    ) -> SnmpsimPeer:
        binary = responder_binary()
        if binary is None:
            raise FileNotFoundError(
                "snmpsim-command-responder is not installed (pip install snmpsim)"
            )
        data_dir = Path(data_dir).resolve()
        workdir = Path(tempfile.mkdtemp(prefix="cw-snmpsim-"))
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        cmd = [
            binary,
            f"--data-dir={data_dir}",
            f"--cache-dir={workdir / 'cache'}",
            f"--agent-udpv4-endpoint={host}:{port}",
            f"--v3-user={V3_USER}",
            f"--v3-auth-key={V3_AUTH}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={V3_PRIV}",
            "--v3-priv-proto=AES",
            "--log-level=error",
            f"--logging-method=file:{workdir / 'snmpsim.log'}",
        ]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=workdir
        )
        peer = cls(port, data_dir, workdir, host, proc)
        community = probe_community or sorted(p.stem for p in data_dir.glob("*.snmprec"))[0]
        peer.wait_ready(community, timeout)
        return peer

    def wait_ready(self, community: str, timeout: float) -> None:
        from tests.snmpd import _v2c_get_sysuptime

        packet = _v2c_get_sysuptime(community)
        wait_snmp_answer(self.host, self.port, packet, self.proc, name="snmpsim", timeout=timeout)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
