"""Pure parsers for Linux storage (``df -PkT``, ``lsblk -P``) and packages (dpkg, rpm, apk).

>>> parse_packages({"dpkg": "ii \\tbash\\t5.2.15-2+b7\\tamd64"}, [])
[Software(name='bash', version='5.2.15-2+b7', kind='package', install_date=None, vendor=None)]
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime

from collectors.facts import Software, Storage
from collectors.ssh.rules import IdentityRules

_DF_TYPED = re.compile(r"^(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(/.*)$")
_DF_PLAIN = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(/.*)$")
_APK = re.compile(r"^(.+?)-(\d[^-\s]*-r\d+)$")


def parse_df(text: str, rules: IdentityRules, warnings: list[str]) -> list[Storage]:
    """``df -PkT`` (or ``df -Pkl`` without types): one Storage per real filesystem."""
    out: list[Storage] = []
    seen: set[str] = set()
    for line in text.splitlines():
        typed = _DF_TYPED.match(line.strip())
        plain = None if typed else _DF_PLAIN.match(line.strip())
        if typed:
            source, fstype, blocks, used, mount = typed[1], typed[2], typed[3], typed[4], typed[7]
        elif plain:
            source, fstype, blocks, used, mount = plain[1], None, plain[2], plain[3], plain[6]
        else:
            continue
        if mount in seen:
            continue
        seen.add(mount)
        kind_of = fstype or source
        if kind_of in rules.pseudo_filesystems:
            continue
        if fstype in rules.network_filesystems or (fstype is None and ":" in source):
            kind = "network"
        else:
            kind = "fixed"
        out.append(Storage(source, kind, int(blocks) * 1024, int(used) * 1024, mount))
    if text.strip() and not out:
        warnings.append("storage: df printed no filesystem lines")
    return out


def parse_lsblk(text: str) -> list[Storage]:
    """``lsblk -b -d -P -o NAME,SIZE,TYPE,ROTA,MODEL,SERIAL``: whole disks only."""
    out: list[Storage] = []
    for line in text.splitlines():
        try:
            fields = dict(part.split("=", 1) for part in shlex.split(line) if "=" in part)
        except ValueError:
            continue
        name, size = fields.get("NAME", ""), fields.get("SIZE", "")
        if fields.get("TYPE") != "disk" or not size.isdigit() or int(size) == 0:
            continue
        if name.startswith(("zram", "ram", "loop")):
            continue
        model = " ".join(fields.get("MODEL", "").split())
        media = "ssd" if fields.get("ROTA") == "0" else "hdd" if fields.get("ROTA") == "1" else ""
        descr = " ".join(x for x in (f"/dev/{name}", model, media) if x)
        out.append(Storage(descr, "disk", int(size), None, None))
    return out


def parse_packages(sections: Mapping[str, str], warnings: list[str]) -> list[Software]:
    """Installed packages from whichever package manager answered (dpkg, then rpm, then apk)."""
    found: list[Software] = []
    if sections.get("dpkg", "").strip():
        found = _dpkg(sections["dpkg"])
    if not found and sections.get("rpm", "").strip():
        found = _rpm(sections["rpm"])
    if not found and sections.get("apk", "").strip():
        found = _apk(sections["apk"])
    if not found and sections:
        managers = {"dpkg", "rpm", "apk"} & sections.keys()
        if managers:
            warnings.append(f"packages: {', '.join(sorted(managers))} listed no packages")
        else:
            warnings.append("packages: no package manager found (dpkg, rpm, apk)")
    return sorted(found, key=lambda s: (s.name, s.version or ""))


def _dpkg(text: str) -> list[Software]:
    """``${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}``; config-files-only
    and not-installed entries are skipped."""
    out: list[Software] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or len(fields[0]) < 2 or not fields[1].strip():
            continue
        if fields[0][1] in {"n", "c"}:
            continue
        out.append(Software(fields[1].strip(), fields[2].strip() or None))
    return out


def _rpm(text: str) -> list[Software]:
    """``NAME\\tEPOCH:VERSION-RELEASE\\tARCH\\tINSTALLTIME\\tVENDOR``."""
    out: list[Software] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or fields[0].startswith("gpg-pubkey"):
            continue
        installed = None
        if len(fields) > 3 and fields[3].strip().isdigit():
            try:
                stamp = datetime.fromtimestamp(int(fields[3]), tz=UTC)
                installed = stamp.date().isoformat()
            except (OverflowError, OSError, ValueError):
                installed = None
        vendor = fields[4].strip() if len(fields) > 4 and fields[4].strip() != "(none)" else None
        out.append(
            Software(
                fields[0].strip(), fields[1].strip() or None, "package", installed, vendor or None
            )
        )
    return out


def _apk(text: str) -> list[Software]:
    out: list[Software] = []
    for line in text.splitlines():
        match = _APK.match(line.strip())
        if match:
            out.append(Software(match[1], match[2]))
    return out
