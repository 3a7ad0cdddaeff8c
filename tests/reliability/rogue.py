"""A misbehaving SNMPv2c agent: a real UDP peer on 127.0.0.1 built on pysnmp's low-level
message API (``pysnmp.proto.api``), so the answers do not come from the codec under test.

It serves a small MIB (the system group plus whatever a test adds) for GET, GETNEXT and GETBULK,
and can misbehave the ways real devices do:

* ``endless``: a column whose next row always exists (an agent bug or a huge FDB): the walk
  must stop at the value cap;
* ``loop``: a column whose GETNEXT answer goes back to an earlier row (a GETNEXT loop);
* ``garbage_after``: after N good answers, every answer is bytes that are not SNMP;
* values of the wrong type, huge strings, invalid UTF-8 and control sequences, put in the MIB.

    with RogueAgent(mib={...}, endless="1.3.6.1.2.1.25.6.3.1.2") as agent:
        ... poll 127.0.0.1:agent.port with community agent.community ...
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

V2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
Oid = tuple[int, ...]
MAX_DATAGRAM = 65_000


def oid(text: str) -> Oid:
    return tuple(int(p) for p in text.strip(".").split("."))


def system_group(
    *,
    descr: Any = b"Linux rogue 6.1.0 #1 SMP x86_64",
    object_id: Any = None,
    name: Any = b"rogue-agent",
) -> dict[str, Any]:
    """A plausible system group; pass pyasn1 values (or bytes for OCTET STRINGs)."""
    return {
        "1.3.6.1.2.1.1.1.0": descr,
        "1.3.6.1.2.1.1.2.0": object_id or V2.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
        "1.3.6.1.2.1.1.3.0": V2.TimeTicks(123456),
        "1.3.6.1.2.1.1.4.0": b"ICT Service Desk",
        "1.3.6.1.2.1.1.5.0": name,
        "1.3.6.1.2.1.1.6.0": b"Comms room B",
    }


def _value(v: Any) -> Any:
    if isinstance(v, bytes):
        return V2.OctetString(v)
    if isinstance(v, str):
        return V2.OctetString(v.encode("utf-8"))
    if isinstance(v, int):
        return V2.Integer(v)
    return v


class RogueAgent:
    """Answers v2c requests from a thread until :meth:`stop`."""

    def __init__(
        self,
        mib: Mapping[str, Any],
        *,
        community: str = "rogue",
        endless: str | None = None,
        loop: str | None = None,
        garbage_after: int | None = None,
    ) -> None:
        self.community = community
        self.mib: list[tuple[Oid, Any]] = sorted((oid(k), _value(v)) for k, v in mib.items())
        self._by_oid = dict(self.mib)
        self.endless = oid(endless) if endless else None
        self.loop = oid(loop) if loop else None
        self.garbage_after = garbage_after
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rogue-agent", daemon=True)
        self._thread.start()

    # --- the MIB, misbehaving -------------------------------------------------------------
    def next_of(self, after: Oid) -> tuple[Oid, Any]:
        if self.endless and after[: len(self.endless)] == self.endless:
            row = after[len(self.endless)] + 1 if len(after) > len(self.endless) else 1
            return (*self.endless, row), V2.OctetString(f"package-{row}-1.0".encode())
        if self.loop and after[: len(self.loop)] == self.loop and len(after) > len(self.loop):
            return (*self.loop, 1), V2.OctetString(b"round and round")  # back, not forward
        candidates = [(k, v) for k, v in self.mib if k > after][:1]
        if self.endless and (*self.endless, 1) > after:
            candidates.append(self.next_of(self.endless))
        if self.loop and (*self.loop, 1) > after:
            candidates.append(((*self.loop, 1), V2.OctetString(b"round and round")))
        if not candidates:
            return after, V2.EndOfMibView()
        return min(candidates, key=lambda kv: kv[0])

    def _answer(self, data: bytes) -> bytes | None:
        self.requests += 1
        if self.garbage_after is not None and self.requests > self.garbage_after:
            return b"\x30\x84\x7f\xff\xff\xff not snmp \x00\xff" * 3
        if int(api.decodeMessageVersion(data)) != api.SNMP_VERSION_2C:
            return None
        request, _ = decoder.decode(data, asn1Spec=V2.Message())
        if bytes(V2.apiMessage.get_community(request)) != self.community.encode():
            return None  # like real agents: a wrong community is silence
        pdu = V2.apiMessage.get_pdu(request)
        response = V2.apiMessage.get_response(request)
        out = V2.apiMessage.get_pdu(response)
        asked = [(tuple(o), v) for o, v in V2.apiPDU.get_varbinds(pdu)]
        binds: list[tuple[Any, Any]] = []
        if pdu.isSameTypeWith(V2.GetRequestPDU()):
            for o, _v in asked:
                binds.append((o, self._by_oid.get(o, V2.NoSuchObject())))
        elif pdu.isSameTypeWith(V2.GetNextRequestPDU()):
            binds = [self.next_of(o) for o, _v in asked]
        elif pdu.isSameTypeWith(V2.GetBulkRequestPDU()):
            non_rep = int(V2.apiBulkPDU.get_non_repeaters(pdu))
            reps = max(1, min(int(V2.apiBulkPDU.get_max_repetitions(pdu)), 50))
            binds = [self.next_of(o) for o, _v in asked[:non_rep]]
            cursors = [o for o, _v in asked[non_rep:]]
            for _ in range(reps):
                row = [self.next_of(c) for c in cursors]
                binds.extend(row)
                cursors = [o for o, _v in row]
                if all(isinstance(v, type(V2.EndOfMibView())) for _o, v in row):
                    break
        else:
            return None
        V2.apiPDU.set_varbinds(out, [(V2.ObjectIdentifier(o), v) for o, v in binds])
        encoded: bytes = encoder.encode(response)
        if len(encoded) > MAX_DATAGRAM:  # as agents do: tooBig, no varbinds
            V2.apiPDU.set_varbinds(out, [])
            V2.apiPDU.set_error_status(out, 1)
            encoded = encoder.encode(response)
        return encoded

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                answer = self._answer(data)
            except Exception:  # a request we cannot read: stay silent, like an agent would
                answer = None
            if answer is not None:
                try:
                    self.sock.sendto(answer, addr)
                except OSError:
                    continue

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.sock.close()

    def __enter__(self) -> RogueAgent:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
