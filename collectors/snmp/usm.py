"""SNMPv3 messages with the User-based Security Model (RFC 3412, RFC 3414, RFC 3826, RFC 7860).

Keys: RFC 3414 password-to-key (one megabyte of the repeated pass phrase hashed) and
localisation to the agent's engine ID, for usmHMACSHAAuthProtocol (HMAC-SHA-1-96) and
usmHMAC192SHA256AuthProtocol (HMAC-SHA-256-192); pass phrases shorter than 8 characters are
refused (RFC 3414 11.2). Privacy: usmAesCfb128Protocol, with the IV built from the engine boots,
engine time and our 64-bit salt. The engine state (ID, boots, time) learnt by discovery is kept
per agent and moves with the agent's clock.

A response must match its request (RFC 3412 7.2.12b: security level, user name, context) and
an authenticated message must be in the time window (RFC 3414 3.2 step 7b): the clock only moves
forwards once an authenticated message has set it, and an engine whose boots counter reached
2147483647 is unusable for good (RFC 3414 2.2.1). What fails these checks raises
:class:`SecurityError`, whose message says what to fix.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

from collectors.errors import ProtocolError
from collectors.snmp import ber

FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
USM_MODEL = 3
MAX_SIZE = 65507
TIME_WINDOW = 150
MAX_BOOTS = 2147483647  # RFC 3414 2.2.1: latched there, the engine is unusable
MIN_PASS_PHRASE = 8  # RFC 3414 11.2
# HMAC hash and MAC size per authentication protocol; the RFC 3414 key derivation also knows
# MD5 (its first test vector), which the engine does not offer for authentication.
AUTH_PROTOCOLS = {"SHA": ("sha1", 12), "SHA256": ("sha256", 24)}
KEY_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA256": "sha256"}

DECRYPTION_FAILED = (
    "decryption failed: wrong privacy pass phrase or protocol (the response is authentic but "
    "does not decrypt with our privacy key)"
)
LATCHED = (
    f"not in time window: the agent's snmpEngineBoots is latched at {MAX_BOOTS} "
    "(RFC 3414 2.2.1), so its SNMPv3 engine is unusable until an administrator resets it "
    "(a new engine ID or boots counter)"
)
LEVELS = {0: "noAuthNoPriv", FLAG_AUTH: "authNoPriv", FLAG_AUTH | FLAG_PRIV: "authPriv"}

# Report varbinds -> (what to do, reason). "time": re-sync the clock and retry; "engine":
# rediscover the engine ID and retry; "auth": the credentials are wrong; "protocol": give up.
REPORTS: dict[str, tuple[str, str]] = {
    "1.3.6.1.6.3.15.1.1.1.0": ("auth", "unsupported security level"),
    "1.3.6.1.6.3.15.1.1.2.0": ("time", "not in time window"),
    "1.3.6.1.6.3.15.1.1.3.0": ("auth", "unknown user name"),
    "1.3.6.1.6.3.15.1.1.4.0": ("engine", "unknown engine ID"),
    "1.3.6.1.6.3.15.1.1.5.0": ("auth", "wrong digest"),
    "1.3.6.1.6.3.15.1.1.6.0": ("auth", "decryption error"),
    "1.3.6.1.6.3.11.2.1.1.0": ("protocol", "unknown security model"),
    "1.3.6.1.6.3.11.2.1.2.0": ("protocol", "invalid message"),
    "1.3.6.1.6.3.11.2.1.3.0": ("protocol", "unknown PDU handler"),
    "1.3.6.1.6.3.12.1.4.0": ("protocol", "unavailable context"),
    "1.3.6.1.6.3.12.1.5.0": ("protocol", "unknown context"),
}


class SecurityError(ProtocolError):
    """An SNMPv3 message refused by a security check of its request (wrong digest, decryption,
    security level, user, time window); the message says what is wrong and what to fix."""


def check_pass_phrase(password: str, what: str = "an SNMPv3 pass phrase") -> None:
    """Refuse an empty pass phrase or one shorter than RFC 3414 11.2 allows (8 characters);
    ``what`` names it in the message (which never shows the pass phrase)."""
    if not password:
        raise ValueError(f"{what} must not be empty")
    if len(password) < MIN_PASS_PHRASE:
        raise ValueError(
            f"{what} is {len(password)} characters long; SNMPv3 pass phrases must be at least "
            f"{MIN_PASS_PHRASE} (RFC 3414 section 11.2): set a longer one on the agent and in "
            "the credential"
        )


def password_key(password: str, proto: str) -> bytes:
    """RFC 3414 A.2: hash the pass phrase repeated to fill one megabyte (``Ku``)."""
    check_pass_phrase(password)
    phrase = password.encode()
    reps = 1_048_576 // len(phrase) + 1
    return hashlib.new(KEY_HASHES[proto], (phrase * reps)[:1_048_576]).digest()


def localize_key(ku: bytes, engine_id: bytes, proto: str) -> bytes:
    """RFC 3414 A.2: ``Kul = H(Ku || engineID || Ku)``."""
    return hashlib.new(KEY_HASHES[proto], ku + engine_id + ku).digest()


@dataclass(frozen=True)
class UsmKeys:
    """One user's keys localised to one engine. ``repr`` never shows a key."""

    user: bytes
    auth_proto: str
    auth_key: bytes | None = field(default=None, repr=False)
    priv_key: bytes | None = field(default=None, repr=False)

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth_key else 0) | (FLAG_PRIV if self.priv_key else 0)

    def digest(self, message: bytes) -> bytes:
        name, size = AUTH_PROTOCOLS[self.auth_proto]
        return hmac.new(self.auth_key or b"", message, name).digest()[:size]


class KeyStore:
    """Caches ``Ku`` per pass phrase and localised keys per engine (hashing 1 MB is not free)."""

    def __init__(self) -> None:
        self._ku: dict[tuple[str, str], bytes] = {}
        self._keys: dict[tuple[str, str, str | None, str | None, bytes], UsmKeys] = {}

    def keys(
        self, user: str, proto: str, auth: str | None, priv: str | None, engine_id: bytes
    ) -> UsmKeys:
        key = (user, proto, auth, priv, engine_id)
        found = self._keys.get(key)
        if found is None:
            auth_key = self._local(auth, proto, engine_id) if auth else None
            priv_key = self._local(priv, proto, engine_id)[:16] if auth and priv else None
            found = UsmKeys(user.encode(), proto, auth_key, priv_key)
            self._keys[key] = found
        return found

    def _local(self, password: str, proto: str, engine_id: bytes) -> bytes:
        ku = self._ku.get((proto, password))
        if ku is None:
            ku = self._ku[(proto, password)] = password_key(password, proto)
        return localize_key(ku, engine_id, proto)


@dataclass
class EngineState:
    """What we know of an authoritative engine: its ID and its clock (boots, and the latest
    time received, which we move on with our own clock).

    ``confirmed`` is false while the clock comes only from unauthenticated messages (discovery):
    the first authenticated message then sets it whichever way; after that it only moves
    forwards (RFC 3414 3.2 step 7b).
    """

    engine_id: bytes
    boots: int = 0
    time: int = 0
    at: float = field(default_factory=monotonic)
    confirmed: bool = False

    def clock(self) -> tuple[int, int]:
        return self.boots, self.time + int(monotonic() - self.at)

    @property
    def latched(self) -> bool:
        """RFC 3414 2.2.1: boots at 2147483647 (for good once an authentic message said so)."""
        return self.boots >= MAX_BOOTS

    def update(self, boots: int, engine_time: int) -> None:
        self.boots, self.time, self.at = boots, engine_time, monotonic()

    def in_window(self, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2 step 7b for a non-authoritative receiver of an authenticated message:
        outside the window if the engine is latched, or the boots are older, or the time is
        more than 150 s older than the latest time received; a newer clock is taken."""
        if self.confirmed and self.latched:
            return False
        if boots >= MAX_BOOTS or not self.confirmed:
            self.update(boots, engine_time)
            self.confirmed = True
            return not self.latched
        if boots < self.boots or (boots == self.boots and engine_time < self.time - TIME_WINDOW):
            return False
        if boots > self.boots or engine_time > self.time:
            self.update(boots, engine_time)
        return True


@dataclass(frozen=True, slots=True)
class V3Message:
    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    pdu: ber.Pdu
    context_engine: bytes = b""
    context: bytes = b""

    @property
    def level(self) -> int:
        """The security level: its auth and priv flags."""
        return self.flags & (FLAG_AUTH | FLAG_PRIV)


def _aes(key: bytes, boots: int, engine_time: int, salt: bytes, data: bytes, enc: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    try:  # CFB moved among the "decrepit" modes in cryptography 47
        from cryptography.hazmat.decrepit.ciphers.modes import CFB
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.modes import CFB

    iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
    cipher = Cipher(algorithms.AES(key), CFB(iv))
    op = cipher.encryptor() if enc else cipher.decryptor()
    return op.update(data) + op.finalize()


def encode_message(
    msg_id: int,
    engine: EngineState | None,
    keys: UsmKeys | None,
    context: bytes,
    pdu: bytes,
    salt: int,
) -> bytes:
    """A v3 message; without ``engine``/``keys`` it is the noAuthNoPriv discovery probe."""
    engine_id = engine.engine_id if engine else b""
    boots, engine_time = engine.clock() if engine else (0, 0)
    flags = (keys.flags if keys else 0) | FLAG_REPORTABLE
    scoped = ber.tlv(
        ber.SEQUENCE,
        ber.tlv(ber.OCTET_STRING, engine_id) + ber.tlv(ber.OCTET_STRING, context) + pdu,
    )
    salt_bytes = b""
    if keys and keys.priv_key:
        salt_bytes = (salt & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        scoped = ber.tlv(
            ber.OCTET_STRING, _aes(keys.priv_key, boots, engine_time, salt_bytes, scoped, True)
        )
    mac_size = AUTH_PROTOCOLS[keys.auth_proto][1] if keys and keys.auth_key else 0
    usm_head = (
        ber.tlv(ber.OCTET_STRING, engine_id)
        + ber.encode_integer(boots)
        + ber.encode_integer(engine_time)
        + ber.tlv(ber.OCTET_STRING, keys.user if keys else b"")
    )
    usm_body = (
        usm_head
        + ber.tlv(ber.OCTET_STRING, bytes(mac_size))
        + ber.tlv(ber.OCTET_STRING, salt_bytes)
    )
    usm = ber.tlv(ber.SEQUENCE, usm_body)
    params = ber.tlv(ber.OCTET_STRING, usm)
    head = ber.encode_integer(3) + ber.tlv(
        ber.SEQUENCE,
        ber.encode_integer(msg_id)
        + ber.encode_integer(MAX_SIZE)
        + ber.tlv(ber.OCTET_STRING, bytes((flags,)))
        + ber.encode_integer(USM_MODEL),
    )
    body = head + params + scoped
    message = ber.tlv(ber.SEQUENCE, body)
    if not mac_size or keys is None:
        return message
    # The MAC replaces the zeros: skip the message and v3 headers, the headers of the security
    # parameters (OCTET STRING and SEQUENCE), the first four USM fields and the MAC's own tag
    # and length (a MAC is shorter than 128 octets).
    outer, wrappers = len(message) - len(body), len(params) - len(usm_body)
    at = outer + len(head) + wrappers + len(usm_head) + 2
    return message[:at] + keys.digest(message) + message[at + mac_size :]


def decode_message(data: bytes, keys: UsmKeys | None) -> V3Message:
    """Decode, authenticate and decrypt a v3 message; :class:`ProtocolError` if it is not a
    valid one for ``keys`` (unauthenticated messages are accepted only when they are reports)."""
    try:
        return _decode(data, keys)
    except IndexError:
        raise ber.malformed("truncated SNMPv3 message") from None
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ber.malformed(f"SNMPv3 message: {exc}") from None


def _decode(data: bytes, keys: UsmKeys | None) -> V3Message:
    read_tlv, read_int, read_octets = ber.read_tlv, ber.read_integer, ber.read_octets
    tag, pos, end = read_tlv(data, 0, len(data))
    version, pos = read_int(data, pos, end)
    if tag != ber.SEQUENCE or end != len(data) or version != 3:
        raise ber.malformed("not an SNMPv3 message")
    tag, s, pos = read_tlv(data, pos, end)
    msg_id, s = read_int(data, s, pos)
    _max_size, s = read_int(data, s, pos)
    flag_octets, s = read_octets(data, s, pos)
    model, s = read_int(data, s, pos)
    if tag != ber.SEQUENCE or len(flag_octets) != 1 or model != USM_MODEL or s != pos:
        raise ber.malformed("bad SNMPv3 header (or not the user-based security model)")
    flags = flag_octets[0]
    tag, s, pos = read_tlv(data, pos, end)
    tag2, s, e = read_tlv(data, s, pos)
    if tag != ber.OCTET_STRING or tag2 != ber.SEQUENCE or e != pos:
        raise ber.malformed("bad USM security parameters")
    engine_id, s = read_octets(data, s, e)
    boots, s = read_int(data, s, e)
    engine_time, s = read_int(data, s, e)
    user, s = read_octets(data, s, e)
    tag, mac_at, mac_end = read_tlv(data, s, e)
    salt, s = read_octets(data, mac_end, e)
    if tag != ber.OCTET_STRING or s != e or flags & 0x03 == FLAG_PRIV:
        raise ber.malformed("bad USM security parameters")
    if flags & FLAG_AUTH:
        if keys is None or not keys.auth_key:
            raise SecurityError("response discarded: authenticated where none was expected")
        zeroed = data[:mac_at] + bytes(mac_end - mac_at) + data[mac_end:]
        if not hmac.compare_digest(keys.digest(zeroed), data[mac_at:mac_end]):
            raise SecurityError(
                "response failed authentication (wrong digest): the agent's authentication "
                "pass phrase or protocol is not ours, or the response was forged"
            )
    if flags & FLAG_PRIV:
        encrypted, s = read_octets(data, pos, end)
        if keys is None or not keys.priv_key or len(salt) != 8:
            raise SecurityError("response discarded: encrypted where none was expected")
        plain = _aes(keys.priv_key, boots, engine_time, salt, encrypted, False)
        try:  # authentic (the digest matched), so what does not parse did not decrypt
            ctx_engine, ctx_name, pdu = _scoped(plain, 0, len(plain), exact=False)
        except (ProtocolError, IndexError, ValueError, OverflowError):
            raise SecurityError(DECRYPTION_FAILED) from None
    else:
        ctx_engine, ctx_name, pdu = _scoped(data, pos, end, exact=True)
    if not flags & FLAG_AUTH and keys is not None and keys.auth_key and pdu.tag != ber.REPORT:
        raise SecurityError(
            "response discarded: unauthenticated response to an authenticated request"
        )
    return V3Message(msg_id, flags, engine_id, boots, engine_time, user, pdu, ctx_engine, ctx_name)


def _scoped(data: bytes, pos: int, end: int, exact: bool) -> tuple[bytes, bytes, ber.Pdu]:
    """The scoped PDU at ``pos``: context engine ID, context name and PDU. Decrypted data may
    carry padding after it (``exact=False``)."""
    tag, s, e = ber.read_tlv(data, pos, end)
    if tag != ber.SEQUENCE or (exact and e != end):
        raise ber.malformed("bad scoped PDU")
    ctx_engine, s = ber.read_octets(data, s, e)
    ctx_name, s = ber.read_octets(data, s, e)
    return ctx_engine, ctx_name, ber.decode_pdu(data, s, e)


def acceptor(
    msg_id: int, keys: UsmKeys | None, engine: EngineState | None, context: bytes = b""
) -> Callable[[bytes], V3Message]:
    """The check a response (or report) to request ``msg_id`` must pass: raises
    :class:`SecurityError` for one that fails a security check, ProtocolError for the rest.
    Without ``keys`` and ``engine`` it is the discovery probe's (any report is taken)."""

    def accept(data: bytes) -> V3Message:
        msg = decode_message(data, keys)
        if msg.msg_id != msg_id:
            raise ber.malformed("not the response to this request")
        report = msg.pdu.tag == ber.REPORT
        if not report and (msg.pdu.tag != ber.RESPONSE or msg.pdu.request_id != msg_id):
            raise ber.malformed("not the response to this request")
        if keys is None or engine is None:
            return msg
        if not report:  # RFC 3412 7.2.11: a report may come at a lower level, for another user
            if msg.level != keys.flags:
                raise _mismatch(
                    f"it came at security level {LEVELS.get(msg.level, '?')} where "
                    f"{LEVELS.get(keys.flags, '?')} was asked"
                )
            if msg.context_engine != engine.engine_id or msg.context != context:
                raise _mismatch("its context is not the request's")
        if (not report or msg.flags & FLAG_AUTH) and msg.user != keys.user:
            raise _mismatch(f"it names user {_text(msg.user)}, not {_text(keys.user)}")
        if msg.flags & FLAG_AUTH:
            if msg.engine_id != engine.engine_id:
                raise SecurityError(
                    "response discarded: it is authenticated for another engine ID than the "
                    "agent's (RFC 3414 3.2)"
                )
            if not engine.in_window(msg.boots, msg.time):
                raise SecurityError(
                    LATCHED
                    if engine.latched
                    else "response discarded: it is outside the time window, older than the "
                    "agent's clock already seen (RFC 3414 3.2 step 7b); a replay?"
                )
        return msg

    return accept


def _text(user: bytes) -> str:
    return repr(user[:32].decode("utf-8", "replace"))  # USM user names are at most 32 octets


def _mismatch(what: str) -> SecurityError:
    return SecurityError(
        f"response discarded: {what} (RFC 3412 7.2.12b: a response must match its request); "
        "check that nothing else answers for this agent"
    )


def report_reason(pdu: ber.Pdu) -> tuple[str, str]:
    """What a Report PDU says: ``(action, reason)``, see :data:`REPORTS`."""
    for name, _tag, _value in pdu.varbinds:
        found = REPORTS.get(ber.oid_text(name))
        if found:
            return found
    names = ", ".join(ber.oid_text(n) for n, _t, _v in pdu.varbinds) or "no varbinds"
    return "protocol", f"unexpected report ({names})"
