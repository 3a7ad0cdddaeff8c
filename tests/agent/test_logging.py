"""Log output as an operator sees it: failures are one clear line, not library tracebacks."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.telemetry.logs import SSH_TRANSPORT_LOG, configure_logging
from collectors.errors import CollectorError
from collectors.ssh import collect_ssh
from collectors.ssh.hostspec import SshCredentials, SshTarget


@pytest.fixture()
def not_ssh() -> Iterator[int]:
    """A listening port that never speaks SSH: the kernel completes the TCP handshake and
    nobody ever sends a banner."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture()
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)
        logging.getLogger(SSH_TRANSPORT_LOG).setLevel(logging.NOTSET)


def test_failed_ssh_handshake_is_one_error_not_a_traceback(
    not_ssh: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("info")
    target = SshTarget(
        "127.0.0.1",
        port=not_ssh,
        username="cloudward",
        known_hosts=tmp_path / "known_hosts",
        connect_timeout=1,
    )
    with pytest.raises(CollectorError) as err:
        collect_ssh(target, SshCredentials(password="unused"))
    assert f"127.0.0.1:{not_ssh}" in str(err.value)
    logging.getLogger().handlers[0].flush()
    out = capsys.readouterr().err
    assert "Traceback" not in out and "SSHException" not in out, out
    # At debug level paramiko's own account is still there for whoever needs it.
    configure_logging("debug")
    with pytest.raises(CollectorError):
        collect_ssh(target, SshCredentials(password="unused"))
    logging.getLogger().handlers[0].flush()
    assert SSH_TRANSPORT_LOG in capsys.readouterr().err
