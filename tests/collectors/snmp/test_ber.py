"""The BER codec: round trips, agreement with pyasn1/pysnmp on every SNMP value type, and
strictness (malformed input raises ProtocolError, never anything else)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.errors import ProtocolError
from collectors.snmp import ber
from collectors.snmp.values import SnmpOid

arcs = st.tuples(
    st.integers(0, 1), st.integers(0, 39), st.lists(st.integers(0, 2**32 - 1), max_size=20)
).map(lambda t: (t[0], t[1], *t[2]))


def oid(text: str) -> bytes:
    return ber.encode_oid(text)


def response(varbinds: bytes, request_id: int = 7, status: int = 0, index: int = 0) -> bytes:
    body = (
        ber.encode_integer(request_id)
        + ber.encode_integer(status)
        + ber.encode_integer(index)
        + ber.tlv(ber.SEQUENCE, varbinds)
    )
    return ber.encode_community_message(1, b"public", ber.tlv(ber.RESPONSE, body))


def varbind(name: str, tag: int, content: bytes) -> bytes:
    return ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, oid(name)) + ber.tlv(tag, content))


@given(arcs)
def test_oid_text_round_trip(parts: tuple[int, ...]) -> None:
    text = ".".join(map(str, parts))
    encoded = ber.encode_oid(text)
    assert ber.check_oid(encoded) == encoded
    assert ber.oid_text(encoded) == text


@given(arcs, arcs)
def test_oid_order_follows_arcs(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    ea, eb = (ber.encode_oid(".".join(map(str, x))) for x in (a, b))
    assert ber.oid_after(ea, eb) == (a > b)


near = st.lists(
    st.sampled_from([0, 1, 127, 128, 129, 16383, 16384, 2**21, 2**32 - 1]), min_size=1, max_size=4
)


@given(arcs, near, near)
def test_oid_order_of_rows_sharing_a_prefix(
    base: tuple[int, ...], a: list[int], b: list[int]
) -> None:
    """Arcs of different encoded lengths right after a shared prefix: the hard case."""
    ea, eb = (ber.encode_oid(".".join(map(str, (*base, *x)))) for x in (a, b))
    assert ber.oid_after(ea, eb) == (a > b)
    assert ber.oid_after(eb, ea) == (b > a)


def test_known_oid_encodings() -> None:
    assert oid("1.3.6.1.2.1.1.1.0") == bytes.fromhex("2b06010201010100")
    assert oid(".1.3.6.1.4.1.2021.4.5.0") == bytes.fromhex("2b060104018f65040500")
    assert ber.oid_text(bytes.fromhex("2a864886f70d")) == "1.2.840.113549"
    assert ber.suffix_text(ber.subidentifiers(bytes.fromhex("8100027f"))) == "128.2.127"


@pytest.mark.parametrize("bad", ["", "1", "3.1", "1.40", "1.3.x", "1.3.-1", "1.3.4294967296"])
def test_bad_oid_text_is_a_clear_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="OID"):
        ber.encode_oid(bad)


@given(st.integers(-(2**63), 2**64))
def test_integer_round_trip(value: int) -> None:
    encoded = ber.encode_integer(value)
    tag, s, e = ber.read_tlv(encoded, 0, len(encoded))
    assert tag == ber.INTEGER and e == len(encoded)
    assert int.from_bytes(encoded[s:e], "big", signed=True) == value
    assert e - s == 1 or encoded[s : s + 2] not in (b"\x00\x00", b"\xff\xff")  # minimal


def test_pdu_round_trip() -> None:
    names = [oid("1.3.6.1.2.1.1.1.0"), oid("1.3.6.1.2.1.2.2.1.2")]
    pdu = ber.decode_pdu(*_span(ber.encode_pdu(ber.GET_BULK, 123456, 0, 25, names)))
    assert (pdu.tag, pdu.request_id, pdu.error_status, pdu.error_index) == (
        ber.GET_BULK,
        123456,
        0,
        25,
    )
    assert [(n, t, v) for n, t, v in pdu.varbinds] == [(n, ber.NULL, None) for n in names]


def _span(pdu: bytes) -> tuple[bytes, int, int]:
    return pdu, 0, len(pdu)


def test_values_agree_with_pysnmp() -> None:
    """pysnmp (pyasn1) encodes a response with every value type; we decode it to the same raw
    values as the pysnmp engine's ``to_raw``."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api

    from collectors.snmp.client import to_raw

    v2c = api.v2c
    values = [
        v2c.OctetString(b"\x00\xffLinux box"),
        v2c.Integer(-(2**31)),
        v2c.Integer(2**31 - 1),
        v2c.Counter32(2**32 - 1),
        v2c.Gauge32(128),
        v2c.TimeTicks(123456789),
        v2c.Counter64(2**64 - 1),
        v2c.Unsigned32(0),
        v2c.IpAddress("10.20.30.255"),
        v2c.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
        v2c.Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00"),
        v2c.Null(""),
        v2c.NoSuchObject(""),
        v2c.NoSuchInstance(""),
        v2c.EndOfMibView(""),
    ]
    names = [f"1.3.6.1.4.1.99999.{i}.{i * 300}" for i in range(len(values))]
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 4242)
    v2c.apiPDU.set_varbinds(pdu, list(zip(names, values, strict=True)))
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, "public")
    v2c.apiMessage.set_pdu(msg, pdu)
    data = encoder.encode(msg)
    assert ber.message_id(data) == 4242
    version, community, got = ber.decode_community_message(data)
    assert (version, community, got.request_id, got.tag) == (1, b"public", 4242, ber.RESPONSE)
    decoded = [(ber.oid_text(n), v) for n, _t, v in got.varbinds]
    assert decoded == [(n, to_raw(v)) for n, v in zip(names, values, strict=True)]
    assert isinstance(decoded[9][1], SnmpOid) and decoded[9][1] == "1.3.6.1.4.1.8072.3.2.10"
    assert [t for _n, t, _v in got.varbinds][-3:] == [0x80, 0x81, ber.END_OF_MIB_VIEW]


def test_long_form_lengths_and_unsigned_with_leading_zero() -> None:
    text = b"x" * 300
    data = response(
        varbind("1.3.6.1.2.1.1.1.0", ber.OCTET_STRING, text)
        + varbind("1.3.6.1.2.1.2.2.1.10.1", ber.COUNTER32, b"\x00\xff\xff\xff\xff")
    )
    got = ber.decode_community_message(data)[2].varbinds
    assert got[0][2] == text and got[1][2] == 2**32 - 1


MALFORMED = {
    "empty": b"",
    "not a sequence": b"\x04\x00",
    "indefinite length": b"\x30\x80\x02\x01\x01\x00\x00",
    "truncated": response(varbind("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"host"))[:-2],
    "trailing data": response(b"") + b"\x00",
    "bad version": ber.encode_community_message(
        5, b"public", ber.encode_pdu(ber.RESPONSE, 1, 0, 0, [])
    ),
    "unknown value type": response(varbind("1.3.6.1.2.1.1.5.0", 0x49, b"?")),
    "counter too long": response(varbind("1.3.6.1.2.1.1.3.0", ber.COUNTER32, b"\x01" * 6)),
    "empty integer": response(varbind("1.3.6.1.2.1.1.7.0", ber.INTEGER, b"")),
    "null with content": response(varbind("1.3.6.1.2.1.1.7.0", ber.NULL, b"\x00")),
    "incomplete oid": response(
        ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, b"\x2b\x86") + b"\x05\x00")
    ),
    "non-minimal oid": response(
        ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, b"\x2b\x80\x01") + b"\x05\x00")
    ),
    "varbind not a sequence": response(b"\x04\x00"),
    "value overruns": response(b"\x30\x06\x06\x01\x2b\x04\x05ab"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_messages_raise_protocol_error(name: str) -> None:
    with pytest.raises(ProtocolError, match="not a valid SNMP message"):
        data = MALFORMED[name]
        ber.message_id(data)
        ber.decode_community_message(data)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_protocol_error(data: bytes) -> None:
    for decode in (ber.message_id, ber.decode_community_message):
        with contextlib.suppress(ProtocolError):
            decode(data)


VALID = response(
    varbind("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"core-sw1")
    + varbind("1.3.6.1.2.1.2.2.1.5.1", ber.GAUGE32, b"\x3b\x9a\xca\x00")
    + varbind("1.3.6.1.2.1.1.2.0", ber.OBJECT_ID, oid("1.3.6.1.4.1.9.1.1208"))
    + varbind("1.3.6.1.2.1.4.20.1.1.10.0.0.1", ber.IP_ADDRESS, bytes([10, 0, 0, 1]))
)


@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4),
    st.integers(0, len(VALID)),
)
def test_mutated_messages_only_raise_protocol_error(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(VALID)
    for at, octet in edits:
        data[at] = octet
    with contextlib.suppress(ProtocolError):
        ber.decode_community_message(bytes(data[:cut] if cut else data))
