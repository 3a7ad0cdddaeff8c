"""Start and stop a real OpenSSH ``sshd`` for tests: own config, host key and authorized_keys.

    from tests.sshd import make_keypair, start_sshd

    with start_sshd(tmp_path / "sshd", address="127.0.0.1") as server:
        public = make_keypair(tmp_path / "id_ed25519")
        server.authorize(public)                       # or command="sleep 30" to force a command
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        ... connect to server.address:server.port as root ...

Runs as root with ``PermitRootLogin prohibit-password`` (keys only), ``StrictModes no`` and one
``AuthorizedKeysFile`` in the work directory, so no Unix user is created. ``prefix`` runs sshd
inside something else, e.g. ``("ip", "netns", "exec", "h1")``; readiness is read from sshd's own
log, so it works where the test cannot reach the port directly.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.peers import free_port, need, need_binary, stop

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def make_keypair(path: Path, kind: str = "ed25519", passphrase: str = "", bits: int = 0) -> str:
    """Write a private key at ``path`` (and ``path.pub``); return the public key line."""
    keygen = need_binary("ssh-keygen")
    args = [
        keygen,
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        f"cloudward-test-{kind}",
        "-f",
        str(path),
    ]
    if bits:
        args[2:2] = ["-b", str(bits)]
    if path.exists():
        path.unlink()
        path.with_suffix(path.suffix + ".pub").unlink(missing_ok=True)
    subprocess.run(args, check=True, capture_output=True)
    return path.with_name(path.name + ".pub").read_text().strip()


def _sshd_version(sshd: str) -> tuple[int, int]:
    out = subprocess.run([sshd, "-V"], capture_output=True, text=True)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(found[1]), int(found[2])) if found else (0, 0)


@dataclass
class Sshd:
    address: str
    port: int
    workdir: Path
    host_key: Path
    host_public: str  # "ssh-ed25519 AAAA..."
    authorized_keys: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None

    @property
    def known_hosts_name(self) -> str:
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    def known_hosts_line(self) -> str:
        key_type, blob = self.host_public.split()[:2]
        return f"{self.known_hosts_name} {key_type} {blob}\n"

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(self.known_hosts_line())
        return path

    def authorize(self, public_key: str, *, command: str | None = None, options: str = "") -> None:
        """Add a key to authorized_keys, optionally forcing ``command`` for it."""
        opts = [o for o in (options,) if o]
        if command is not None:
            escaped = command.replace('"', '\\"')  # sshd unescapes only \" in command="..."
            opts.append(f'command="{escaped}"')
        prefix = ",".join(opts)
        with self.authorized_keys.open("a") as out:
            out.write(f"{prefix} {public_key}\n" if prefix else f"{public_key}\n")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def __enter__(self) -> Sshd:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_sshd(
    workdir: Path,
    *,
    address: str = "127.0.0.1",
    port: int | None = None,
    host_key: Path | None = None,
    extra_config: str = "",
    prefix: Sequence[str] = (),
    timeout: float = 20.0,
) -> Sshd:
    """Start sshd in the foreground on ``address:port`` (a free port when None) and wait for it.

    ``host_key`` reuses a key (e.g. to restart "the same box"); otherwise a new ed25519 key is
    made in ``workdir``. ``extra_config`` lines go at the end of sshd_config (``Match`` blocks
    are fine there).
    """
    sshd = need_binary("sshd", *SSHD_CANDIDATES)
    need(os.geteuid() == 0, "sshd tests log in as root with a key and must run as root")
    workdir.mkdir(parents=True, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    if host_key is None:
        host_key = workdir / "ssh_host_ed25519_key"
        make_keypair(host_key)
    host_public = host_key.with_name(host_key.name + ".pub").read_text().strip()
    port = port or free_port()
    authorized = workdir / "authorized_keys"
    authorized.touch()
    penalties = "PerSourcePenalties no\n" if _sshd_version(sshd) >= (9, 8) else ""
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        f"ListenAddress {address}\n"
        f"HostKey {host_key}\n"
        f"PidFile {workdir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "MaxStartups 200:30:400\n"
        "MaxSessions 50\n"
        "LoginGraceTime 30\n"
        "UseDNS no\n"
        "PrintMotd no\n"
        "LogLevel VERBOSE\n"
        f"{penalties}"
        f"{extra_config}\n"
    )
    log_path = workdir / "sshd.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [*prefix, sshd, "-D", "-e", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Sshd(address, port, workdir, host_key, host_public, authorized, log_path, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {server.log()[-2000:]}")
        if f"Server listening on {address} port {port}" in server.log():
            return server
        time.sleep(0.05)
    server.stop()
    raise TimeoutError(
        f"sshd on {address}:{port} not ready within {timeout:g}s: {server.log()[-2000:]}"
    )
