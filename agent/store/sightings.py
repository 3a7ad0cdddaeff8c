"""Endpoints in the store: the MACs a switch learnt on its edge ports, each kept as an asset.

A switch's poll carries :class:`collectors.facts.Sighting` records (a MAC on an edge port, with
its VLAN, the OUI's vendor and, when an ARP/ND table knew it, its address). Inside the
transaction of ``Store.save_facts`` each sighting finds its asset by the identity key
``mac:<MAC>`` (the key a later SNMP or SSH poll of the same box shows, so that poll merges with
it instead of making a second asset), else becomes a new asset of class ``endpoint`` named by
its MAC. Where it sits is a ``cw_endpoint_port`` row (switch, port, VLAN, address, first and
last seen) and one ``connects`` link from the switch that saw it last.

A router's (or layer-3 switch's) ARP/ND entries are kept as ``cw_arp`` rows and give addresses
to the endpoints whose MAC they name, whichever of the two was polled first.

Aging: an endpoint that no poll has seen for ``discovery.endpoint_max_age_days`` is marked
``gone`` with an ``endpoint_gone`` event, never deleted; seen again, it is active again with an
``endpoint_returned`` event. Aging after a switch's poll looks only at the endpoints last seen
on that switch, so an unreachable switch does not age what sits behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from agent.store import tables as m
from agent.store.identity import WEIGHTS
from agent.store.link_kinds import CONNECTS
from collectors.facts import ENDPOINT, ArpEntry, Facts, Sighting

GONE = "gone"
SOURCE = "sighting"  # the field source and key source of what a switch told of an endpoint

_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
# MACs that several boxes answer with (VRRP, HSRP, GLBP) are nobody's endpoint.
_SHARED = ("00:00:5e:00:01:", "00:00:5e:00:02:", "00:00:0c:07:ac:", "00:00:0c:9f:f", "00:07:b4:00:")


def endpoint_mac(mac: str | None) -> str | None:
    """The MAC in canonical form when it can name one endpoint: unicast, not all zeros, not a
    shared virtual-router MAC. Locally administered MACs (randomised by phones, laptops) are
    kept: they name one device for as long as it keeps them."""
    value = (mac or "").strip().lower()
    if not _MAC.match(value) or int(value[:2], 16) & 0x01:
        return None
    if value == "00:00:00:00:00:00" or value.startswith(_SHARED):
        return None
    return value


def _where(s: Sighting, switch: m.Asset) -> str:
    vlan = f", VLAN {s.vlan}" if s.vlan is not None else ""
    return f"port {s.port}{vlan} of {switch.name}"


def store_endpoints(s: Session, switch: m.Asset, facts: Facts, now: datetime) -> None:
    """Keep this poll's ARP entries and sightings (``switch`` is the polled asset)."""
    assert switch.id is not None
    if facts.arp:
        _store_arp(s, switch.id, facts.protocol, facts.arp, now)
    if not facts.sightings:
        return
    own = {
        row.key[4:]
        for row in s.exec(
            select(m.AssetKey).where(
                m.AssetKey.asset_id == switch.id, col(m.AssetKey.key).startswith("mac:")
            )
        ).all()
    }
    by_mac: dict[str, list[Sighting]] = {}
    for sighting in facts.sightings:
        mac = endpoint_mac(sighting.mac)
        if mac is not None and mac not in own:
            by_mac.setdefault(mac, []).append(sighting)
    if not by_mac:
        return
    arp = _arp_addresses(s, list(by_mac))
    for mac, seen in sorted(by_mac.items()):
        address = next((x.address for x in seen if x.address), None) or arp.get(mac)
        asset = _endpoint_asset(s, mac, seen[0], switch, address, now)
        assert asset.id is not None
        for sighting in seen:
            _place(s, asset.id, switch.id, mac, sighting, address, now)
        _link(s, switch, asset.id, seen[0], now)


def _endpoint_asset(
    s: Session, mac: str, first: Sighting, switch: m.Asset, address: str | None, now: datetime
) -> m.Asset:
    """The asset holding ``mac:<mac>``, or a new endpoint; an endpoint's own fields (vendor,
    address) are refreshed, an asset that a poll or import describes is left as it says."""
    key = f"mac:{mac}"
    row = s.get(m.AssetKey, key)
    asset = s.get(m.Asset, row.asset_id) if row is not None else None
    if asset is None:
        asset = m.Asset(
            name=mac,
            device_class=ENDPOINT,
            vendor=(first.vendor or "unknown")[:128],
            site=switch.site,
            sources=[SOURCE],
            field_sources={"name": SOURCE, "device_class": SOURCE, "vendor": SOURCE},
            evidence={
                "device_class": f"MAC {mac} learnt on edge {_where(first, switch)}",
                "vendor": f"IEEE OUI registry: {mac[:8]}"
                if first.vendor
                else f"OUI {mac[:8]} is not in the IEEE registry shipped",
                "identity": "a new asset: no stored asset holds MAC " + mac,
            },
            first_seen=now,
            last_seen=now,
        )
        s.add(asset)
        s.flush()
        assert asset.id is not None
        s.add(
            m.AssetKey(
                key=key, asset_id=asset.id, strength=WEIGHTS["mac"], source=SOURCE, last_seen=now
            )
        )
    else:
        assert row is not None
        row.last_seen = now
        s.add(row)
    if asset.status == GONE:
        s.add(
            m.Event(
                at=now,
                kind="endpoint_returned",
                target=switch.name,
                asset_id=asset.id,
                message=f"{asset.name} (asset {asset.id}), marked gone, is seen again on "
                f"{_where(first, switch)}",
            )
        )
        asset.status = "active"
    if asset.device_class == ENDPOINT:
        asset.last_seen = now
    if _ours(asset):
        if first.vendor:
            asset.vendor = first.vendor[:128]
        if address:
            _set_address(s, asset, address)
    s.add(asset)
    return asset


def _ours(asset: m.Asset) -> bool:
    """Only switches have told of this asset: its vendor and address are the sightings'."""
    return set(asset.sources) <= {SOURCE}


def _set_address(s: Session, asset: m.Asset, address: str) -> None:
    """Give ``asset`` the address, taking it from other endpoints (a DHCP lease moved on)."""
    if asset.mgmt_address == address:
        return
    for other in s.exec(
        select(m.Asset).where(
            m.Asset.mgmt_address == address,
            m.Asset.device_class == ENDPOINT,
            m.Asset.id != asset.id,
        )
    ).all():
        if _ours(other):
            other.mgmt_address = None
            s.add(other)
    asset.mgmt_address = address


def _place(
    s: Session,
    asset_id: int,
    switch_id: int,
    mac: str,
    sighting: Sighting,
    address: str | None,
    now: datetime,
) -> None:
    port = sighting.port[:255]
    row = s.exec(
        select(m.EndpointPort).where(
            m.EndpointPort.asset_id == asset_id,
            m.EndpointPort.switch_asset_id == switch_id,
            m.EndpointPort.mac == mac,
            m.EndpointPort.port == port,
            m.EndpointPort.vlan == sighting.vlan
            if sighting.vlan is not None
            else col(m.EndpointPort.vlan).is_(None),
        )
    ).first()
    if row is None:
        row = m.EndpointPort(
            asset_id=asset_id,
            switch_asset_id=switch_id,
            mac=mac,
            port=port,
            first_seen=now,
            last_seen=now,
        )
    row.if_index, row.vlan, row.last_seen = sighting.if_index, sighting.vlan, now
    row.address = address or row.address
    s.add(row)


def _link(s: Session, switch: m.Asset, asset_id: int, first: Sighting, now: datetime) -> None:
    """One ``connects`` link per endpoint, from the switch that saw it last."""
    assert switch.id is not None
    evidence = f"forwarding table: {_where(first, switch)}"[:255]
    mine = None
    for link in s.exec(
        select(m.AssetLink).where(
            m.AssetLink.kind == CONNECTS, m.AssetLink.dst_asset_id == asset_id
        )
    ).all():
        if link.src_asset_id == switch.id:
            mine = link
        else:
            s.delete(link)
    if mine is None:
        mine = m.AssetLink(
            src_asset_id=switch.id,
            dst_asset_id=asset_id,
            kind=CONNECTS,
            first_seen=now,
            last_seen=now,
        )
    mine.evidence, mine.last_seen = evidence, now
    s.add(mine)
    s.flush()


def _store_arp(
    s: Session, asset_id: int, source: str, entries: Iterable[ArpEntry], now: datetime
) -> None:
    """Replace this device's ARP rows; give the addresses to the endpoints they name."""
    for old in s.exec(
        select(m.ArpRow).where(m.ArpRow.asset_id == asset_id, m.ArpRow.source == source)
    ).all():
        s.delete(old)
    rows: dict[tuple[str, str], m.ArpRow] = {}
    for e in entries:
        mac = endpoint_mac(e.mac)
        if mac is None:
            continue
        rows[(mac, e.address)] = m.ArpRow(
            asset_id=asset_id,
            source=source,
            mac=mac,
            address=e.address[:64],
            family=e.family[:8],
            if_name=(e.if_name or None) and (e.if_name or "")[:255],
            static=e.static,
        )
    s.add_all(rows.values())
    s.flush()
    preferred = _preferred(rows.values())
    if not preferred:
        return
    keys = s.exec(
        select(m.AssetKey).where(col(m.AssetKey.key).in_([f"mac:{x}" for x in preferred]))
    ).all()
    for key in keys:
        asset = s.get(m.Asset, key.asset_id)
        if asset is None or asset.device_class != ENDPOINT:
            continue
        address = preferred[key.key[4:]]
        if _ours(asset):
            _set_address(s, asset, address)
            s.add(asset)
        latest = s.exec(
            select(m.EndpointPort)
            .where(m.EndpointPort.asset_id == asset.id, m.EndpointPort.mac == key.key[4:])
            .order_by(col(m.EndpointPort.last_seen).desc())
        ).first()
        if latest is not None and latest.address != address:
            latest.address = address
            s.add(latest)


def _aware(at: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _preferred(rows: Iterable[m.ArpRow]) -> dict[str, str]:
    """MAC -> the address to show: the lowest IPv4, else the lowest IPv6 (link-local last)."""

    def rank(r: m.ArpRow) -> tuple[bool, bool, str]:
        return (r.family != "ipv4", r.address.startswith("fe80:"), r.address)

    best: dict[str, m.ArpRow] = {}
    for r in rows:
        if r.mac not in best or rank(r) < rank(best[r.mac]):
            best[r.mac] = r
    return {mac: r.address for mac, r in best.items()}


def _arp_addresses(s: Session, macs: list[str]) -> dict[str, str]:
    """MAC -> address from every stored ARP/ND table."""
    return _preferred(s.exec(select(m.ArpRow).where(col(m.ArpRow.mac).in_(macs))).all())


def age_endpoints(
    s: Session, now: datetime, max_age_days: int, switch_id: int | None = None
) -> list[int]:
    """Mark gone every active endpoint not seen for ``max_age_days`` (only those last seen on
    ``switch_id``, when given); return their ids."""
    cut = now - timedelta(days=max_age_days)
    stale = s.exec(
        select(m.Asset).where(
            m.Asset.device_class == ENDPOINT,
            m.Asset.status == "active",
            col(m.Asset.last_seen) < cut,
        )
    ).all()
    gone: list[int] = []
    for asset in stale:
        assert asset.id is not None
        latest = s.exec(
            select(m.EndpointPort)
            .where(m.EndpointPort.asset_id == asset.id)
            .order_by(col(m.EndpointPort.last_seen).desc(), col(m.EndpointPort.id).desc())
        ).first()
        if latest is None or (switch_id is not None and latest.switch_asset_id != switch_id):
            continue  # never sighted (a polled box), or last seen on another switch
        switch = s.get(m.Asset, latest.switch_asset_id)
        last = _aware(asset.last_seen)
        days = (now - last).days
        vlan = f", VLAN {latest.vlan}" if latest.vlan is not None else ""
        s.add(
            m.Event(
                at=now,
                kind="endpoint_gone",
                target=switch.name if switch else None,
                asset_id=asset.id,
                message=f"{asset.name} (asset {asset.id}) not seen for {days} days (more than "
                f"{max_age_days}); last on port {latest.port}{vlan} of "
                f"{switch.name if switch else 'asset ' + str(latest.switch_asset_id)} at "
                f"{last.isoformat()}: marked gone, history kept",
            )
        )
        asset.status = GONE
        if _ours(asset):
            asset.mgmt_address = None  # its lease may be another box's by now
        s.add(asset)
        gone.append(asset.id)
    return gone
