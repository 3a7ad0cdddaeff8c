"""One asyncio UDP socket per address family, shared by every SNMP target of a client.

Each request waits for the datagram from its agent's address whose request-id (v1/v2c) or msgID
(v3) is its own and that its ``accept`` function takes; the request is sent again after each
timeout until its tries run out. A datagram from an agent we are waiting on that is not SNMP (or
that its request rejects) is counted as garbage, so that a request that only ever got garbage
can say so instead of timing out. An answer ``accept`` calls :class:`Provisional` is kept aside
and taken only if no other is accepted before the try times out.

Request-ids are drawn at random from ``secrets`` (a party that sees one request cannot guess
the next), and each socket is bound to a port the system picks at random, so that a reply
forged from an agent's address has to guess both.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from collectors.errors import ProtocolError
from collectors.snmp.ber import message_id

log = logging.getLogger(__name__)

T = TypeVar("T")
Address = tuple[str, int]
RECEIVE_BUFFER = 4 * 1024 * 1024


class NoAnswer(Exception):
    """Every try timed out. ``garbage`` counts the datagrams from the agent that were not a valid
    answer; ``error`` is what was wrong with the last one (``why``, its text)."""

    def __init__(self, garbage: int, error: ProtocolError | None) -> None:
        super().__init__(str(error) if error else "no answer")
        self.garbage = garbage
        self.error = error
        self.why = str(error) if error else None


class Provisional(Exception):
    """Raised by an ``accept`` function for an answer to take only if no other is accepted
    before the try times out (an unauthenticated SNMPv3 report, which anyone can forge, while
    an authenticated answer may still come)."""

    def __init__(self, result: object) -> None:
        super().__init__("a provisional answer")
        self.result = result


class _Exchange:
    __slots__ = (
        "accept",
        "address",
        "error",
        "future",
        "garbage",
        "held",
        "payload",
        "start",
        "timeout",
        "timer",
        "tries",
    )

    def __init__(
        self,
        address: Address,
        payload: bytes,
        accept: Callable[[bytes], Any],
        future: asyncio.Future[Any],
        timeout: float,
        tries: int,
        start: int,
    ) -> None:
        self.address = address
        self.payload = payload
        self.accept = accept
        self.future = future
        self.timeout = timeout
        self.tries = tries
        self.start = start
        self.garbage = 0
        self.error: ProtocolError | None = None
        self.held: Provisional | None = None
        self.timer: asyncio.TimerHandle | None = None


class _Peer:
    """An agent we are waiting on: how many requests, and the garbage it sent meanwhile."""

    __slots__ = ("error", "garbage", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self.garbage = 0
        self.error: ProtocolError | None = None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner.received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("SNMP socket error: %s", exc)


class UdpTransport:
    """Request/response over shared UDP sockets; opened lazily on the running loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[int, asyncio.DatagramTransport] = {}
        self._lock: asyncio.Lock | None = None
        self._pending: dict[int, _Exchange] = {}
        self._peers: dict[Address, _Peer] = {}
        self.garbage_total = 0
        self.stale_total = 0

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def next_id(self) -> int:
        """An unpredictable request-id (also used as v3 msgID) not in flight, in 1..2**31-1."""
        while True:
            found = secrets.randbelow(0x7FFFFFFF) + 1
            if found not in self._pending:
                return found

    async def request(
        self,
        address: Address,
        request_id: int,
        payload: bytes,
        accept: Callable[[bytes], T],
        timeout: float,
        retries: int,
    ) -> T:
        """Send ``payload`` and return ``accept(answer)``; raise :class:`NoAnswer` after
        ``retries + 1`` tries of ``timeout`` seconds."""
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        loop = asyncio.get_running_loop()
        sock = self._sockets.get(family) if self._loop is loop else None
        if sock is None:
            sock = await self._socket(family)
        peer = self._peers.get(address)
        if peer is None:
            peer = self._peers[address] = _Peer()
        peer.waiting += 1
        ex = _Exchange(
            address, payload, accept, loop.create_future(), timeout, retries + 1, peer.garbage
        )
        self._pending[request_id] = ex
        try:
            sock.sendto(payload, address)
            ex.timer = loop.call_later(timeout, self._expire, ex, sock)
            result: T = await ex.future
            return result
        finally:
            if ex.timer is not None:
                ex.timer.cancel()
            if self._pending.get(request_id) is ex:
                del self._pending[request_id]
            peer.waiting -= 1
            if not peer.waiting and self._peers.get(address) is peer:
                del self._peers[address]

    def _expire(self, ex: _Exchange, sock: asyncio.DatagramTransport) -> None:
        if ex.future.done():
            return
        if ex.held is not None:  # nothing better came in this try
            ex.future.set_result(ex.held.result)
            return
        ex.tries -= 1
        if ex.tries > 0:
            sock.sendto(ex.payload, ex.address)
            ex.timer = asyncio.get_running_loop().call_later(ex.timeout, self._expire, ex, sock)
            return
        peer = self._peers.get(ex.address)
        garbage = ex.garbage + (peer.garbage - ex.start if peer else 0)
        ex.future.set_exception(NoAnswer(garbage, ex.error or (peer.error if peer else None)))

    def received(self, data: bytes, address: Address) -> None:
        """Match a datagram to its request by (source address, request-id)."""
        try:
            ex = self._pending.get(message_id(data))
        except ProtocolError as exc:
            self._count_garbage(address, exc)
            return
        if ex is None or ex.future.done():
            self.stale_total += 1  # a late or duplicate answer to a finished request
            return
        if ex.address != address:
            self._count_garbage(address, ProtocolError("an answer came from another address"))
            return
        try:
            result = ex.accept(data)
        except Provisional as held:
            if ex.held is None:
                ex.held = held
            return
        except ProtocolError as exc:
            self.garbage_total += 1
            ex.garbage += 1
            ex.error = exc
            return
        ex.future.set_result(result)

    def _count_garbage(self, address: Address, error: ProtocolError) -> None:
        self.garbage_total += 1
        peer = self._peers.get(address)
        if peer is not None:
            peer.garbage += 1
            peer.error = error

    async def _socket(self, family: int) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self.close()
            self._loop, self._lock = loop, asyncio.Lock()
        found = self._sockets.get(family)
        if found is not None:
            return found
        assert self._lock is not None
        async with self._lock:
            found = self._sockets.get(family)
            if found is None:
                sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                    sock.setblocking(False)
                    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))  # noqa: S104
                    found, _ = await loop.create_datagram_endpoint(
                        lambda: _Protocol(self), sock=sock
                    )
                except BaseException:
                    sock.close()
                    raise
                self._sockets[family] = found
            return found

    def close(self) -> None:
        for transport in self._sockets.values():
            transport.close()
        self._sockets.clear()
        for ex in self._pending.values():
            if not ex.future.done() and not ex.future.get_loop().is_closed():
                ex.future.cancel()
        self._pending.clear()
        self._peers.clear()
        self._loop = None
