"""Recorded raw SSH output (tests/data/ssh) and golden Facts (tests/golden/ssh).

A recording is a folder of ``<command name>.txt`` files (what the device printed, exit 0).
Goldens are ``Facts.to_dict()`` as sorted JSON; a missing or different golden fails. To
re-record after a deliberate change, run with ``CLOUDWARD_UPDATE_GOLDENS=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from collectors.facts import Facts
from collectors.ssh.output import CommandOutput, decode

TESTS = Path(__file__).resolve().parents[2]
DATA = TESTS / "data" / "ssh"
GOLDEN = TESTS / "golden" / "ssh"


def load_raw(folder: Path) -> dict[str, CommandOutput]:
    return {p.stem: CommandOutput(decode(p.read_bytes())) for p in sorted(folder.glob("*.txt"))}


def check_golden(facts: Facts, name: str) -> None:
    path = GOLDEN / f"{name}.json"
    got = json.dumps(facts.to_dict(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("CLOUDWARD_UPDATE_GOLDENS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"golden {path} is missing (set CLOUDWARD_UPDATE_GOLDENS=1 to write it)"
    assert got == path.read_text(), f"Facts differ from golden {path}"
