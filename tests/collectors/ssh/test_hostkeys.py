"""known_hosts checking, without a server: OpenSSH's file format and our decisions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.errors import HostKeyError
from collectors.ssh.hostkeys import (
    HostKey,
    check_host_key,
    names_match,
    preferred_key_types,
    read_known_hosts,
)

KEY_A = HostKey("ssh-ed25519", b"\x00\x00\x00\x0bssh-ed25519" + b"A" * 36)
KEY_B = HostKey("ssh-ed25519", b"\x00\x00\x00\x0bssh-ed25519" + b"B" * 36)
NAME = "[10.0.0.5]:2222"


def _hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_fingerprint_is_openssh_sha256() -> None:
    digest = base64.b64encode(hashlib.sha256(KEY_A.blob).digest()).decode().rstrip("=")
    assert KEY_A.fingerprint == f"SHA256:{digest}"


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        (("host1", "10.0.0.5"), "10.0.0.5", True),
        (("HOST1",), "host1", True),
        (("[10.0.0.5]:2222",), "[10.0.0.5]:2222", True),
        (("10.0.0.5",), "[10.0.0.5]:2222", False),
        (("*.council.local",), "sw1.council.local", True),
        (("10.0.0.?",), "10.0.0.7", True),
        (("*.council.local", "!core.council.local"), "core.council.local", False),
        ((_hashed("10.0.0.5"),), "10.0.0.5", True),
        ((_hashed("10.0.0.5"),), "10.0.0.6", False),
        (("|1|bad",), "10.0.0.5", False),
    ],
)
def test_names_match(patterns: tuple[str, ...], name: str, expected: bool) -> None:
    assert names_match(patterns, name) is expected


def test_known_key_passes(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("# comment\n\n" + KEY_A.line(NAME))
    check_host_key(known, NAME, KEY_A, tofu=False, target="t")


def test_unknown_key_is_refused_without_tofu(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    with pytest.raises(HostKeyError) as err:
        check_host_key(known, NAME, KEY_A, tofu=False, target="t")
    assert err.value.reason == "unknown" and KEY_A.fingerprint in str(err.value)
    assert not known.exists()


def test_tofu_appends_on_a_new_line_with_private_mode(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("other.host ssh-ed25519 AAAA")  # no trailing newline
    check_host_key(known, NAME, KEY_A, tofu=True, target="t")
    lines = known.read_text().splitlines()
    assert lines[1] == KEY_A.line(NAME).strip()
    fresh = tmp_path / "fresh"
    check_host_key(fresh, NAME, KEY_A, tofu=True, target="t")
    assert os.stat(fresh).st_mode & 0o777 == 0o600


def test_changed_key_is_refused_even_with_tofu(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(KEY_A.line(NAME))
    with pytest.raises(HostKeyError) as err:
        check_host_key(known, NAME, KEY_B, tofu=True, target="t")
    assert err.value.reason == "changed"
    assert err.value.known_fingerprint == KEY_A.fingerprint
    assert err.value.fingerprint == KEY_B.fingerprint
    assert "line 1" in str(err.value) and str(known) in str(err.value)
    assert known.read_text() == KEY_A.line(NAME)


def test_revoked_key_is_refused(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("@revoked * " + KEY_A.line("x").split(" ", 1)[1])
    with pytest.raises(HostKeyError) as err:
        check_host_key(known, NAME, KEY_A, tofu=True, target="t")
    assert err.value.reason == "revoked"


def test_hashed_entry_is_found(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(KEY_A.line(_hashed(NAME)))
    check_host_key(known, NAME, KEY_A, tofu=False, target="t")


def test_unreadable_file_is_a_hostkey_error(tmp_path: Path) -> None:
    with pytest.raises(HostKeyError, match="cannot read"):
        check_host_key(tmp_path, NAME, KEY_A, tofu=False, target="t")  # a directory


@given(st.text(max_size=400))
def test_any_file_content_is_read_without_crashing(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "known_hosts"
        path.write_text(text)
        for entry in read_known_hosts(path):
            assert entry.key.key_type and entry.patterns


def test_known_key_types_are_offered_first() -> None:
    supported = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]
    assert preferred_key_types([], supported) == supported
    assert preferred_key_types(["ssh-rsa"], supported) == [
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
    ]
    assert preferred_key_types(["ecdsa-sha2-nistp256", "sk-unknown"], supported)[0] == (
        "ecdsa-sha2-nistp256"
    )
