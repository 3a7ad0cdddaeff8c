"""A small SSH server (paramiko) that replays recorded device output, for collector tests.

    from tests.sshreplay import ReplayServer

    with ReplayServer(DATA / "cisco" / "ios-c2960x", prompt="hq-acc-sw03#") as server:
        known_hosts.write_text(server.known_hosts_line())
        ... connect to 127.0.0.1:server.port as "admin" with server.client_key_file ...

A command is answered from ``<recordings>/<command with spaces as underscores>.txt``; anything
else gets IOS's ``% Invalid input`` error. Both SSH exec requests and an interactive shell (with
a pty, echo, a prompt, ``terminal length 0`` and ``--More--`` paging until it is sent) are
served, so a client can be tested on either path. Options imitate device quirks:
``exec_enabled=False`` refuses exec channels; ``close_after_exec=True`` drops the connection after
one exec command (as many IOS releases do); ``banner`` sets the SSH identification string;
``honour_terminal_length=False`` keeps paging on; ``hang_on`` names a command never answered;
``answers`` maps exact command strings to replies (for commands too long for a file name).
Every command received is kept in :attr:`ReplayServer.received` as ``(mode, command)``.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import paramiko

INVALID = "% Invalid input detected at '^' marker.\n"
PAGE_LINES = 24


def command_file(folder: Path, command: str) -> Path:
    return folder / (command.strip().replace(" ", "_") + ".txt")


class _Handler(paramiko.ServerInterface):
    def __init__(self, server: ReplayServer, transport: paramiko.Transport) -> None:
        self.server = server
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password" if self.server.password else "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username == self.server.username and key.asbytes() == self.server.client_key.asbytes():
            return paramiko.common.AUTH_SUCCESSFUL
        return paramiko.common.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        ok = self.server.password is not None and password == self.server.password
        if username == self.server.username and ok:
            return paramiko.common.AUTH_SUCCESSFUL
        return paramiko.common.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.common.OPEN_SUCCEEDED
        return paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if not self.server.exec_enabled:
            return False
        text = command.decode("utf-8", errors="replace")
        self.server.received.append(("exec", text))
        threading.Thread(target=self._exec, args=(channel, text), daemon=True).start()
        return True

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        threading.Thread(target=self._shell, args=(channel,), daemon=True).start()
        return True

    def _exec(self, channel: paramiko.Channel, command: str) -> None:
        if command == self.server.hang_on:
            return  # the channel stays open and silent
        text, status = self.server.answer(command)
        time.sleep(0.01)  # let the "exec accepted" reply go out first, as a device would
        try:
            channel.sendall(text.encode())
            channel.send_exit_status(status)
            channel.shutdown_write()
            channel.close()
        except (OSError, EOFError, paramiko.SSHException):
            return
        if self.server.close_after_exec:
            self.transport.close()

    def _shell(self, channel: paramiko.Channel) -> None:
        prompt = self.server.prompt
        paging = True
        buf = ""
        try:
            channel.sendall(f"\r\n{self.server.motd}{prompt}".encode())
            while True:
                data = channel.recv(1024)
                if not data:
                    return
                buf += data.decode("utf-8", errors="replace")
                while "\r" in buf or "\n" in buf:
                    cut = min(i for i in (buf.find("\r"), buf.find("\n")) if i >= 0)
                    line, buf = buf[:cut], buf[cut + 1 :].lstrip("\n")
                    command = line.strip()
                    channel.sendall(f"{line}\r\n".encode())  # the terminal echo
                    if command:
                        self.server.received.append(("shell", command))
                    if command in {"exit", "logout"}:
                        channel.close()
                        return
                    if command == self.server.hang_on:
                        continue  # never answer, never prompt
                    if command.startswith("terminal length 0"):
                        paging = not self.server.honour_terminal_length
                        text = ""
                    elif command.startswith("terminal "):
                        text = ""
                    else:
                        text = self.server.answer(command)[0] if command else ""
                    self._page(channel, text, paging)
                    channel.sendall(prompt.encode())
        except (OSError, EOFError, paramiko.SSHException):
            return

    def _page(self, channel: paramiko.Channel, text: str, paging: bool) -> None:
        lines = text.replace("\r\n", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for i, line in enumerate(lines):
            channel.sendall(f"{line}\r\n".encode())
            if paging and (i + 1) % PAGE_LINES == 0 and i + 1 < len(lines):
                channel.sendall(b" --More-- ")
                while channel.recv(1) not in {b" ", b""}:
                    pass
                channel.sendall(b"\x08" * 10 + b" " * 10 + b"\x08" * 10)


class ReplayServer:
    def __init__(
        self,
        recordings: Path,
        *,
        prompt: str = "device#",
        address: str = "127.0.0.1",
        username: str = "admin",
        password: str | None = None,
        exec_enabled: bool = True,
        close_after_exec: bool = False,
        banner: str = "SSH-2.0-Cisco-1.25",
        motd: str = "",
        honour_terminal_length: bool = True,
        hang_on: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> None:
        self.recordings = recordings
        self.prompt = prompt
        self.address = address
        self.username = username
        self.password = password
        self.exec_enabled = exec_enabled
        self.close_after_exec = close_after_exec
        self.banner = banner
        self.motd = motd
        self.honour_terminal_length = honour_terminal_length
        self.hang_on = hang_on
        self.answers = answers or {}
        self.received: list[tuple[str, str]] = []
        self.host_key = paramiko.ECDSAKey.generate()
        self.client_key = paramiko.ECDSAKey.generate()
        self._listener: socket.socket | None = None
        self._transports: list[paramiko.Transport] = []
        self._stopping = threading.Event()
        self.port = 0

    def answer(self, command: str) -> tuple[str, int]:
        if command in self.answers:
            return self.answers[command], 0
        path = command_file(self.recordings, command)
        if path.is_file():
            return path.read_text(), 0
        return f"{command}\n^\n{INVALID}", 1

    def known_hosts_line(self) -> str:
        name = f"[{self.address}]:{self.port}"
        return f"{name} {self.host_key.get_name()} {self.host_key.get_base64()}\n"

    def write_client_key(self, path: Path) -> Path:
        self.client_key.write_private_key_file(str(path))
        return path

    def start(self) -> ReplayServer:
        listener = socket.socket(socket.AF_INET6 if ":" in self.address else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.address, 0))
        listener.listen(32)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            transport = paramiko.Transport(sock)
            transport.local_version = self.banner
            transport.add_server_key(self.host_key)
            self._transports.append(transport)
            try:
                transport.start_server(server=_Handler(self, transport))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        for transport in self._transports:
            transport.close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
