"""The SNMP client: GET and multi-column GETBULK walks, errors translated, on one of two engines.

``SnmpClient()`` uses the fast engine (:mod:`collectors.snmp.fastclient`: our own BER codec,
USM and one shared UDP socket); ``SnmpClient(engine="pysnmp")`` uses pysnmp's high-level API,
kept as the reference implementation. Both give the same raw ``{oid: value}`` results and raise
the same errors. This is the only module that imports pysnmp, and only when that engine is
chosen (it costs about 40 MB and a third of a second to import). MIB lookups are off everywhere
(numeric OIDs only): cheaper and needs no MIB files.

The agent picks the engine with the ``snmp.engine`` configuration key (``cloudward probe
--snmp-engine``). What the pysnmp engine does not do that the fast one does:

- an answer that is not SNMP at all (another service on the port) is not reported as such: it
  is dropped (pysnmp logs a decoding traceback through the ``asyncio`` logger) and the request
  times out with the usual hint;
- a host name is resolved once per client, not again every few minutes;
- it costs many times more CPU per value (``bench/snmp.py`` measures how many).

The SNMPv3 checks the fast engine makes are added to pysnmp by :class:`_Guard` (patches on the
instances of one ``SnmpEngine``): a response at another security level or for another user is
discarded without dropping its request (RFC 3412 7.2.12b); an authenticated message never moves
an agent's clock backwards (RFC 3414 3.2 step 7b); an engine latched at boots 2147483647 and an
authentic reply that does not decrypt fail the request at once, saying so; an unauthenticated
report naming another engine ID counts only if no authentic answer comes before the try times
out, and then the agent is discovered again (it was replaced) by the next try or request.
pysnmp forgets what it learnt of an agent's engine five minutes after learning it, and these
checks with it.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import secrets
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any, Literal

from collectors.errors import CollectorError, ConnectError, ProtocolError
from collectors.snmp import ber, usm
from collectors.snmp.endpoint import (
    SnmpAuth,
    SnmpEndpoint,
    SnmpVersion,
    auth_error,
    cap_error,
    loop_error,
    security_error,
    timeout_error,
)
from collectors.snmp.fastclient import FastClient
from collectors.snmp.values import RawValue, SnmpOid

__all__ = ["SnmpAuth", "SnmpClient", "SnmpEndpoint", "SnmpVersion", "snmp_error", "to_raw"]

log = logging.getLogger(__name__)

Engine = Literal["fast", "pysnmp"]


class _UnpredictableIds:
    """Request-ids and msgIDs for the pysnmp engine, 1 .. 2**31-1, from ``secrets`` (an object,
    not a function, so that a class attribute holding it is not bound as a method)."""

    def __call__(self) -> int:
        return secrets.randbelow(2**31 - 1) + 1


@functools.cache
def _lib() -> Any:
    """pysnmp and pyasn1, imported on first use of the pysnmp engine."""
    from pyasn1.type import univ
    from pysnmp import hlapi
    from pysnmp.error import PySnmpError
    from pysnmp.hlapi.v3arch import asyncio as api
    from pysnmp.proto import errind, rfc1902, rfc1905
    from pysnmp.proto.api import v1, v2c
    from pysnmp.proto.error import StatusInformation
    from pysnmp.proto.mpmod import cache
    from pysnmp.proto.mpmod.rfc3412 import SnmpV3MessageProcessingModel
    from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel

    del hlapi
    # pysnmp numbers requests sequentially from process-wide counters (pysnmp.nextid), so an
    # off-path host that saw one request guesses the next. The message processing models put
    # the message cache's next ID in as the request-id (v1/v2c) and msgID (v3); the PDU
    # defaults draw another. Both counters are replaced by unpredictable IDs.
    ids = _UnpredictableIds()
    v1.getNextRequestID = v2c.getNextRequestID = ids
    cache.Cache._Cache__message_id = ids  # the class attribute `__message_id`
    return SimpleNamespace(
        api=api,
        univ=univ,
        errind=errind,
        rfc1902=rfc1902,
        rfc1905=rfc1905,
        PySnmpError=PySnmpError,
        StatusInformation=StatusInformation,
        V3Processing=SnmpV3MessageProcessingModel,
        Usm=SnmpUSMSecurityModel,
        # What _Guard fails a request with; equal to pysnmp's own indications of the kind (the
        # command generator treats them alike), told apart by identity in PysnmpEngine._check.
        latched=errind.NotInTimeWindow(usm.LATCHED),
        decrypt_failed=errind.DecryptionError(usm.DECRYPTION_FAILED),
        auth={"SHA": api.USM_AUTH_HMAC96_SHA, "SHA256": api.USM_AUTH_HMAC192_SHA256},
        priv={"AES": api.USM_PRIV_CFB128_AES},
        auth_errors=(
            errind.WrongDigest,
            errind.AuthenticationFailure,
            errind.AuthenticationError,
            errind.DecryptionError,
            errind.UnknownUserName,
            errind.UnknownSecurityName,
            errind.UnsupportedSecurityLevel,
            errind.NotInTimeWindow,
            errind.UnknownCommunityName,
        ),
    )


def _usm_fields(params: bytes) -> tuple[bytes, bytes]:
    """The authoritative engine ID and the user name in USM security parameters (RFC 3414 2.4),
    empty if they do not parse (pysnmp then refuses the message itself)."""
    try:
        tag, pos, end = ber.read_tlv(params, 0, len(params))
        engine_id, pos = ber.read_octets(params, pos, end)
        _boots, pos = ber.read_integer(params, pos, end)
        _time, pos = ber.read_integer(params, pos, end)
        user, _pos = ber.read_octets(params, pos, end)
    except ProtocolError:
        return b"", b""
    return (engine_id, user) if tag == ber.SEQUENCE else (b"", b"")


class _Timeline(dict[Any, Any]):
    """pysnmp's USM clock of each authoritative engine (engine ID -> boots, time, latest time
    received, when), which moves only forwards once an authenticated message has set it.

    pysnmp stores the boots and time of every message it takes, authenticated or not, before
    its RFC 3414 3.2 step 7b check, which then compares the message with itself: a replayed
    authenticated report moves the clock back, and the next request is sent with it. Here, as
    in :meth:`collectors.snmp.usm.EngineState.in_window`, a message the USM does not
    authenticate sets the clock only while no authenticated one has (discovery); the first
    authenticated message sets it whichever way, later ones only forwards (or to the latched
    2147483647), so that the step 7b check refuses what is older. ``trusted`` says whether the
    message being processed is authenticated; ``authenticated`` is set once it has passed (pysnmp
    stores the clock right after checking the digest).
    """

    def __init__(self, known: dict[Any, Any]) -> None:
        super().__init__(known)
        self.confirmed: set[bytes] = set()
        self.trusted = False
        self.authenticated = False

    def __setitem__(self, engine_id: Any, value: Any) -> None:
        key = bytes(engine_id)
        if self.trusted:
            self.authenticated = True
            old = self.get(engine_id)
            if old is not None and key in self.confirmed and not _newer(value, old):
                return
            self.confirmed.add(key)
        elif key in self.confirmed:
            return
        super().__setitem__(engine_id, value)

    def __delitem__(self, engine_id: Any) -> None:
        self.confirmed.discard(bytes(engine_id))
        super().__delitem__(engine_id)

    def latched(self, engine_id: Any) -> bool:
        """RFC 3414 2.2.1: an authentic message said boots 2147483647."""
        entry = self.get(engine_id)
        return (
            entry is not None
            and bytes(engine_id) in self.confirmed
            and int(entry[0]) >= usm.MAX_BOOTS
        )


def _newer(clock: Any, old: Any) -> bool:
    """Whether ``clock`` (boots, time) is later than the ``old`` entry's boots and latest time
    received, or latched (RFC 3414 3.2 step 7b.1, 2.2.1)."""
    boots, old_boots = int(clock[0]), int(old[0])
    return (
        boots >= usm.MAX_BOOTS
        or boots > old_boots
        or (boots == old_boots and int(clock[1]) > int(old[2]))
    )


class _EngineIds(dict[Any, Any]):
    """pysnmp's engine ID of each agent address, from which :class:`_Guard` may drop one before
    pysnmp's own expiry does (which deletes without checking)."""

    def __delitem__(self, key: Any) -> None:
        self.pop(key, None)


class _Guard:
    """Patches on one pysnmp ``SnmpEngine``: its SNMPv3 message processing model (RFC 3412) and
    user-based security model (RFC 3414) instances get wrapped methods and the two stores above.
    What they wrap and replace was read in pysnmp 7.1.30; a pysnmp without it is refused.

    - ``prepare_data_elements``: the message processing model takes a response's request out of
      its cache (by msgID) before comparing the two (RFC 3412 7.2.12b), so a response at another
      security level dropped the request and the genuine answer that follows was ignored; the
      request is put back. An unauthenticated unknownEngineID report naming another engine than
      the one the request was sent to (which anyone can forge) is held: the request stays, and
      if it times out without an authentic answer, the agent's engine ID is forgotten so that
      the next try discovers it again (pysnmp kept it for five minutes, and could not even read
      the report, whose user it knows only for the old engine).
    - ``process_incoming_message``: a reply that is authentic but whose engine is latched at
      boots 2147483647, or that does not decrypt, fails its request at once with
      ``lib.latched`` / ``lib.decrypt_failed`` (pysnmp dropped the first silently, and answered
      the second with a report of its own to the agent, whose reply failed the request as
      "unknown engine ID").
    - ``generate_request_message``: nothing is sent to an engine known to be latched.
    """

    def __init__(self, lib: Any, engine: Any) -> None:
        self._lib = lib
        mps = [
            m
            for m in engine.message_processing_subsystems.values()
            if isinstance(m, lib.V3Processing)
        ]
        sms = [m for m in engine.security_models.values() if isinstance(m, lib.Usm)]
        ids, line = (
            "_SnmpV3MessageProcessingModel__engineIdCache",
            "_SnmpUSMSecurityModel__timeline",
        )
        if len(mps) != 1 or len(sms) != 1 or ids not in vars(mps[0]) or line not in vars(sms[0]):
            raise RuntimeError(
                "this pysnmp version's SNMPv3 internals are not the ones the pysnmp engine "
                "patches (pysnmp 7.1); use the fast engine"
            )
        mp, sm = mps[0], sms[0]
        self.engine_ids = _EngineIds(getattr(mp, ids))
        self.timeline = _Timeline(getattr(sm, line))
        setattr(mp, ids, self.engine_ids)
        setattr(sm, line, self.timeline)
        self.suspects: dict[Any, Any] = {}  # sendPduHandle -> (domain, address) of a held report
        self._popped: dict[str, Any] | None = None
        self._cache = mp._cache
        self._pop = mp._cache.pop_by_message_id
        self._prepare = mp.prepare_data_elements
        self._release = mp.release_state_information
        self._incoming = sm.process_incoming_message
        self._outgoing = sm.generate_request_message
        mp._cache.pop_by_message_id = self.pop_by_message_id
        mp.prepare_data_elements = self.prepare_data_elements
        mp.release_state_information = self.release_state_information
        sm.process_incoming_message = self.process_incoming_message
        sm.generate_request_message = self.generate_request_message

    def pop_by_message_id(self, msg_id: Any) -> Any:
        """The cache's own, noting what ``prepare_data_elements`` took out."""
        self._popped = self._pop(msg_id)
        return self._popped

    def prepare_data_elements(self, snmp_engine: Any, domain: Any, address: Any, whole: Any) -> Any:
        if self._held(address, whole):
            raise self._lib.StatusInformation(errorIndication=self._lib.errind.unknownEngineID)
        self._popped = None
        self.timeline.authenticated = False
        try:
            result = self._prepare(snmp_engine, domain, address, whole)
        except Exception as exc:
            status: Any = exc if isinstance(exc, self._lib.StatusInformation) else {}
            if "failsMsgID" in status:
                raise self._fail(status["failsMsgID"], status["errorIndication"]) from None
            if "sendPduHandle" in status:  # a report, which fails its request
                if self.timeline.authenticated:  # an authentic one: the engine is there
                    self.suspects.pop(status["sendPduHandle"], None)
            elif self._popped is not None:  # RFC 3412 7.2.12b: discarded, the request stays
                self._cache.push_by_message_id(self._popped["msgID"], **self._popped)
            raise
        if self._popped is not None:
            self.suspects.pop(self._popped["sendPduHandle"], None)
        return result

    def _held(self, address: Any, whole: Any) -> bool:
        """Whether ``whole`` is an unauthenticated unknownEngineID report to a request sent to an
        agent whose engine ID is known, naming another (it is then held, see the class)."""
        try:
            report = usm.decode_message(bytes(whole), None)  # refuses authenticated messages
        except ProtocolError:
            return False
        if report.pdu.tag != ber.REPORT or usm.report_reason(report.pdu)[0] != "engine":
            return False
        try:
            entry = self._pop(report.msg_id)
        except self._lib.PySnmpError:
            return False  # not a pending request's: pysnmp drops it
        self._cache.push_by_message_id(report.msg_id, **entry)
        key = (entry["transportDomain"], entry["transportAddress"])
        known = self.engine_ids.get(key)
        if (
            known is None
            or tuple(address)[:2] != tuple(key[1])[:2]
            or bytes(known["securityEngineId"]) == report.engine_id
        ):
            return False
        self.suspects[entry["sendPduHandle"]] = key
        return True

    def _fail(self, msg_id: int, indication: Any) -> Any:
        """The status that fails the request ``msg_id`` with ``indication``; or that drops the
        message, if there is no such request or the reply that did not decrypt answers one that
        was not encrypted (RFC 3412 7.2.12b: another security level, discarded)."""
        try:
            entry = self._pop(msg_id)
        except self._lib.PySnmpError:
            return self._lib.StatusInformation(errorIndication=indication)
        if indication is self._lib.decrypt_failed and int(entry["securityLevel"]) != 3:
            self._cache.push_by_message_id(msg_id, **entry)
            return self._lib.StatusInformation(errorIndication=indication)
        return self._lib.StatusInformation(
            errorIndication=indication, sendPduHandle=entry["sendPduHandle"]
        )

    def release_state_information(self, send_pdu_handle: Any) -> Any:
        """A request ends unanswered (timed out or failed): if an unauthenticated report named
        another engine meanwhile, forget the agent's engine ID (the next try discovers it)."""
        key = self.suspects.pop(send_pdu_handle, None)
        if key is not None:
            log.debug("SNMPv3 agent at %s names another engine ID: discovering it again", key[1])
            self.engine_ids.pop(key, None)
        return self._release(send_pdu_handle)

    def process_incoming_message(
        self,
        snmp_engine: Any,
        model: Any,
        max_size: Any,
        params: Any,
        security_model: Any,
        level: Any,
        whole: Any,
        msg: Any,
    ) -> Any:
        engine_id, user = _usm_fields(bytes(params))
        timeline = self.timeline
        timeline.trusted = int(level) >= 2 and bool(user)  # pysnmp checks the digest then
        timeline.authenticated = False
        try:
            return self._incoming(
                snmp_engine, model, max_size, params, security_model, level, whole, msg
            )
        except self._lib.StatusInformation as exc:
            failure = self._failure(exc.get("errorIndication"), engine_id)
            if failure is None or not timeline.authenticated:
                raise
            # Without an "oid", pysnmp does not answer the agent with a report of its own.
            raise self._lib.StatusInformation(
                errorIndication=failure, failsMsgID=int(msg[1][0])
            ) from None
        finally:
            timeline.trusted = False

    def _failure(self, indication: Any, engine_id: bytes) -> Any:
        """What an authentic message refused with ``indication`` fails its request with: the
        engine is latched, or the reply does not decrypt (else None: it is only discarded, as a
        replay outside the time window is)."""
        if isinstance(indication, self._lib.errind.NotInTimeWindow):
            return self._lib.latched if self.timeline.latched(engine_id) else None
        if isinstance(indication, self._lib.errind.DecryptionError):
            return self._lib.decrypt_failed
        return None

    def generate_request_message(
        self,
        snmp_engine: Any,
        model: Any,
        global_data: Any,
        max_size: Any,
        security_model: Any,
        engine_id: Any,
        name: Any,
        level: Any,
        scoped_pdu: Any,
    ) -> Any:
        if engine_id and self.timeline.latched(engine_id):
            raise self._lib.StatusInformation(errorIndication=self._lib.latched)
        return self._outgoing(
            snmp_engine,
            model,
            global_data,
            max_size,
            security_model,
            engine_id,
            name,
            level,
            scoped_pdu,
        )


def to_raw(value: Any) -> RawValue:
    """Convert one pysnmp/pyasn1 value to the collector's raw type."""
    lib = _lib()
    rfc1905, rfc1902, univ = lib.rfc1905, lib.rfc1902, lib.univ
    if isinstance(value, rfc1905.EndOfMibView | rfc1905.NoSuchObject | rfc1905.NoSuchInstance):
        return None
    if isinstance(value, rfc1902.IpAddress):
        octets = bytes(value)
        return str(ipaddress.IPv4Address(octets)) if len(octets) == 4 else octets.hex()
    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null is one
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return SnmpOid(str(value))
    if isinstance(value, univ.OctetString):
        return bytes(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return bytes(str(value), "utf-8", "replace")


def _oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split(".") if p)


def _check_oids(ep: SnmpEndpoint, oids: Iterable[str]) -> None:
    """Refuse what is not a numeric OID with the fast engine's error (pysnmp would raise a bare
    ValueError, or look a name up in MIBs it does not have)."""
    for oid in oids:
        try:
            ber.encode_oid(oid)
        except ValueError as exc:
            raise ProtocolError(f"{ep.label}: {exc}", target=ep.label) from None


class SnmpClient:
    """GET and GETBULK walks for many targets; ``engine`` is ``"fast"`` (default) or
    ``"pysnmp"``."""

    def __init__(self, engine: Engine = "fast") -> None:
        if engine not in ("fast", "pysnmp"):
            raise ValueError(f"unknown SNMP engine {engine!r}: use 'fast' or 'pysnmp'")
        self.engine: Engine = engine
        self._fast = FastClient() if engine == "fast" else None
        self._py = PysnmpEngine() if engine == "pysnmp" else None

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
        if self._py is not None:
            self._py.close()

    async def get(
        self, ep: SnmpEndpoint, auth: SnmpAuth, oids: Sequence[str]
    ) -> dict[str, RawValue]:
        """GET scalars; absent ones (noSuchObject/Instance) are left out."""
        if self._fast is not None:
            return await self._fast.get(ep, auth, oids)
        assert self._py is not None
        return await self._py.get(ep, auth, oids)

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
        if self._fast is not None:
            return await self._fast.walk(ep, auth, roots, budget=budget)
        assert self._py is not None
        return await self._py.walk(ep, auth, roots, budget=budget)


class PysnmpEngine:
    """The reference engine: one pysnmp ``SnmpEngine`` and its high-level API."""

    def __init__(self) -> None:
        self._lib = _lib()
        self._engine = self._lib.api.SnmpEngine()
        self._guard = _Guard(self._lib, self._engine)
        self._transports: dict[tuple[str, int, float, int], Any] = {}

    def close(self) -> None:
        try:
            self._engine.close_dispatcher()
        except Exception:
            log.debug("SNMP dispatcher close failed", exc_info=True)

    async def _transport(self, ep: SnmpEndpoint) -> Any:
        key = (ep.host, ep.port, ep.timeout, ep.retries)
        tr = self._transports.get(key)
        if tr is None:
            api = self._lib.api
            cls = api.Udp6TransportTarget if ":" in ep.host else api.UdpTransportTarget
            try:
                tr = await cls.create((ep.host, ep.port), timeout=ep.timeout, retries=ep.retries)
            except self._lib.PySnmpError as exc:
                raise ConnectError(
                    f"{ep.label}: cannot resolve or reach the address ({exc}); "
                    "check the host name in the target",
                    target=ep.label,
                ) from exc
            self._transports[key] = tr
        return tr

    def _auth_data(self, auth: SnmpAuth) -> Any:
        api = self._lib.api
        if auth.version in ("1", "2c"):
            return api.CommunityData(auth.community or "", mpModel=0 if auth.version == "1" else 1)
        return api.UsmUserData(
            auth.user or "",
            authKey=auth.auth_key,
            privKey=auth.priv_key,
            authProtocol=self._lib.auth[auth.auth_proto] if auth.auth_key else None,
            privProtocol=self._lib.priv[auth.priv_proto] if auth.priv_key else None,
        )

    def _check(self, ep: SnmpEndpoint, auth: SnmpAuth, indication: Any) -> None:
        if not indication:
            return
        if isinstance(indication, self._lib.errind.RequestTimedOut):
            raise timeout_error(ep, auth)
        if indication is self._lib.latched:
            raise security_error(ep, usm.LATCHED)
        if indication is self._lib.decrypt_failed:
            raise security_error(ep, usm.DECRYPTION_FAILED)
        if isinstance(indication, self._lib.auth_errors):
            raise auth_error(ep, auth, indication)
        raise ProtocolError(f"{ep.label}: SNMP error: {indication}", target=ep.label)

    async def get(
        self, ep: SnmpEndpoint, auth: SnmpAuth, oids: Sequence[str]
    ) -> dict[str, RawValue]:
        out: dict[str, RawValue] = {}
        if not oids:
            return out
        _check_oids(ep, oids)
        api = self._lib.api
        transport = await self._transport(ep)
        try:
            indication, status, _index, var_binds = await api.get_cmd(
                self._engine,
                self._auth_data(auth),
                transport,
                api.ContextData(contextName=auth.context),
                *(api.ObjectType(api.ObjectIdentity(o)) for o in oids),
                lookupMib=False,
            )
        except self._lib.StatusInformation as exc:  # refused before sending (_Guard)
            self._check(ep, auth, exc.get("errorIndication"))
            raise ProtocolError(f"{ep.label}: SNMP GET failed: {exc}", target=ep.label) from exc
        except self._lib.PySnmpError as exc:
            raise ProtocolError(f"{ep.label}: SNMP GET failed: {exc}", target=ep.label) from exc
        self._check(ep, auth, indication)
        if status and int(status) == 2 and auth.version == "1" and len(oids) > 1:
            # v1 noSuchName fails the whole request: ask one at a time.
            for o in oids:
                out.update(await self.get(ep, auth, [o]))
            return out
        if status and int(status) != 2:
            raise ProtocolError(
                f"{ep.label}: agent answered GET with error {status.prettyPrint()}",
                target=ep.label,
            )
        if status:
            return out
        for name, value in var_binds:
            raw = to_raw(value)
            if raw is not None:
                out[str(name)] = raw
        return out

    async def _request(
        self, ep: SnmpEndpoint, auth: SnmpAuth, reps: int, oids: list[str]
    ) -> tuple[Any, Any, Any, Any]:
        api = self._lib.api
        args = (
            self._engine,
            self._auth_data(auth),
            await self._transport(ep),
            api.ContextData(contextName=auth.context),
        )
        var_binds = [api.ObjectType(api.ObjectIdentity(o)) for o in oids]
        try:
            if auth.version == "1":
                return await api.next_cmd(*args, *var_binds, lookupMib=False)  # type: ignore[no-any-return]
            return await api.bulk_cmd(*args, 0, reps, *var_binds, lookupMib=False)  # type: ignore[no-any-return]
        except self._lib.StatusInformation as exc:  # refused before sending (_Guard)
            self._check(ep, auth, exc.get("errorIndication"))
            raise ProtocolError(f"{ep.label}: SNMP walk failed: {exc}", target=ep.label) from exc
        except self._lib.PySnmpError as exc:
            raise ProtocolError(f"{ep.label}: SNMP walk failed: {exc}", target=ep.label) from exc

    async def walk(
        self,
        ep: SnmpEndpoint,
        auth: SnmpAuth,
        roots: Iterable[str],
        *,
        budget: list[int] | None = None,
    ) -> dict[str, RawValue]:
        budget = budget if budget is not None else [ep.value_cap]
        unique = list(dict.fromkeys(roots))
        _check_oids(ep, unique)
        cols = [(r, _oid_tuple(r)) for r in unique]
        cursor: dict[str, tuple[int, ...]] = {r: t for r, t in cols}
        prefix: dict[str, tuple[int, ...]] = dict(cols)
        out: dict[str, RawValue] = {}
        end_of_mib = self._lib.rfc1905.EndOfMibView
        max_rep, per_request = ep.max_repetitions, ep.values_per_request
        while cursor:
            live = sorted(cursor)[: max(1, per_request // 4)]
            reps = 1 if auth.version == "1" else max(1, min(max_rep, per_request // len(live)))
            oids = [".".join(map(str, cursor[r])) for r in live]
            indication, status, index, var_binds = await self._request(ep, auth, reps, oids)
            self._check(ep, auth, indication)
            if status:
                code = int(status)
                if code == 2 and auth.version == "1":  # noSuchName: end of MIB for that column
                    bad = live[int(index) - 1] if 0 < int(index) <= len(live) else live[0]
                    cursor.pop(bad, None)
                    continue
                if code == 1 and max_rep > 1:  # tooBig: ask for less
                    max_rep = max(1, max_rep // 2)
                    per_request = max(4, per_request // 2)
                    continue
                raise ProtocolError(
                    f"{ep.label}: agent answered GETBULK with error {status.prettyPrint()}",
                    target=ep.label,
                )
            if not var_binds:
                raise ProtocolError(f"{ep.label}: empty GETBULK response", target=ep.label)
            width = len(live)
            done: set[str] = set()
            for i, (name, value) in enumerate(var_binds):
                root = live[i % width]
                if root in done:
                    continue
                oid = tuple(name)
                base = prefix[root]
                if oid[: len(base)] != base or isinstance(value, end_of_mib):
                    done.add(root)
                    continue
                if oid <= cursor[root]:
                    raise loop_error(ep, ".".join(map(str, oid)), ".".join(map(str, cursor[root])))
                cursor[root] = oid
                raw = to_raw(value)
                if raw is None:
                    continue
                out[".".join(map(str, oid))] = raw
                budget[0] -= 1
                if budget[0] < 0:
                    raise cap_error(ep)
            for root in done:
                cursor.pop(root, None)
            # A column that got fewer rows than asked in this response has not necessarily
            # ended (agents truncate); it stays live until it leaves its subtree.
        return out


def snmp_error(exc: BaseException, label: str) -> CollectorError:
    """Wrap any unexpected library error so a sweep records it instead of crashing."""
    if isinstance(exc, CollectorError):
        return exc
    return ProtocolError(
        f"{label}: unexpected SNMP failure: {type(exc).__name__}: {exc}", target=label
    )
