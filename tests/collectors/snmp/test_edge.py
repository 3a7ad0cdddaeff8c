"""Endpoints on switch ports: ARP/ND and forwarding tables joined with ports and neighbours,
uplinks left out. Real recordings from the shared corpus (parsed, and served by snmpsim) and a
generated lab of four switches served by snmpsim, whose wiring says where each endpoint is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.facts import Facts, Interface
from collectors.oui import shipped_registry, vendor_of
from collectors.snmp import forwarding
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.edge import EdgePolicy, attach, edge_sightings
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import load_rules
from collectors.snmp.parse import parse
from tests.lab import switches as lab
from tests.snmprec import load

RULES = load_rules()


def _corpus(corpus_dir: Path, name: str) -> tuple[dict[str, object], Facts]:
    raw = load(corpus_dir / "snmprec" / f"{name}.snmprec")
    return raw, parse(raw, target=name, address=None, rules=RULES, vendor=vendor_of)


def _port(facts: Facts, name: str) -> Interface:
    return next(i for i in facts.interfaces if i.name == name)


def test_procurve_cameras_land_on_their_ports_and_uplinks_are_left_out(corpus_dir: Path) -> None:
    raw, facts = _corpus(corpus_dir, "procurve")
    by_mac = {s.mac: s for s in facts.sightings}
    # dot1qTpFdbPort.5.172.204.142.10.251.194 = 3, an Axis camera (its LLDP says station)
    camera = by_mac["ac:cc:8e:0a:fb:c2"]
    assert (camera.port, camera.if_index, camera.vlan) == ("3", 3, 5)
    assert camera.vendor == "Axis Communications AB"
    ports = {s.if_index for s in facts.sightings}
    # 55 and 56 face bridges that route (LLDP bridge,router); 962 learnt 972 MACs.
    assert not ports & {55, 56, 962}
    result = edge_sightings(
        raw, switch="procurve", fdb=forwarding.parse_fdb(raw), interfaces=facts.interfaces
    )
    assert "bridge,router" in result.uplinks[55] and "972 MACs" in result.uplinks[962]
    # A port whose LLDP neighbour is a camera (station) or a phone stays an edge port.
    assert {27, 44} <= ports
    # Every sighting is a MAC the switch's own table puts on that port.
    fdb = {(e.mac, e.if_index) for e in forwarding.parse_fdb(raw)}
    assert all((s.mac, s.if_index) in fdb for s in facts.sightings)
    assert len(facts.sightings) == 39


def test_zyxel_length_prefixed_fdb_index_and_lldp_ports(corpus_dir: Path) -> None:
    raw, facts = _corpus(corpus_dir, "zynos_gs1900-fdb")
    # Its dot1qTpFdbPort index carries the MAC's length: 1.6.0.4.19.97.106.43 -> port 7
    fdb = {e.mac: e for e in forwarding.parse_fdb(raw)}
    assert fdb["00:04:13:61:6a:2b"].port == 7 and fdb["00:04:13:61:6a:2b"].vlan == 1
    lldp_ports = {2, 4, 6, 7, 39, 40, 41, 45}  # access points (LLDP bridge, wlan-ap)
    assert facts.sightings and not {s.if_index for s in facts.sightings} & lldp_ports
    assert {s.port for s in facts.sightings} >= {"GigabitEthernet3", "GigabitEthernet16"}


def test_a_port_with_many_macs_is_an_uplink_whatever_its_neighbours(corpus_dir: Path) -> None:
    raw, facts = _corpus(corpus_dir, "edgeswitch_10xp")
    assert 1 not in {s.if_index for s in facts.sightings}  # 26 MACs on port 1
    wide = edge_sightings(
        raw,
        switch="x",
        fdb=forwarding.parse_fdb(raw),
        interfaces=facts.interfaces,
        policy=EdgePolicy(max_macs=100),
    )
    assert 1 in {s.if_index for s in wide.sightings}


@pytest.mark.parametrize(
    "name", ["procurve", "zynos_gs1900-fdb", "edgeswitch_10xp", "aos", "arubaos-cx", "dnos"]
)
def test_every_corpus_sighting_has_an_edge_port_and_a_vendor_where_one_is_registered(
    corpus_dir: Path, name: str
) -> None:
    raw, facts = _corpus(corpus_dir, name)
    names = {i.name for i in facts.interfaces}
    uplinks = edge_sightings(
        raw, switch=name, fdb=forwarding.parse_fdb(raw), interfaces=facts.interfaces
    ).uplinks
    for s in facts.sightings:
        assert s.port in names and s.if_index not in uplinks, s
        if int(s.mac[:2], 16) & 2:  # locally administered: nobody's OUI
            assert s.vendor is None, s
    registered = [s for s in facts.sightings if not int(s.mac[:2], 16) & 2]
    named = [s for s in registered if s.vendor]
    assert len(named) >= 0.9 * len(registered), f"{name}: few OUIs known"


def test_arp_tables_both_forms_and_own_addresses_left_out(corpus_dir: Path) -> None:
    _raw, dnos = _corpus(corpus_dir, "dnos")
    families = {a.family for a in dnos.arp}
    assert "ipv4" in families and dnos.arp
    _raw, junos = _corpus(corpus_dir, "junos_rpm")  # ipNetToMediaTable only
    assert len(junos.arp) >= 50 and all(a.mac and a.address for a in junos.arp)


def test_oui_registry_names_its_source_and_date() -> None:
    reg = shipped_registry()
    assert "IEEE" in reg.source and "netaddr" in reg.source and reg.date[:2] == "20"
    assert len(reg.vendors) > 30_000
    assert reg.vendor("00-14-22-01-02-03") == "Dell Inc."
    assert reg.vendor("001b.7800.0003") == "Hewlett Packard"
    assert reg.vendor("02:00:00:00:0b:01") is None  # locally administered


def test_corpus_recording_served_by_snmpsim_gives_the_same_sightings(
    snmpsim_corpus: object, corpus_dir: Path
) -> None:
    _raw, expected = _corpus(corpus_dir, "procurve")
    peer = snmpsim_corpus
    ep = SnmpEndpoint(peer.host, peer.port, timeout=5.0, retries=1)  # type: ignore[attr-defined]
    got = _collect(SnmpTarget(ep, SnmpAuth("2c", community="procurve"), name="procurve"))
    assert got.sightings == expected.sightings
    assert got.arp == expected.arp


def _collect(target: SnmpTarget) -> Facts:
    async def run() -> Facts:
        client = SnmpClient()
        try:
            return await collect_snmp(client, target, RULES)
        finally:
            client.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def switch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.Lab]:
    with lab.serve(tmp_path_factory.mktemp("switch-lab")) as served:
        yield served


def _poll_lab(served: lab.Lab) -> dict[str, Facts]:
    out = {}
    for name, sw in served.switches.items():
        ep = SnmpEndpoint(sw.address, served.port, timeout=5.0, retries=1)
        out[name] = _collect(SnmpTarget(ep, SnmpAuth("2c", community=lab.COMMUNITY), name=name))
    return out


def test_lab_every_endpoint_lands_on_its_port_with_address_and_vendor(
    switch_lab: lab.Lab,
) -> None:
    facts = _poll_lab(switch_lab)
    sightings = [s for f in facts.values() for s in f.sightings]
    arp = [a for f in facts.values() for a in f.arp]
    joined = attach(sightings, arp)
    got = {(s.mac, s.switch, s.port, s.vlan, s.address) for s in joined}
    expected = {(e.mac, e.switch, e.port, e.vlan, e.ip) for e in switch_lab.endpoints}
    assert got == expected
    # No MAC behind the unmanaged switch, none on an uplink, the switches' own never.
    assert not {s.mac for s in joined} & set(switch_lab.hidden)
    vendors = {s.mac[:8]: s.vendor for s in joined}
    assert vendors == {
        lab.DELL: "Dell Inc.",
        lab.HP: "Hewlett Packard",
        lab.POLYCOM: "Polycom",
        lab.BROTHER: "Brother industries, LTD.",
        lab.SUPERMICRO: "Super Micro Computer, Inc.",
    }
    # The Cisco switch's VLANs came from its per-VLAN communities (public@10, public@20).
    assert {s.vlan for s in facts["acc2"].sightings} == {10, 20}
    # The router's own address (ipNetToPhysicalType local) is not an endpoint's.
    assert "10.10.1.254" not in {a.address for a in arp}
    # The phone's LLDP neighbour (bridge,telephone) does not make ge4 an uplink.
    assert {s.port for s in facts["acc1"].sightings} == {"ge1", "ge2", "ge3", "ge4"}
    nb = {n.remote_sys_name: n.remote_caps for n in facts["acc1"].neighbors}
    assert nb == {"core": "bridge,router", "acc3": "bridge", "phone-4": "bridge,telephone"}
