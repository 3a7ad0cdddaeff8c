"""Inventory truth: where a virtual machine runs, how old a box's hardware is, and replaced
boxes left out of the estate.

Placement: a hypervisor's guest list links ``hosts`` to the assets it names, by system UUID
first and by name after; a VM that moves follows its new host; an import's ``host`` column
links too, and never over what was observed. Against peers: an ESXi host replayed by snmpsim
(its VMWARE-VMINFO-MIB rows) with its guests, and a Hyper-V host over SSH (a replay of recorded
``Get-VM`` output) with a guest found by its UUID under another name.

Age: the date the hardware age counts from is the best evidence there is, in order
manufacture date > BIOS date > serial date code > first seen, and the asset page, the API and
the exports say which it was.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select

from agent.api.server import create_app
from agent.bridge.plan_runs import estate_from_store
from agent.configuration.config_file import Settings
from agent.inventory.asset_graph import build_graph
from agent.inventory.estate_import import import_estate
from agent.reports.exports import asset_rows
from agent.runtime.daemon import build_snapshot
from agent.store import Store
from agent.store import tables as m
from agent.store.queries import AssetFilter, asset_detail, list_assets_page
from agent.telemetry.metrics import new_registry
from collectors.facts import Facts, Guest, Identity
from collectors.ssh import SshCredentials, SshTarget, collect_ssh
from collectors.ssh.commands import load_allow_list
from collectors.ssh.guests import parse_dominfo, parse_esxi
from collectors.system_uuid import canonical, swapped
from planner.hardware_dating import hardware_date, serial_date
from tests.collectors.ssh.recorded import DATA as SSH_DATA
from tests.sshreplay import ReplayServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "config" / "demo" / "recordings"
U1 = "4213c0de-5b8e-4d3a-9a41-7f0e7d2c1b11"


def hypervisor(name: str, guests: tuple[Guest, ...], n: int = 1) -> Facts:
    return Facts(
        target=f"snmp://10.0.0.{n}:161",
        protocol="snmp",
        address=f"10.0.0.{n}",
        sys_name=name,
        identity=Identity(vendor="VMware", device_class="hypervisor", serial=f"HV{n:04d}XYZ"),
        guests=guests,
    )


def machine(name: str, n: int, uuid: str | None = None) -> Facts:
    return Facts(
        target=f"ssh://10.0.1.{n}:22",
        protocol="ssh",
        address=f"10.0.1.{n}",
        sys_name=name,
        identity=Identity(vendor="VMware", device_class="server", serial=f"VMW-{n:04d}-SERIAL"),
        system_uuid=uuid,
    )


def hosts(store: Store) -> set[tuple[int, int]]:
    with store.session() as s:
        rows = s.exec(select(m.AssetLink).where(m.AssetLink.kind == "hosts")).all()
        return {(r.src_asset_id, r.dst_asset_id) for r in rows}


# --- placement in the store (SQLite and PostgreSQL) -------------------------------------------


def test_guests_are_matched_by_uuid_then_name_and_follow_a_move(store: Store) -> None:
    renamed = store.save_facts(machine("app-new", 1, uuid=swapped(U1)), now=T0)  # old SMBIOS
    web = store.save_facts(machine("web01.council.local", 2), now=T0)
    clash = store.save_facts(machine("app-old", 3, uuid="1b4e28ba-2fa1-11d2-883f-0016d3cca427"))
    vms = (
        Guest("app-old", "vmware", uuid=U1),  # renamed VM: found by UUID, not by the old name
        Guest("WEB01", "vmware", state="poweredOn"),
        Guest("template", "vmware"),  # not inventoried: kept as a row, linked to nothing
    )
    esx1 = store.save_facts(hypervisor("esx01", vms), now=T0 + HOUR)
    assert hosts(store) == {(esx1, renamed), (esx1, web)}
    assert clash not in {g for _, g in hosts(store)}
    detail = asset_detail(store, renamed)
    assert detail is not None and detail["hosted_on"]["id"] == esx1
    assert "system UUID" in detail["hosted_on"]["evidence"]
    hv = asset_detail(store, esx1)
    assert hv is not None and {g["id"] for g in hv["guests"]} == {renamed, web}
    assert [v["name"] for v in hv["virtual_machines"]] == ["app-old", "WEB01", "template"]
    # vMotion: another host lists app-old; the link follows, and esx01 no longer lists it
    esx2 = store.save_facts(hypervisor("esx02", vms[:1], n=2), now=T0 + 2 * HOUR)
    store.save_facts(hypervisor("esx01", vms[1:]), now=T0 + 3 * HOUR)
    assert hosts(store) == {(esx2, renamed), (esx1, web)}
    estate = {a.id: a for a in estate_from_store(store).assets}
    assert estate[str(renamed)].host == str(esx2) and estate[str(renamed)].virtual is True
    graph = build_graph(store)
    assert graph.has_edge(f"asset:{esx2}", f"asset:{renamed}")
    edge = next(iter(graph.get_edge_data(f"asset:{esx2}", f"asset:{renamed}").values()))
    assert edge["type"] == "hosts"


def test_a_guest_polled_after_its_host_is_linked_then(store: Store) -> None:
    esx = store.save_facts(hypervisor("esx01", (Guest("db01", "libvirt", uuid=U1),)), now=T0)
    assert hosts(store) == set()
    guest = store.save_facts(machine("db01-renamed", 4, uuid=U1.upper()), now=T0 + HOUR)
    assert hosts(store) == {(esx, guest)}


def test_import_host_column_links_and_never_overrides_what_was_seen(store: Store) -> None:
    text = (
        "id,name,class,serial,virtual,host\n"
        "esx01,esx01,hypervisor,HV0001XYZ,,\n"
        "esx02,esx02,hypervisor,HV0009XYZ,,\n"
        "vm-a,app01,server,,true,esx01\n"
        "vm-b,app02,server,,true,ESX02\n"
        "vm-c,app03,server,,true,esx99\n"
    )
    report = import_estate(store, text, "csv", "cmdb.csv")
    assert report.placed == 2
    ids = {a.name: a.id for a in store.list_assets()}
    assert hosts(store) == {(ids["esx01"], ids["app01"]), (ids["esx02"], ids["app02"])}
    estate = {a.name: a for a in estate_from_store(store).assets}
    assert estate["app01"].host == str(ids["esx01"])
    assert estate["app03"].host == "esx99"  # a host not inventoried stays the file's name
    detail = asset_detail(store, ids["app02"] or 0)
    assert detail is not None and detail["hosted_on"]["evidence"].startswith("import cmdb.csv")
    # esx02 (its serial) is polled and lists app01: seen beats written
    assert store.save_facts(hypervisor("esx02", (Guest("app01", "vmware"),), n=9)) == ids["esx02"]
    import_estate(store, text, "csv", "cmdb.csv")
    assert (ids["esx02"], ids["app01"]) in hosts(store)
    assert (ids["esx01"], ids["app01"]) not in hosts(store)


# --- replaced boxes -------------------------------------------------------------------------


def test_replaced_assets_are_history_not_estate(store: Store, tmp_path: Path) -> None:
    old_box = Facts(
        target="snmp://10.0.2.1:161",
        protocol="snmp",
        address="10.0.2.1",
        sys_name="sw-1",
        identity=Identity(vendor="Cisco", device_class="switch", serial="FOC2107U0K4"),
    )
    old = store.save_facts(old_box, now=T0)
    client = store.save_facts(machine("client", 7), now=T0)
    with store.session() as s:
        s.add(
            m.DependencyRow(
                src_key=f"asset:{client}",
                dst_key=f"asset:{old}",
                src_asset_id=client,
                dst_asset_id=old,
                port=22,
                count=3,
                first_seen=T0,
                last_seen=T0,
            )
        )
        s.commit()
    new_box = replace(old_box, identity=replace(old_box.identity, serial="FOC2519L1AK"))
    new = store.save_facts(new_box, now=T0 + HOUR)
    assert {a.id: a.status for a in store.list_assets()} == {
        old: "replaced",
        client: "active",
        new: "active",
    }
    estate = estate_from_store(store)
    assert sorted(a.id for a in estate.assets) == sorted([str(client), str(new)])
    assert estate.dependencies == ()  # its dependency went with it
    assert sorted(p.name for p in build_snapshot(store).assets) == ["client", "sw-1"]
    items, total = list_assets_page(store, AssetFilter(), limit=10, offset=0)
    assert total == 2 and old not in {i["id"] for i in items}
    items, total = list_assets_page(store, AssetFilter(status="replaced"), limit=10, offset=0)
    assert [i["id"] for i in items] == [old] and items[0]["status"] == "replaced"
    assert list_assets_page(store, AssetFilter(status="all"), limit=10, offset=0)[1] == 3
    if store.engine.dialect.name != "sqlite":
        return
    from agent.cli.app import cli

    config = tmp_path / "cloudward.yaml"
    config.write_text(f"database: {store.url}\nstate_dir: {tmp_path}\n")
    listed = CliRunner().invoke(cli, ["assets", "--config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(a["id"] for a in json.loads(listed.output)) == sorted([client, new])
    every = CliRunner().invoke(
        cli, ["assets", "--config", str(config), "--json", "--status", "all"]
    )
    assert len(json.loads(every.output)) == 3


# --- hardware age -----------------------------------------------------------------------------


def test_age_source_is_chosen_in_order() -> None:
    made, bios, seen = date(2015, 3, 1), date(2016, 1, 1), date(2024, 1, 1)
    kw: dict[str, Any] = dict(vendor="Cisco", serial="FOC2107U0K4", today=date(2026, 1, 1))
    order = [
        (hardware_date(manufactured=made, bios_date=bios, first_seen=seen, **kw), made),
        (hardware_date(manufactured=None, bios_date=bios, first_seen=seen, **kw), bios),
        (hardware_date(manufactured=None, bios_date=None, first_seen=seen, **kw), None),
        (
            hardware_date(
                manufactured=None, bios_date=None, first_seen=seen, vendor="HPE", serial="CZJ621"
            ),
            seen,
        ),
    ]
    got = [(d.source, d.day) for d, _ in order if d is not None]
    assert [s for s, _ in got] == [
        "manufacture_date",
        "bios_date",
        "serial_date_code",
        "first_seen",
    ]
    assert got[0][1] == made and got[1][1] == bios and got[3][1] == seen
    # Cisco LLLYYWWSSSS: year code 21 is 2017 (01 is 1997), week 07
    coded = serial_date("Cisco", "FOC2107U0K4")
    assert coded is not None and coded.day == date(2017, 2, 12)
    assert "week 7 of 2017" in coded.evidence
    assert serial_date("Cisco", "FOC2199U0K4") is None  # no week 99
    assert serial_date("HPE", "CZJ62107AK") is None  # HPE documents no date code
    assert serial_date("Cisco", "FOC4501U0K4", today=date(2026, 1, 1)) is None  # in the future
    assert (
        hardware_date(manufactured=None, bios_date=None, vendor=None, serial=None, first_seen=None)
        is None
    )


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int]]]:
    """snmpsim replaying the demo recordings; each community answers on every port."""
    from agent.runtime.demo_run import free_udp_ports, start_snmpsim, wait_snmpsim
    from tests.peers import need, stop
    from tests.snmpsim import responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    work = tmp_path_factory.mktemp("placement-sim")
    data = work / "recordings"
    shutil.copytree(RECORDINGS, data)
    ports = free_udp_ports(8)
    proc = start_snmpsim(data, ports, work)
    try:
        wait_snmpsim(proc, ports[0], "th-esx01")
        yield data, ports
    finally:
        stop(proc)


def _scan(tmp: Path, ports: list[int], communities: list[str]) -> Store:
    from tests.agent.test_identity import scan

    targets, env = [], {}
    for i, community in enumerate(communities):
        env[f"CW_ID_{i}"] = community
        target = {"host": "127.0.0.1", "snmp_port": ports[i], "credentials": [f"CW_ID_{i}"]}
        targets.append({**target, "name": community})
    scan(tmp, targets, env)
    return Store.open(f"sqlite:///{tmp / 'cw.db'}")


def _app(store: Store) -> TestClient:
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    return TestClient(create_app(daemon, token=None))  # type: ignore[arg-type]


@pytest.mark.peer
def test_esxi_over_snmp_links_its_guests(sim: tuple[Path, list[int]], tmp_path: Path) -> None:
    """th-esx01 lists six VMs in vmwVmTable; three are polled, and th-fs02 runs elsewhere."""
    _data, ports = sim
    store = _scan(tmp_path, ports, ["th-esx01", "th-dc01", "th-sql02", "th-fs01", "th-fs02"])
    try:
        ids = {a.name: a.id or 0 for a in store.list_assets()}
        esx = ids["th-esx01"]
        assert hosts(store) == {(esx, ids[n]) for n in ("th-dc01", "th-sql02", "th-fs01")}
        with _app(store) as c:
            hv = c.get(f"/api/v1/assets/{esx}").json()
            guest = c.get(f"/api/v1/assets/{ids['th-dc01']}").json()
            page = c.get(f"/assets/{ids['th-dc01']}").text
        assert len(hv["virtual_machines"]) == 6
        assert {v["platform"] for v in hv["virtual_machines"]} == {"vmware"}
        assert all(canonical(v["uuid"]) == v["uuid"] for v in hv["virtual_machines"])
        assert {g["name"] for g in hv["guests"]} == {"th-dc01", "th-sql02", "th-fs01"}
        assert guest["hosted_on"]["id"] == esx and "vmwVmTable" not in guest["hosted_on"]
        assert "has the asset's name" in guest["hosted_on"]["evidence"]
        assert f'href="/assets/{esx}"' in page
        fs02 = asset_detail(store, ids["th-fs02"])
        assert fs02 is not None and fs02["hosted_on"] is None
        estate = {a.name: a for a in estate_from_store(store).assets}
        assert estate["th-dc01"].host == str(esx) and estate["th-fs02"].host is None
    finally:
        store.close()


@pytest.mark.peer
def test_age_source_over_snmp_and_ssh_is_shown(sim: tuple[Path, list[int]], tmp_path: Path) -> None:
    """lib-sw01 reports entPhysicalMfgDate; th-dist-sw01 (Cisco, no date) has its serial's date
    code; th-ups01 only when it was first seen; the Hyper-V host, read over SSH, its BIOS date."""
    _data, ports = sim
    store = _scan(tmp_path, ports, ["lib-sw01", "th-dist-sw01", "th-ups01"])
    try:
        hyperv = _collect_windows(tmp_path)
        hv = store.save_facts(hyperv, now=T0)
        ids = {a.name: a.id or 0 for a in store.list_assets()}
        want = {
            "lib-sw01": ("manufacture_date", "2021-09-14", "entPhysicalMfgDate"),
            "th-dist-sw01": ("serial_date_code", "2017-02-12", "Cisco LLLYYWWSSSS"),
            "th-ups01": ("first_seen", None, "first seen"),
            "HQ-HV-02": ("bios_date", "2022-10-27", "SMBIOS BIOS release date, over SSH"),
        }
        with _app(store) as c:
            for name, (source, day, evidence) in want.items():
                age = c.get(f"/api/v1/assets/{ids[name]}").json()["hardware_age"]
                assert age["source"] == source and evidence in age["evidence"], (name, age)
                assert day is None or age["date"] == day, (name, age)
                page = c.get(f"/assets/{ids[name]}").text
                label = {"manufacture_date": "manufacture date", "bios_date": "BIOS date"}
                shown = label.get(source, source.replace("_", " "))
                assert f'<strong class="age-source">{shown}</strong>' in page, name
        exported = {r["name"]: r for r in asset_rows(store)}
        assert {n: exported[n]["hardware_age_source"] for n in want} == {
            n: w[0] for n, w in want.items()
        }
        assert exported["th-dist-sw01"]["hardware_date"] == "2017-02-12"
        # the planner's hardware_age factor reads the same evidence
        from agent.bridge.plan_runs import compute_plan

        planned = {a.asset_id: a for a in compute_plan(store, date(2026, 11, 1)).assets}
        evidence = {
            name: next(
                f.evidence for f in planned[str(ids[name])].debt.factors if f.name == "hardware_age"
            )
            for name in want
        }
        assert evidence["lib-sw01"].startswith("manufactured 2021-09-14")
        assert evidence["HQ-HV-02"].startswith("BIOS dated 2022-10-27")
        assert evidence["th-dist-sw01"].startswith("serial date code (serial FOC2107U0K4")
        assert evidence["th-ups01"].startswith("first seen")
        assert hv == ids["HQ-HV-02"]
    finally:
        store.close()


def _collect_windows(tmp_path: Path, system: str | None = None) -> Facts:
    """The Hyper-V host of the recordings, over SSH (a replay of its PowerShell output)."""
    plat = load_allow_list().platform("windows")
    folder = SSH_DATA / "windows" / "win2019-hyperv"
    answers = {c.run: (folder / f"{c.name}.txt").read_text() for c in plat.commands}
    if system is not None:
        answers[next(c.run for c in plat.commands if c.name == "system")] = system
    server = ReplayServer(folder, banner="SSH-2.0-OpenSSH_for_Windows_8.1", answers=answers)
    with server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line())
        key = server.write_client_key(tmp_path / "id_ecdsa")
        target = SshTarget(server.address, port=server.port, username="admin", known_hosts=known)
        return collect_ssh(target, SshCredentials(key_file=key))


def test_hyperv_over_ssh_links_a_guest_by_its_uuid(store: Store, tmp_path: Path) -> None:
    """HQ-HV-02 lists HQ-FS-03 with its BIOSGUID; a Windows box answering with that system UUID
    (under another name) is that VM; HQ-PRINT-01, listed but never polled, stays a row."""
    hv = store.save_facts(_collect_windows(tmp_path), now=T0)
    body = json.loads((SSH_DATA / "windows" / "win2019-hyperv" / "system.txt").read_text())
    body.update(
        CSName="FILESRV-NEW",
        HyperV=False,
        SerialNumber="VMware-42 1b",
        SystemUUID="0E1D4A7B-92C3-4F58-A1D6-7B3E5C9F2A80",
        Adapters=[],
    )
    (tmp_path / "guest").mkdir()
    guest_facts = _collect_windows(tmp_path / "guest", system=json.dumps(body))
    guest_facts = replace(guest_facts, target="ssh://10.9.9.9:22", address="10.9.9.9", guests=())
    guest = store.save_facts(guest_facts, now=T0 + HOUR)
    assert guest != hv and hosts(store) == {(hv, guest)}
    detail = asset_detail(store, hv)
    assert detail is not None
    assert [(v["name"], v["state"]) for v in detail["virtual_machines"]] == [
        ("HQ-FS-03", "Running"),
        ("HQ-PRINT-01", "Off"),
    ]


def test_libvirt_and_esxi_guest_lists_parse() -> None:
    dominfo = (
        "Id:             3\nName:           db01\nUUID:           "
        "4213C0DE-5B8E-4D3A-9A41-7F0E7D2C1B11\nOS Type:        hvm\nState:          running\n"
        "CPU(s):         2\n\nId:             -\nName:           spare\nUUID:           "
        "00000000-0000-0000-0000-000000000000\nOS Type:        hvm\nState:          shut off\n\n"
    )
    assert [(g.name, g.uuid, g.state) for g in parse_dominfo(dominfo)] == [
        ("db01", U1, "running"),
        ("spare", None, "shut off"),  # a nil UUID is no identity
    ]
    raw = (SSH_DATA / "linux" / "esxi7" / "guests.txt").read_text()
    vim, _, rest = raw.partition("@@cw:vim-cmd\n")[2].partition("@@cw:esxcli-vm\n")
    guests = parse_esxi(vim, rest)
    assert [g.name for g in guests] == ["dc1-sql02", "dc1-app07", "old template"]
    assert guests[0].uuid == "421b7e03-5c9a-4d2e-8f17-6a3b0c9d2e51"
    assert canonical("03000200-0400-0500-0006-000700080009") is None  # a board placeholder


def test_export_names_the_age_source(store: Store) -> None:
    store.save_facts(
        Facts(
            target="snmp://10.0.3.1:161",
            protocol="snmp",
            sys_name="sw-old",
            identity=Identity(vendor="Cisco", device_class="switch", serial="FOC1314X0FN"),
        ),
        now=T0,
    )
    [row] = asset_rows(store)
    assert row["hardware_age_source"] == "serial_date_code"
    assert row["hardware_date"] == "2009-04-02"  # year code 13 is 2009, week 14
