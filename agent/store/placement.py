"""Virtual placement: ``hosts`` links from a hypervisor to the virtual machines it runs.

A hypervisor's poll lists its guests (:class:`collectors.facts.Guest`, kept as ``cw_guest``
rows). Each guest is matched to an inventoried asset by its system UUID (the VM's BIOS UUID,
which the guest OS reads as its own; either SMBIOS byte order), else by name: the one active
asset whose name or system name, without its domain, is the VM's name, unless that asset has
another system UUID. The match is linked ``hosts`` (hypervisor -> guest) with the evidence.

A guest runs on one host: the newest observation wins, so a VM moved by vMotion or live
migration follows its new host, and a VM no longer in a host's list loses the link. An import's
``host`` column gives links too (evidence ``import ...``); an observed link replaces an imported
one, never the reverse. Links are made from whichever side is saved last: the hypervisor's poll
links its guests, and a guest's poll finds the hypervisors that list it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, or_, select

from agent.store import tables as m
from agent.store.link_kinds import HOSTS
from collectors.system_uuid import canonical, swapped

IMPORTED = "import"  # the evidence of a link from an import starts with this
_NOT_GUESTS = ("bmc",)


def short_name(name: str | None) -> str:
    return (name or "").strip().lower().split(".")[0]


def _escaped(text: str) -> str:
    """``text`` for a LIKE pattern in which it matches only itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _uuids(uuid: str | None) -> list[str]:
    u = canonical(uuid)
    return [] if u is None else sorted({u, swapped(u)})


def link_placement(s: Session, asset: m.Asset, now: datetime) -> None:
    """After ``asset`` was saved: link the guests it lists (if it is a hypervisor), and link it
    to the hypervisors that list it (if it is a guest)."""
    assert asset.id is not None
    s.flush()
    hypervisors = {asset.id}
    names = {short_name(asset.name), short_name(asset.sys_name)} - {""}
    uuids = _uuids(asset.system_uuid)
    conditions: list[Any] = []
    if uuids:
        conditions.append(col(m.GuestRow.uuid).in_(uuids))
    for name in sorted(names):
        lowered = func.lower(m.GuestRow.name)
        conditions += [lowered == name, lowered.like(_escaped(name) + ".%", escape="\\")]
    if conditions:
        rows = s.exec(select(m.GuestRow.asset_id, m.GuestRow.name).where(or_(*conditions))).all()
        hypervisors |= {aid for aid, _name in rows if aid != asset.id}
    for hv in sorted(hypervisors):
        _link_guests_of(s, hv, now)


def _link_guests_of(s: Session, hv_id: int, now: datetime) -> None:
    """Match every guest the hypervisor ``hv_id`` lists; keep exactly those observed links."""
    hv = s.get(m.Asset, hv_id)
    rows = s.exec(
        select(m.GuestRow).where(m.GuestRow.asset_id == hv_id).order_by(col(m.GuestRow.id))
    ).all()
    found: dict[int, str] = {}
    if hv is not None and hv.status == "active":
        for row in rows:
            match = _match(s, row, hv_id)
            if match is not None and match[0] not in found:
                found[match[0]] = match[1]
    observed = s.exec(
        select(m.AssetLink).where(m.AssetLink.kind == HOSTS, m.AssetLink.src_asset_id == hv_id)
    ).all()
    for link in observed:
        if link.dst_asset_id not in found and not link.evidence.startswith(IMPORTED):
            s.delete(link)
    for guest_id, evidence in found.items():
        _set_link(s, hv_id, guest_id, evidence, now)


def _match(s: Session, row: m.GuestRow, hv_id: int) -> tuple[int, str] | None:
    what = f"{row.platform} guest list ({row.source}): VM {row.name!r}"
    uuids = _uuids(row.uuid)
    if uuids:
        by_uuid = s.exec(
            select(m.Asset.id).where(
                func.lower(m.Asset.system_uuid).in_(uuids),  # collectors write canonical ones
                m.Asset.status == "active",
                m.Asset.id != hv_id,
            )
        ).all()
        if len(by_uuid) == 1 and by_uuid[0] is not None:
            return by_uuid[0], f"{what} has the asset's system UUID {uuids[0]}"[:255]
    name = short_name(row.name)
    if not name:
        return None
    like = _escaped(name) + ".%"
    candidates = s.exec(
        select(m.Asset).where(
            m.Asset.status == "active",
            m.Asset.id != hv_id,
            col(m.Asset.device_class).not_in(_NOT_GUESTS),
            or_(
                *(
                    or_(func.lower(c) == name, func.lower(c).like(like, escape="\\"))
                    for c in (col(m.Asset.name), col(m.Asset.sys_name))
                )
            ),
        )
    ).all()
    named = [
        a
        for a in candidates
        if name in (short_name(a.name), short_name(a.sys_name))
        # a known, different system UUID says it is another machine of the same name
        and not (uuids and a.system_uuid and canonical(a.system_uuid) not in uuids)
    ]
    if len(named) != 1 or named[0].id is None:
        return None
    return named[0].id, f"{what} has the asset's name"[:255]


def _set_link(s: Session, src: int, dst: int, evidence: str, now: datetime) -> None:
    """``src`` hosts ``dst``: any other host of ``dst`` is history (the VM moved)."""
    imported = evidence.startswith(IMPORTED)
    links = s.exec(
        select(m.AssetLink).where(m.AssetLink.kind == HOSTS, m.AssetLink.dst_asset_id == dst)
    ).all()
    mine = None
    for link in links:
        if link.src_asset_id == src:
            mine = link
        elif imported and not link.evidence.startswith(IMPORTED):
            return  # observed elsewhere: what was seen beats what was written down
        else:
            s.delete(link)
    if mine is None:
        mine = m.AssetLink(
            src_asset_id=src, dst_asset_id=dst, kind=HOSTS, first_seen=now, last_seen=now
        )
    elif imported and not mine.evidence.startswith(IMPORTED):
        mine.last_seen = now  # observed already; the import agrees
        s.add(mine)
        return
    mine.evidence, mine.last_seen = evidence[:255], now
    s.add(mine)
    s.flush()


def link_imported_host(
    s: Session, guest_id: int, host_id: int | None, evidence: str, now: datetime
) -> None:
    """The host an import's ``host`` column names for ``guest_id`` (None: none, or a host not
    inventoried): replaces the link the previous import gave, never an observed one."""
    for link in s.exec(
        select(m.AssetLink).where(m.AssetLink.kind == HOSTS, m.AssetLink.dst_asset_id == guest_id)
    ).all():
        if link.evidence.startswith(IMPORTED) and link.src_asset_id != host_id:
            s.delete(link)
    s.flush()
    if host_id is not None and host_id != guest_id:
        _set_link(s, host_id, guest_id, f"{IMPORTED} {evidence}", now)


def hosted_on(s: Session) -> dict[int, int]:
    """Guest asset id -> the id of the hypervisor that hosts it."""
    return {
        dst: src
        for src, dst in s.exec(
            select(m.AssetLink.src_asset_id, m.AssetLink.dst_asset_id)
            .where(m.AssetLink.kind == HOSTS)
            .order_by(col(m.AssetLink.id))
        ).all()
    }
