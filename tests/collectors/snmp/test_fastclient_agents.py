"""The fast engine against agents that misbehave in ways a real snmpd will not: garbage on the
SNMP port, GETNEXT loops, tooBig, stale answers, and a port where nothing listens.

Each agent is a real UDP socket on loopback answered by a thread (the codec under test builds
the answers, so these tests are about the client's behaviour, not the encoding)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collectors.errors import CollectTimeout, ProtocolError
from collectors.snmp import ber
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from tests.peers import free_port

V2C = SnmpAuth("2c", community="public")
TABLE = {f"1.3.6.1.4.1.99999.1.1.{i}": f"row {i}".encode() for i in range(1, 13)}
Answer = Callable[[ber.Pdu], list[bytes]]


class ScriptedAgent:
    """A UDP socket that answers each request with what ``answer(pdu)`` returns."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[ber.Pdu] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
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
            _version, _community, pdu = ber.decode_community_message(data)
            self.requests.append(pdu)
            for out in self.answer(pdu):
                self.sock.sendto(out, addr)

    def stop(self) -> None:
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def agent() -> Iterator[Callable[[Answer], ScriptedAgent]]:
    started: list[ScriptedAgent] = []

    def start(answer: Answer) -> ScriptedAgent:
        started.append(ScriptedAgent(answer))
        return started[-1]

    yield start
    for a in started:
        a.stop()


def respond(
    pdu: ber.Pdu,
    varbinds: list[tuple[str, int, bytes]],
    status: int = 0,
    request_id: int | None = None,
) -> bytes:
    vbs = b"".join(
        ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, ber.encode_oid(n)) + ber.tlv(t, c))
        for n, t, c in varbinds
    )
    body = (
        ber.encode_integer(pdu.request_id if request_id is None else request_id)
        + ber.encode_integer(status)
        + ber.encode_integer(0)
        + ber.tlv(ber.SEQUENCE, vbs)
    )
    return ber.encode_community_message(1, b"public", ber.tlv(ber.RESPONSE, body))


def table_answer(pdu: ber.Pdu, reps: int) -> bytes:
    """GETBULK over TABLE for one column, as an agent would."""
    after = ber.oid_text(pdu.varbinds[0][0])
    keys = sorted(TABLE, key=lambda k: tuple(map(int, k.split("."))))
    later = [k for k in keys if tuple(map(int, k.split("."))) > tuple(map(int, after.split(".")))]
    vbs = [(k, ber.OCTET_STRING, TABLE[k]) for k in later[:reps]]
    if len(vbs) < reps:
        vbs.append(("1.3.6.1.4.1.99999.2", ber.END_OF_MIB_VIEW, b""))
    return respond(pdu, vbs)


def run(port: int, call: Callable[[SnmpClient, SnmpEndpoint], Any], **ep: Any) -> Any:
    async def go() -> Any:
        client = SnmpClient()
        try:
            return await call(client, SnmpEndpoint("127.0.0.1", port, **ep))
        finally:
            client.close()

    return asyncio.run(go())


def walk(client: SnmpClient, ep: SnmpEndpoint) -> Any:
    return client.walk(ep, V2C, ["1.3.6.1.4.1.99999.1.1"])


def test_garbage_only_is_a_protocol_error_not_a_timeout(agent: Any) -> None:
    a = agent(lambda pdu: [b"HTTP/1.1 400 Bad Request\r\n\r\n"])
    with pytest.raises(ProtocolError, match="answered with data that is not SNMP") as info:
        run(a.port, walk, timeout=0.3, retries=1)
    assert not isinstance(info.value, CollectTimeout)
    assert len(a.requests) == 2  # the retry was sent too


def test_garbage_before_the_answer_is_skipped(agent: Any) -> None:
    a = agent(lambda pdu: [b"\x30\x03\x02\x01", table_answer(pdu, pdu.error_index)])
    assert run(a.port, walk) == TABLE


def test_stale_answers_are_not_garbage(agent: Any) -> None:
    a = agent(lambda pdu: [respond(pdu, [], request_id=pdu.request_id + 1)])
    with pytest.raises(CollectTimeout, match="community"):
        run(a.port, walk, timeout=0.3, retries=0)


def test_getnext_loop_is_stopped(agent: Any) -> None:
    a = agent(lambda pdu: [respond(pdu, [("1.3.6.1.4.1.99999.1.1.5", ber.INTEGER, b"\x01")] * 3)])
    with pytest.raises(ProtocolError, match="GETNEXT loop"):
        run(a.port, walk)


def test_too_big_halves_the_request(agent: Any) -> None:
    def answer(pdu: ber.Pdu) -> list[bytes]:
        if pdu.error_index > 6:  # max-repetitions
            return [respond(pdu, [], status=1)]
        return [table_answer(pdu, pdu.error_index)]

    a = agent(answer)
    assert run(a.port, walk, max_repetitions=25, values_per_request=100) == TABLE
    reps = [p.error_index for p in a.requests]
    assert reps[:3] == [25, 12, 6] and max(reps[3:]) <= 6


def test_value_cap(agent: Any) -> None:
    from collectors.errors import ValueCapExceeded

    a = agent(lambda pdu: [table_answer(pdu, pdu.error_index)])
    with pytest.raises(ValueCapExceeded, match="value_cap"):
        run(a.port, walk, value_cap=5)


def test_dead_port_times_out_with_the_hint() -> None:
    port = free_port(socket.SOCK_DGRAM)
    with pytest.raises(CollectTimeout, match=r"no response within 0.2s x 2 tries.*community"):
        run(port, walk, timeout=0.2, retries=1)


def test_unresolvable_host_is_a_connect_error() -> None:
    from collectors.errors import ConnectError

    async def go() -> Any:
        client = SnmpClient()
        try:
            ep = SnmpEndpoint("no-such-host.invalid")
            return await client.get(ep, V2C, ["1.3.6.1.2.1.1.5.0"])
        finally:
            client.close()

    with pytest.raises(ConnectError, match="cannot resolve"):
        asyncio.run(go())
