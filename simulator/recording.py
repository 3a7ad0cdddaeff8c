"""One device's SNMP values, checked as they are added and written in snmpsim's format.

A :class:`Recording` holds ``OID -> (tag, value)`` with the snmprec type tags (2 Integer32, 4
OctetString, 4x hex OctetString, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32,
67 TimeTicks, 70 Counter64). Every value is checked against its type when added, so that a
recording snmpsim would refuse to serve is never written. Text that is not plain printable ASCII
(Cisco's multi-line sysDescr, binary MAC addresses, DateAndTime) is stored hex-encoded, as
snmpsim's own recorder does.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime

from simulator.errors import SimulatorError

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_RANGES = {
    "2": (-(2**31), 2**31 - 1),
    "65": (0, 2**32 - 1),
    "66": (0, 2**32 - 1),
    "67": (0, 2**32 - 1),
    "70": (0, 2**64 - 1),
}


class RecordingError(SimulatorError, ValueError):
    """A value that is not valid for its SNMP type, or estate data a renderer cannot use."""


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def date_and_time(when: date | datetime, *, zone: bool = False) -> bytes:
    """SNMPv2-TC DateAndTime: 8 octets (local time), or 11 with a UTC offset of +00:00."""
    hour = minute = second = 0
    if isinstance(when, datetime):
        hour, minute, second = when.hour, when.minute, when.second
    out = bytes([when.year >> 8, when.year & 0xFF, when.month, when.day, hour, minute, second, 0])
    return out + b"+\x00\x00" if zone else out


def index_of(address: str) -> str:
    """An IPv4/IPv6 address as an InetAddressType.length.octets index fragment."""
    ip = ipaddress.ip_address(address)
    kind = 1 if ip.version == 4 else 2
    return f"{kind}.{len(ip.packed)}." + ".".join(str(b) for b in ip.packed)


class Recording:
    """The values of one simulated agent; :meth:`text` gives the sorted snmprec file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._rows: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, oid: object) -> bool:
        return oid in self._rows

    def _put(self, oid: str, tag: str, value: str) -> None:
        if not _OID.match(oid):
            raise RecordingError(f"{self.name}: {oid!r} is not a numeric OID")
        if "\n" in value or "\r" in value:
            raise RecordingError(f"{self.name}: {oid}: line break in a snmprec value")
        self._rows[oid] = (tag, value)

    def _number(self, oid: str, tag: str, value: int) -> None:
        low, high = _RANGES[tag]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RecordingError(f"{self.name}: {oid}: {value!r} is out of range for type {tag}")
        self._put(oid, tag, str(value))

    def integer(self, oid: str, value: int) -> None:
        self._number(oid, "2", value)

    def counter32(self, oid: str, value: int) -> None:
        self._number(oid, "65", value % 2**32)

    def gauge32(self, oid: str, value: int) -> None:
        self._number(oid, "66", min(max(value, 0), 2**32 - 1))

    def ticks(self, oid: str, value: int) -> None:
        self._number(oid, "67", value % 2**32)

    def counter64(self, oid: str, value: int) -> None:
        self._number(oid, "70", value % 2**64)

    def string(self, oid: str, value: str | bytes) -> None:
        """An OctetString: plain when it is printable ASCII, hex-encoded otherwise."""
        raw = value.encode("utf-8") if isinstance(value, str) else value
        text = raw.decode("ascii", errors="replace")
        if isinstance(value, str) and _PRINTABLE.match(text) and text == text.strip():
            self._put(oid, "4", text)
        else:
            self._put(oid, "4x", raw.hex())

    def octets(self, oid: str, value: bytes) -> None:
        """An OctetString that is binary by nature (MAC, DateAndTime, bits): always hex."""
        self._put(oid, "4x", value.hex())

    def object_id(self, oid: str, value: str) -> None:
        if not _OID.match(value):
            raise RecordingError(f"{self.name}: {oid}: {value!r} is not an OBJECT IDENTIFIER")
        self._put(oid, "6", value)

    def ip(self, oid: str, value: str) -> None:
        try:
            ipaddress.IPv4Address(value)
        except ValueError as exc:
            raise RecordingError(f"{self.name}: {oid}: {value!r} is not an IpAddress") from exc
        self._put(oid, "64", value)

    def text(self) -> str:
        lines = [
            f"{oid}|{tag}|{value}"
            for oid, (tag, value) in sorted(self._rows.items(), key=lambda item: oid_key(item[0]))
        ]
        return "\n".join(lines) + "\n"
