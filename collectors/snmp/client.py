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
- an SNMPv3 agent replaced at the same address (a new engine ID) is not discovered again at
  once: its polls time out for about five minutes, while pysnmp keeps the old engine ID;
- a host name is resolved once per client, not again every few minutes;
- a reply at another security level (RFC 3412 7.2.12b) makes it drop the
  request, which then times out even if the genuine answer follows; an authenticated report
  with an older clock moves its clock back; an engine latched at boots 2147483647 and a reply
  that does not decrypt are not reported as such (a timeout, "unknown engine ID");
- it costs many times more CPU per value (``bench/snmp.py`` measures how many).
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
from collectors.snmp import ber
from collectors.snmp.endpoint import (
    SnmpAuth,
    SnmpEndpoint,
    SnmpVersion,
    auth_error,
    cap_error,
    loop_error,
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
    from pysnmp.proto.mpmod import cache

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
