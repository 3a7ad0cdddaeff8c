"""Fixtures: one real OpenSSH sshd for the session, with keys that behave differently.

Each client key is authorised in the one ``authorized_keys``; some have a forced command so the
same server can hang, print binary garbage, print nothing or print a cut-off answer. The
product's allow-list is not touched: the server decides what runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.ssh import SshCredentials, SshTarget
from tests.sshd import Sshd, make_keypair, start_sshd

PASSPHRASE = "correct horse battery staple"
PARTIAL = "@@cw:os-release\\nID=debian\\nVERSION_ID=12\\n@@cw:uname\\nLinux\\n"


@dataclass
class Lab:
    sshd: Sshd
    dir: Path
    known_hosts: Path
    key: Path  # ed25519, authorised, runs anything
    ecdsa_encrypted: Path  # authorised, needs PASSPHRASE
    stranger: Path  # not authorised
    hang: Path  # forced command: sleep
    garbage: Path  # forced command: binary noise
    empty: Path  # forced command: prints nothing
    partial: Path  # forced command: a cut-off system answer

    def target(self, **kw: object) -> SshTarget:
        args: dict[str, object] = {
            "port": self.sshd.port,
            "username": "root",
            "known_hosts": self.known_hosts,
            "connect_timeout": 10,
            "command_timeout": 20,
        }
        args.update(kw)
        return SshTarget(self.sshd.address, **args)  # type: ignore[arg-type]

    def creds(self, key: Path | None = None, **kw: object) -> SshCredentials:
        return SshCredentials(key_file=key or self.key, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("sshlab")
    server = start_sshd(base / "sshd")
    try:
        keys = {}
        for name in ("key", "stranger", "hang", "garbage", "empty", "partial"):
            keys[name] = base / f"id_{name}"
            public = make_keypair(keys[name])
            if name == "key":
                server.authorize(public)
            elif name == "hang":
                server.authorize(public, command="sleep 20")
            elif name == "garbage":
                noise = base / "garbage.bin"
                noise.write_bytes(bytes((i * 131 + 7) % 256 for i in range(6000)))
                server.authorize(public, command=f"cat {noise}")
            elif name == "empty":
                server.authorize(public, command="true")
            elif name == "partial":
                server.authorize(public, command=f"printf '{PARTIAL}'")
        ecdsa = base / "id_ecdsa_encrypted"
        server.authorize(make_keypair(ecdsa, "ecdsa", PASSPHRASE))
        known_hosts = server.write_known_hosts(base / "known_hosts")
        yield Lab(
            server,
            base,
            known_hosts,
            keys["key"],
            ecdsa,
            keys["stranger"],
            keys["hang"],
            keys["garbage"],
            keys["empty"],
            keys["partial"],
        )
    finally:
        server.stop()
