"""Fetch the standard table set (and a vendor's identity OIDs) from one SNMP agent.

``fetch`` does the I/O and returns raw ``{oid: value}``; :mod:`collectors.snmp.parse` turns that
into :class:`~collectors.facts.Facts`. ``collect_snmp`` is the two together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collectors.errors import CollectorError, ProtocolError
from collectors.facts import Facts
from collectors.snmp import oids
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint, snmp_error
from collectors.snmp.identify import IdentifyRules, vendor_oids
from collectors.snmp.parse import parse
from collectors.snmp.values import RawValue, SnmpOid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnmpTarget:
    """One device to poll: where, how, and with what (resolved) credentials."""

    endpoint: SnmpEndpoint
    auth: SnmpAuth
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.endpoint.label


def split_roots(roots: Sequence[str]) -> tuple[list[str], list[str]]:
    """Scalars (ending in ``.0``) are fetched with GET; everything else is walked."""
    scalars = [r for r in roots if r.endswith(".0")]
    walks = [r for r in roots if not r.endswith(".0")]
    return scalars, walks


async def fetch(
    client: SnmpClient,
    target: SnmpTarget,
    extra_roots: Callable[[str | None], Sequence[str]] = lambda _oid: (),
) -> dict[str, RawValue]:
    """Read the system group first, then every standard table and the vendor's OIDs."""
    ep, auth = target.endpoint, target.auth
    raw: dict[str, RawValue] = dict(await client.get(ep, auth, list(oids.SCALARS)))
    if oids.SYS_OBJECT_ID not in raw and oids.SYS_DESCR not in raw:
        raise ProtocolError(
            f"{target.label}: the agent answered but serves no system group "
            "(sysDescr/sysObjectID); check the view configured for this community or user",
            target=target.label,
        )
    sys_oid = raw.get(oids.SYS_OBJECT_ID)
    extra = list(extra_roots(str(sys_oid) if isinstance(sys_oid, SnmpOid | str) else None))
    scalars, walks = split_roots(extra)
    budget = [ep.value_cap - len(raw)]
    if scalars:
        raw.update(await client.get(ep, auth, scalars))
    raw.update(await client.walk(ep, auth, [*oids.WALK_ROOTS, *walks], budget=budget))
    return raw


async def collect_snmp(client: SnmpClient, target: SnmpTarget, rules: IdentifyRules) -> Facts:
    """Poll one target and return its Facts; raises a CollectorError on failure."""
    try:
        raw = await fetch(client, target, lambda oid: vendor_oids(rules, oid))
    except CollectorError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a library bug must not crash a sweep
        log.debug("unexpected SNMP failure on %s", target.label, exc_info=True)
        raise snmp_error(exc, target.label) from exc
    return parse(
        raw,
        target=target.label,
        address=target.endpoint.host,
        rules=rules,
        snmp_version=target.auth.version,
    )
