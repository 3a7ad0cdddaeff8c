"""The raw value types the SNMP collector hands from ``fetch`` to ``parse``.

OctetString/Opaque -> ``bytes``; Integer/Counter32/Gauge32/TimeTicks/Counter64 -> ``int``;
OBJECT IDENTIFIER -> :class:`SnmpOid` (a ``str`` subclass, dotted, no leading dot);
IpAddress -> ``str`` (dotted quad); Null/noSuchObject -> ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias


class SnmpOid(str):
    """An OBJECT IDENTIFIER value, told apart from an IpAddress string by its type."""

    __slots__ = ()


RawValue: TypeAlias = bytes | int | str | None
Raw: TypeAlias = Mapping[str, RawValue]


def text(value: RawValue) -> str | None:
    """Decode a DisplayString-like value to text: UTF-8, else Latin-1; control chars dropped."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            s = value.decode("utf-8")
        except UnicodeDecodeError:
            s = value.decode("latin-1")
    else:
        s = str(value)
    s = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in s)
    s = s.replace("\x00", "").strip()
    return s or None


def mac(value: RawValue) -> str | None:
    """Format a 6-byte (or 8-byte) physical address as lower-case colon-separated hex."""
    if isinstance(value, bytes) and len(value) in (6, 8) and any(value):
        return ":".join(f"{b:02x}" for b in value)
    if isinstance(value, bytes | str) and value:
        s = text(value) if isinstance(value, bytes) else value
        if s:
            hexdigits = "".join(c for c in s if c in "0123456789abcdefABCDEF")
            if len(hexdigits) == 12 and len(s) <= 17:
                return ":".join(hexdigits[i : i + 2].lower() for i in range(0, 12, 2))
    return None


def integer(value: RawValue) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str):
        try:
            return int(text(value) or "")
        except ValueError:
            return None
    return None


def column(raw: Raw, prefix: str) -> dict[str, RawValue]:
    """The values of one table column keyed by index suffix (``"1"``, ``"1.2"``...)."""
    p = prefix + "."
    n = len(p)
    return {oid[n:]: v for oid, v in raw.items() if oid.startswith(p)}
