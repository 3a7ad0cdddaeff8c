"""Start and stop a real net-snmp ``snmpd`` on a free loopback port (see the testbed notes).

Reusable by collector, daemon, namespace-lab and benchmark code: ``SnmpdPeer.start(...)``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import stop as stop_process
from tests.peers import wait_snmp_answer

SNMPD = "/usr/sbin/snmpd"


@dataclass
class SnmpdPeer:
    port: int
    workdir: Path
    community: str
    v3_user: str
    v3_auth: str
    v3_priv: str
    sys_name: str
    sys_location: str
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        port: int,
        *,
        host: str = "127.0.0.1",
        community: str = "public",
        v3_user: str = "cwuser",
        v3_auth: str = "authpass123",
        v3_priv: str = "privpass123",
        v3_auth_proto: str = "SHA",
        sys_name: str = "snmpd-under-test",
        sys_location: str = "Server room 1, Town Hall",
        extra_config: str = "",
        workdir: Path | None = None,
        netns: str | None = None,
    ) -> SnmpdPeer:
        binary = shutil.which("snmpd") or SNMPD
        workdir = workdir or Path(tempfile.mkdtemp(prefix="cw-snmpd-"))
        (workdir / "persist").mkdir(exist_ok=True)
        conf = workdir / "snmpd.conf"
        conf.write_text(
            f"agentaddress udp:{host}:{port}\n"
            f"rocommunity {community} {host}\n"
            f"sysName {sys_name}\n"
            f"sysLocation {sys_location}\n"
            "sysContact ICT Service Desk <ict@example.gov.uk>\n"
            "sysServices 72\n"
            f'createUser {v3_user} {v3_auth_proto} "{v3_auth}" AES "{v3_priv}"\n'
            f"rouser {v3_user} authpriv\n"
            "dontLogTCPWrappersConnects yes\n" + extra_config
        )
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(workdir / "persist"))
        cmd = [
            binary,
            "-f",
            "-C",
            "-c",
            str(conf),
            "-I",
            "-smux",
            "-m",
            "",
            "-Lf",
            str(workdir / "snmpd.log"),
            "-p",
            str(workdir / "snmpd.pid"),
        ]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peer = cls(
            port,
            workdir,
            community,
            v3_user,
            v3_auth,
            v3_priv,
            sys_name,
            sys_location,
            host=host,
            proc=proc,
        )
        if netns is None:
            peer.wait_ready()
        return peer

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Poll with a minimal v2c GET of sysUpTime.0 until snmpd answers."""
        wait_snmp_answer(
            self.host,
            self.port,
            _v2c_get_sysuptime(self.community),
            self.proc,
            name="snmpd",
            timeout=timeout,
            exit_detail=lambda: (
                ": " + (self.workdir / "snmpd.log").read_text(errors="replace")[-2000:]
            ),
        )

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _v2c_get_sysuptime(community: str) -> bytes:
    """A hand-encoded SNMPv2c GetRequest for sysUpTime.0 (readiness probe, no library needed)."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = b"\x30" + bytes([len(oid) + 4]) + b"\x06" + bytes([len(oid)]) + oid + b"\x05\x00"
    vbl = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + vbl
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    comm = community.encode()
    msg_body = b"\x02\x01\x01" + b"\x04" + bytes([len(comm)]) + comm + pdu
    return b"\x30" + bytes([len(msg_body)]) + msg_body


def imported_modules(stderr: str) -> set[str]:
    """The modules a Python process run with ``PYTHONPROFILEIMPORTTIME=1`` imported, read from
    the trace it wrote to stderr (which SNMP engine a ``cloudward`` command really used shows
    there: only the pysnmp engine imports ``pysnmp.hlapi``)."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
