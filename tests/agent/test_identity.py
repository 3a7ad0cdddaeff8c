"""Identity resolution: distinct boxes stay distinct and one box is one asset.

First the rules on their own and in the store (both backends): a management controller and
its server share a serial yet are two assets linked ``manages``; one host seen over SNMP and
SSH is one asset; an SNMP engine ID alone never merges; a box replaced at a target becomes a new
asset with an event; a target's configured name names its asset. Then the same against real
peers with ``cloudward scan``: snmpsim replaying the demo recordings (and copies made to share
one engine ID or to replace a switch), and snmpd plus sshd on this host.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from agent.inventory.asset_graph import build_graph
from agent.store import Store
from agent.store import tables as m
from agent.store.identity import MATCH, Evidence, Known, decide, score
from agent.store.queries import asset_detail
from collectors.facts import Address, Facts, Identity, Interface

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SIM_ENGINE = "80004fb805636c6f7564776172640a"  # what a simulator serves for every device


def server(**kw: Any) -> Facts:
    """th-sql01 as SNMP sees it (an HPE server: its serial is the chassis')."""
    base = Facts(
        target="snmp://10.20.1.30:161",
        protocol="snmp",
        address="10.20.1.30",
        sys_name="TH-SQL01",
        identity=Identity(
            vendor="HPE", device_class="server", model="ProLiant DL380 Gen9", serial="CZJ6210A7K"
        ),
        interfaces=(Interface(1, "Ethernet0", mac="3c:a8:2a:10:01:30", type=6),),
        addresses=(Address("10.20.1.30", 24, 1),),
    )
    return replace(base, **kw)


def ilo(**kw: Any) -> Facts:
    """Its iLO: another box with its own address and MAC, reporting the server's serial."""
    base = Facts(
        target="snmp://10.20.2.130:161",
        protocol="snmp",
        address="10.20.2.130",
        sys_name="th-ilo02",
        identity=Identity(
            vendor="HPE", device_class="bmc", model="ProLiant DL380 Gen9", serial="CZJ6210A7K"
        ),
        engine_id="800000e8039457a5ebe212",
        interfaces=(Interface(2, "iLO", mac="94:57:a5:eb:e2:12", type=6),),
        addresses=(Address("10.20.2.130", 24, 2),),
    )
    return replace(base, **kw)


def switch(n: int, **kw: Any) -> Facts:
    base = Facts(
        target=f"snmp://127.0.0.1:{16100 + n}",
        protocol="snmp",
        address="127.0.0.1",
        sys_name=f"sw-{n}",
        identity=Identity(vendor="Cisco", device_class="switch", serial=f"FOC21{n:02d}U0K4"),
        engine_id=SIM_ENGINE,
        interfaces=(Interface(1, "Gi1/0/1", mac=f"00:1e:bd:23:89:{n:02x}", type=6),),
    )
    return replace(base, **kw)


# --- the scoring on its own ----------------------------------------------------------------


def known(facts: Facts, asset_id: int = 1, **kw: Any) -> Known:
    """What the store would know of an asset made from ``facts`` alone."""
    ev = Evidence.of(facts)
    base = Known(
        asset_id=asset_id,
        device_class=facts.identity.device_class,
        serial=facts.identity.serial,
        serial_source=facts.protocol,
        engine_id=facts.engine_id,
        macs=ev.macs,
        held=frozenset(k for k, _ in ev.keys),
    )
    return replace(base, **kw)


def test_a_controller_is_never_its_server_however_much_agrees() -> None:
    s = score(Evidence.of(ilo()), known(server()))
    assert s.vetoed and not s.matches and "controller" in " ".join(s.reasons)


def test_an_engine_id_alone_or_with_the_target_never_merges() -> None:
    bare = switch(1, identity=Identity(device_class="switch"), interfaces=())
    s = score(Evidence.of(bare), known(bare, held=frozenset({f"engine:{SIM_ENGINE}"})))
    assert s.total < MATCH and not s.matches
    both = frozenset({f"engine:{SIM_ENGINE}", f"at:{bare.target}"})
    assert not score(Evidence.of(bare), known(bare, held=both)).matches


def test_strong_evidence_decides_and_a_name_with_an_address_only_when_uncontradicted() -> None:
    moved = switch(1, target="snmp://192.0.2.9:161", address="192.0.2.9", sys_name="renamed")
    assert score(Evidence.of(moved), known(switch(1))).matches  # serial, MAC, engine ID
    stranger = switch(2, sys_name="sw-1", address="127.0.0.1")
    by_name = known(switch(1), held=frozenset({"host:sw-1@127.0.0.1"}))
    assert score(
        Evidence.of(replace(stranger, identity=Identity(), interfaces=())), by_name
    ).matches
    contradicted = score(Evidence.of(stranger), by_name)
    assert contradicted.contradicted and not contradicted.matches


def test_decision_names_the_replaced_asset_that_held_the_target() -> None:
    new = switch(2, target=switch(1).target)
    old = known(switch(1), held=frozenset({f"at:{new.target}", f"engine:{SIM_ENGINE}"}))
    decision = decide(Evidence.of(new), [old])
    assert decision.chosen is None and [s.asset_id for s in decision.replaced] == [1]


# --- the store (SQLite and PostgreSQL) ----------------------------------------------------


def links(store: Store) -> list[tuple[int, int, str]]:
    with store.session() as s:
        rows = s.exec(select(m.AssetLink)).all()
        return sorted((r.src_asset_id, r.dst_asset_id, r.kind) for r in rows)


def events(store: Store, kind: str) -> list[m.Event]:
    with store.session() as s:
        return list(s.exec(select(m.Event).where(m.Event.kind == kind)).all())


@pytest.mark.parametrize("controller_first", [True, False], ids=["bmc-first", "server-first"])
def test_controller_and_server_sharing_a_serial_are_two_linked_assets(
    store: Store, controller_first: bool
) -> None:
    order = [ilo(), server()] if controller_first else [server(), ilo()]
    ids = {f.identity.device_class: store.save_facts(f, now=T0) for f in order}
    for f in order:  # polled again: still two, no flip
        assert store.save_facts(f, now=T0 + HOUR) == ids[f.identity.device_class]
    assert store.count(m.Asset) == 2
    assert links(store) == [(ids["bmc"], ids["server"], "manages")]
    for asset_id in ids.values():
        assert [h for h in store.history(asset_id) if h.field_name == "device_class"] == []
    detail = asset_detail(store, ids["bmc"])
    assert detail is not None
    assert [(x["id"], x["name"]) for x in detail["manages"]] == [(ids["server"], "TH-SQL01")]
    assert "CZJ6210A7K" in detail["manages"][0]["evidence"]
    host = asset_detail(store, ids["server"])
    assert host is not None and [x["id"] for x in host["managed_by"]] == [ids["bmc"]]
    g = build_graph(store)
    kinds = [d["type"] for _, _, d in g.edges(f"asset:{ids['bmc']}", data=True)]
    assert kinds == ["manages"]


def test_one_host_over_snmp_and_ssh_is_one_asset_with_both_sources(store: Store) -> None:
    snmp = Facts(
        target="snmp://192.0.2.30:161",
        protocol="snmp",
        address="192.0.2.30",
        sys_name="app01",
        engine_id="80001f8880d2e031972518b647",
        identity=Identity(device_class="server", os_name="Linux"),
        addresses=(Address("192.0.2.30", 24, 2), Address("10.9.0.30", 24, 3)),
    )
    ssh = Facts(
        target="ssh://10.9.0.30:22",  # polled at its other address
        protocol="ssh",
        address="10.9.0.30",
        sys_name="app01.council.local",
        identity=Identity(vendor="QEMU", device_class="server", os_name="Ubuntu"),
        addresses=(Address("10.9.0.30", 24, 3), Address("192.0.2.30", 24, 2)),
    )
    a = store.save_facts(snmp, now=T0)
    assert store.save_facts(ssh, now=T0) == a
    [asset] = store.list_assets()
    assert (
        asset.sources == ["snmp", "ssh"] and "name and own addresses" in asset.evidence["identity"]
    )


def test_devices_sharing_an_engine_id_stay_apart(store: Store) -> None:
    ids = {store.save_facts(switch(n), now=T0) for n in (1, 2, 3)}
    # and a fourth with neither serial nor MACs: the engine ID and the address are all it shares
    bare = switch(4, identity=Identity(device_class="switch"), interfaces=())
    ids.add(store.save_facts(bare, now=T0))
    assert len(ids) == 4 and store.count(m.Asset) == 4
    for n in (1, 2, 3):
        assert store.save_facts(switch(n), now=T0 + HOUR) in ids
    assert store.count(m.Asset) == 4 and events(store, "asset_replaced") == []


def test_a_box_replaced_at_its_target_is_a_new_asset_and_an_event(store: Store) -> None:
    old = store.save_facts(switch(1), now=T0)
    successor = switch(2, target=switch(1).target, sys_name="sw-1")  # same target and name
    new = store.save_facts(successor, now=T0 + HOUR)
    assert new != old and store.count(m.Asset) == 2
    assets = {a.id: a for a in store.list_assets()}
    assert (assets[old].status, assets[old].replaced_by) == ("replaced", new)
    assert assets[new].status == "active" and assets[new].first_seen == T0 + HOUR
    assert store.history(old) == [], "the old asset's history never flips to the new box"
    [event] = events(store, "asset_replaced")
    assert event.asset_id == old and f"asset {new}" in event.message and "serial" in event.message
    assert store.save_facts(successor, now=T0 + 2 * HOUR) == new
    assert len(events(store, "asset_replaced")) == 1
    # the old box turns up elsewhere: it is itself again
    back = switch(1, target="snmp://127.0.0.1:16200")
    assert store.save_facts(back, now=T0 + 3 * HOUR) == old
    assert {a.id: a.status for a in store.list_assets()} == {old: "active", new: "active"}
    assert [e.asset_id for e in events(store, "asset_returned")] == [old]


def test_a_configured_name_names_the_asset(store: Store) -> None:
    a = store.save_facts(server(), now=T0, name="sql-finance")
    [asset] = store.list_assets()
    assert asset.name == "sql-finance" and asset.sys_name == "TH-SQL01"
    assert asset.field_sources["name"] == "config"
    # another protocol's poll without a name keeps it; a new name in the config replaces it
    ssh = server(target="ssh://10.20.1.30:22", protocol="ssh", sys_name="th-sql01")
    assert store.save_facts(ssh, now=T0 + HOUR) == a
    assert store.list_assets()[0].name == "sql-finance"
    store.save_facts(server(), now=T0 + 2 * HOUR, name="sql-revenues")
    assert store.list_assets()[0].name == "sql-revenues"
    assert ("name", "sql-finance", "sql-revenues", "config") in {
        (h.field_name, h.old, h.new, h.source) for h in store.history(a)
    }


# --- real peers: `cloudward scan` -----------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "config" / "demo" / "recordings"
ENGINE_OID = "1.3.6.1.6.3.10.2.1.1.0"
SYSNAME_OID = "1.3.6.1.2.1.1.5.0"


def _rewrite(src: Path, dst: Path, values: dict[str, str]) -> None:
    """Copy a recording with some OIDs' lines replaced (``oid|type|value``)."""
    lines = []
    for line in src.read_text().splitlines():
        oid = line.split("|", 1)[0]
        lines.append(values.get(oid, line))
    dst.write_text("\n".join(lines) + "\n")


@dataclass
class Sim:
    data: Path
    ports: list[int]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """One snmpsim serving the demo recordings and copies of three of its switches made to share
    one engine ID (``sim-sw-*``), and th-acc-sw01 under th-acc-sw02's name (``successor``), on
    as many loopback ports as the demo has devices: each community answers on every port."""
    from agent.runtime.demo_run import free_udp_ports, start_snmpsim, wait_snmpsim
    from tests.peers import need, stop
    from tests.snmpsim import responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    work = tmp_path_factory.mktemp("identity-sim")
    data = work / "recordings"
    shutil.copytree(RECORDINGS, data)
    engine = {ENGINE_OID: f"{ENGINE_OID}|4x|{SIM_ENGINE}"}
    for copy, original in (("a", "th-core-sw01"), ("b", "th-dist-sw01"), ("c", "th-acc-sw01")):
        _rewrite(data / f"{original}.snmprec", data / f"sim-sw-{copy}.snmprec", engine)
    renamed = {SYSNAME_OID: f"{SYSNAME_OID}|4|th-acc-sw02"}
    _rewrite(data / "th-acc-sw01.snmprec", data / "successor.snmprec", renamed)
    ports = free_udp_ports(len(list(RECORDINGS.glob("*.snmprec"))))
    proc = start_snmpsim(data, ports, work)
    try:
        wait_snmpsim(proc, ports[0], "th-core-sw01")
        yield Sim(data, ports)
    finally:
        stop(proc)


def scan(
    tmp: Path, targets: list[dict[str, Any]], env: dict[str, str], **extra: Any
) -> dict[str, Any]:
    """Write a configuration with ``targets`` and run ``cloudward scan`` on it."""
    config = tmp / "cloudward.yaml"
    creds = {
        name: {"type": "snmp-community", "community": {"env": name}}
        for name in env
        if name.startswith("CW_ID_")
    }
    creds.update(extra.pop("credentials", {}))
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp / 'cw.db'}",
                "state_dir": str(tmp),
                "defaults": {"snmp": {"timeout": "5s", "retries": 2, "concurrency": 8}},
                "credentials": creds,
                "targets": targets,
                **extra,
            }
        )
    )
    summary = _scanned(config, env)
    if summary["failed"] and set(summary["errors"]) == {"timeout"}:
        # One simulator answers every device: on a loaded machine a poll can time out. The
        # daemon polls such a device again at its next interval; so does this, once, on the
        # same store (identity must hold across polls: the tests above poll twice anyway).
        summary = _scanned(config, env)
    assert summary["failed"] == 0, summary
    return summary


def _scanned(config: Path, env: dict[str, str]) -> dict[str, Any]:
    """``cloudward scan --json`` of ``config``: its summary."""
    done = subprocess.run(
        ["cloudward", "scan", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def snmp_targets(sim: Sim, communities: list[str], *, named: bool = False) -> tuple[Any, Any]:
    """One target per community, each on its own port of the one simulator."""
    targets, env = [], {}
    for i, community in enumerate(communities):
        env[f"CW_ID_{i}"] = community
        target: dict[str, Any] = {
            "host": "127.0.0.1",
            "snmp_port": sim.ports[i],
            "credentials": [f"CW_ID_{i}"],
        }
        if named:
            target["name"] = community
        targets.append(target)
    return targets, env


def opened(tmp: Path) -> Store:
    return Store.open(f"sqlite:///{tmp / 'cw.db'}")


@pytest.mark.peer
def test_scan_keeps_an_ilo_and_its_server_apart_and_linked(sim: Sim, tmp_path: Path) -> None:
    targets, env = snmp_targets(sim, ["th-ilo02", "th-sql01"])
    for _ in range(2):
        scan(tmp_path, targets, env)
    store = opened(tmp_path)
    try:
        by_class = {a.device_class: a for a in store.list_assets()}
        assert sorted(by_class) == ["bmc", "server"] and store.count(m.Asset) == 2
        bmc, host = by_class["bmc"], by_class["server"]
        assert bmc.serial == host.serial == "CZJ6210A7K"
        assert links(store) == [(bmc.id, host.id, "manages")]
        assert all(h.field_name != "device_class" for h in store.history(bmc.id or 0))
        detail = asset_detail(store, host.id or 0)
        assert detail is not None and [x["id"] for x in detail["managed_by"]] == [bmc.id]
    finally:
        store.close()


@pytest.mark.peer
def test_scan_keeps_three_recordings_sharing_an_engine_id_apart(sim: Sim, tmp_path: Path) -> None:
    targets, env = snmp_targets(sim, ["sim-sw-a", "sim-sw-b", "sim-sw-c"])
    for _ in range(2):
        scan(tmp_path, targets, env)
    store = opened(tmp_path)
    try:
        assets = store.list_assets()
        assert len(assets) == 3, [(a.id, a.name, a.serial) for a in assets]
        assert {a.engine_id for a in assets} == {SIM_ENGINE}
        assert {a.name for a in assets} == {"th-core-sw01", "th-dist-sw01", "th-acc-sw01"}
        assert events(store, "asset_replaced") == events(store, "identity_conflict") == []
    finally:
        store.close()


@pytest.mark.peer
def test_scan_sees_a_box_replaced_at_its_address(sim: Sim, tmp_path: Path) -> None:
    targets, env = snmp_targets(sim, ["th-acc-sw02"])
    scan(tmp_path, targets, env)
    for _ in range(2):  # the switch was swapped for another, given the old one's name
        scan(tmp_path, targets, {**env, "CW_ID_0": "successor"})
    store = opened(tmp_path)
    try:
        old, new = store.list_assets()
        assert old.name == new.name == "th-acc-sw02" and old.serial != new.serial
        assert (old.status, old.replaced_by, new.status) == ("replaced", new.id, "active")
        assert all(h.field_name not in ("serial", "model") for h in store.history(old.id or 0))
        [event] = events(store, "asset_replaced")
        assert event.asset_id == old.id and event.target == f"snmp://127.0.0.1:{sim.ports[0]}"
        detail = asset_detail(store, old.id or 0)
        assert detail is not None and (detail["status"], detail["replaced_by"]) == (
            "replaced",
            new.id,
        )
    finally:
        store.close()


@pytest.mark.peer
def test_every_demo_device_is_exactly_one_asset_named_by_its_target(
    sim: Sim, tmp_path: Path
) -> None:
    from agent.runtime.demo_run import demo_config
    from simulator.estate import load_estate

    estate = load_estate()
    devices = [d for d in estate.devices if d.record]
    saved = dict(os.environ)
    try:
        config = demo_config(devices, sim.ports[: len(devices)], tmp_path, 60)
        env = {k: v for k, v in os.environ.items() if k not in saved}
    finally:
        os.environ.clear()
        os.environ.update(saved)
    config["database"] = f"sqlite:///{tmp_path / 'cw.db'}"
    summary = scan(tmp_path, config.pop("targets"), env, **config)
    assert summary["ok"] == len(devices)
    store = opened(tmp_path)
    try:
        assets = store.list_assets()
        assert len(assets) == len(devices), "polled devices == assets"
        assert sorted(a.name for a in assets) == sorted(d.name for d in devices)
        by_name = {a.name: a for a in assets}
        expected = {
            (by_name[d.name].id, by_name[d.manages].id, "manages")
            for d in devices
            if d.manages is not None
        }
        # and each virtual machine hosted by the ESXi host whose vmwVmTable lists it
        expected |= {(by_name[d.host].id, by_name[d.name].id, "hosts") for d in devices if d.host}
        assert expected and set(links(store)) == expected
        for d in devices:
            asset = by_name[d.name]
            assert asset.device_class == d.device_class, (d.name, asset.device_class)
            assert asset.sys_name and asset.sources == ["snmp"]
    finally:
        store.close()


@pytest.mark.peer
@pytest.mark.slow
def test_scan_of_this_host_over_snmp_and_ssh_is_one_asset(tmp_path: Path) -> None:
    """snmpd and sshd on this host: two protocols, one box (its name and addresses agree)."""
    from tests.peers import free_port, need_binary
    from tests.snmpd import SNMPD, SnmpdPeer
    from tests.sshd import make_keypair, start_sshd

    need_binary("snmpd", SNMPD)
    hostname = socket.gethostname()  # what snmpd reports as sysName unless told otherwise
    snmpd = SnmpdPeer.start(free_port(socket.SOCK_DGRAM), sys_name=hostname)
    try:
        with start_sshd(tmp_path / "sshd") as sshd:
            key = tmp_path / "id_ed25519"
            sshd.authorize(make_keypair(key))
            target = {
                "host": "127.0.0.1",
                "name": "this-host",
                "snmp_port": snmpd.port,
                "ssh_port": sshd.port,
                "credentials": ["CW_ID_0", "login"],
            }
            ssh = {
                "known_hosts": str(sshd.write_known_hosts(tmp_path / "known_hosts")),
                "trust_on_first_use": False,
            }
            for _ in range(2):
                scan(
                    tmp_path,
                    [target],
                    {"CW_ID_0": snmpd.community},
                    credentials={"login": {"type": "ssh", "user": "root", "key_file": str(key)}},
                    defaults={"ssh": ssh},
                )
    finally:
        snmpd.cleanup()
    store = opened(tmp_path)
    try:
        [asset] = store.list_assets()
        assert asset.name == "this-host" and asset.sources == ["snmp", "ssh"]
        assert {r.target for r in store.poll_runs() if r.asset_id == asset.id} == {
            f"snmp://127.0.0.1:{snmpd.port}",
            f"ssh://127.0.0.1:{sshd.port}",
        }
    finally:
        store.close()
