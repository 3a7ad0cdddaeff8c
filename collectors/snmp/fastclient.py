"""The fast SNMP engine: GET and multi-column GETBULK walks on our own BER codec, USM and UDP
transport, with the same results and errors as the pysnmp engine in :mod:`.client`.

Per value it does little more than slice the datagram: names stay encoded, a column's rows are
matched to it with ``bytes.startswith`` and only the index suffix is turned into text.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from collectors.errors import ConnectError, ProtocolError
from collectors.snmp import ber, usm
from collectors.snmp.endpoint import (
    SnmpAuth,
    SnmpEndpoint,
    auth_error,
    cap_error,
    garbage_error,
    loop_error,
    security_error,
    timeout_error,
)
from collectors.snmp.transport import Address, NoAnswer, Provisional, UdpTransport
from collectors.snmp.values import RawValue
from collectors.snmp.walkstate import BudgetSpent, ColumnWalk, WalkLoop

ERROR_NAMES = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)
RESOLVE_TTL = 300.0
T = TypeVar("T")


def error_name(status: int) -> str:
    return ERROR_NAMES[status] if 0 <= status < len(ERROR_NAMES) else f"error-status {status}"


class FastClient:
    """GET and GETBULK walks for many targets over one shared UDP socket per family."""

    def __init__(self) -> None:
        self._transport = UdpTransport()
        self._keys = usm.KeyStore()
        self._engines: dict[Address, usm.EngineState] = {}
        self._discovering: dict[Address, asyncio.Future[usm.EngineState]] = {}
        self._addresses: dict[tuple[str, int], tuple[Address, float]] = {}
        self._salt = secrets.randbits(64)

    def close(self) -> None:
        self._transport.close()
        self._discovering.clear()

    def stats(self) -> dict[str, int]:
        """Open sockets, agents whose engine is known, and datagrams that were garbage (not
        SNMP, or rejected by their request) or stale (answers to finished requests)."""
        t = self._transport
        return {
            "sockets": t.open_sockets,
            "engines": len(self._engines),
            "garbage": t.garbage_total,
            "stale": t.stale_total,
        }

    async def _address(self, ep: SnmpEndpoint) -> Address:
        found = self._addresses.get((ep.host, ep.port))
        if found is not None and found[1] > time.monotonic():
            return found[0]
        try:
            address: Address = (str(ipaddress.ip_address(ep.host.strip("[]"))), ep.port)
        except ValueError:
            try:
                info = await asyncio.get_running_loop().getaddrinfo(
                    ep.host, ep.port, type=socket.SOCK_DGRAM
                )
                address = (str(info[0][4][0]), ep.port)
            except (OSError, IndexError) as exc:
                raise ConnectError(
                    f"{ep.label}: cannot resolve or reach the address ({exc}); "
                    "check the host name in the target",
                    target=ep.label,
                ) from exc
        self._addresses[(ep.host, ep.port)] = (address, time.monotonic() + RESOLVE_TTL)
        return address

    async def _send(
        self,
        ep: SnmpEndpoint,
        auth: SnmpAuth,
        address: Address,
        rid: int,
        payload: bytes,
        accept: Callable[[bytes], T],
    ) -> T:
        try:
            return await self._transport.request(
                address, rid, payload, accept, ep.timeout, ep.retries
            )
        except NoAnswer as exc:
            if isinstance(exc.error, usm.SecurityError):
                raise security_error(ep, str(exc.error)) from None
            if exc.garbage:
                raise garbage_error(ep, exc.why) from None
            raise timeout_error(ep, auth) from None

    async def request(
        self, ep: SnmpEndpoint, auth: SnmpAuth, tag: int, a: int, b: int, names: Sequence[bytes]
    ) -> ber.Pdu:
        """One request/response exchange (v3: discovery and re-sync included)."""
        known = self._addresses.get((ep.host, ep.port))
        address = known[0] if known and known[1] > time.monotonic() else await self._address(ep)
        if auth.version == "3":
            return await self._request_v3(ep, auth, address, tag, a, b, names)
        version = 0 if auth.version == "1" else 1
        rid = self._transport.next_id()
        payload = ber.encode_community_message(
            version, (auth.community or "").encode(), ber.encode_pdu(tag, rid, a, b, names)
        )

        def accept(data: bytes) -> ber.Pdu:
            got, _community, pdu = ber.decode_community_message(data)
            if got != version or pdu.request_id != rid or pdu.tag != ber.RESPONSE:
                raise ber.malformed("not the response to this request")
            return pdu

        return await self._send(ep, auth, address, rid, payload, accept)

    async def _request_v3(
        self,
        ep: SnmpEndpoint,
        auth: SnmpAuth,
        address: Address,
        tag: int,
        a: int,
        b: int,
        names: Sequence[bytes],
    ) -> ber.Pdu:
        reason = "the agent's clock could not be followed"
        context = auth.context.encode()
        for _attempt in range(4):
            engine = self._engines.get(address) or await self._discover(ep, auth, address)
            if engine.confirmed and engine.latched:
                raise security_error(ep, usm.LATCHED)
            keys = self._keys.keys(
                auth.user or "", auth.auth_proto, auth.auth_key, auth.priv_key, engine.engine_id
            )
            rid = self._transport.next_id()
            self._salt += 1
            payload = usm.encode_message(
                rid, engine, keys, context, ber.encode_pdu(tag, rid, a, b, names), self._salt
            )
            msg = await self._send(
                ep,
                auth,
                address,
                rid,
                payload,
                _held(usm.acceptor(rid, keys, engine, context), engine, keys),
            )
            if msg.pdu.tag != ber.REPORT:
                return msg.pdu
            action, reason = usm.report_reason(msg.pdu)
            if action == "time" and msg.flags & usm.FLAG_AUTH:
                continue  # the acceptor took its clock if newer (RFC 3414 3.2 step 7b)
            if (
                action == "engine"
                and msg.engine_id
                and (msg.engine_id != engine.engine_id or not engine.confirmed)
            ):
                # Unauthenticated, but nothing authentic came meanwhile (see _held): the agent
                # was replaced, or the discovery was answered by someone else.
                self._engines[address] = usm.EngineState(msg.engine_id, msg.boots, msg.time)
            elif action in ("auth", "time", "engine"):
                raise auth_error(ep, auth, reason)
            else:
                raise ProtocolError(f"{ep.label}: the agent reported {reason}", target=ep.label)
        raise auth_error(ep, auth, reason)

    async def _discover(
        self, ep: SnmpEndpoint, auth: SnmpAuth, address: Address
    ) -> usm.EngineState:
        """RFC 3414 4: learn the agent's engine ID, boots and time (one per agent at a time)."""
        running = self._discovering.get(address)
        if running is not None:  # another target at this address is discovering it
            await asyncio.wait([running])
            if not running.cancelled():
                return running.result()  # or its error
        future: asyncio.Future[usm.EngineState] = asyncio.get_running_loop().create_future()
        self._discovering[address] = future
        try:
            rid = self._transport.next_id()
            payload = usm.encode_message(
                rid, None, None, b"", ber.encode_pdu(ber.GET, rid, 0, 0, ()), 0
            )
            msg = await self._send(ep, auth, address, rid, payload, usm.acceptor(rid, None, None))
            if not msg.engine_id:
                raise ProtocolError(
                    f"{ep.label}: the agent did not tell its SNMPv3 engine ID "
                    "in answer to discovery",
                    target=ep.label,
                )
            engine = usm.EngineState(msg.engine_id, msg.boots, msg.time)
            self._engines[address] = engine
            future.set_result(engine)
            return engine
        except asyncio.CancelledError:
            future.cancel()  # waiters discover for themselves
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else needs to
            raise
        finally:
            if self._discovering.get(address) is future:
                del self._discovering[address]

    @staticmethod
    def _encode(ep: SnmpEndpoint, oid: str) -> bytes:
        try:
            return ber.encode_oid(oid)
        except ValueError as exc:
            raise ProtocolError(f"{ep.label}: {exc}", target=ep.label) from None

    async def get(
        self, ep: SnmpEndpoint, auth: SnmpAuth, oids: Sequence[str]
    ) -> dict[str, RawValue]:
        """GET scalars; absent ones (noSuchObject/Instance) are left out."""
        out: dict[str, RawValue] = {}
        if not oids:
            return out
        pdu = await self.request(ep, auth, ber.GET, 0, 0, [self._encode(ep, o) for o in oids])
        status = pdu.error_status
        if status == 2 and auth.version == "1" and len(oids) > 1:
            # v1 noSuchName fails the whole request: ask one at a time.
            for o in oids:
                out.update(await self.get(ep, auth, [o]))
            return out
        if status and status != 2:
            raise ProtocolError(
                f"{ep.label}: agent answered GET with error {error_name(status)}", target=ep.label
            )
        if status:
            return out
        for name, _tag, value in pdu.varbinds:
            if value is not None:
                out[ber.oid_text(name)] = value
        return out

    async def walk(
        self,
        ep: SnmpEndpoint,
        auth: SnmpAuth,
        roots: Iterable[str],
        *,
        budget: list[int] | None = None,
    ) -> dict[str, RawValue]:
        """Walk several subtrees at once (one varbind per live column in each request).

        ``budget`` is a one-element list holding the values still allowed for this device;
        it is shared between calls so that the per-device cap covers the whole poll.
        """
        budget = budget if budget is not None else [ep.value_cap]
        walk = ColumnWalk((r, self._encode(ep, r)) for r in dict.fromkeys(roots))
        out: dict[str, RawValue] = {}
        v1 = auth.version == "1"
        max_rep, per_request = ep.max_repetitions, ep.values_per_request
        while walk.cursor:
            live = walk.live(per_request // 4)
            reps = 1 if v1 else max(1, min(max_rep, per_request // len(live)))
            tag = ber.GET_NEXT if v1 else ber.GET_BULK
            names = [walk.cursor[r] for r in live]
            pdu = await self.request(ep, auth, tag, 0, 0 if v1 else reps, names)
            status = pdu.error_status
            if status:
                if status == 2 and v1:  # noSuchName: end of MIB for that column
                    index = pdu.error_index
                    walk.finish(live[index - 1] if 0 < index <= len(live) else live[0])
                    continue
                if status == 1 and max_rep > 1:  # tooBig: ask for less
                    max_rep = max(1, max_rep // 2)
                    per_request = max(4, per_request // 2)
                    continue
                raise ProtocolError(
                    f"{ep.label}: agent answered GETBULK with error {error_name(status)}",
                    target=ep.label,
                )
            if not pdu.varbinds:
                raise ProtocolError(f"{ep.label}: empty GETBULK response", target=ep.label)
            try:
                walk.take(live, pdu.varbinds, out, budget)
            except WalkLoop as exc:
                raise loop_error(ep, exc.oid, exc.after) from None
            except BudgetSpent:
                raise cap_error(ep) from None
        return out


def _held(
    accept: Callable[[bytes], usm.V3Message], engine: usm.EngineState, keys: usm.UsmKeys
) -> Callable[[bytes], usm.V3Message]:
    """Once an agent's engine is confirmed by an authenticated message, an unauthenticated
    report to an authenticated request (which anyone can forge: unknownEngineID naming another
    engine, say) counts only if no authenticated answer comes before the try times out."""

    def held(data: bytes) -> usm.V3Message:
        msg = accept(data)
        if engine.confirmed and keys.auth_key and not msg.flags & usm.FLAG_AUTH:
            raise Provisional(msg)  # a report: unauthenticated responses were refused
        return msg

    return held
