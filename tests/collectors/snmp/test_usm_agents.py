"""Both SNMP engines against SNMPv3 agents that send what RFC 3412 and RFC 3414 say a command
generator must refuse: a reply at a lower security level or for another user (RFC 3412 7.2.12b),
an unauthenticated report naming another engine in the middle of a session, an authenticated
report that would move the agent's clock backwards, an engine whose boots counter is latched at
2147483647 (RFC 3414 2.2.1), a reply that cannot be decrypted; and v1/v2c replies spoofed by a
party that can only guess request-ids.

Each agent is a real UDP socket on loopback answered by a thread; it is an authoritative engine
built on the project's own BER and USM code (discovery, time window, authPriv responses) and
sends the crafted message before the genuine answer, as an attacker racing the agent would."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collectors.errors import AuthError, ProtocolError
from collectors.snmp import ber, oids, usm
from collectors.snmp.client import Engine, SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.values import RawValue

ENGINE_A = bytes.fromhex("80001f8880aa11bb22cc33dd44")
ENGINE_B = bytes.fromhex("80001f8880ee99ee99ee99ee99")
USER, AUTH, PRIV = "cwuser", "authpass123", "privpass123"
V3 = SnmpAuth("3", user=USER, auth_key=AUTH, priv_key=PRIV)
NOT_IN_TIME_WINDOW = "1.3.6.1.6.3.15.1.1.2.0"
UNKNOWN_ENGINE_ID = "1.3.6.1.6.3.15.1.1.4.0"
MAX_BOOTS = 2147483647
GENUINE = {oids.SYS_NAME: b"genuine"}

Script = Callable[["V3Agent", usm.V3Message], list[bytes]]


def pdu(tag: int, request_id: int, varbinds: list[tuple[bytes, int, bytes]]) -> bytes:
    vbs = b"".join(
        ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, name) + ber.tlv(t, value))
        for name, t, value in varbinds
    )
    return ber.tlv(
        tag,
        ber.encode_integer(request_id)
        + ber.encode_integer(0)
        + ber.encode_integer(0)
        + ber.tlv(ber.SEQUENCE, vbs),
    )


def _authenticated(data: bytes) -> bool:
    """Whether a v3 message has the auth flag (read before its keys are known)."""
    _tag, pos, end = ber.read_tlv(data, 0, len(data))
    _version, pos = ber.read_integer(data, pos, end)
    _tag, s, e = ber.read_tlv(data, pos, end)
    for _ in range(2):  # msgID, msgMaxSize
        _value, s = ber.read_integer(data, s, e)
    flags, _s = ber.read_octets(data, s, e)
    return bool(flags[0] & usm.FLAG_AUTH)


class V3Agent:
    """An authoritative SNMPv3 engine (ENGINE_A) for one authPriv user. Discovery probes get the
    unknownEngineID report; authenticated requests outside its time window get the authenticated
    notInTimeWindow report; the others go to ``script``. Requests keyed for ENGINE_B reach an
    impostor that knows that engine's keys (the same pass phrases, localised to ENGINE_B)."""

    def __init__(self, script: Script | None = None, *, boots: int = 5) -> None:
        store = usm.KeyStore()
        self.keys = store.keys(USER, "SHA", AUTH, PRIV, ENGINE_A)
        self.keys_b = store.keys(USER, "SHA", AUTH, PRIV, ENGINE_B)
        self.auth_only = usm.UsmKeys(self.keys.user, "SHA", self.keys.auth_key, None)
        self.boots = boots
        self.started = time.monotonic()
        self.script: Script = script or (lambda agent, msg: [agent.response(msg)])
        self.seen: list[usm.V3Message] = []  # authenticated requests to ENGINE_A, in order
        self.impostor_seen: list[usm.V3Message] = []
        self.salt = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def clock(self, engine_id: bytes = ENGINE_A) -> usm.EngineState:
        return usm.EngineState(engine_id, self.boots, 1000 + int(time.monotonic() - self.started))

    def _serve(self) -> None:
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            for out in self.handle(data):
                self.sock.sendto(out, addr)

    def handle(self, data: bytes) -> list[bytes]:
        if not _authenticated(data):
            probe = usm.decode_message(data, None)
            return [self.report(probe, UNKNOWN_ENGINE_ID, None, self.clock())]
        try:
            msg = usm.decode_message(data, self.keys)
        except ProtocolError:
            msg = usm.decode_message(data, self.keys_b)
            self.impostor_seen.append(msg)
            return [self.response(msg, b"forged", self.keys_b, self.clock(ENGINE_B))]
        self.seen.append(msg)
        boots, now = self.clock().clock()
        if msg.boots != boots or abs(msg.time - now) > usm.TIME_WINDOW:
            return [self.report(msg, NOT_IN_TIME_WINDOW, self.auth_only, self.clock())]
        return self.script(self, msg)

    def _encode(
        self, msg: usm.V3Message, engine: usm.EngineState, keys: usm.UsmKeys | None, body: bytes
    ) -> bytes:
        self.salt += 1
        return usm.encode_message(msg.msg_id, engine, keys, b"", body, self.salt)

    def response(
        self,
        msg: usm.V3Message,
        value: bytes = b"genuine",
        keys: usm.UsmKeys | None = None,
        engine: usm.EngineState | None = None,
    ) -> bytes:
        """The answer to a GET: ``value`` for every name asked."""
        varbinds = [(name, ber.OCTET_STRING, value) for name, _t, _v in msg.pdu.varbinds]
        body = pdu(ber.RESPONSE, msg.pdu.request_id, varbinds)
        return self._encode(msg, engine or self.clock(), keys or self.keys, body)

    def report(
        self, msg: usm.V3Message, oid: str, keys: usm.UsmKeys | None, engine: usm.EngineState
    ) -> bytes:
        counter = [(ber.encode_oid(oid), ber.COUNTER32, b"\x01")]
        return self._encode(msg, engine, keys, pdu(ber.REPORT, msg.pdu.request_id, counter))

    def stop(self) -> None:
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def agent() -> Iterator[Callable[..., V3Agent]]:
    started: list[V3Agent] = []

    def start(script: Script | None = None, **kw: Any) -> V3Agent:
        started.append(V3Agent(script, **kw))
        return started[-1]

    yield start
    for a in started:
        a.stop()


def gets(
    engine: Engine, port: int, times: int = 1, timeout: float = 1.0, retries: int = 0
) -> list[dict[str, RawValue]]:
    """``times`` GETs of sysName in one client (one session with the agent)."""

    async def go() -> list[dict[str, RawValue]]:
        client = SnmpClient(engine)
        try:
            ep = SnmpEndpoint("127.0.0.1", port, timeout=timeout, retries=retries)
            return [await client.get(ep, V3, [oids.SYS_NAME]) for _ in range(times)]
        finally:
            client.close()

    return asyncio.run(go())


def test_the_agent_answers_both_engines(agent: Any, engine: Engine) -> None:
    a = agent()
    assert gets(engine, a.port, times=2) == [GENUINE, GENUINE]
    assert len(a.seen) >= 2 and not a.impostor_seen


def test_authnopriv_reply_to_an_authpriv_request_is_discarded(agent: Any, engine: Engine) -> None:
    """RFC 3412 7.2.12b: the reply's securityLevel must be the request's (authPriv)."""

    def script(a: V3Agent, msg: usm.V3Message) -> list[bytes]:
        return [a.response(msg, b"in clear", keys=a.auth_only), a.response(msg)]

    a = agent(script)
    assert gets(engine, a.port) == [GENUINE]


def test_reply_naming_another_user_is_discarded(agent: Any, engine: Engine) -> None:
    """RFC 3412 7.2.12b: the reply's securityName must be the request's."""

    def script(a: V3Agent, msg: usm.V3Message) -> list[bytes]:
        other = usm.UsmKeys(b"intruder", "SHA", a.keys.auth_key, a.keys.priv_key)
        return [a.response(msg, b"forged", keys=other), a.response(msg)]

    a = agent(script)
    assert gets(engine, a.port) == [GENUINE]


def test_unauthenticated_report_naming_another_engine_does_not_replace_it(
    agent: Any, engine: Engine
) -> None:
    """Mid-session, an unknownEngineID report (which anyone can forge) naming ENGINE_B arrives
    before the agent's authenticated answer: the answer wins, no request is keyed for ENGINE_B."""

    def script(a: V3Agent, msg: usm.V3Message) -> list[bytes]:
        if len(a.seen) == 2:
            forged = a.report(msg, UNKNOWN_ENGINE_ID, None, a.clock(ENGINE_B))
            return [forged, a.response(msg)]
        return [a.response(msg)]

    a = agent(script)
    assert gets(engine, a.port, times=3) == [GENUINE] * 3
    assert a.impostor_seen == []


def test_authenticated_report_cannot_move_the_clock_back(agent: Any, engine: Engine) -> None:
    """RFC 3414 3.2 step 7b: an authenticated message with an older boots than the one known is
    outside the time window (a replayed notInTimeWindow report): it is discarded, not obeyed."""

    def script(a: V3Agent, msg: usm.V3Message) -> list[bytes]:
        if len(a.seen) == 2:
            older = usm.EngineState(ENGINE_A, a.boots - 1, 4000)
            return [a.report(msg, NOT_IN_TIME_WINDOW, a.auth_only, older), a.response(msg)]
        return [a.response(msg)]

    a = agent(script)
    assert gets(engine, a.port, times=3) == [GENUINE] * 3
    assert [m.boots for m in a.seen] == [a.boots] * len(a.seen)


@pytest.mark.parametrize("times", [1, 2])
def test_engine_boots_latched_at_the_maximum_is_refused(
    agent: Any, engine: Engine, times: int
) -> None:
    """RFC 3414 2.2.1: at snmpEngineBoots 2147483647 the engine is not usable; every message from
    it is outside the time window (3.2 step 7b), for good."""
    a = agent(boots=MAX_BOOTS)
    with pytest.raises(AuthError) as info:
        gets(engine, a.port, times=times, timeout=0.5)
    assert "not in time window" in str(info.value) and "2147483647" in str(info.value)


def test_undecryptable_reply_says_decryption_failed(agent: Any, engine: Engine) -> None:
    """A reply that authenticates but does not decrypt: the privacy pass phrase (or protocol)
    differs, not the port."""

    def script(a: V3Agent, msg: usm.V3Message) -> list[bytes]:
        store = usm.KeyStore()
        wrong = store.keys(USER, "SHA", AUTH, "another-privacy-pass", ENGINE_A)
        return [
            a.response(msg, keys=usm.UsmKeys(a.keys.user, "SHA", a.keys.auth_key, wrong.priv_key))
        ]

    a = agent(script)
    with pytest.raises(AuthError, match="decryption failed: wrong privacy pass phrase or protocol"):
        gets(engine, a.port, timeout=0.5)


class V2cAgent:
    """A v1/v2c agent on loopback answering GETs with ``value``; ``before()`` gives datagrams
    and where to send them (from this agent's address) before the answer."""

    def __init__(self, value: bytes, before: Callable[[], list[tuple[bytes, Any]]] = list) -> None:
        self.value, self.before = value, before
        self.requests: list[tuple[int, Any]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            version, community, request = ber.decode_community_message(data)
            self.requests.append((request.request_id, addr))
            for out, to in self.before():
                self.sock.sendto(out, to)
            self.sock.sendto(answer(version, community, request.request_id, self.value), addr)

    def stop(self) -> None:
        self.stopping = True
        self.thread.join()
        self.sock.close()


def answer(version: int, community: bytes, request_id: int, value: bytes) -> bytes:
    vbs = [(ber.encode_oid(oids.SYS_NAME), ber.OCTET_STRING, value)]
    return ber.encode_community_message(version, community, pdu(ber.RESPONSE, request_id, vbs))


@pytest.mark.parametrize("version", ["1", "2c"])
@pytest.mark.parametrize("engine", ["fast", "pysnmp"])
def test_off_path_spoofer_cannot_guess_request_ids(engine: Engine, version: str) -> None:
    """A device the collector also polls (the spoofer) sees one request: its id and the
    collector's source address. While the collector waits on another agent, the spoofer sends
    answers from that agent's address (as a spoofed source would) with the ids near the one it
    saw, before the real answer arrives."""
    auth = SnmpAuth(version, community="public")  # type: ignore[arg-type]
    spoofer = V2cAgent(b"spoofer")
    v = 0 if version == "1" else 1

    def forge() -> list[tuple[bytes, Any]]:
        seen, source = spoofer.requests[-1]
        return [
            (answer(v, b"public", rid, b"forged"), source)
            for rid in range(seen - 64, seen + 65)
            if 0 < rid < 2**31 and rid != seen
        ]

    victim = V2cAgent(b"genuine", before=forge)

    async def go() -> list[dict[str, RawValue]]:
        client = SnmpClient(engine)
        try:
            out = []
            for port in (spoofer.port, victim.port):
                ep = SnmpEndpoint("127.0.0.1", port, timeout=1, retries=0)
                out.append(await client.get(ep, auth, [oids.SYS_NAME]))
            return out
        finally:
            client.close()

    try:
        first, second = asyncio.run(go())
    finally:
        spoofer.stop()
        victim.stop()
    assert first == {oids.SYS_NAME: b"spoofer"}
    assert second == GENUINE
