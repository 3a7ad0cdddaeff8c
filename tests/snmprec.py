"""Read snmpsim ``.snmprec`` recordings into the raw ``{oid: value}`` shape that the SNMP
collector's ``fetch`` returns, so that parsing and identification can be tested without a
simulator (the integration tests serve the same files through snmpsim).

Raw value types: OctetString/Opaque -> bytes; Integer/Counter/Gauge/TimeTicks -> int;
OBJECT IDENTIFIER -> str (dotted); IpAddress -> str (dotted quad); Null -> None.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from collectors.snmp.values import RawValue, SnmpOid


def decode_value(tag: str, text: str) -> RawValue:
    hexed = tag.endswith("x")
    base = tag[:-1] if hexed else tag
    if base in {"4", "68"}:
        return bytes.fromhex(text) if hexed else text.encode("utf-8", "surrogateescape")
    if base in {"2", "65", "66", "67", "70"}:
        return int(text)
    if base == "6":
        return SnmpOid(text.strip("."))
    if base == "64":
        if hexed:
            return str(ipaddress.IPv4Address(bytes.fromhex(text)))
        return text
    if base == "5":
        return None
    raise ValueError(f"unknown snmprec type {tag!r}")


def load(path: Path) -> dict[str, RawValue]:
    raw: dict[str, RawValue] = {}
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        if not line or line.startswith("#"):
            continue
        oid, tag, value = line.split("|", 2)
        raw[oid.strip(".")] = decode_value(tag.split(":")[0], value)
    return raw
