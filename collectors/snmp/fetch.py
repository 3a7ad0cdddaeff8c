"""Fetch the standard table set (and a vendor's identity OIDs) from one SNMP agent.

``fetch`` does the I/O and returns raw ``{oid: value}``; :mod:`collectors.snmp.parse` turns that
into :class:`~collectors.facts.Facts`. ``collect_snmp`` is the two together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from collectors.errors import CollectorError, ProtocolError
from collectors.facts import Facts
from collectors.oui import vendor_of
from collectors.sample import SAMPLE_ROOTS, SAMPLE_SCALARS, Sample, sample_from_snmp
from collectors.snmp import forwarding, oids
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint, snmp_error
from collectors.snmp.identify import IdentifyRules, vendor_oids
from collectors.snmp.parse import parse, parse_interfaces, parse_neighbors
from collectors.snmp.values import RawValue, SnmpOid, text

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
    roots = [*oids.WALK_ROOTS, *forwarding.EDGE_ROOTS, *walks]
    if isinstance(sys_oid, str) and sys_oid.startswith(forwarding.CISCO_PREFIX):
        roots.append(forwarding.VTP_VLAN_STATE)
    raw.update(await client.walk(ep, auth, roots, budget=budget))
    if isinstance(sys_oid, str) and sys_oid.startswith(forwarding.CISCO_PREFIX):
        raw.update(await fetch_vlan_bridges(client, target, forwarding.vtp_vlans(raw), budget))
    return raw


def vlan_auth(auth: SnmpAuth, vlan: int) -> SnmpAuth:
    """Cisco's per-VLAN view of the BRIDGE-MIB: ``community@vlan`` (v1/v2c), or the context
    ``vlan-<id>`` (SNMPv3)."""
    if auth.version == "3":
        return replace(auth, context=f"vlan-{vlan}")
    return replace(auth, community=f"{auth.community}@{vlan}")


async def fetch_vlan_bridges(
    client: SnmpClient, target: SnmpTarget, vlans: Sequence[int], budget: list[int]
) -> dict[str, RawValue]:
    """The BRIDGE-MIB of each VLAN of a Cisco switch, keyed by :func:`forwarding.vlan_key`. A VLAN
    that fails is skipped, and one that times out ends the per-VLAN reads (the agent does not
    index by community or context, or its view leaves them out): the rest of the poll stands."""
    out: dict[str, RawValue] = {}
    for vlan in vlans:
        try:
            got = await client.walk(
                target.endpoint,
                vlan_auth(target.auth, vlan),
                forwarding.PER_VLAN_ROOTS,
                budget=budget,
            )
        except CollectorError as exc:
            if exc.kind == "value_cap":
                raise
            log.info("%s: no forwarding table for VLAN %d (%s)", target.label, vlan, exc)
            if exc.kind == "timeout":
                break
            continue
        out.update({forwarding.vlan_key(vlan, oid): value for oid, value in got.items()})
    return out


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
        vendor=vendor_of,
    )


NEIGHBOUR_ROOTS: tuple[str, ...] = (
    oids.IF_NAME,
    oids.IF_DESCR,
    *(f"{oids.LLDP_REM}.{n}" for n in oids.LLDP_REM_COLUMNS.values()),
    oids.LLDP_LOC_PORT_ID,
    oids.LLDP_LOC_PORT_DESCR,
    oids.LLDP_REM_MAN_ADDR_IF_SUBTYPE,
    forwarding.LLDP_REM_CAP_ENABLED,
    *(f"{oids.CDP_CACHE}.{n}" for n in oids.CDP_COLUMNS.values()),
    forwarding.CDP_CACHE_CAPABILITIES,
)


async def collect_neighbours(client: SnmpClient, target: SnmpTarget) -> Facts:
    """A light poll for neighbour discovery: the system group and the LLDP/CDP tables only
    (Facts with sys_name, interfaces and neighbors); raises a CollectorError on failure."""
    ep, auth = target.endpoint, target.auth
    try:
        raw: dict[str, RawValue] = dict(
            await client.get(ep, auth, [oids.SYS_NAME, oids.SYS_OBJECT_ID, oids.SYS_DESCR])
        )
        if not raw:
            raise ProtocolError(
                f"{target.label}: the agent serves no system group; check its view",
                target=target.label,
            )
        raw.update(await client.walk(ep, auth, NEIGHBOUR_ROOTS, budget=[ep.value_cap]))
    except CollectorError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a library bug must not crash a crawl
        raise snmp_error(exc, target.label) from exc
    interfaces = parse_interfaces(raw)
    return Facts(
        target=target.label,
        protocol="snmp",
        address=ep.host,
        sys_name=text(raw.get(oids.SYS_NAME)),
        interfaces=interfaces,
        neighbors=parse_neighbors(raw, interfaces),
        values_read=len(raw),
    )


async def collect_snmp_sample(client: SnmpClient, target: SnmpTarget) -> Sample:
    """The light utilisation poll: UCD scalars, hrProcessorLoad, hrStorage and the interface
    octet counters only; raises a CollectorError on failure."""
    ep, auth = target.endpoint, target.auth
    try:
        raw: dict[str, RawValue] = dict(await client.get(ep, auth, list(SAMPLE_SCALARS)))
        raw.update(await client.walk(ep, auth, SAMPLE_ROOTS, budget=[ep.value_cap]))
    except CollectorError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a library bug must not crash the sampler
        raise snmp_error(exc, target.label) from exc
    return sample_from_snmp(raw)
