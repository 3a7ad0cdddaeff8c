"""The SSH client: the only module that imports paramiko, and where its errors are translated.

One :class:`SshSession` per target: our own TCP socket (``TCP_NODELAY`` set, connect timeout),
one paramiko ``Transport``, the host key checked against known_hosts before any credential is
sent, key authentication (a password only when configured), then allow-listed commands, each on
its own channel, several at once where the platform allows. A command that does not finish in
time has its channel closed and raises :class:`CollectTimeout` naming it; output beyond
``max_output`` bytes is cut off and marked truncated.
"""

from __future__ import annotations

import logging
import re
import select
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType

import paramiko

from collectors.errors import (
    AuthError,
    CollectorError,
    CollectTimeout,
    ConnectError,
    CredentialError,
    ProtocolError,
)
from collectors.ssh.commands import Command
from collectors.ssh.hostkeys import HostKey, check_host_key, known_key_types, preferred_key_types
from collectors.ssh.hostspec import SshCredentials, SshTarget
from collectors.ssh.output import CommandOutput, decode
from collectors.ssh.shell import PromptShell

log = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 16 * 1024 * 1024


@dataclass
class _Running:
    command: Command
    channel: paramiko.Channel
    deadline: float
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    truncated: bool = False


class SshSession:
    """An authenticated connection to one target. Use as a context manager."""

    def __init__(
        self, target: SshTarget, creds: SshCredentials, *, max_output: int = MAX_OUTPUT_BYTES
    ) -> None:
        self.target = target
        self._creds = creds
        self._max = max_output
        self._transport = _establish(target, creds)
        self._shell: PromptShell | None = None

    @property
    def banner(self) -> str:
        """The server's SSH identification string (``SSH-2.0-OpenSSH_9.2p1 Debian-2``)."""
        return str(self._transport.remote_version or "")

    @property
    def peer_address(self) -> str | None:
        """The address actually connected to (a name in the target resolves to this)."""
        with suppress(OSError, IndexError):
            return str(self._transport.getpeername()[0])
        return None

    @property
    def local_endpoint(self) -> tuple[str, int] | None:
        """Our own end of the SSH connection (to leave our session out of the connections)."""
        sock = self._transport.sock
        if isinstance(sock, socket.socket):
            with suppress(OSError, IndexError):
                host, port = sock.getsockname()[:2]
                return str(host), int(port)
        return None

    def __enter__(self) -> SshSession:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # -- exec channels -----------------------------------------------------------------------

    def run_exec(
        self, commands: Sequence[Command], timeout: float, parallel: int = 1
    ) -> dict[str, CommandOutput]:
        """Run each command on its own exec channel, up to ``parallel`` at once."""
        pending = list(commands)
        running: list[_Running] = []
        done: dict[str, CommandOutput] = {}
        try:
            while pending or running:
                while pending and len(running) < parallel:
                    started = self._start(pending[0], timeout, others=bool(running))
                    if started is None:  # the server limits sessions: wait for one to end
                        parallel = max(1, len(running))
                        break
                    cmd = pending.pop(0)
                    if isinstance(started, CommandOutput):
                        done[cmd.name] = started
                    else:
                        running.append(started)
                self._pump(running, done)
        finally:
            for run in running:
                _close_quietly(run.channel)
        return done

    def _start(
        self, cmd: Command, timeout: float, *, others: bool
    ) -> _Running | CommandOutput | None:
        label = self.target.label
        if not self._transport.is_active():
            raise ConnectError(
                f"{label}: the connection dropped before {cmd.label!r}", target=label
            )
        try:
            chan = self._transport.open_session(timeout=timeout)
        except paramiko.ChannelException as exc:
            if others:
                return None
            return CommandOutput("", exit_status=None, stderr=str(exc), refused=True)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectError(f"{label}: cannot open a channel: {exc}", target=label) from exc
        try:
            chan.exec_command(cmd.run)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            # A fast server may answer and close before its "exec accepted" reply arrives.
            if not (chan.recv_ready() or chan.recv_stderr_ready() or chan.exit_status != -1):
                _close_quietly(chan)
                return CommandOutput("", exit_status=None, stderr=str(exc), refused=True)
        log.debug("%s: started %s", label, cmd.label)
        return _Running(cmd, chan, time.monotonic() + timeout)

    def _pump(self, running: list[_Running], done: dict[str, CommandOutput]) -> None:
        """Read what has arrived on every running channel; retire the finished ones."""
        moved = False
        for run in list(running):
            moved |= self._drain(run)
            chan = run.channel
            idle = not chan.recv_ready() and not chan.recv_stderr_ready()
            if run.truncated or (
                idle and (chan.closed or (chan.eof_received and chan.exit_status_ready()))
            ):
                status = chan.exit_status if chan.exit_status_ready() else None
                if (status is None or status < 0) and not self._transport.is_active():
                    label = self.target.label
                    raise ConnectError(
                        f"{label}: the connection dropped while {run.command.label!r} was "
                        "running; the poll failed and what was stored before is kept",
                        target=label,
                    )
                done[run.command.name] = CommandOutput(
                    decode(bytes(run.out)), status, decode(bytes(run.err)), run.truncated
                )
                _close_quietly(chan)
                running.remove(run)
                moved = True
            elif time.monotonic() > run.deadline:
                label = self.target.label
                raise CollectTimeout(
                    f"{label}: command {run.command.label!r} did not finish within "
                    f"{self.target.command_timeout:g}s; its channel was closed",
                    target=label,
                )
        if running and not moved:
            wait = max(0.0, min(0.05, min(r.deadline for r in running) - time.monotonic()))
            select.select([r.channel.fileno() for r in running], [], [], wait)

    def _drain(self, run: _Running) -> bool:
        moved = False
        chan = run.channel
        while chan.recv_ready() or chan.recv_stderr_ready():
            if chan.recv_ready():
                run.out += chan.recv(65536)
            if chan.recv_stderr_ready():
                run.err += chan.recv_stderr(65536)
            moved = True
            if len(run.out) + len(run.err) > self._max:
                del run.out[self._max :]
                run.truncated = True
                log.warning(
                    "%s: output of %s cut at %d bytes",
                    self.target.label,
                    run.command.label,
                    self._max,
                )
                break
        return moved

    # -- interactive shell -------------------------------------------------------------------

    def run_shell(
        self,
        commands: Sequence[Command],
        *,
        setup: Sequence[Command],
        prompt_rule: re.Pattern[str],
        more_rule: re.Pattern[str],
        timeout: float,
    ) -> dict[str, CommandOutput]:
        """Run commands in one interactive shell (reconnecting once if exec closed the link)."""
        if self._shell is None:
            try:
                chan = self._open_shell(timeout)
            except ConnectError:  # the device dropped the link after an exec command
                log.info("%s: reconnecting for an interactive shell", self.target.label)
                self._transport.close()
                self._transport = _establish(self.target, self._creds)
                chan = self._open_shell(timeout)
            self._shell = PromptShell(
                chan,
                prompt=prompt_rule,
                more=more_rule,
                target=self.target.label,
                max_output=self._max,
            )
            self._shell.start(setup, timeout)
        return {cmd.name: self._shell.run(cmd, timeout) for cmd in commands}

    def _open_shell(self, timeout: float) -> paramiko.Channel:
        if not self._transport.is_active():
            raise ConnectError(f"{self.target.label}: connection closed", target=self.target.label)
        with _translated(self.target.label, "opening a shell"):
            chan = self._transport.open_session(timeout=timeout)
            chan.get_pty(term="vt100", width=511, height=0)
            chan.invoke_shell()
        return chan


def _close_quietly(chan: paramiko.Channel) -> None:
    """Close a channel; on a connection that already died the close cannot be sent."""
    with suppress(EOFError, OSError, paramiko.SSHException):
        chan.close()


# -- connecting ------------------------------------------------------------------------------


def _establish(target: SshTarget, creds: SshCredentials) -> paramiko.Transport:
    label = target.label
    sock = _open_socket(target)
    transport = paramiko.Transport(sock)
    try:
        transport.set_log_channel("collectors.ssh.transport")
        transport.banner_timeout = target.connect_timeout
        transport.handshake_timeout = target.connect_timeout
        transport.auth_timeout = target.connect_timeout
        options = transport.get_security_options()
        known = known_key_types(target.known_hosts, target.known_hosts_name)
        options.key_types = preferred_key_types(known, list(options.key_types))
        with _translated(label, "the SSH handshake"):
            transport.start_client(timeout=target.connect_timeout)
            if not transport.is_active() or not transport.initial_kex_done:
                raise CollectTimeout(
                    f"{label}: no SSH handshake within {target.connect_timeout:g}s; "
                    "is this an SSH port?",
                    target=label,
                )
            server_key = transport.get_remote_server_key()
        check_host_key(
            target.known_hosts,
            target.known_hosts_name,
            HostKey(server_key.get_name(), server_key.asbytes()),
            tofu=target.tofu,
            target=label,
        )
        with _translated(label, "logging in"):
            _authenticate(transport, target, creds)
    except BaseException:
        transport.close()
        raise
    return transport


def _open_socket(target: SshTarget) -> socket.socket:
    label, t = target.label, target.connect_timeout
    try:
        sock = socket.create_connection((target.host, target.port), timeout=t)
    except TimeoutError as exc:
        msg = f"{label}: no TCP answer within {t:g}s; is the host up and port {target.port} open?"
        raise CollectTimeout(msg, target=label) from exc
    except ConnectionRefusedError as exc:
        msg = f"{label}: connection refused; is sshd listening on port {target.port}?"
        raise ConnectError(msg, target=label) from exc
    except socket.gaierror as exc:
        msg = f"{label}: cannot resolve {target.host!r}: {exc.strerror}; check the host name"
        raise ConnectError(msg, target=label) from exc
    except OSError as exc:
        raise ConnectError(f"{label}: cannot connect: {exc.strerror or exc}", target=label) from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _authenticate(transport: paramiko.Transport, target: SshTarget, creds: SshCredentials) -> None:
    label, user = target.label, target.username
    allowed: list[str] = []
    tried: list[str] = []
    if creds.key_file is not None:
        pkey = _load_key(creds, label)
        tried.append(f"key {creds.key_file.name}")
        try:
            rest = transport.auth_publickey(user, pkey)
            if not rest:
                return
            allowed = list(rest)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
        except paramiko.AuthenticationException:
            pass
    if creds.password is not None:
        tried.append("password")
        password = creds.password
        try:
            transport.auth_password(user, password)
            return
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            if "keyboard-interactive" in allowed:
                try:
                    transport.auth_interactive(
                        user, lambda _t, _i, prompts: [password for _ in prompts]
                    )
                    return
                except paramiko.AuthenticationException:
                    pass
        except paramiko.AuthenticationException:
            pass
    if not tried:
        raise AuthError(f"{label}: no SSH key or password configured for this target", target=label)
    if not allowed:
        allowed = _allowed_methods(transport, user)
    offered = f" (server accepts: {', '.join(allowed)})" if allowed else ""
    raise AuthError(
        f"{label}: login refused for {user} with {' and '.join(tried)}{offered}; check the user "
        "name, that the key is in its authorized_keys (or the password), and that the account "
        "may log in over SSH",
        target=label,
    )


def _allowed_methods(transport: paramiko.Transport, user: str) -> list[str]:
    """What the server would accept (asked with a "none" login, as OpenSSH does)."""
    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as exc:
        return list(exc.allowed_types)
    except (paramiko.SSHException, OSError, EOFError):
        pass
    return []


def _load_key(creds: SshCredentials, label: str) -> paramiko.PKey:
    path = creds.key_file
    assert path is not None
    try:
        secret = creds.key_passphrase.encode("utf-8") if creds.key_passphrase is not None else None
        # paramiko's stub says str, but cryptography (which it calls) needs bytes.
        return paramiko.PKey.from_path(path, secret)  # type: ignore[arg-type]
    except paramiko.PasswordRequiredException as exc:
        msg = f"{label}: SSH key {path} is encrypted; configure its passphrase"
        raise CredentialError(msg, target=label) from exc
    except OSError as exc:
        msg = f"{label}: cannot read SSH key {path}: {exc.strerror or exc}"
        raise CredentialError(msg, target=label) from exc
    except (paramiko.SSHException, ValueError, TypeError) as exc:
        msg = (
            f"{label}: cannot load SSH key {path}: wrong passphrase, or not an ed25519, ecdsa "
            "or rsa private key"
        )
        raise CredentialError(msg, target=label) from exc


@contextmanager
def _translated(label: str, phase: str) -> Iterator[None]:
    """paramiko and socket errors during ``phase`` -> collectors.errors, in one place."""
    try:
        yield
    except CollectorError:
        raise
    except paramiko.AuthenticationException as exc:
        if "timeout" in str(exc).lower():
            raise CollectTimeout(f"{label}: no answer while {phase}: {exc}", target=label) from exc
        raise AuthError(f"{label}: login refused: {exc}", target=label) from exc
    except paramiko.SSHException as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, TimeoutError) or "timed out" in str(exc).lower():
            msg = f"{label}: no answer within the time allowed during {phase}: {exc}"
            raise CollectTimeout(msg, target=label) from exc
        if "banner" in str(exc).lower():
            msg = f"{label}: not an SSH server (no SSH banner) or it closed during {phase}: {exc}"
            raise ProtocolError(msg, target=label) from exc
        raise ProtocolError(f"{label}: SSH failed during {phase}: {exc}", target=label) from exc
    except TimeoutError as exc:
        raise CollectTimeout(f"{label}: timed out during {phase}", target=label) from exc
    except (EOFError, OSError) as exc:
        why = f"{exc or type(exc).__name__}"
        msg = f"{label}: connection closed during {phase} ({why}); the server may limit logins"
        raise ConnectError(f"{msg} (MaxStartups) or refuse this address", target=label) from exc
