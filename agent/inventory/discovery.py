"""Neighbour discovery: LLDP/CDP neighbours of polled devices become new targets, inside the
configured discovery ranges and with their credentials only, up to a depth.

:func:`next_targets` is pure: from the neighbours each known device reported (and how many hops
it is from a configured target) it says which neighbours to add and why the others are not
added. :func:`crawl` repeats it from the configured targets, polling each new target for its
own neighbours through an injected ``poll`` (the CLI passes a light SNMP poll), so one seed
switch finds the switches behind it. Nothing is added outside the ranges, whatever a neighbour
table says: a neighbour table is data from the network, not configuration.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from agent.configuration.config_file import Settings, SshCred
from agent.inventory.targets import expand_targets
from collectors.facts import Neighbor

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class DiscoveryRange:
    network: Network
    credentials: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """A neighbour to add as a target."""

    address: str
    name: str | None
    via: str  # the address of the device whose neighbour table named it
    via_port: str | None
    protocol: str  # lldp | cdp
    depth: int  # hops from a configured target
    range: str
    credentials: tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    """A neighbour not added, and why."""

    address: str | None
    name: str | None
    via: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    found: tuple[Found, ...]
    skipped: tuple[Skipped, ...]
    polled: tuple[str, ...] = ()  # addresses whose neighbour tables were read
    failed: Mapping[str, str] | None = None  # address -> why its poll failed


def ranges_from(settings: Settings) -> list[DiscoveryRange]:
    d = settings.discovery
    creds = tuple(d.credentials)
    return [DiscoveryRange(ipaddress.ip_network(r, strict=False), creds) for r in d.ranges]


def seeds_from(settings: Settings) -> list[str]:
    """The configured SNMP targets (hosts and range addresses), the crawl's depth 0."""
    return sorted({j.host for j in expand_targets(settings) if j.protocol == "snmp"})


def _range_of(address: str, ranges: Sequence[DiscoveryRange]) -> DiscoveryRange | None:
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return None
    for r in ranges:
        if addr.version == r.network.version and addr in r.network:
            return r
    return None


def next_targets(
    neighbours: Mapping[str, Sequence[Neighbor]],
    depth_of: Mapping[str, int],
    known: Iterable[str],
    ranges: Sequence[DiscoveryRange],
    *,
    max_depth: int,
    max_new: int,
) -> tuple[list[Found], list[Skipped]]:
    """The neighbours of the devices in ``neighbours`` (address -> its LLDP/CDP neighbours) to
    add: not ``known`` already, with a management address inside a range that has credentials,
    at most ``max_depth`` hops from a configured target, at most ``max_new`` of them (nearest
    and lowest address first)."""
    seen = {str(k) for k in known}
    found: dict[str, Found] = {}
    skipped: list[Skipped] = []
    for via in sorted(neighbours):
        depth = depth_of.get(via, 0) + 1
        for nb in sorted(
            neighbours[via], key=lambda n: (n.local_port or "", n.remote_address or "")
        ):
            name, address = nb.remote_sys_name, nb.remote_address
            if not address:
                skipped.append(Skipped(None, name, via, "no management address"))
                continue
            if address in seen or address in found:
                continue
            rng = _range_of(address, ranges)
            if rng is None:
                skipped.append(Skipped(address, name, via, "outside the discovery ranges"))
                continue
            if not rng.credentials:
                skipped.append(Skipped(address, name, via, "its range has no credentials"))
                continue
            if depth > max_depth:
                skipped.append(
                    Skipped(address, name, via, f"{depth} hops away, deeper than {max_depth}")
                )
                continue
            found[address] = Found(
                address,
                name,
                via,
                nb.local_port,
                nb.protocol,
                depth,
                str(rng.network),
                rng.credentials,
            )
    ordered = sorted(found.values(), key=lambda f: (f.depth, ipaddress.ip_address(f.address)))
    for extra in ordered[max_new:]:
        skipped.append(Skipped(extra.address, extra.name, extra.via, f"over max_new ({max_new})"))
    return ordered[:max_new], skipped


# The result of polling one address for its neighbours: (the credential that answered, the
# neighbours), or an error message.
PollResult = tuple[str, Sequence[Neighbor]] | str
Poll = Callable[[str, Sequence[str]], Awaitable[PollResult]]


async def crawl(
    seeds: Sequence[str],
    seed_credentials: Mapping[str, Sequence[str]],
    ranges: Sequence[DiscoveryRange],
    poll: Poll,
    *,
    max_depth: int,
    max_new: int,
) -> Discovery:
    """Breadth first from ``seeds`` (depth 0): poll each device for its neighbours, add those
    :func:`next_targets` accepts, poll them in turn, until nothing new or ``max_depth``."""
    depth_of = {s: 0 for s in seeds}
    frontier = list(seeds)
    found: list[Found] = []
    skipped: dict[tuple[str | None, str | None, str], Skipped] = {}
    failed: dict[str, str] = {}
    polled: list[str] = []
    creds_of: dict[str, Sequence[str]] = dict(seed_credentials)
    while frontier:
        neighbours: dict[str, Sequence[Neighbor]] = {}
        for address in frontier:
            result = await poll(address, creds_of.get(address, ()))
            if isinstance(result, str):
                failed[address] = result
                continue
            polled.append(address)
            neighbours[address] = result[1]
        known = set(depth_of)
        new, skip = next_targets(
            neighbours,
            depth_of,
            known,
            ranges,
            max_depth=max_depth,
            max_new=max_new - len(found),
        )
        for s in skip:
            skipped.setdefault((s.address, s.name, s.reason), s)
        frontier = []
        for f in new:
            depth_of[f.address] = f.depth
            creds_of[f.address] = f.credentials
            found.append(f)
            frontier.append(f.address)
    # A neighbour skipped as too deep or over the cap that was found another way is not skipped.
    added = {f.address for f in found} | set(seeds)
    rest = tuple(s for s in skipped.values() if s.address not in added)
    return Discovery(tuple(found), rest, tuple(polled), failed)


def seed_credentials(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The SNMP credentials each configured target is polled with."""
    out: dict[str, tuple[str, ...]] = {}
    for job in expand_targets(settings):
        if job.protocol == "snmp":
            creds = tuple(
                c for c in job.credentials if not isinstance(settings.credentials.get(c), SshCred)
            )
            out.setdefault(job.host, creds)
    return out
