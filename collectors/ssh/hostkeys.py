"""Host key checking against an OpenSSH ``known_hosts`` file.

Unknown keys are refused unless trust-on-first-use is on, which appends the key to the file.
A key that differs from the recorded one is always refused: :class:`HostKeyError` with
``reason="changed"`` and both SHA256 fingerprints, which the agent records as an event.

Understands plain and hashed (``|1|salt|hash``) host names, ``[host]:port``, ``*``/``?``
patterns, ``!negation``, ``@revoked`` (refused) and ``@cert-authority`` (ignored) lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from collectors.errors import HostKeyError

log = logging.getLogger(__name__)

_write_lock = threading.Lock()
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


@dataclass(frozen=True, slots=True)
class HostKey:
    key_type: str  # ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa ...
    blob: bytes  # the public key in SSH wire format

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def line(self, name: str) -> str:
        return f"{name} {self.key_type} {base64.b64encode(self.blob).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class _Entry:
    patterns: tuple[str, ...]
    key: HostKey
    marker: str | None  # None | "@revoked" | "@cert-authority"
    lineno: int


def read_known_hosts(path: Path) -> list[_Entry]:
    """Every usable line of ``path``; a missing file is empty. Unreadable lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc.strerror or exc}") from exc
    entries: list[_Entry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = fields.pop(0) if fields[0].startswith("@") else None
        if len(fields) < 3:
            log.warning("%s:%d: not a known_hosts line; skipped", path, lineno)
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except (binascii.Error, ValueError):
            log.warning("%s:%d: key is not base64; skipped", path, lineno)
            continue
        key = HostKey(fields[1], blob)
        entries.append(_Entry(tuple(fields[0].split(",")), key, marker, lineno))
    return entries


def names_match(patterns: tuple[str, ...], name: str) -> bool:
    """OpenSSH host matching: any positive pattern matches and no negated one does."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pat = pattern[1:] if negated else pattern
        if _one_matches(pat, name):
            if negated:
                return False
            matched = True
    return matched


def _one_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        parts = pattern.split("|")
        if len(parts) != 4:
            return False
        try:
            salt = base64.b64decode(parts[2])
            want = base64.b64decode(parts[3])
        except (binascii.Error, ValueError):
            return False
        got = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(got, want)
    if "*" in pattern or "?" in pattern:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, name, flags=re.IGNORECASE) is not None
    return pattern.lower() == name.lower()


def known_key_types(path: Path, name: str) -> list[str]:
    """Key types recorded for ``name`` (to prefer them when negotiating)."""
    return [
        e.key.key_type
        for e in read_known_hosts(path)
        if not e.marker and names_match(e.patterns, name)
    ]


def preferred_key_types(known: list[str], supported: list[str]) -> list[str]:
    """Host key algorithms to offer: those known_hosts holds for the host first, so that a
    recorded key is compared with a key of its own kind (as OpenSSH does)."""
    wanted: list[str] = []
    for key_type in known:
        for alg in _RSA_ALGORITHMS if key_type == "ssh-rsa" else (key_type,):
            if alg in supported and alg not in wanted:
                wanted.append(alg)
    return wanted + [alg for alg in supported if alg not in wanted]


def check_host_key(path: Path, name: str, offered: HostKey, *, tofu: bool, target: str) -> None:
    """Accept ``offered`` for ``name`` or raise :class:`HostKeyError` saying why and what to do."""
    entries = read_known_hosts(path)
    for entry in entries:
        if entry.marker == "@revoked" and entry.key.blob == offered.blob:
            raise HostKeyError(
                f"{target}: host key {offered.fingerprint} is marked @revoked in {path} "
                f"line {entry.lineno}; refusing to connect",
                target=target,
                reason="revoked",
                fingerprint=offered.fingerprint,
            )
    mine = [e for e in entries if e.marker is None and names_match(e.patterns, name)]
    if any(e.key.blob == offered.blob for e in mine):
        return
    if mine:
        old = mine[0]
        raise HostKeyError(
            f"host key for {name} changed: {path} line {old.lineno} has {old.key.key_type} "
            f"{old.key.fingerprint}, the server now offers {offered.key_type} "
            f"{offered.fingerprint}. This can mean someone is intercepting the connection; "
            f"if the box was replaced or reinstalled, remove its line from {path}",
            target=target,
            reason="changed",
            fingerprint=offered.fingerprint,
            known_fingerprint=old.key.fingerprint,
        )
    if not tofu:
        raise HostKeyError(
            f"{target}: unknown host key {offered.key_type} {offered.fingerprint} for {name}; "
            f"verify it and add it to {path} (ssh-keyscan), or allow trust on first use",
            target=target,
            reason="unknown",
            fingerprint=offered.fingerprint,
        )
    record_host_key(path, name, offered, target=target)


def record_host_key(path: Path, name: str, key: HostKey, *, target: str) -> None:
    """Append ``name key`` to ``path`` (created 0600 if missing)."""
    with _write_lock:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                if out.tell() > 0 and not path.read_bytes().endswith(b"\n"):
                    out.write("\n")
                out.write(key.line(name))
        except OSError as exc:
            raise HostKeyError(
                f"{target}: cannot record the host key in {path}: {exc.strerror or exc}; "
                "check the directory exists and is writable",
                target=target,
                reason="unknown",
                fingerprint=key.fingerprint,
            ) from exc
    log.warning(
        "%s: trusted new host key %s %s on first use (recorded in %s)",
        target,
        key.key_type,
        key.fingerprint,
        path,
    )
