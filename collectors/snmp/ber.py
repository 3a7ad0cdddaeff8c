"""A small, strict BER codec for SNMP: community messages, PDUs and varbinds (RFC 3416).

Only what SNMP uses: definite lengths (short or long form, at most four length octets), one-octet
tags, INTEGER, OCTET STRING, NULL, OBJECT IDENTIFIER, SEQUENCE, the SMI application types and
the SNMPv2 exception values. Any other input (truncated, trailing or malformed data included)
raises :class:`~collectors.errors.ProtocolError` and nothing else.

Object identifiers stay as their encoded contents (``bytes``) on the hot path: a column's rows
share the column's encoded prefix, so subtree tests are ``bytes.startswith`` and only the suffix
is decoded (:func:`subidentifiers`, :func:`suffix_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from collectors.errors import ProtocolError
from collectors.snmp.values import RawValue, SnmpOid

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_ID = 0x06
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
NSAP_ADDRESS = 0x45
COUNTER64 = 0x46
UINTEGER32 = 0x47
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82
GET = 0xA0
GET_NEXT = 0xA1
RESPONSE = 0xA2
GET_BULK = 0xA5
REPORT = 0xA8

# Most content octets each unsigned type may use (a leading zero octet included).
_UNSIGNED = {COUNTER32: 5, GAUGE32: 5, TIMETICKS: 5, UINTEGER32: 5, COUNTER64: 9}
_SMALL_INTEGERS = frozenset((INTEGER, COUNTER32, GAUGE32, TIMETICKS, UINTEGER32))
_OCTETS = frozenset((OCTET_STRING, OPAQUE, NSAP_ADDRESS))
_ABSENT = frozenset((NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))
_PDUS = frozenset((GET, GET_NEXT, RESPONSE, 0xA3, GET_BULK, 0xA6, 0xA7, REPORT))
ARC_TEXT = tuple(str(i) for i in range(4096))  # the text of small arcs, made once

# (name as encoded OID contents, value tag, raw value or None for NULL and the exceptions)
Varbind: TypeAlias = tuple[bytes, int, RawValue]


@dataclass(frozen=True, slots=True)
class Pdu:
    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]


def malformed(why: str) -> ProtocolError:
    return ProtocolError(f"not a valid SNMP message: {why}")


# -- encoding ---------------------------------------------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(tag, value.to_bytes(size, "big", signed=True))


_OID_CACHE: dict[str, bytes] = {}


def encode_oid(text: str) -> bytes:
    """Encoded contents (no tag or length) of a dotted OID; ``ValueError`` names a bad one."""
    cached = _OID_CACHE.get(text)
    if cached is not None:
        return cached
    try:
        arcs = [int(p) for p in text.strip().lstrip(".").split(".")]
    except ValueError:
        raise ValueError(f"{text!r} is not a numeric OID (dotted decimal)") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"{text!r} is not a valid OID: it must start 0.x, 1.x (x < 40) or 2.x")
    if any(a < 0 or a > 0xFFFFFFFF for a in arcs):
        raise ValueError(f"{text!r} is not a valid OID: arcs are 0..4294967295")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    encoded = bytes(out)
    if len(_OID_CACHE) > 8192:
        _OID_CACHE.clear()
    _OID_CACHE[text] = encoded
    return encoded


_SMALL = tuple(bytes((INTEGER, 1, i)) for i in range(128))


def _varbind(name: bytes) -> bytes:
    n = len(name)
    if n < 124:
        return bytes((SEQUENCE, n + 4, OBJECT_ID, n)) + name + b"\x05\x00"
    return tlv(SEQUENCE, tlv(OBJECT_ID, name) + b"\x05\x00")


def encode_pdu(tag: int, request_id: int, a: int, b: int, names: Sequence[bytes]) -> bytes:
    """A PDU asking for ``names`` (encoded OIDs); ``a``/``b`` are error-status/index, or
    non-repeaters/max-repetitions for GETBULK."""
    body = (
        encode_integer(request_id)
        + (_SMALL[a] if 0 <= a < 128 else encode_integer(a))
        + (_SMALL[b] if 0 <= b < 128 else encode_integer(b))
        + tlv(SEQUENCE, b"".join([_varbind(n) for n in names]))
    )
    return tlv(tag, body)


def encode_community_message(version: int, community: bytes, pdu: bytes) -> bytes:
    """An SNMPv1 (``version=0``) or SNMPv2c (``version=1``) message."""
    return tlv(SEQUENCE, encode_integer(version) + tlv(OCTET_STRING, community) + pdu)


# -- decoding ---------------------------------------------------------------------------------


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """``(tag, content start, content end)`` of the element at ``pos``; it must fit in ``end``."""
    if pos + 2 > end:
        raise malformed("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise malformed(f"multi-octet tag at offset {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise malformed("indefinite length (not allowed in SNMP)")
        if k > 4 or pos + k > end:
            raise malformed(f"bad length at offset {pos - 1}")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    stop = pos + n
    if stop > end:
        raise malformed(f"element at offset {pos} runs past its enclosing element")
    return tag, pos, stop


def read_integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """An INTEGER at ``pos``: ``(value, position after it)``."""
    if pos + 2 < end and data[pos] == INTEGER and 0 < data[pos + 1] < 10:
        e = pos + 2 + data[pos + 1]
        if e <= end:
            return int.from_bytes(data[pos + 2 : e], "big", signed=True), e
    tag, s, e = read_tlv(data, pos, end)
    if tag != INTEGER or not 0 < e - s <= 9:
        raise malformed(f"expected an INTEGER at offset {pos}")
    return int.from_bytes(data[s:e], "big", signed=True), e


def read_octets(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    tag, s, e = read_tlv(data, pos, end)
    if tag != OCTET_STRING:
        raise malformed(f"expected an OCTET STRING at offset {pos}")
    return data[s:e], e


def decode_value(tag: int, data: bytes, s: int, e: int) -> RawValue:
    """One varbind value as the collector's raw type (``None`` for NULL and the exceptions)."""
    if tag in _OCTETS:
        return data[s:e]
    n = e - s
    if tag == INTEGER:
        if n == 1:
            v = data[s]
            return v - 256 if v > 127 else v
        if 1 < n <= 9:
            return int.from_bytes(data[s:e], "big", signed=True)
    elif tag in _UNSIGNED:
        if n == 1:
            return data[s]
        if 1 < n <= _UNSIGNED[tag]:
            return int.from_bytes(data[s:e], "big")
    elif tag == OBJECT_ID:
        return SnmpOid(oid_text(check_oid(data[s:e])))
    elif tag == IP_ADDRESS:
        return ".".join(map(str, data[s:e])) if n == 4 else data[s:e].hex()
    elif tag in _ABSENT:
        if n == 0:
            return None
    else:
        raise malformed(f"unknown value type 0x{tag:02x}")
    raise malformed(f"value of type 0x{tag:02x} has a bad length {n}")


def decode_varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    """The varbinds between ``pos`` and ``end`` (the contents of a varbind list).

    The common short-form lengths are read inline: this loop is most of the cost per value.
    Reads past ``data`` raise ``IndexError``, which :func:`decode_pdu` turns into an error.
    """
    out: list[Varbind] = []
    append = out.append
    while pos < end:
        if data[pos] != SEQUENCE:
            raise malformed("a varbind is not a SEQUENCE")
        n = data[pos + 1]
        if n < 0x80 and data[pos + 2] == OBJECT_ID:
            vend = pos + 2 + n
            n = data[pos + 3]
            s = pos + 4
            e = s + n
            if n >= 0x80 or vend > end:
                _, pos, vend = read_tlv(data, pos, end)
                _, s, e = read_tlv(data, pos, vend)
        else:
            _, pos, vend = read_tlv(data, pos, end)
            tag, s, e = read_tlv(data, pos, vend)
            if tag != OBJECT_ID:
                raise malformed("a varbind name is not an OBJECT IDENTIFIER")
        name = data[s:e]
        if (not name.isascii() and 0x80 in name) or not name or name[-1] > 127:
            check_oid(name)
        tag = data[e]
        n = data[e + 1]
        if n < 0x80:
            s = e + 2
            e = s + n
        else:
            tag, s, e = read_tlv(data, e, vend)
        if e != vend:
            raise malformed("a varbind's value does not end the varbind")
        if tag == OCTET_STRING:
            append((name, tag, data[s:e]))
        elif tag in _SMALL_INTEGERS and 0 < e - s < 5:
            append((name, tag, int.from_bytes(data[s:e], "big", signed=tag == INTEGER)))
        else:
            append((name, tag, decode_value(tag, data, s, e)))
        pos = vend
    if pos != end:
        raise malformed("varbind list overruns its SEQUENCE")
    return out


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu:
    """The PDU at ``pos``; it must end exactly at ``end``."""
    try:
        tag, s, e = read_tlv(data, pos, end)
        if tag not in _PDUS or e != end:
            raise malformed(f"expected a PDU at offset {pos}")
        request_id, s = read_integer(data, s, e)
        status, s = read_integer(data, s, e)
        index, s = read_integer(data, s, e)
        tag_vbl, vs, ve = read_tlv(data, s, e)
        if tag_vbl != SEQUENCE or ve != e:
            raise malformed("expected the varbind list to end the PDU")
        return Pdu(tag, request_id, status, index, decode_varbinds(data, vs, ve))
    except IndexError:
        raise malformed("truncated varbind") from None


def decode_community_message(data: bytes) -> tuple[int, bytes, Pdu]:
    """``(version, community, pdu)`` of an SNMPv1/v2c message."""
    tag, pos, end = read_tlv(data, 0, len(data))
    if tag != SEQUENCE or end != len(data):
        raise malformed("a message must be one SEQUENCE")
    version, pos = read_integer(data, pos, end)
    if version not in (0, 1):
        raise malformed(f"version {version} is not SNMPv1 or SNMPv2c")
    community, pos = read_octets(data, pos, end)
    return version, community, decode_pdu(data, pos, end)


def message_id(data: bytes) -> int:
    """The number that matches a response to its request: the request-id for v1/v2c, msgID
    for v3 (readable without keys)."""
    tag, pos, end = read_tlv(data, 0, len(data))
    if tag != SEQUENCE:
        raise malformed("a message must be a SEQUENCE")
    version, pos = read_integer(data, pos, end)
    if version == 3:
        tag, pos, end = read_tlv(data, pos, end)
        if tag != SEQUENCE:
            raise malformed("SNMPv3 header is not a SEQUENCE")
        return read_integer(data, pos, end)[0]
    if version not in (0, 1):
        raise malformed(f"unknown SNMP version {version}")
    _, pos = read_octets(data, pos, end)
    tag, pos, end = read_tlv(data, pos, end)
    if tag not in _PDUS:
        raise malformed("expected a PDU")
    return read_integer(data, pos, end)[0]


# -- object identifiers -----------------------------------------------------------------------


def check_oid(content: bytes) -> bytes:
    """``content`` if it is a well-formed OID encoding (complete, each arc in its fewest
    octets), else raise :class:`ProtocolError`."""
    if not content or content[-1] & 0x80:
        raise malformed("incomplete OBJECT IDENTIFIER")
    start = True
    for octet in content:
        if start and octet == 0x80:
            raise malformed("OBJECT IDENTIFIER arc with a leading zero octet")
        start = octet < 0x80
    return content


def subidentifiers(content: bytes) -> tuple[int, ...]:
    """The encoded sub-identifiers (the first one holds the first two arcs). They sort as the
    OIDs do, so comparing these tuples compares OIDs."""
    if content.isascii():
        return tuple(content)
    out: list[int] = []
    append = out.append
    acc = 0
    for octet in content:
        if octet < 0x80:
            append(acc | octet)
            acc = 0
        else:
            acc = (acc | (octet & 0x7F)) << 7
    return tuple(out)


def oid_after(a: bytes, b: bytes) -> bool:
    """Is OID ``a`` strictly after OID ``b`` (lexicographic order of arcs)? Both must be
    well-formed encodings (as the decoder guarantees)."""
    if a.isascii() and b.isascii():  # one octet per arc: octet order is arc order
        return a > b
    n = min(len(a), len(b))
    diff = int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")
    if not diff:
        return len(a) > len(b)
    i = n - 1 - (diff.bit_length() - 1) // 8  # the first octet that differs
    start = i
    while start and a[start - 1] > 0x7F:  # back to the first octet of that arc
        start -= 1
    end_a = end_b = start
    while a[end_a] > 0x7F:
        end_a += 1
    while b[end_b] > 0x7F:
        end_b += 1
    if end_a != end_b:  # minimal encodings: the longer arc is the larger
        return end_a > end_b
    return a[i] > b[i]


def suffix_text(key: tuple[int, ...]) -> str:
    """Dotted text of sub-identifiers that follow a known prefix (``(1, 5)`` -> ``"1.5"``)."""
    if len(key) == 1:
        k = key[0]
        return ARC_TEXT[k] if k < 4096 else str(k)
    return ".".join([ARC_TEXT[k] if k < 4096 else str(k) for k in key])


def oid_text(content: bytes) -> str:
    """Dotted text (no leading dot) of encoded OID contents."""
    first, *rest = subidentifiers(content)
    head = f"{min(first // 40, 2)}.{first - 40 * min(first // 40, 2)}"
    return ".".join((head, *map(str, rest))) if rest else head
