"""The systemd unit: its directives (a small parser of the unit file format), and
``systemd-analyze verify`` plus its offline security rating on a copy whose ExecStart points at
this checkout's cloudward."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY
from tests.peers import need_binary

UNIT = DEPLOY / "systemd" / "cloudward.service"
INSTALLED = "/opt/cloudward/venv/bin/cloudward"
MAX_EXPOSURE = 2.0  # systemd-analyze security: 0 (locked down) .. 10 (unprotected)


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file, each a list of (key, value) in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for n, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"line {n}: not KEY=VALUE inside a section: {raw!r}"
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"line {n}: bad key {key!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def one(section: list[tuple[str, str]], key: str) -> str:
    found = values(section, key)
    assert len(found) == 1, f"{key}= should be set once, found {found}"
    return found[0]


def test_unit_directives() -> None:
    unit = parse_unit(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    s = unit["Service"]
    assert one(s, "User") == "cloudward" and one(s, "Group") == "cloudward"
    assert one(s, "ExecStart") == (
        f"{INSTALLED} run --config /etc/cloudward/cloudward.yaml --log-format json"
    )
    assert one(s, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(s, "KillSignal") == "SIGTERM"
    assert one(s, "TimeoutStopSec") == "30"
    assert one(s, "RestartPreventExitStatus") == "2"  # a refused configuration
    for key, expected in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ReadWritePaths": "/var/lib/cloudward",
        "StateDirectory": "cloudward",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }.items():
        assert one(s, key) == expected, key
    assert "@system-service" in values(s, "SystemCallFilter")
    assert "-/etc/cloudward/env" in values(s, "EnvironmentFile")
    creds = values(s, "LoadCredential")
    assert creds and all(
        re.fullmatch(r"[\w-]+:/etc/cloudward/credentials/[\w-]+", c) for c in creds
    )
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_parser_rejects_a_broken_unit() -> None:
    broken = UNIT.read_text().replace("[Service]", "Service]")
    try:
        parse_unit(broken)
    except AssertionError as exc:
        assert "not KEY=VALUE inside a section" in str(exc)
    else:
        raise AssertionError("a unit with a broken section header was accepted")


def unit_copy(tmp: Path) -> Path:
    """The unit with ExecStart/ExecStartPre pointing at this checkout's cloudward, which
    systemd-analyze verify requires to exist."""
    local = shutil.which("cloudward")
    assert local, "cloudward is not on PATH (pip install -e .)"
    path = tmp / "cloudward.service"
    path.write_text(UNIT.read_text().replace(INSTALLED, local))
    return path


@pytest.mark.peer
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = need_binary("systemd-analyze")
    path = unit_copy(tmp_path)
    r = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # Unknown keys and bad values are only warnings: there must be none about this unit.
    assert "cloudward.service" not in out, out

    # ... and verify does catch a misspelt directive.
    path.write_text(path.read_text().replace("ProtectHome=", "ProtectHomes="))
    r = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert "Unknown key" in r.stdout + r.stderr


@pytest.mark.peer
def test_systemd_analyze_security(tmp_path: Path) -> None:
    analyze = need_binary("systemd-analyze")
    path = unit_copy(tmp_path)
    r = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(path)],
        capture_output=True,
        text=True,
    )
    out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for cloudward\.service: ([\d.]+)", out)
    assert m, out
    assert float(m.group(1)) <= MAX_EXPOSURE, out
