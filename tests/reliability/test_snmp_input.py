"""SNMP agents that answer with nonsense: wrong types, huge strings, invalid UTF-8 and control
sequences, endless tables, GETNEXT loops and garbage mid-walk. The agent is a real UDP peer
(:mod:`tests.reliability.rogue`, built on pysnmp's message API); the poll goes through the public
``SnmpClient``/``collect_snmp`` on both engines, then through the Poller into the store (SQLite
and PostgreSQL), the API and the pages."""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.api.server import create_app
from agent.configuration.config_file import Settings
from agent.inventory.polling import JobResult
from agent.store import Store
from agent.store import tables as m
from agent.telemetry.metrics import new_registry
from collectors.errors import CollectorError, ProtocolError, ValueCapExceeded
from collectors.facts import Facts
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import IdentifyRules, load_rules
from tests.reliability.polling import poll_once, settings_from
from tests.reliability.rogue import V2, RogueAgent, system_group
from tests.reliability.untrusted import CONTROL, HOSTILE, SCRIPT, assert_inert_html, html_pages

pytestmark = pytest.mark.peer

ENGINES = ["fast", "pysnmp"]
HR_SW_NAME = "1.3.6.1.2.1.25.6.3.1.2"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
HUGE = 30_000


def nasty_mib() -> dict[str, Any]:
    """Every standard object cloudward reads, answered with the wrong type or hostile text."""
    mib = system_group(
        descr=b"\xff\xfe" + HOSTILE.encode() + b"\xc3\x28" + b"A" * HUGE,  # invalid UTF-8, huge
        object_id=V2.OctetString(b"not an OID"),  # wrong type
        name=HOSTILE.encode() + b"\x00\xc3\x28",
    )
    mib.update(
        {
            "1.3.6.1.2.1.1.3.0": V2.OctetString(b"yesterday"),  # sysUpTime as text
            "1.3.6.1.2.1.1.4.0": V2.Integer(-1),  # sysContact as a number
            "1.3.6.1.2.1.1.6.0": V2.IpAddress("192.0.2.1"),  # sysLocation as an address
            "1.3.6.1.6.3.10.2.1.1.0": V2.Integer(7),  # snmpEngineID as a number
            "1.3.6.1.2.1.25.2.2.0": V2.OctetString(b"lots"),  # hrMemorySize as text
            "1.0.8802.1.1.2.1.3.2.0": V2.Counter64(2**64 - 1),  # lldpLocChassisId as a counter
            # ifTable / ifXTable: every column wrong once
            f"{IF_DESCR}.1": V2.Counter64(2**64 - 1),
            "1.3.6.1.2.1.2.2.1.3.1": V2.OctetString(b"ethernet"),
            "1.3.6.1.2.1.2.2.1.4.1": V2.Integer(-5),
            "1.3.6.1.2.1.2.2.1.5.1": V2.OctetString(b"fast"),
            "1.3.6.1.2.1.2.2.1.6.1": V2.Integer(5),
            "1.3.6.1.2.1.2.2.1.7.1": V2.Integer(99),
            "1.3.6.1.2.1.2.2.1.8.1": V2.ObjectIdentifier("1.3.6"),
            "1.3.6.1.2.1.31.1.1.1.1.1": V2.OctetString(b"x" * 10_000),
            "1.3.6.1.2.1.31.1.1.1.15.1": V2.Gauge32(4294967295),
            "1.3.6.1.2.1.31.1.1.1.18.1": V2.OctetString(b"\xff\xfe\xfd uplink " + HOSTILE.encode()),
            f"{IF_DESCR}.2": V2.OctetString(b"eth1"),
            # IP-MIB: a wrong-typed index value and a netmask that is text
            "1.3.6.1.2.1.4.20.1.2.192.0.2.9": V2.OctetString(b"two"),
            "1.3.6.1.2.1.4.20.1.3.192.0.2.9": V2.OctetString(b"255.255.255.0"),
            "1.3.6.1.2.1.4.20.1.2.999.1.2.3": V2.Integer(1),
            # HOST-RESOURCES: storage with negative and zero sizes, software with garbage
            "1.3.6.1.2.1.25.2.3.1.2.1": V2.ObjectIdentifier("1.3.6.1.2.1.25.2.1.4"),
            "1.3.6.1.2.1.25.2.3.1.3.1": V2.OctetString(b"/\x1b[31m;rm -rf /"),
            "1.3.6.1.2.1.25.2.3.1.4.1": V2.Integer(0),
            "1.3.6.1.2.1.25.2.3.1.5.1": V2.Integer(-100),
            "1.3.6.1.2.1.25.2.3.1.6.1": V2.OctetString(b"full"),
            f"{HR_SW_NAME}.1": V2.OctetString(b"\xff" * 600),
            f"{HR_SW_NAME}.2": V2.OctetString(HOSTILE.encode()),
            "1.3.6.1.2.1.25.6.3.1.5.1": V2.OctetString(b"\x07\xe9\x0d\x63\x63\x63\x63\x00"),
            "1.3.6.1.2.1.25.6.3.1.5.2": V2.Integer(20240101),
            # ENTITY-MIB: a chassis whose serial is a command and whose date is noise
            "1.3.6.1.2.1.47.1.1.1.1.5.1": V2.Integer(3),
            "1.3.6.1.2.1.47.1.1.1.1.11.1": V2.OctetString(b"$(reboot)"),
            "1.3.6.1.2.1.47.1.1.1.1.13.1": V2.OctetString(HOSTILE.encode() * 20),
            "1.3.6.1.2.1.47.1.1.1.1.17.1": V2.OctetString(b"\xff\xff\xff"),
            # HOST-RESOURCES processor load out of range
            "1.3.6.1.2.1.25.3.3.1.2.1": V2.Integer(1000),
        }
    )
    return mib


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


def collect(agent: RogueAgent, engine: str, rules: IdentifyRules, **ep: Any) -> Facts:
    async def go() -> Facts:
        client = SnmpClient(engine)  # type: ignore[arg-type]
        try:
            endpoint = SnmpEndpoint("127.0.0.1", agent.port, timeout=1.0, retries=0, **ep)
            target = SnmpTarget(endpoint, SnmpAuth("2c", community=agent.community))
            return await collect_snmp(client, target, rules)
        finally:
            client.close()

    return asyncio.run(go())


def all_text(facts: Facts) -> list[str]:
    """Every string in the facts, however deep."""
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(k)
                walk(v)
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v)

    walk(facts.to_dict())
    return out


# --- the collector ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_types_huge_and_invalid_text_give_clean_facts(
    engine: str, rules: IdentifyRules
) -> None:
    with RogueAgent(nasty_mib()) as agent:
        facts = collect(agent, engine, rules)
    assert facts.sys_name is not None and "sw-1;$(touch /tmp/cw-pwned)" in facts.sys_name
    assert facts.sys_object_id is None  # text where an OID belongs is not taken for one
    assert facts.uptime_s is None and facts.memory_bytes is None
    assert facts.sys_descr is not None and len(facts.sys_descr) <= 4096
    for s in all_text(facts):
        assert not CONTROL.search(s), f"control character kept in {s[:60]!r}"
    json.dumps(facts.to_dict())  # what probe --json prints always serialises
    assert not os.path.exists("/tmp/cw-pwned")


@pytest.mark.parametrize("engine", ENGINES)
def test_endless_table_stops_at_the_value_cap(engine: str, rules: IdentifyRules) -> None:
    mib = system_group()
    with RogueAgent(mib, endless=HR_SW_NAME) as agent:
        with pytest.raises(ValueCapExceeded, match="value_cap"):
            collect(agent, engine, rules, value_cap=400)
        asked = agent.requests
    # The cap, not a timeout or the agent, ended it: a bounded number of requests.
    assert asked < 400


@pytest.mark.parametrize("engine", ENGINES)
def test_getnext_loop_is_detected(engine: str, rules: IdentifyRules) -> None:
    agent = RogueAgent(system_group(), loop=IF_DESCR)
    try:
        with pytest.raises(ProtocolError, match="GETNEXT loop"):
            collect(agent, engine, rules)
    finally:
        agent.stop()


@pytest.mark.parametrize("engine", ENGINES)
def test_garbage_in_the_middle_of_a_walk_is_a_collector_error(
    engine: str, rules: IdentifyRules
) -> None:
    mib = system_group()
    mib.update({f"{IF_DESCR}.{i}": f"eth{i}".encode() for i in range(1, 40)})
    with RogueAgent(mib, garbage_after=2) as agent, pytest.raises(CollectorError) as err:
        collect(agent, engine, rules)
    assert f":{agent.port}" in str(err.value)


# --- through the Poller into the store, the API and the pages ----------------------------------


def poll(store: Store, agent: RogueAgent, rules: IdentifyRules, **snmp: Any) -> JobResult:
    settings = settings_from(
        {
            "defaults": {"snmp": {"timeout": "1s", "retries": 0, **snmp}},
            "credentials": {"rogue": {"type": "snmp-community", "community": {"env": "CW_ROGUE"}}},
            "targets": [{"host": "127.0.0.1", "snmp_port": agent.port, "credentials": ["rogue"]}],
        }
    )
    return poll_once(settings, store, rules)


@pytest.fixture()
def rogue_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_ROGUE", "rogue")


@pytest.mark.usefixtures("rogue_env")
def test_hostile_values_are_stored_as_inert_text_and_pages_escape_them(
    store: Store, rules: IdentifyRules
) -> None:
    with RogueAgent(nasty_mib()) as agent:
        result = poll(store, agent, rules)
    assert result.ok, result.error
    [asset] = store.list_assets()
    assert asset.sys_name is not None and SCRIPT in asset.sys_name
    assert len(asset.name) <= 255 and not CONTROL.search(asset.name)
    software = store.children(m.SoftwareRow, asset.id)
    assert software and all(not CONTROL.search(s.name) for s in software)

    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    app = create_app(daemon, token=None)  # type: ignore[arg-type]
    with TestClient(app) as client:
        detail = client.get(f"/api/v1/assets/{asset.id}")
        assert detail.status_code == 200
        assert detail.json()["name"] == asset.name  # JSON carries it as plain text
        page = client.get(f"/assets/{asset.id}")
        assert page.status_code == 200
        assert_inert_html(page.text)
        assert "&lt;script&gt;" in page.text  # shown, escaped
        for path in html_pages(app):
            r = client.get(path)
            assert r.status_code in (200, 404), (path, r.status_code)
            assert_inert_html(r.text)


@pytest.mark.usefixtures("rogue_env")
@pytest.mark.parametrize(
    ("behaviour", "kind", "words"),
    [
        ({"endless": HR_SW_NAME}, "value_cap", "value cap"),
        ({"loop": IF_DESCR}, "protocol", "GETNEXT loop"),
    ],
)
def test_endless_and_looping_agents_are_failed_poll_runs(
    store: Store, rules: IdentifyRules, behaviour: dict[str, str], kind: str, words: str
) -> None:
    with RogueAgent(system_group(), **behaviour) as agent:
        result = poll(store, agent, rules, value_cap=300)
    assert not result.ok and result.error_kind == kind
    [run] = store.poll_runs()
    assert run.status == "failed" and run.error_kind == kind and words in (run.error or "")
    assert store.count(m.Asset) == 0  # nothing half-stored
