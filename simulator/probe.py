"""A hand-encoded SNMPv2c GetRequest for sysUpTime.0: a readiness probe needing no library."""

from __future__ import annotations


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def v2c_get_packet(community: str, request_id: int = 1) -> bytes:
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = _tlv(0x30, _tlv(0x06, oid) + b"\x05\x00")
    pdu = _tlv(
        0xA0, _tlv(0x02, bytes([request_id])) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind)
    )
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)
