"""What ``cloudward config check`` verifies beyond the file's shape: what ``run`` and ``scan``
would refuse later on this machine (secrets that do not resolve, key files others can read, an
API listening beyond localhost without a token)."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

from agent.configuration.config_file import SecretRef, Settings, SnmpCommunityCred, SnmpV3Cred
from agent.configuration.secrets import resolve
from agent.errors import SecretError


def listen_problems(settings: Settings, listen: str | None = None) -> list[str]:
    """The API's address: HOST:PORT, and a token when HOST is beyond localhost."""
    listen = listen or settings.api.listen
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return [f"api.listen: {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8470)"]
    host = host.strip("[]") or "127.0.0.1"
    if settings.api.token is None and not is_loopback(host):
        return [
            f"api.listen: the API would listen on {host}, beyond localhost, without a token; "
            "set api.token: {env: CLOUDWARD_API_TOKEN} (or a file) or listen on 127.0.0.1"
        ]
    return []


def is_loopback(host: str) -> bool:
    """Whether HOST (a name or an address, IPv6 with or without brackets) is this machine."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reference_problems(settings: Settings) -> list[str]:
    """Every secret reference that does not resolve here and now (an unset variable, a missing
    file, one readable by group or others), and every SSH key file missing or readable by
    others: what polling or serving would refuse later, each named by its key."""
    problems: list[str] = []

    def check(key: str, ref: SecretRef | None) -> None:
        if ref is None:
            return
        try:
            resolve(ref)
        except SecretError as exc:
            problems.append(f"{key}: {exc}")

    for name, cred in sorted(settings.credentials.items()):
        where = f"credentials.{name}"
        if isinstance(cred, SnmpCommunityCred):
            check(f"{where}.community", cred.community)
        elif isinstance(cred, SnmpV3Cred):
            check(f"{where}.auth_key", cred.auth_key)
            check(f"{where}.priv_key", cred.priv_key)
        else:
            check(f"{where}.passphrase", cred.passphrase)
            check(f"{where}.password", cred.password)
            if cred.key_file is not None:
                problem = _key_file_problem(cred.key_file)
                if problem:
                    problems.append(f"{where}.key_file: {problem}")
    check("api.token", settings.api.token)
    check("api.viewer_token", settings.api.viewer_token)
    return problems


def _key_file_problem(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"key file {path} does not exist"
    except OSError as exc:
        return f"key file {path} cannot be read: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"key file {path} is not a regular file"
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"key file {path} is readable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
        )
    if not os.access(path, os.R_OK):
        return f"key file {path} cannot be read by this user"
    return None
