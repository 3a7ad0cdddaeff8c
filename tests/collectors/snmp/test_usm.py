"""SNMPv3 USM: RFC 3414 key localisation vectors, message authentication and privacy round
trips, tampering, reports, the time window, the checks of a response against its request and the
minimum pass-phrase length. (RFC 7860 gives no test vectors for its SHA-2 protocols: SHA-256 is
checked against pysnmp's implementation.)"""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.errors import ProtocolError
from collectors.snmp import ber, usm
from collectors.snmp.endpoint import SnmpAuth

ENGINE = bytes.fromhex("000000000000000000000002")


def test_rfc3414_a3_md5_vector() -> None:
    """A.3.1 (key derivation only: the engine does not offer HMAC-MD5-96)."""
    ku = usm.password_key("maplesyrup", "MD5")
    assert ku.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localize_key(ku, ENGINE, "MD5").hex() == "526f5eed9fcce26f8964c2930787d82b"


def test_rfc3414_a3_sha1_vector() -> None:
    ku = usm.password_key("maplesyrup", "SHA")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localize_key(ku, ENGINE, "SHA").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_sha256_localisation_matches_pysnmp() -> None:
    from hashlib import sha256

    from pyasn1.type import univ
    from pysnmp.proto.secmod.rfc3414 import localkey

    ours = usm.localize_key(usm.password_key("maplesyrup", "SHA256"), ENGINE, "SHA256")
    ref = localkey.password_to_key(univ.OctetString("maplesyrup"), univ.OctetString(ENGINE), sha256)
    assert ours == bytes(ref)
    assert ours.hex() == "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b"


def test_keystore_localises_and_truncates_the_privacy_key() -> None:
    store = usm.KeyStore()
    keys = store.keys("cwuser", "SHA256", "authpass123", "privpass123", ENGINE)
    assert store.keys("cwuser", "SHA256", "authpass123", "privpass123", ENGINE) is keys
    assert keys.auth_key == usm.localize_key(
        usm.password_key("authpass123", "SHA256"), ENGINE, "SHA256"
    )
    assert keys.priv_key is not None and len(keys.priv_key) == 16
    assert (
        keys.priv_key
        == usm.localize_key(usm.password_key("privpass123", "SHA256"), ENGINE, "SHA256")[:16]
    )
    assert "authpass" not in repr(keys) and keys.auth_key.hex() not in repr(keys)
    assert keys.flags == usm.FLAG_AUTH | usm.FLAG_PRIV
    assert store.keys("u", "SHA", None, None, ENGINE).flags == 0
    with pytest.raises(ValueError, match="empty"):
        usm.password_key("", "SHA")


def test_pass_phrases_shorter_than_8_characters_are_refused() -> None:
    """RFC 3414 section 11.2."""
    with pytest.raises(
        ValueError, match=r"7 characters long; .* at least 8 \(RFC 3414 section 11.2"
    ):
        usm.password_key("maplesy", "SHA")
    assert usm.password_key("maplesyr", "SHA")
    for field in ("auth_key", "priv_key"):
        kw = {"auth_key": "authpass123", "priv_key": "privpass123", field: "2short"}
        kind = "authentication" if field == "auth_key" else "privacy"
        with pytest.raises(ValueError, match=f"SNMPv3 {kind} pass phrase is 6 characters") as info:
            SnmpAuth("3", user="cwuser", **kw)
        assert "2short" not in str(info.value)


def _response(request_id: int = 77) -> bytes:
    body = (
        ber.encode_integer(request_id)
        + ber.encode_integer(0)
        + ber.encode_integer(0)
        + ber.tlv(
            ber.SEQUENCE,
            ber.tlv(
                ber.SEQUENCE,
                ber.tlv(ber.OBJECT_ID, ber.encode_oid("1.3.6.1.2.1.1.5.0"))
                + ber.tlv(ber.OCTET_STRING, b"secret-host-name"),
            ),
        )
    )
    return ber.tlv(ber.RESPONSE, body)


@pytest.fixture(params=["SHA", "SHA256"])
def keys(request: pytest.FixtureRequest) -> usm.UsmKeys:
    return usm.KeyStore().keys("cwuser", request.param, "authpass123", "privpass123", ENGINE)


def test_authpriv_round_trip(keys: usm.UsmKeys) -> None:
    engine = usm.EngineState(ENGINE, boots=3, time=1000)
    data = usm.encode_message(77, engine, keys, b"", _response(), salt=5)
    assert b"secret-host-name" not in data  # encrypted
    assert ber.message_id(data) == 77
    msg = usm.decode_message(data, keys)
    assert (msg.msg_id, msg.engine_id, msg.boots, msg.user) == (77, ENGINE, 3, b"cwuser")
    assert msg.flags == usm.FLAG_AUTH | usm.FLAG_PRIV | usm.FLAG_REPORTABLE
    assert msg.pdu.varbinds[0][2] == b"secret-host-name"
    assert usm.acceptor(77, keys, engine)(data).pdu.request_id == 77
    with pytest.raises(ProtocolError, match="not the response"):
        usm.acceptor(78, keys, engine)(data)


def test_wrong_keys_or_missing_keys_fail(keys: usm.UsmKeys) -> None:
    data = usm.encode_message(77, usm.EngineState(ENGINE), keys, b"", _response(), salt=5)
    other = usm.KeyStore().keys("cwuser", keys.auth_proto, "another-pass", "privpass123", ENGINE)
    with pytest.raises(ProtocolError, match="failed authentication"):
        usm.decode_message(data, other)
    with pytest.raises(ProtocolError, match="where none was expected"):
        usm.decode_message(data, None)
    plain = usm.encode_message(77, usm.EngineState(ENGINE), None, b"", _response(), salt=0)
    with pytest.raises(ProtocolError, match="unauthenticated response"):
        usm.decode_message(plain, keys)


def test_a_reply_that_does_not_decrypt_says_so(keys: usm.UsmKeys) -> None:
    data = usm.encode_message(77, usm.EngineState(ENGINE), keys, b"", _response(), salt=5)
    other = usm.KeyStore().keys("cwuser", keys.auth_proto, "authpass123", "another-pass", ENGINE)
    with pytest.raises(usm.SecurityError, match=r"^decryption failed: wrong privacy pass phrase"):
        usm.decode_message(data, other)


def test_the_reply_must_match_the_request(keys: usm.UsmKeys) -> None:
    """RFC 3412 7.2.12b: security level, user name and context."""
    engine = usm.EngineState(ENGINE, boots=3, time=1000)
    accept = usm.acceptor(77, keys, engine, b"ctx")
    assert accept(usm.encode_message(77, engine, keys, b"ctx", _response(), salt=5)).pdu
    wrong = {
        "security level authNoPriv": (
            usm.UsmKeys(keys.user, keys.auth_proto, keys.auth_key),
            b"ctx",
        ),
        "user 'other'": (
            usm.UsmKeys(b"other", keys.auth_proto, keys.auth_key, keys.priv_key),
            b"ctx",
        ),
        "context": (keys, b"another"),
    }
    for what, (k, context) in wrong.items():
        data = usm.encode_message(77, engine, k, context, _response(), salt=5)
        with pytest.raises(usm.SecurityError, match=f"{what}.*RFC 3412 7.2.12b"):
            accept(data)


@settings(max_examples=60)
@given(st.data())
def test_any_tampering_is_rejected(data: st.DataObject) -> None:
    keys = usm.KeyStore().keys("cwuser", "SHA", "authpass123", "privpass123", ENGINE)
    message = bytearray(
        usm.encode_message(9, usm.EngineState(ENGINE, 1, 50), keys, b"", _response(9), salt=1)
    )
    at = data.draw(st.integers(0, len(message) - 1))
    message[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ProtocolError):
        usm.decode_message(bytes(message), keys)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_protocol_error(data: bytes) -> None:
    keys = usm.KeyStore().keys("u", "SHA", "authpass123", "privpass123", ENGINE)
    for k in (None, keys):
        with contextlib.suppress(ProtocolError):
            usm.decode_message(data, k)


def _report(oid: str) -> bytes:
    vb = ber.tlv(
        ber.SEQUENCE,
        ber.tlv(ber.OBJECT_ID, ber.encode_oid(oid)) + ber.encode_integer(3, ber.COUNTER32),
    )
    body = (
        ber.encode_integer(5)
        + ber.encode_integer(0)
        + ber.encode_integer(0)
        + ber.tlv(ber.SEQUENCE, vb)
    )
    return ber.tlv(ber.REPORT, body)


@pytest.mark.parametrize(
    ("oid", "action"),
    [
        ("1.3.6.1.6.3.15.1.1.4.0", "engine"),
        ("1.3.6.1.6.3.15.1.1.2.0", "time"),
        ("1.3.6.1.6.3.15.1.1.5.0", "auth"),
        ("1.3.6.1.6.3.15.1.1.3.0", "auth"),
        ("1.3.6.1.6.3.15.1.1.6.0", "auth"),
        ("1.3.6.1.6.3.12.1.5.0", "protocol"),
        ("1.3.6.1.2.1.1.1.0", "protocol"),
    ],
)
def test_unauthenticated_reports_are_read(oid: str, action: str) -> None:
    keys = usm.KeyStore().keys("cwuser", "SHA", "authpass123", "privpass123", ENGINE)
    data = usm.encode_message(5, usm.EngineState(ENGINE, 7, 99), None, b"", _report(oid), 0)
    msg = usm.acceptor(5, keys, usm.EngineState(ENGINE))(data)
    assert msg.pdu.tag == ber.REPORT and (msg.boots, msg.time) == (7, 99)
    assert usm.report_reason(msg.pdu)[0] == action


def test_time_window() -> None:
    engine = usm.EngineState(ENGINE, boots=2, time=1000, confirmed=True)
    assert engine.in_window(2, 1000 - usm.TIME_WINDOW)
    assert not engine.in_window(2, 1000 - usm.TIME_WINDOW - 5)
    assert not engine.in_window(1, 5000)
    assert engine.in_window(2, 1200) and engine.clock() == (2, 1200)  # a newer clock is taken
    assert engine.in_window(3, 0) and engine.clock()[0] == 3
    engine.at -= 10  # ten seconds pass
    assert engine.clock() == (3, 10) and time.monotonic() > engine.at
    engine.at -= 1000  # our clock runs ahead of a slow agent's: its time is still taken
    assert engine.in_window(3, 500) and engine.clock() == (3, 500)


def test_a_clock_learnt_unauthenticated_is_replaced_then_only_moves_forwards() -> None:
    engine = usm.EngineState(ENGINE, boots=9, time=5000)  # from discovery: not confirmed
    assert engine.in_window(4, 100) and engine.confirmed and engine.clock() == (4, 100)
    assert not engine.in_window(3, 100) and engine.clock() == (4, 100)


def test_boots_at_the_maximum_latch_the_engine_for_good() -> None:
    """RFC 3414 2.2.1 and 3.2 step 7b."""
    discovered = usm.EngineState(ENGINE, boots=usm.MAX_BOOTS)  # unauthenticated: not for good
    assert discovered.latched and discovered.in_window(7, 100) and not discovered.latched
    engine = usm.EngineState(ENGINE, boots=7, time=100, confirmed=True)
    assert not engine.in_window(usm.MAX_BOOTS, 0) and engine.latched
    assert not engine.in_window(8, 0) and engine.latched
    accept = usm.acceptor(5, _keys_sha(), engine)
    with pytest.raises(usm.SecurityError, match="latched at 2147483647"):
        accept(usm.encode_message(5, engine, _keys_sha(), b"", _response(5), 0))


def _keys_sha() -> usm.UsmKeys:
    return usm.KeyStore().keys("cwuser", "SHA", "authpass123", "privpass123", ENGINE)
