"""Endpoints in the store: MACs learnt on switches' edge ports kept as assets of class
``endpoint`` (vendor from the OUI, address from ARP, switch, port and VLAN), merged with the box
when it is polled itself, aged to ``gone`` (with an event, never deleted) when no switch has seen
them for ``discovery.endpoint_max_age_days``, and never put in a migration wave.

Against peers: the generated switch lab of tests/lab/switches.py served by snmpsim and polled
through the agent's own Poller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from agent.api.server import create_app
from agent.bridge.plan_runs import compute_plan
from agent.configuration.config_file import Settings, parse_settings
from agent.inventory.polling import Poller
from agent.inventory.targets import expand_targets
from agent.store import Store
from agent.store import tables as m
from agent.store.queries import AssetFilter, asset_detail, list_assets_page
from agent.telemetry.metrics import new_registry
from collectors.facts import (
    ArpEntry,
    Connection,
    Facts,
    Identity,
    Interface,
    Listening,
    Sighting,
)
from collectors.oui import vendor_of
from collectors.snmp.identify import load_rules
from tests.lab import switches as lab

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PC1, PC2, PHONE = "00:14:22:0a:00:01", "00:14:22:0a:00:02", "00:04:f2:0a:00:03"
PRINTER = "00:1b:a9:0a:00:04"


def switch(*seen: tuple[str, str, int], name: str = "acc9", n: int = 9) -> Facts:
    """A switch's poll: ``seen`` holds (MAC, port, VLAN) learnt on its edge ports."""
    ports = sorted({p for _mac, p, _vlan in seen} | {"ge1", "ge2", "ge3", "ge4"})
    return Facts(
        target=f"snmp://10.0.{n}.2:161",
        protocol="snmp",
        address=f"10.0.{n}.2",
        sys_name=name,
        identity=Identity(vendor="Lab", device_class="switch"),
        interfaces=tuple(
            Interface(i, p, type=6, mac=f"02:00:00:00:{n:02x}:{i:02x}")
            for i, p in enumerate(ports, 1)
        ),
        sightings=tuple(
            Sighting(mac, name, port, ports.index(port) + 1, vlan, vendor=vendor_of(mac))
            for mac, port, vlan in seen
        ),
    )


def router(*arp: tuple[str, str]) -> Facts:
    return Facts(
        target="snmp://10.0.9.1:161",
        protocol="snmp",
        address="10.0.9.1",
        sys_name="core9",
        identity=Identity(vendor="Lab", device_class="router"),
        interfaces=(Interface(1, "vlan10", type=136, mac="02:00:00:00:08:01"),),
        arp=tuple(ArpEntry(mac, ip, "vlan10") for mac, ip in arp),
    )


def endpoints(store: Store) -> dict[str, m.Asset]:
    with store.session() as s:
        rows = s.exec(select(m.Asset).where(m.Asset.device_class == "endpoint")).all()
    return {a.name: a for a in rows}


def placed(store: Store) -> dict[str, tuple[str, str, int | None, str | None]]:
    """Endpoint MAC -> (switch name, port, VLAN, address) of its newest sighting."""
    out: dict[str, tuple[str, str, int | None, str | None]] = {}
    with store.session() as s:
        names = {a.id: a.name for a in s.exec(select(m.Asset)).all()}
        rows = s.exec(select(m.EndpointPort).order_by(m.EndpointPort.last_seen)).all()  # type: ignore[arg-type]
        for r in rows:
            out[r.mac] = (names[r.switch_asset_id], r.port, r.vlan, r.address)
    return out


def events(store: Store, kind: str) -> list[m.Event]:
    with store.session() as s:
        return list(s.exec(select(m.Event).where(m.Event.kind == kind)).all())


def test_sightings_become_endpoints_that_age_to_gone_and_come_back(store: Store) -> None:
    store.save_facts(router((PC1, "10.0.10.21"), (PHONE, "10.0.10.23")), now=T0)
    first = switch((PC1, "ge1", 10), (PC2, "ge2", 10), (PHONE, "ge3", 20))
    sw = store.save_facts(first, now=T0, endpoint_max_age_days=30)
    got = endpoints(store)
    assert set(got) == {PC1, PC2, PHONE}  # named by MAC until the box answers itself
    assert {n: a.vendor for n, a in got.items()} == {
        PC1: "Dell Inc.",
        PC2: "Dell Inc.",
        PHONE: "Polycom",
    }
    assert placed(store) == {
        PC1: ("acc9", "ge1", 10, "10.0.10.21"),  # the address from the router's ARP table
        PC2: ("acc9", "ge2", 10, None),
        PHONE: ("acc9", "ge3", 20, "10.0.10.23"),
    }
    assert got[PC1].mgmt_address == "10.0.10.21" and got[PC2].mgmt_address is None
    assert all(a.status == "active" and a.first_seen is not None for a in got.values())
    detail = asset_detail(store, got[PHONE].id or 0)
    assert detail is not None and detail["connected_to"]["id"] == sw
    assert "port ge3, VLAN 20 of acc9" in detail["connected_to"]["evidence"]
    # An ARP entry learnt later gives the address to the endpoint already stored.
    store.save_facts(router((PC2, "10.0.10.22")), now=T0 + DAY)
    assert endpoints(store)[PC2].mgmt_address == "10.0.10.22"

    # Ten days on the phone is not seen: not yet past the 30 days.
    store.save_facts(
        switch((PC1, "ge1", 10), (PC2, "ge2", 10)), now=T0 + 10 * DAY, endpoint_max_age_days=30
    )
    assert {a.status for a in endpoints(store).values()} == {"active"}
    # 31 days after it was last seen: gone, with an event, kept as history.
    later = T0 + 31 * DAY
    store.save_facts(
        switch((PC1, "ge1", 10), (PC2, "ge2", 10)), now=later, endpoint_max_age_days=30
    )
    got = endpoints(store)
    assert {n: a.status for n, a in got.items()} == {PC1: "active", PC2: "active", PHONE: "gone"}
    [gone] = events(store, "endpoint_gone")
    assert gone.asset_id == got[PHONE].id and "port ge3, VLAN 20 of acc9" in gone.message
    assert "not seen for 31 days" in gone.message
    assert store.count(m.EndpointPort) == 3  # where it sat is kept
    listed, total = list_assets_page(store, AssetFilter(status="gone"), limit=10, offset=0)
    assert total == 1 and [a["name"] for a in listed] == [PHONE]
    listed, _ = list_assets_page(store, AssetFilter(device_class="endpoint"), limit=10, offset=0)
    assert {a["name"] for a in listed} == {PC1, PC2}  # gone is history, not the estate
    # Seen again (moved to ge4): active again, with an event; nothing duplicated.
    store.save_facts(
        switch((PC1, "ge1", 10), (PHONE, "ge4", 20)), now=later + DAY, endpoint_max_age_days=30
    )
    got = endpoints(store)
    assert len(got) == 3 and got[PHONE].status == "active"
    [back] = events(store, "endpoint_returned")
    assert back.asset_id == got[PHONE].id
    assert placed(store)[PHONE][:3] == ("acc9", "ge4", 20)
    assert store.count(m.AssetLink, kind="connects") == 3


def test_aging_after_one_switch_leaves_endpoints_of_another_switch_alone(store: Store) -> None:
    store.save_facts(switch((PC1, "ge1", 1)), now=T0, endpoint_max_age_days=30)
    store.save_facts(switch((PC2, "ge1", 1), name="acc8", n=8), now=T0, endpoint_max_age_days=30)
    # Only acc9 is polled for 40 days (acc8 is unreachable): PC2, behind acc8, is not aged.
    store.save_facts(switch((PC1, "ge1", 1)), now=T0 + 40 * DAY, endpoint_max_age_days=30)
    assert {n: a.status for n, a in endpoints(store).items()} == {PC1: "active", PC2: "active"}
    # The periodic sweep over every switch ages it.
    assert store.age_endpoints(30, now=T0 + 40 * DAY) == [endpoints(store)[PC2].id]
    assert endpoints(store)[PC2].status == "gone"


def test_the_daemons_retention_job_ages_endpoints_of_a_switch_no_longer_polled(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from agent.runtime.daemon import Daemon

    now = datetime.now(UTC)
    store.save_facts(switch((PC1, "ge1", 1)), now=now - 40 * DAY, endpoint_max_age_days=30)
    store.save_facts(switch((PC2, "ge2", 1), name="acc8", n=8), now=now - 2 * DAY)
    daemon = Daemon(parse_settings({"discovery": {"endpoint_max_age_days": 30}}))
    daemon.store = store
    with caplog.at_level("INFO", logger="agent.runtime.daemon"):
        asyncio.run(daemon.prune())  # acc9 is never polled again: its endpoint still ages
    assert {n: a.status for n, a in endpoints(store).items()} == {PC1: "gone", PC2: "active"}
    assert "1 endpoints not seen for 30 days marked gone" in caplog.text
    [gone] = events(store, "endpoint_gone")
    assert gone.asset_id == endpoints(store)[PC1].id and gone.target == "acc9"


def test_a_polled_box_merges_with_its_endpoint_and_a_sighting_finds_a_polled_box(
    store: Store,
) -> None:
    store.save_facts(switch((PRINTER, "ge1", 20), (PC1, "ge2", 10)), now=T0)
    [printer_id] = [a.id for a in endpoints(store).values() if a.name == PRINTER]
    # The printer answers SNMP itself: the same asset, now named and classed by its poll.
    polled = Facts(
        target="snmp://10.0.20.8:161",
        protocol="snmp",
        address="10.0.20.8",
        sys_name="prn-2",
        identity=Identity(vendor="Brother", device_class="printer", model="HL-L6400DW"),
        interfaces=(Interface(1, "eth0", type=6, mac=PRINTER),),
    )
    assert store.save_facts(polled, now=T0 + DAY) == printer_id
    with store.session() as s:
        merged = s.get(m.Asset, printer_id)
    assert merged is not None
    assert (merged.name, merged.device_class, merged.vendor) == ("prn-2", "printer", "Brother")
    # A server polled over SSH first, then seen on a switch port: no second asset.
    server = Facts(
        target="ssh://10.0.10.5:22",
        protocol="ssh",
        address="10.0.10.5",
        sys_name="app-1",
        identity=Identity(vendor="Dell Inc.", device_class="server", serial="CZ123456"),
        interfaces=(Interface(None, "eno1", mac=PC2),),
    )
    server_id = store.save_facts(server, now=T0)
    store.save_facts(switch((PRINTER, "ge1", 20), (PC2, "ge3", 10)), now=T0 + 2 * DAY)
    assert store.count(m.Asset) == 4  # switch, printer, PC1, server
    detail = asset_detail(store, server_id)
    assert detail is not None and detail["device_class"] == "server"
    assert [p["port"] for p in detail["seen_on_ports"]] == ["ge3"]
    # The printer, still seen, keeps its poll's vendor; no endpoint is created for it again.
    assert len(endpoints(store)) == 1


def test_a_plan_puts_no_endpoint_in_a_wave(store: Store) -> None:
    """Endpoints count as assets, but are retained (not a migration candidate), even when
    they use the servers that move, or carry a tag another rule would move them for."""
    store.save_facts(switch((PC1, "ge1", 10), (PC2, "ge2", 10), (PHONE, "ge3", 20)), now=T0)
    store.save_facts(router((PC1, "10.0.10.21"), (PC2, "10.0.10.22")), now=T0)
    for n in (1, 2):
        store.save_facts(
            Facts(
                target=f"ssh://10.0.1.{n}:22",
                protocol="ssh",
                address=f"10.0.1.{n}",
                sys_name=f"files-{n}",
                identity=Identity(
                    vendor="Dell Inc.",
                    device_class="server",
                    os_name="Ubuntu",
                    os_version="24.04",
                    serial=f"SRV000{n}",
                ),
                listening=(Listening("tcp", "0.0.0.0", 445, "smbd"),),
                connections=tuple(
                    Connection("tcp", f"10.0.1.{n}", 445, client, 50000 + i, "smbd")
                    for i, client in enumerate(("10.0.10.21", "10.0.10.22"))
                ),
            ),
            now=T0,
            tags=("prod", "app:files"),
        )
    pc1 = endpoints(store)[PC1].id or 0
    store.set_planning_hints(pc1, {"idle_days": 400})  # the idle rule would retire it
    with store.session() as s:
        phone = s.get(m.Asset, endpoints(store)[PHONE].id)
        assert phone is not None
        phone.tags = ["data-residency"]  # the residency rule would relocate it
        s.add(phone)
        s.commit()
    plan = compute_plan(store, date(2026, 4, 1))
    ids = {str(a.id) for a in endpoints(store).values()}
    ours = {a.asset_id: a for a in plan.assets if a.asset_id in ids}
    assert set(ours) == ids
    in_waves = {a for w in plan.waves for a in w.wave.assets}
    assert in_waves and not in_waves & ids  # the servers move, no endpoint does
    for a in ours.values():
        assert (a.strategy.strategy, a.wave, a.group, a.hub) == ("retain", None, None, False)
        assert a.strategy.rule == "endpoint-not-a-candidate"
        assert "not a migration candidate" in " ".join(a.strategy.reasons)
    assert plan.summary()["assets"] == 2 + 3 + 2  # counted: servers, endpoints, switch, router
    assert plan.summary()["external_peers"] == 0


# --- against the switch lab, through the agent's poll path ---------------------------------


@pytest.fixture(scope="module")
def switch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.Lab]:
    with lab.serve(tmp_path_factory.mktemp("switch-lab")) as served:
        yield served


def _poll_lab(served: lab.Lab, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_LAB_COMMUNITY", lab.COMMUNITY)
    settings = parse_settings(
        {
            "defaults": {"snmp": {"timeout": "5s", "retries": 1}},
            "credentials": {
                "c": {"type": "snmp-community", "community": {"env": "CW_LAB_COMMUNITY"}}
            },
            "targets": [
                {"host": sw.address, "snmp_port": served.port, "credentials": ["c"], "name": name}
                for name, sw in served.switches.items()
            ],
            "discovery": {"endpoint_max_age_days": 30},
        }
    )

    async def go() -> None:
        poller = Poller(settings, store, load_rules())
        try:
            for job in expand_targets(settings):
                result = await poller.poll(job)
                assert result.ok, result.error
        finally:
            poller.close()

    asyncio.run(go())


@pytest.mark.peer
def test_lab_endpoints_land_on_their_switch_ports_through_the_poller(
    switch_lab: lab.Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        _poll_lab(switch_lab, store, monkeypatch)
        got = endpoints(store)
        expected = {e.mac: e for e in switch_lab.endpoints}
        assert set(got) == set(expected)
        # Every endpoint on the port it is plugged into, none on an uplink, with its VLAN, the
        # address the core's ARP table gives it (whichever switch was polled first) and the
        # vendor of its OUI.
        assert placed(store) == {
            e.mac: (e.switch, e.port, e.vlan, e.ip) for e in switch_lab.endpoints
        }
        vendors = {mac[:8]: a.vendor for mac, a in got.items()}
        assert vendors == {
            lab.DELL: "Dell Inc.",
            lab.HP: "Hewlett Packard",
            lab.POLYCOM: "Polycom",
            lab.BROTHER: "Brother industries, LTD.",
            lab.SUPERMICRO: "Super Micro Computer, Inc.",
        }
        assert all(a.mgmt_address == expected[mac].ip for mac, a in got.items())
        # Behind the unmanaged switch nothing is claimed, and the switches are not endpoints.
        with store.session() as s:
            macs = set(s.exec(select(m.EndpointPort.mac)).all())
            classes = {a.name: a.device_class for a in s.exec(select(m.Asset)).all()}
        assert not macs & set(switch_lab.hidden)
        assert {n: c for n, c in classes.items() if c != "endpoint"}.keys() == set(
            switch_lab.switches
        )
        # The inventory lists them by class.
        registry, _live, _estate = new_registry()
        daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
        with TestClient(create_app(daemon, token=None)) as c:  # type: ignore[arg-type]
            page = c.get("/api/v1/assets", params={"device_class": "endpoint"}).json()
        assert page["total"] == len(expected)
        assert {i["name"] for i in page["items"]} == set(expected)
    finally:
        store.close()
