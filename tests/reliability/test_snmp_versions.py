"""SNMP v1/v2c sends the community in clear text: an agent that answers it is flagged as
technical debt on that device (more for a default community); the same agent read over SNMPv3
authPriv is not. Real snmpd, through the Poller, the store and the planner."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from agent.bridge.plan_runs import compute_plan, save_plan
from agent.store import Store
from agent.store import tables as m
from agent.store.queries import plan_detail
from collectors.snmp.identify import load_rules
from tests.reliability.polling import poll_once, settings_from

pytestmark = pytest.mark.peer


def exposure_factor(store: Store) -> dict[str, Any]:
    save_plan(store, compute_plan(store, date(2026, 11, 1)))
    with store.session() as s:
        [row] = s.exec(select(m.AssetPlan)).all()
        detail = plan_detail(s, row.detail_id)
    assert detail is not None
    [factor] = [f for f in detail["factors"] if f["name"] == "insecure_exposure"]
    return dict(factor)


@pytest.mark.parametrize(
    ("version", "kind"),
    [("2c", "snmp-cleartext"), ("1", "snmp-cleartext"), ("2c-public", "snmp-default-community")],
)
def test_v1_and_v2c_are_debt_on_the_device(
    tmp_path: Path,
    agents: list[Any],
    snmpd: Any,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    kind: str,
) -> None:
    agent = snmpd if version == "2c-public" else agents[0]
    monkeypatch.setenv("CW_V_COMM", agent.community)
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        settings = settings_from(
            {
                "credentials": {
                    "c": {
                        "type": "snmp-community",
                        "version": version[:2].rstrip("-"),
                        "community": {"env": "CW_V_COMM"},
                    }
                },
                "targets": [{"host": "127.0.0.1", "snmp_port": agent.port, "credentials": ["c"]}],
            }
        )
        assert poll_once(settings, store, load_rules()).ok
        [asset] = store.list_assets()
        assert [e["kind"] for e in asset.exposures] == [kind]
        factor = exposure_factor(store)
        assert factor["value"] > 0 and kind in factor["evidence"], factor
    finally:
        store.close()


def test_v3_authpriv_is_not(
    tmp_path: Path, agents: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agents[0]
    monkeypatch.setenv("CW_V_AUTH", agent.v3_auth)
    monkeypatch.setenv("CW_V_PRIV", agent.v3_priv)
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        settings = settings_from(
            {
                "credentials": {
                    "c": {
                        "type": "snmpv3",
                        "user": agent.v3_user,
                        "auth_key": {"env": "CW_V_AUTH"},
                        "priv_key": {"env": "CW_V_PRIV"},
                    }
                },
                "targets": [{"host": "127.0.0.1", "snmp_port": agent.port, "credentials": ["c"]}],
            }
        )
        assert poll_once(settings, store, load_rules()).ok
        [asset] = store.list_assets()
        assert asset.exposures == []
        assert exposure_factor(store)["value"] == 0
    finally:
        store.close()
