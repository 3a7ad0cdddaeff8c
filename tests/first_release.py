"""Rows as a cloudward at the first released schema (0001) wrote them, for upgrade tests.

Written through the tables reflected from the database itself, not through today's models
(which have columns that schema lacks): a switch polled over SNMP, and what that release made
of a management controller and its server sharing a serial (one asset, keyed by vendor+serial).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from agent.store import Store

T_OLD = datetime(2026, 1, 1, tzinfo=UTC)
SWITCH, MERGED = 1, 2
SWITCH_TARGET = "snmp://192.0.2.7:161"
ILO_TARGET = "snmp://192.0.2.130:161"


def _asset(name: str, device_class: str, vendor: str, serial: str) -> dict[str, Any]:
    return {
        "name": name,
        "sys_name": name,
        "device_class": device_class,
        "vendor": vendor,
        "serial": serial,
        "mgmt_address": None,
        "tags": [],
        "sources": ["snmp"],
        "evidence": {},
        "planning": {},
        "exposures": [],
        "field_sources": {"serial": "snmp", "device_class": "snmp"},
        "first_seen": T_OLD,
        "last_seen": T_OLD,
    }


def write_first_release(store: Store) -> None:
    """Fill a database that is at revision 0001."""
    with store.engine.begin() as conn:
        md = sa.MetaData()
        md.reflect(bind=conn)
        t = md.tables
        for asset_id, row in (
            (SWITCH, _asset("core-sw-1", "switch", "Cisco", "FOC0000001")),
            (MERGED, _asset("th-ilo02", "bmc", "HPE", "CZJ6210A7K")),
        ):
            made = conn.execute(t["cw_asset"].insert().values(row)).inserted_primary_key
            assert made is not None and made[0] == asset_id, "expected a fresh database"
        keys = [
            ("serial:cisco:FOC0000001", SWITCH, 3),
            ("mac:00:11:22:33:44:55", SWITCH, 2),
            ("host:core-sw-1@192.0.2.7", SWITCH, 1),
            ("serial:hpe:CZJ6210A7K", MERGED, 3),
            ("host:th-ilo02@192.0.2.130", MERGED, 1),
        ]
        conn.execute(
            t["cw_asset_key"].insert(),
            [
                {"key": k, "asset_id": a, "strength": s, "source": "snmp", "last_seen": T_OLD}
                for k, a, s in keys
            ],
        )
        run = {"protocol": "snmp", "started_at": T_OLD, "finished_at": T_OLD, "values_read": 9}
        conn.execute(
            t["cw_poll_run"].insert(),
            [
                {**run, "target": SWITCH_TARGET, "status": "ok", "asset_id": SWITCH},
                {**run, "target": ILO_TARGET, "status": "ok", "asset_id": MERGED},
                {**run, "target": "snmp://192.0.2.99:161", "status": "failed", "asset_id": None},
            ],
        )
        conn.execute(
            t["cw_interface"].insert(),
            {
                "asset_id": SWITCH,
                "source": "snmp",
                "if_index": 1,
                "name": "Gi1/0/1",
                "mac": "00:11:22:33:44:55",
                "if_type": 6,
            },
        )
        conn.execute(
            t["cw_software"].insert(),
            {"asset_id": SWITCH, "source": "snmp", "name": "ios", "version": "15.2", "kind": "os"},
        )


def keys_after_upgrade(store: Store) -> dict[str, tuple[int, int]]:
    """{key: (asset id, strength)} as stored now."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, asset_id, strength FROM cw_asset_key")).all()
    return {k: (a, s) for k, a, s in rows}


# What revision 0004 makes of those keys: serial keys per class family, weights as strengths,
# and the key of each target that had a good poll.
UPGRADED_KEYS = {
    "serial:box:FOC0000001": (SWITCH, 100),
    "mac:00:11:22:33:44:55": (SWITCH, 100),
    "host:core-sw-1@192.0.2.7": (SWITCH, 50),
    f"at:{SWITCH_TARGET}": (SWITCH, 25),
    "serial:bmc:CZJ6210A7K": (MERGED, 100),
    "host:th-ilo02@192.0.2.130": (MERGED, 50),
    f"at:{ILO_TARGET}": (MERGED, 25),
}
