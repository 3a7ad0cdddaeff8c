"""What to poll over SSH (:class:`SshTarget`) and how to log in (:class:`SshCredentials`).

Credentials arrive already resolved (the agent reads environment variables and files); their
``repr`` never shows a secret.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SshTarget:
    host: str
    _: KW_ONLY
    port: int = 22
    username: str
    known_hosts: Path
    tofu: bool = False
    platform: str | None = None  # None: detect with a fixed probe command
    connect_timeout: float = 10
    command_timeout: float = 30

    def __post_init__(self) -> None:
        problems = []
        if not self.host or any(c.isspace() for c in self.host):
            problems.append(f"host {self.host!r} must be a name or address without spaces")
        if not 1 <= self.port <= 65535:
            problems.append(f"port {self.port} must be from 1 to 65535")
        if not self.username:
            problems.append("username must not be empty")
        if self.connect_timeout <= 0 or self.command_timeout <= 0:
            problems.append("connect_timeout and command_timeout must be positive seconds")
        if self.platform is not None:
            from collectors.ssh.commands import load_allow_list

            try:
                load_allow_list().platform(self.platform)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError(f"SSH target {self.label}: " + "; ".join(problems))

    @property
    def label(self) -> str:
        """``user@host:port`` as used in messages and as the Facts target."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.username}@{host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH names this host in known_hosts: ``host`` on port 22, else ``[host]:port``."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


@dataclass(frozen=True, slots=True)
class SshCredentials:
    key_file: Path | None = None
    key_passphrase: str | None = None
    password: str | None = None  # used only when given, and only after the key (if any)

    def __repr__(self) -> str:
        passphrase = "'***'" if self.key_passphrase is not None else "None"
        password = "'***'" if self.password is not None else "None"
        return (
            f"SshCredentials(key_file={self.key_file!r}, key_passphrase={passphrase}, "
            f"password={password})"
        )

    __str__ = __repr__
