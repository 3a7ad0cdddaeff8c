"""Identity resolution in the store: the asset a poll's Facts belong to, found inside the
transaction of ``Store.save_facts``.

The candidates, and what the store knows of each, are read here; how they are scored is
:mod:`agent.store.identity`. Here too are the consequences of a decision: a new asset when no
candidate matches, an ``identity_conflict`` event when several do, the old asset of a replaced
box marked ``replaced`` (with an ``asset_replaced`` event), and the ``manages`` link between a
management controller and the server whose serial it reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, delete, select

from agent.store import tables as m
from agent.store.identity import (
    BMC,
    Decision,
    Evidence,
    Known,
    decide,
    good_serial,
    identity_keys,
    serial_family,
    serial_key,
)
from agent.store.link_kinds import MANAGES
from collectors.facts import Facts

ACTIVE, REPLACED = "active", "replaced"


def resolve(s: Session, facts: Facts, now: datetime, name: str | None = None) -> m.Asset:
    """The asset these Facts describe: the best-scoring candidate, or a new one."""
    ev = Evidence.of(facts)
    held: dict[int, set[str]] = {}
    wanted = [key for key, _ in ev.keys]
    for row in s.exec(select(m.AssetKey).where(col(m.AssetKey.key).in_(wanted))).all():
        held.setdefault(row.asset_id, set()).add(row.key)
    decision = decide(ev, _known(s, held))
    if decision.rivals:
        chosen = decision.chosen
        assert chosen is not None
        s.add(
            m.Event(
                at=now,
                kind="identity_conflict",
                target=facts.target,
                asset_id=chosen.asset_id,
                message=f"{facts.target} matches several assets; kept {chosen.explain()}; also "
                + "; ".join(r.explain() for r in decision.rivals),
            )
        )
    asset = s.get(m.Asset, decision.chosen.asset_id) if decision.chosen else None
    if asset is None:
        label = name or facts.sys_name or facts.address or facts.target
        asset = m.Asset(name=label[:255], first_seen=now, last_seen=now)
        s.add(asset)
        s.flush()
        why = "a new asset: " + (
            f"no candidate scored enough (best: {decision.scores[0].explain()})"
            if decision.scores
            else "no stored asset holds any of its identity keys"
        )
    else:
        why = decision.chosen.explain() if decision.chosen else ""
        if asset.status != ACTIVE:
            s.add(
                m.Event(
                    at=now,
                    kind="asset_returned",
                    target=facts.target,
                    asset_id=asset.id,
                    message=f"{asset.name} (asset {asset.id}), marked {asset.status}, answers "
                    f"again at {facts.target}: {why}",
                )
            )
            asset.status, asset.replaced_by = ACTIVE, None
    asset.evidence = {**asset.evidence, "identity": why[:1000]}
    _mark_replaced(s, decision, asset, facts, now)
    return asset


def _known(s: Session, held: Mapping[int, set[str]]) -> list[Known]:
    if not held:
        return []
    ids = sorted(held)
    macs: dict[int, set[str]] = {}
    for aid, key in s.exec(
        select(m.AssetKey.asset_id, m.AssetKey.key).where(
            col(m.AssetKey.asset_id).in_(ids), col(m.AssetKey.key).startswith("mac:")
        )
    ).all():
        macs.setdefault(aid, set()).add(key[4:])
    return [
        Known(
            asset_id=a.id,
            device_class=a.device_class,
            serial=a.serial,
            serial_source=a.field_sources.get("serial"),
            engine_id=a.engine_id,
            macs=frozenset(macs.get(a.id, ())),
            held=frozenset(held[a.id]),
        )
        for a in s.exec(select(m.Asset).where(col(m.Asset.id).in_(ids))).all()
        if a.id is not None
    ]


def _mark_replaced(
    s: Session, decision: Decision, asset: m.Asset, facts: Facts, now: datetime
) -> None:
    """An asset last seen at this target, contradicted by what answers there now, is gone."""
    for found in decision.replaced:
        old = s.get(m.Asset, found.asset_id)
        if old is None or old.id == asset.id:
            continue
        if old.status == REPLACED and old.replaced_by == asset.id:
            continue
        old.status, old.replaced_by = REPLACED, asset.id
        s.add(old)
        s.add(
            m.Event(
                at=now,
                kind="asset_replaced",
                target=facts.target,
                asset_id=old.id,
                message=f"another box answers at {facts.target}: {old.name} (asset {old.id}) "
                f"was replaced by asset {asset.id} ({'; '.join(found.reasons)}); "
                f"asset {old.id} keeps its history",
            )
        )


def save_keys(s: Session, asset_id: int, facts: Facts, now: datetime) -> None:
    """Give the poll's identity keys to its asset (a key names one asset: the latest to show
    it, so a target or an address taken over by another box follows that box)."""
    best: dict[str, int] = {}
    for key, weight in identity_keys(facts):
        best[key] = max(weight, best.get(key, 0))
    existing = {
        r.key: r
        for r in s.exec(select(m.AssetKey).where(col(m.AssetKey.key).in_(list(best)))).all()
    }
    for key, weight in best.items():
        row = existing.get(key)
        if row is None:
            s.add(
                m.AssetKey(
                    key=key[:400],
                    asset_id=asset_id,
                    strength=weight,
                    source=facts.protocol,
                    last_seen=now,
                )
            )
        else:
            row.asset_id, row.strength, row.last_seen = asset_id, weight, now
            s.add(row)


def link_management(s: Session, asset: m.Asset, now: datetime) -> None:
    """Link a management controller to the server whose serial it reports (``manages``,
    controller -> server), from whichever of the two was saved last; drop a link its serial no
    longer supports."""
    assert asset.id is not None
    controller = serial_family(asset.device_class) == BMC
    other: int | None = None
    serial = (asset.serial or "").strip().upper()
    if good_serial(serial):
        row = s.get(m.AssetKey, serial_key(serial, "server" if controller else BMC))
        other = row.asset_id if row is not None and row.asset_id != asset.id else None
    mine = m.AssetLink.src_asset_id if controller else m.AssetLink.dst_asset_id
    theirs = m.AssetLink.dst_asset_id if controller else m.AssetLink.src_asset_id
    stale = delete(m.AssetLink).where(col(m.AssetLink.kind) == MANAGES, col(mine) == asset.id)
    if other is not None:
        stale = stale.where(col(theirs) != other)
    s.exec(stale)
    if other is None:
        return
    src, dst = (asset.id, other) if controller else (other, asset.id)
    link = s.exec(
        select(m.AssetLink).where(
            m.AssetLink.kind == MANAGES,
            m.AssetLink.src_asset_id == src,
            m.AssetLink.dst_asset_id == dst,
        )
    ).first()
    if link is None:
        link = m.AssetLink(
            src_asset_id=src,
            dst_asset_id=dst,
            kind=MANAGES,
            evidence=f"same serial {serial}",
            first_seen=now,
            last_seen=now,
        )
    link.last_seen = now
    s.add(link)
