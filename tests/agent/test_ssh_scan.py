"""``cloudward scan`` over SSH against a real OpenSSH sshd on loopback, when targets go wrong.

One sshd listens on several ports; each port is a target that goes wrong in its own way after a
first, clean scan: its host key is no longer known, its host key changed, its login is refused,
its commands hang, or it answers garbage; one more port has no server at all. Each must end as a
failed poll run whose error names the target and the problem, the sweep must go on past it, and
what the first scan stored must stay as it was. ``cloudward probe ssh://...`` prints the sockets
the dependency map is built from.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from agent.store import Store
from agent.store import tables as m
from tests.peers import free_port, wait_for
from tests.sshd import Sshd, make_keypair, start_sshd

pytestmark = [pytest.mark.peer, pytest.mark.slow]

COMMAND_TIMEOUT = 8  # seconds; the hanging target costs this much per scan
CASES = ("ok", "unknown", "changed", "login", "hang", "garbage")


@dataclass
class Rig:
    dir: Path
    ports: dict[str, int]
    host_key: Path
    key: Path  # authorised
    stranger: Path  # not authorised
    known_hosts: Path
    db: Path
    public: str  # the authorised key's public line
    sshd: Sshd | None = None
    starts: int = 0

    def target(self, case: str) -> str:
        return f"ssh://127.0.0.1:{self.ports[case]}"

    def known_line(self, case: str, public: str | None = None) -> str:
        assert self.sshd is not None
        key_type, blob = (public or self.sshd.host_public).split()[:2]
        return f"[127.0.0.1]:{self.ports[case]} {key_type} {blob}\n"

    def start(self, *, broken: bool) -> None:
        """(Re)start sshd on every port, with the hanging and garbage commands when broken."""
        if self.sshd is not None:
            self.sshd.stop()
        extra = "".join(f"ListenAddress 127.0.0.1:{self.ports[c]}\n" for c in CASES if c != "ok")
        if broken:
            for case in ("hang", "garbage"):
                extra += (
                    f"Match LocalPort {self.ports[case]}\n  ForceCommand sh {self.dir / case}.sh\n"
                )
        self.starts += 1  # a fresh work directory: an old log must not look like readiness
        self.sshd = start_sshd(
            self.dir / f"sshd{self.starts}",
            port=self.ports["ok"],
            host_key=self.host_key,
            extra_config=extra,
        )
        self.sshd.authorize(self.public)
        log = self.sshd.log
        lines = [f"Server listening on 127.0.0.1 port {self.ports[c]}." for c in CASES]
        wait_for(lambda: all(line in log() for line in lines), what="sshd on every port")

    def config(self, cases: tuple[str, ...], *, login_key: Path | None = None) -> Path:
        creds: dict[str, Any] = {
            "good": {"type": "ssh", "user": "root", "key_file": str(self.key)},
            "for-login": {"type": "ssh", "user": "root", "key_file": str(login_key or self.key)},
        }
        path = self.dir / "cloudward.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "database": f"sqlite:///{self.db}",
                    "defaults": {
                        "ssh": {
                            "known_hosts": str(self.known_hosts),
                            "trust_on_first_use": False,
                            "connect_timeout": "5s",
                            "command_timeout": f"{COMMAND_TIMEOUT}s",
                        }
                    },
                    "credentials": creds,
                    "targets": [
                        {
                            "host": "127.0.0.1",
                            "ssh_port": self.ports[c],
                            "credentials": ["for-login" if c == "login" else "good"],
                        }
                        for c in cases
                    ],
                }
            )
        )
        return path


def scan(config: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["cloudward", "scan", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def _kill_recorded(pids: Path) -> None:
    """Stop the forced commands that sshd left running (their PIDs were written down)."""
    if not pids.exists():
        return
    for line in pids.read_text().split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(line), signal.SIGKILL)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    d = tmp_path_factory.mktemp("sshscan")
    ports: dict[str, int] = {}
    for case in (*CASES, "closed"):
        port = free_port()
        while port in ports.values():
            port = free_port()
        ports[case] = port
    host_key = d / "ssh_host_ed25519_key"
    make_keypair(host_key)
    key, stranger = d / "id_good", d / "id_stranger"
    public = make_keypair(key)
    make_keypair(stranger)
    garbage = d / "garbage.bin"
    garbage.write_bytes(bytes((i * 131 + 7) % 256 for i in range(6000)))
    pids = d / "hang.pids"
    # The platform probe is answered honestly; everything after it hangs or is garbage.
    (d / "hang.sh").write_text(
        'case "$SSH_ORIGINAL_COMMAND" in\n  "uname -s") uname -s ;;\n'
        f"  *) echo $$ >> {pids}; exec sleep 300 ;;\nesac\n"
    )
    (d / "garbage.sh").write_text(
        f'case "$SSH_ORIGINAL_COMMAND" in\n  "uname -s") uname -s ;;\n  *) cat {garbage} ;;\nesac\n'
    )
    r = Rig(d, ports, host_key, key, stranger, d / "known_hosts", d / "cw.db", public)
    try:
        r.start(broken=False)
        r.known_hosts.write_text("".join(r.known_line(c) for c in CASES))
        yield r
    finally:
        if r.sshd is not None:
            r.sshd.stop()
        _kill_recorded(pids)


def _snapshot(db: Path) -> dict[str, Any]:
    """Everything stored about assets (not poll runs or events)."""
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.session() as s:
            out: dict[str, Any] = {}
            for table in (
                m.Asset,
                m.AssetKey,
                m.Interface,
                m.AddressRow,
                m.SoftwareRow,
                m.StorageRow,
                m.ListeningRow,
                m.ConnectionRow,
            ):
                out[table.__name__] = sorted(
                    (r.model_dump() for r in s.exec(select(table)).all()), key=repr
                )
            return out
    finally:
        store.close()


def test_each_failure_is_a_poll_result_and_stored_data_stays(rig: Rig) -> None:
    first = scan(rig.config(CASES))
    assert first["failed"] == 0 and first["ok"] == len(CASES), first
    before = _snapshot(rig.db)
    assert before["Asset"] and before["SoftwareRow"] and before["ListeningRow"]

    # Now each target goes wrong in its own way.
    rig.start(broken=True)
    other = make_keypair(rig.dir / "other_host_key")
    rig.known_hosts.write_text(
        "".join(
            rig.known_line(c, other if c == "changed" else None) for c in CASES if c != "unknown"
        )
    )
    failing = ("unknown", "changed", "login", "hang", "garbage", "closed")
    second = scan(rig.config(failing, login_key=rig.stranger))
    results = {r["target"]: r for r in second["results"]}
    assert second["ok"] == 0 and second["failed"] == len(failing), second
    assert set(results) == {rig.target(c) for c in failing}

    expected = {
        "unknown": ("hostkey", ("unknown host key", "known_hosts")),
        "changed": ("hostkey", ("changed", "remove its line")),
        "login": ("auth", ("login refused", "authorized_keys")),
        "hang": ("timeout", ("did not finish within", "channel was closed")),
        "garbage": ("protocol", ("none of its sections",)),
        "closed": ("connect", ("connection refused",)),
    }
    for case, (kind, phrases) in expected.items():
        result = results[rig.target(case)]
        assert result["ok"] is False and result["error_kind"] == kind, result
        message = result["error"]
        assert f"127.0.0.1:{rig.ports[case]}" in message or f"1]:{rig.ports[case]}" in message
        for phrase in phrases:
            assert phrase in message, (case, message)
        assert "Traceback" not in message

    store = Store.open(f"sqlite:///{rig.db}")
    try:
        runs = store.poll_runs()
        with store.session() as s:
            events = s.exec(select(m.Event).where(m.Event.kind == "host_key")).all()
    finally:
        store.close()
    latest = {}
    for run in sorted(runs, key=lambda r: r.id or 0):
        latest[run.target] = run
    for case, (kind, _phrases) in expected.items():
        run = latest[rig.target(case)]
        assert run.status == "failed" and run.error_kind == kind and run.error, run
    assert {e.target for e in events} == {rig.target("unknown"), rig.target("changed")}
    # The bad host key was not learned, and nothing stored about the box was lost.
    assert f":{rig.ports['unknown']}]" not in rig.known_hosts.read_text()
    assert _snapshot(rig.db) == before

    # The sweep goes on past every failure: a good target in the same sweep is polled and stored.
    third = scan(rig.config(("ok", *failing), login_key=rig.stranger))
    by_target = {r["target"]: r for r in third["results"]}
    assert by_target[rig.target("ok")]["ok"] is True, by_target[rig.target("ok")]
    assert third["ok"] == 1 and third["failed"] == len(failing)
    assert {a["name"] for a in _snapshot(rig.db)["Asset"]} == {a["name"] for a in before["Asset"]}


@pytest.fixture()
def held_connection() -> Iterator[tuple[int, int]]:
    """A listening socket and an established connection owned by this test process."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    try:
        yield port, client.getsockname()[1]
    finally:
        for s in (client, accepted, server):
            s.close()


def test_probe_prints_listening_sockets_and_connections(
    rig: Rig, held_connection: tuple[int, int]
) -> None:
    rig.start(broken=False)
    rig.known_hosts.write_text("".join(rig.known_line(c) for c in CASES))
    port, client_port = held_connection
    done = subprocess.run(
        [
            "cloudward",
            "probe",
            f"ssh://root@127.0.0.1:{rig.ports['ok']}",
            "--ssh-key",
            str(rig.key),
            "--known-hosts",
            str(rig.known_hosts),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["protocol"] == "ssh" and facts["target"].endswith(f":{rig.ports['ok']}")
    me = Path("/proc/self/comm").read_text().strip()
    mine = [li for li in facts["listening"] if li["port"] == port]
    assert mine and set(mine[0]) >= {"proto", "address", "port", "process", "pid"}
    assert (mine[0]["proto"], mine[0]["pid"]) == ("tcp", os.getpid())
    assert mine[0]["process"] == me
    conns = [c for c in facts["connections"] if c["local_port"] == client_port]
    assert len(conns) == 1, facts["connections"]
    conn = conns[0]
    assert set(conn) >= {
        "proto",
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "process",
        "pid",
    }
    assert (conn["remote_address"], conn["remote_port"]) == ("127.0.0.1", port)
    assert (conn["process"], conn["pid"]) == (me, os.getpid())
    # the accepted end is there too, owned by the same process
    assert [
        c
        for c in facts["connections"]
        if (c["local_port"], c["remote_port"]) == (port, client_port)
    ]
