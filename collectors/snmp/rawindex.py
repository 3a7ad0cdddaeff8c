"""Prefix look-ups over one device's raw ``{oid: value}`` walk, built once per identification.

Keys are sorted once (lazily, on the first subtree query) so that every subtree is a contiguous
slice found by bisection: identification never scans the whole walk more than that one time.
Also knows the few standard-MIB shapes that identification reads: the ENTITY-MIB chassis, the
HOST-RESOURCES device and installed-software tables (with installed package names sorted once for
anchored prefix look-ups), and ethernet MAC addresses.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping

from collectors.snmp.values import RawValue, mac, text

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"

ENT_PHYSICAL = "1.3.6.1.2.1.47.1.1.1.1"
# ENTITY-MIB entPhysicalTable columns by the name rules use.
ENTITY_COLUMNS = {
    "descr": 2,
    "contained_in": 4,
    "class": 5,
    "name": 7,
    "hw": 8,
    "fw": 9,
    "sw": 10,
    "serial": 11,
    "mfg": 12,
    "model": 13,
}
ENTITY_CHASSIS = 3
# Pseudo-field: the chassis's product number (entPhysicalModelName, else a product-number-looking
# entPhysicalName or entPhysicalDescr).
ENTITY_PRODUCT = "product"
# One token with letters and digits, as product numbers are written (WS-C3560G-24TS, SRX240H,
# FortiGate-60F, J9775A, RB5009UPr+S+).
_PRODUCT_TOKEN = re.compile(r"^(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9][\w+/.()-]{2,39}$")
# Words of component descriptions, never of a product number.
_COMPONENT_WORDS = re.compile(
    r"(?i)\b(?:slot|port|fan|power|supply|module|sensor|container|backplane|cpu|processor|"
    r"chassis|stack|linecard|card|transceiver|sfp|psu|tray|bay|unit \d)\b"
)
# A hex dump rendered as text ("CHASSIS 00 00 00 01", "0x4c 0x00 ..."): binary, not a name.
_HEX_DUMP = re.compile(r"(?i)(?:\b(?:0x)?[0-9a-f]{2}\b\s+){5,}(?:0x)?[0-9a-f]{2}\b")

HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"
HR_DEVICE_TYPES = {
    "processor": "1.3.6.1.2.1.25.3.1.3",
    "network": "1.3.6.1.2.1.25.3.1.4",
    "printer": "1.3.6.1.2.1.25.3.1.5",
    "disk": "1.3.6.1.2.1.25.3.1.6",
}
HR_SW_INSTALLED_NAME = "1.3.6.1.2.1.25.6.3.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.6"
ETHERNET_TYPES = frozenset({6, 62, 69, 117})


def index_key(index: str) -> tuple[int, ...]:
    """Numeric sort key of a dotted index; non-numeric arcs sort last."""
    return tuple(int(p) if p.isdigit() else 1 << 62 for p in index.split("."))


def index_text(index: str) -> str | None:
    """Decode a string-valued table index (length-prefixed or implied ASCII) to text."""
    try:
        arcs = [int(p) for p in index.split(".")]
    except ValueError:
        return None
    if arcs and arcs[0] == len(arcs) - 1:
        arcs = arcs[1:]
    if not arcs or any(a < 32 or a > 126 for a in arcs):
        return None
    return "".join(chr(a) for a in arcs)


class RawIndex:
    """Read-only view of a raw walk with prefix queries. Tolerates any key and value types."""

    __slots__ = ("_chassis", "_keys", "_packages", "_raw")

    def __init__(self, raw: Mapping[str, RawValue]) -> None:
        self._raw = raw
        self._keys: list[str] | None = None
        self._chassis: list[str] | None = None
        self._packages: list[tuple[str, str]] | None = None

    def get(self, oid: str) -> RawValue:
        try:
            value = self._raw.get(oid)
        except TypeError:
            return None
        return value if isinstance(value, bytes | int | str) else None

    def text(self, oid: str) -> str | None:
        return as_text(self.get(oid))

    def display(self, oid: str) -> str | None:
        """The value at ``oid`` when it is printable text, else None (see ``as_display``)."""
        return as_display(self.get(oid))

    def _sorted(self) -> list[str]:
        if self._keys is None:
            self._keys = sorted(k for k in self._raw if isinstance(k, str))
        return self._keys

    def subtree(self, prefix: str) -> Iterator[tuple[str, RawValue]]:
        """``(index suffix, value)`` for every OID strictly under ``prefix``, in key order."""
        keys = self._sorted()
        p = prefix + "."
        n = len(p)
        for i in range(bisect_left(keys, p), len(keys)):
            key = keys[i]
            if not key.startswith(p):
                break
            value = self.get(key)
            if value is not None:
                yield key[n:], value

    def has(self, prefix: str) -> bool:
        if self.get(prefix) is not None:
            return True
        return next(self.subtree(prefix), None) is not None

    def column(self, prefix: str) -> list[tuple[str, RawValue]]:
        """A table column's rows in numeric index order."""
        return sorted(self.subtree(prefix), key=lambda kv: index_key(kv[0]))

    def first(self, oid: str) -> tuple[str, RawValue] | None:
        """The value at ``oid`` or, when absent, the first (numerically) under it."""
        value = self.get(oid)
        if value is not None:
            return oid, value
        rows = self.column(oid)
        return (f"{oid}.{rows[0][0]}", rows[0][1]) if rows else None

    # ENTITY-MIB -------------------------------------------------------------------------------

    def chassis(self) -> list[str]:
        """entPhysicalTable indexes in the order to try for box-level facts.

        Chassis entries (class 3) first, the top-level one (containedIn 0) before stacked
        members; without chassis, top-level entries; without class or containment columns
        (some agents leave them out), every entry in index order.
        """
        if self._chassis is None:
            classes = dict(self.subtree(f"{ENT_PHYSICAL}.{ENTITY_COLUMNS['class']}"))
            parents = dict(self.subtree(f"{ENT_PHYSICAL}.{ENTITY_COLUMNS['contained_in']}"))
            found = [i for i, c in classes.items() if c == ENTITY_CHASSIS]
            if found:
                found.sort(key=lambda i: (parents.get(i) != 0, index_key(i)))
            else:
                found = sorted((i for i, p in parents.items() if p == 0), key=index_key)
            if not found and not classes and not parents:
                seen: set[str] = set()
                for col in ("descr", "model", "serial", "sw", "name"):
                    seen.update(i for i, _ in self.subtree(f"{ENT_PHYSICAL}.{ENTITY_COLUMNS[col]}"))
                found = sorted(seen, key=index_key)
            self._chassis = found
        return self._chassis

    def entity(self, field: str) -> tuple[str, str] | None:
        """``(oid, text)`` of a chassis field from the first chassis candidate that has it.

        Only printable text counts: binary values and hex dumps are skipped. ``product`` is
        entPhysicalModelName, else an entPhysicalName or entPhysicalDescr that looks like a
        product number (``looks_like_product``).
        """
        if field == ENTITY_PRODUCT:
            found = self.entity("model")
            if found:
                return found
            for col in ("name", "descr"):
                for index in self.chassis():
                    oid = f"{ENT_PHYSICAL}.{ENTITY_COLUMNS[col]}.{index}"
                    value = self.display(oid)
                    if value and looks_like_product(value):
                        return oid, value
            return None
        col = f"{ENT_PHYSICAL}.{ENTITY_COLUMNS[field]}"
        for index in self.chassis():
            oid = f"{col}.{index}"
            value = self.display(oid)
            if value:
                return oid, value
        return None

    # HOST-RESOURCES-MIB ----------------------------------------------------------------------

    def hr_device(self, kind: str) -> tuple[str, str] | None:
        """Description of the first hrDevice of a kind (``printer``, ``processor``..., ``any``)."""
        wanted = HR_DEVICE_TYPES.get(kind)
        types = dict(self.subtree(HR_DEVICE_TYPE)) if wanted else {}
        for index, value in self.column(HR_DEVICE_DESCR):
            if wanted and as_text(types.get(index)) != wanted:
                continue
            descr = as_text(value)
            if descr:
                return f"{HR_DEVICE_DESCR}.{index}", descr
        return None

    def installed_software(self) -> Iterator[tuple[str, str]]:
        for index, value in self.column(HR_SW_INSTALLED_NAME):
            name = as_text(value)
            if name:
                yield f"{HR_SW_INSTALLED_NAME}.{index}", name

    def packages(self, prefix: str) -> Iterator[tuple[str, str]]:
        """``(oid, name)`` of every installed package whose name starts with ``prefix``, by name.

        The names are sorted once per device; each look-up is then a bisection, so a rule can
        ask for a few anchored prefixes without scanning hundreds of packages with regexes.
        """
        if self._packages is None:
            found = ((as_text(v), i) for i, v in self.subtree(HR_SW_INSTALLED_NAME))
            self._packages = sorted((n, f"{HR_SW_INSTALLED_NAME}.{i}") for n, i in found if n)
        names = self._packages
        for i in range(bisect_left(names, (prefix, "")), len(names)):
            name, oid = names[i]
            if not name.startswith(prefix):
                break
            yield oid, name

    # IF-MIB ----------------------------------------------------------------------------------

    def ethernet_mac(self) -> tuple[str, str] | None:
        """MAC of the lowest-numbered ethernet interface that has one."""
        types = dict(self.subtree(IF_TYPE))
        for index, value in self.column(IF_PHYS_ADDRESS):
            if types.get(index) not in ETHERNET_TYPES:
                continue
            found = mac(value)
            if found and found != "00:00:00:00:00:00":
                return f"{IF_PHYS_ADDRESS}.{index}", found
        return None


def looks_like_product(value: str) -> bool:
    """Whether a name or description reads as a product number or a short product name.

    One token with letters and digits ("WS-C3560G-24TS"), or up to four words of which one is
    such a token and none names a component ("FortiGate 60F", not "Slot 1 Fan Tray").
    """
    words = value.split()
    if not words or len(words) > 4 or _COMPONENT_WORDS.search(value):
        return False
    return any(_PRODUCT_TOKEN.match(w) for w in words)


def as_display(value: RawValue) -> str | None:
    """Printable text, or None for binary values (control bytes inside, not just NUL padding)
    and hex dumps rendered as text. Integers and OIDs are not display text here."""
    if isinstance(value, bytes):
        body = value.rstrip(b"\x00 ")
        if any(b < 0x20 and b not in (0x09, 0x0A, 0x0D) for b in body):
            return None
        found = as_text(body)
    elif isinstance(value, str) and not isinstance(value, bool):
        found = as_text(value)
    else:
        return None
    if found is None or _HEX_DUMP.search(found):
        return None
    return found


def as_text(value: RawValue) -> str | None:
    """A raw value as display text (OIDs and integers as their decimal form)."""
    if isinstance(value, bool) or not isinstance(value, bytes | int | str):
        return None
    if isinstance(value, bytes) and value.isascii():
        # the common case, without ``text``'s per-character pass: same result when printable
        decoded = value.decode("ascii")
        if decoded.isprintable():
            return decoded.strip() or None
    return text(value)
