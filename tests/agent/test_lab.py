"""End to end in the namespace lab: identity resolution, dependency mapping and the asset graph.

Three hosts with snmpd and sshd and a bare host h4 share a bridge; h3 has a second address,
polled over SSH only, so one box arrives as SNMP at one address and SSH at two.
``orders-api`` on h1 holds connections to ``orders-db`` on h2; ``reporter`` on h3 holds one to a
service on h4, which nobody inventories. ``cloudward scan`` (SNMP v2c + SSH keys, host keys
trusted on first use) must find one asset per host, the dependency seen from both of its ends,
the external peer, and keep all of it when a host dies. Physical links come from recorded
switches (no LLDP agent runs in the lab).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from sqlmodel import select

from agent.cli.probe_command import probe_snmp, probe_ssh
from agent.configuration.config_file import load_settings
from agent.inventory.asset_graph import build_graph, same_port
from agent.inventory.dependencies import rebuild_dependencies, service_names
from agent.store import Store
from agent.store import tables as m
from collectors.facts import Facts
from tests.lab import tcp
from tests.lab.netns import (
    NetnsLab,
    Spawned,
    clean_crashed_runs,
    links,
    namespace_pids,
    namespaces,
    netns_lab,
    require_lab,
)
from tests.peers import free_port, need

pytestmark = [pytest.mark.peer, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "demo"
DB_PORT, WEB_PORT = 5432, 8080
ENV = {"CW_LAB_COMMUNITY": "public"}


@dataclass
class Estate:
    lab: NetnsLab
    config: Path
    db: Path
    server: Spawned  # orders-db on h2
    client: Spawned  # orders-api on h1
    reporter: Spawned  # on h3, talking to h4
    scans: list[dict[str, Any]] = field(default_factory=list)
    deps: list[dict[tuple[str, str, int], m.DependencyRow]] = field(default_factory=list)
    asset_ids: list[dict[str, int]] = field(default_factory=list)

    def store(self) -> Store:
        return Store.open(f"sqlite:///{self.db}")

    def scan(self) -> dict[str, Any]:
        """``cloudward scan``; then the assets by host name and the rebuilt dependency edges."""
        done = run_cli("scan", "--config", str(self.config), "--json")
        assert done.returncode in (0, 1), done.stderr
        summary: dict[str, Any] = json.loads(done.stdout)
        store = self.store()
        try:
            rebuild_dependencies(store)
            with store.session() as s:
                deps = s.exec(select(m.DependencyRow)).all()
            ids = {a.name: a.id for a in store.list_assets() if a.id is not None}
        finally:
            store.close()
        self.scans.append(summary)
        self.deps.append({(d.src_key, d.dst_key, d.port): d for d in deps})
        self.asset_ids.append(ids)
        return summary

    def key(self, host: str) -> str:
        return f"asset:{self.asset_ids[0][self.lab.hosts[host].hostname]}"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cloudward", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **ENV),
        timeout=300,
    )


def planned_polls(lab: NetnsLab) -> dict[str, set[str]]:
    """Poll targets by host: SNMP and SSH at each host's address, SSH only at its aliases (the
    box must be recognised however its views arrive: SNMP here, SSH there)."""
    return {
        h.name: {f"snmp://{h.address}:161", f"ssh://{h.address}:22"}
        | {f"ssh://{a}:22" for a in h.aliases}
        for h in lab.hosts.values()
        if h.sshd is not None
    }


def write_config(lab: NetnsLab, path: Path, db: Path) -> Path:
    hosts = [h for h in lab.hosts.values() if h.sshd is not None]
    path.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{db}",
                "defaults": {
                    "snmp": {"timeout": "2s", "retries": 1},
                    "ssh": {
                        "known_hosts": str(lab.known_hosts),
                        "trust_on_first_use": True,
                        "connect_timeout": "5s",
                        "command_timeout": "60s",
                    },
                },
                "credentials": {
                    "lab-v2c": {"type": "snmp-community", "community": {"env": "CW_LAB_COMMUNITY"}},
                    "lab-ssh": {"type": "ssh", "user": "root", "key_file": str(lab.client_key)},
                },
                "targets": [
                    {"host": h.address, "credentials": ["lab-v2c", "lab-ssh"], "site": "lab"}
                    for h in hosts
                ]
                + [
                    {"host": a, "credentials": ["lab-ssh"], "site": "lab"}
                    for h in hosts
                    for a in h.aliases
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    work = tmp_path_factory.mktemp("lab")
    with netns_lab(("h1", "h2", "h3"), bare=("h4",), aliases={"h3": 1}) as lab:
        h = lab.hosts
        script = tcp.__file__
        server = lab.spawn(
            "h2",
            [str(lab.program("orders-db")), script, "serve", h["h2"].address, str(DB_PORT)],
            ready="listening",
        )
        client = lab.spawn(
            "h1",
            [str(lab.program("orders-api")), script, "hold", h["h2"].address, str(DB_PORT), "2"],
            ready="connected",
        )
        lab.spawn(
            "h4",
            [str(lab.program("ledger")), script, "serve", h["h4"].address, str(WEB_PORT)],
            ready="listening",
        )
        reporter = lab.spawn(
            "h3",
            [str(lab.program("reporter")), script, "hold", h["h4"].address, str(WEB_PORT), "1"],
            ready="connected",
        )
        db = work / "cw.db"
        config = write_config(lab, work / "cloudward.yaml", db)
        found = Estate(lab, config, db, server, client, reporter)
        found.scan()
        yield found


def test_one_asset_per_host_whatever_the_protocol_or_address(estate: Estate) -> None:
    lab = estate.lab
    summary = estate.scans[0]
    planned = planned_polls(lab)
    assert summary["failed"] == 0 and summary["ok"] == sum(map(len, planned.values())), summary
    store = estate.store()
    try:
        assets = store.list_assets()
        runs = store.poll_runs()
    finally:
        store.close()
    agents = [h for h in lab.hosts.values() if h.sshd is not None]
    assert sorted(a.name for a in assets) == sorted(h.hostname for h in agents), [
        (a.id, a.name, a.sources) for a in assets
    ]
    by_name = {a.name: a for a in assets}
    for host in agents:
        asset = by_name[host.hostname]
        assert asset.sources == ["snmp", "ssh"]
        assert asset.sys_name == host.hostname and asset.site == "lab"
        # every poll of the host, at any of its addresses and over either protocol, landed here
        assert {r.target for r in runs if r.asset_id == asset.id} == planned[host.name]
    # trust on first use recorded one key per address, so the next scan verifies them
    learned = {line.split()[0] for line in lab.known_hosts.read_text().splitlines() if line}
    assert learned == {a for h in agents for a in (h.address, *h.aliases)}


def _facts(estate: Estate, host: str) -> tuple[Facts, Facts]:
    settings = load_settings(estate.config)
    address = estate.lab.hosts[host].address
    snmp = asyncio.run(probe_snmp(settings, address, None, "lab-v2c", {}))
    ssh = probe_ssh(settings, None, address, None, "lab-ssh", {})
    return snmp, ssh


def test_each_protocol_sees_both_ends_of_the_connection(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    h1, h2 = estate.lab.hosts["h1"], estate.lab.hosts["h2"]
    for facts in _facts(estate, "h1"):
        mine = [
            c
            for c in facts.connections
            if (c.remote_address, c.remote_port) == (h2.address, DB_PORT)
        ]
        assert len(mine) == 2, (facts.protocol, facts.connections)
        assert {c.process for c in mine} == {estate.client.comm()}, facts.protocol
    for facts in _facts(estate, "h2"):
        accepted = [
            c
            for c in facts.connections
            if (c.local_port, c.remote_address) == (DB_PORT, h1.address)
        ]
        assert len(accepted) == 2, (facts.protocol, facts.connections)
        assert {c.process for c in accepted} == {estate.server.comm()}, facts.protocol
        assert any(
            li.port == DB_PORT and li.process == estate.server.comm() for li in facts.listening
        )


def test_dependency_edge_from_client_to_server_port(estate: Estate) -> None:
    edge = estate.deps[0][(estate.key("h1"), estate.key("h2"), DB_PORT)]
    assert edge.seen_by_client and edge.seen_by_server
    assert edge.process == estate.server.comm()
    assert edge.client_process == estate.client.comm()
    assert edge.service == service_names()[DB_PORT]
    assert edge.src_address == estate.lab.hosts["h1"].address
    assert edge.dst_address == estate.lab.hosts["h2"].address
    assert edge.count > 0 and edge.first_seen <= edge.last_seen
    # nothing points the other way: the server does not depend on its client
    assert not [k for k in estate.deps[0] if k[0] == estate.key("h2") and k[1] == estate.key("h1")]


def test_peer_that_is_not_inventoried_is_an_external_node(estate: Estate) -> None:
    h4 = estate.lab.hosts["h4"]
    edge = estate.deps[0][(estate.key("h3"), f"ext:{h4.address}", WEB_PORT)]
    assert edge.dst_asset_id is None and edge.dst_address == h4.address
    assert edge.seen_by_client and not edge.seen_by_server
    assert edge.client_process == estate.reporter.comm()
    # the scanner itself (the bridge address) reached every sshd: an external client of each
    scanner = f"ext:{estate.lab.gateway}"
    assert {k[1] for k in estate.deps[0] if k[0] == scanner and k[2] == 22} == {
        estate.key(h) for h in ("h1", "h2", "h3")
    }


def test_graph_export_json_and_graphml(estate: Estate, tmp_path: Path) -> None:
    done = run_cli("graph", "export", "--config", str(estate.config), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    nodes = {n["id"]: n for n in data["nodes"]}
    links = data["links"]
    assert {n["type"] for n in nodes.values()} == {"asset", "service", "external"}
    assert {e["type"] for e in links} == {"depends-on", "runs-on"}
    svc = f"svc:{estate.key('h2').split(':')[1]}:{DB_PORT}"
    assert nodes[svc]["process"] == estate.server.comm() and nodes[svc]["port"] == DB_PORT
    [dep] = [
        e
        for e in links
        if (e["source"], e["target"], e["type"]) == (estate.key("h1"), svc, "depends-on")
    ]
    assert dep["client_process"] == estate.client.comm() and dep["seen_by_server"] is True
    assert [
        e
        for e in links
        if (e["source"], e["target"], e["type"]) == (svc, estate.key("h2"), "runs-on")
    ]
    ext = f"ext:{estate.lab.hosts['h4'].address}"
    assert nodes[ext]["type"] == "external"

    out = tmp_path / "estate.graphml"
    done = run_cli(
        "graph", "export", "--config", str(estate.config), "--format", "graphml", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    g = nx.read_graphml(out, force_multigraph=True)
    assert isinstance(g, nx.MultiDiGraph)
    assert set(g.nodes) == set(nodes)
    assert g.number_of_edges() == len(links)
    assert g.nodes[svc]["type"] == "service" and g.nodes[ext]["type"] == "external"
    kinds = {d["type"] for _u, _v, d in g.edges(data=True)}
    assert kinds == {"depends-on", "runs-on"}
    [edge] = [d for d in g.get_edge_data(estate.key("h1"), svc).values()]
    assert edge["type"] == "depends-on" and int(edge["port"]) == DB_PORT


def test_second_scan_adds_observations_not_assets(estate: Estate) -> None:
    estate.scan()
    assert estate.scans[1]["failed"] == 0, estate.scans[1]
    assert estate.asset_ids[1] == estate.asset_ids[0]
    key = (estate.key("h1"), estate.key("h2"), DB_PORT)
    before, after = estate.deps[0][key], estate.deps[1][key]
    assert after.count > before.count
    assert after.last_seen > before.last_seen
    assert after.first_seen == before.first_seen
    assert after.seen_by_client and after.seen_by_server


def _stored(store: Store, asset_id: int) -> dict[str, Any]:
    with store.session() as s:
        asset = s.get(m.Asset, asset_id)
        assert asset is not None
        counts = {
            t.__name__: len(s.exec(select(t).where(t.asset_id == asset_id)).all())
            for t in (m.Interface, m.AddressRow, m.SoftwareRow, m.StorageRow, m.ListeningRow)
        }
        fields = {
            k: getattr(asset, k)
            for k in (
                "name",
                "os_name",
                "os_version",
                "kernel",
                "sources",
                "engine_id",
                "last_seen",
            )
        }
    return {"fields": fields, "rows": counts}


def test_dead_host_fails_alone_and_keeps_what_was_stored(estate: Estate) -> None:
    lab = estate.lab
    h3 = estate.asset_ids[0][lab.hosts["h3"].hostname]
    store = estate.store()
    try:
        before = _stored(store, h3)
    finally:
        store.close()
    assert all(before["rows"].values()), before
    lab.set_link("h3", up=False)
    try:
        summary = estate.scan()
    finally:
        lab.set_link("h3", up=True)
    planned = planned_polls(lab)
    failed = {r["target"]: r for r in summary["results"] if not r["ok"]}
    assert set(failed) == planned["h3"]
    assert summary["ok"] == len(planned["h1"] | planned["h2"])
    for target, result in failed.items():
        assert result["error_kind"] in {"timeout", "connect"}, result
        assert target.split("//")[1].rsplit(":", 1)[0] in result["error"]
    store = estate.store()
    try:
        after = _stored(store, h3)
    finally:
        store.close()
    assert after == before
    assert estate.asset_ids[-1] == estate.asset_ids[0]


# --- the lab cleans up after runs that crashed, and leaves live runs alone ------------------------

CRASHING_RUN = """
import time
from tests.lab.netns import netns_lab
with netns_lab((), bare=("b1",)) as lab:
    lab.spawn("b1", ["sleep", "600"])
    print(lab.slot, lab.hosts["b1"].netns, lab.bridge, lab.workdir, flush=True)
    time.sleep(600)
"""


def test_a_crashed_run_is_cleaned_and_a_live_one_is_not() -> None:
    require_lab()
    run = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        assert run.stdout is not None
        slot_text, netns, bridge, workdir = run.stdout.readline().split()
        slot = int(slot_text)
        assert netns in namespaces() and bridge in links()
        assert slot not in clean_crashed_runs()  # it is alive: hands off
        assert netns in namespaces()
        [sleeper] = namespace_pids(netns)
    finally:
        run.kill()  # a crash: no clean-up of its own
        run.wait()
    assert netns in namespaces() and bridge in links() and Path(workdir).exists()
    assert slot in clean_crashed_runs()
    assert netns not in namespaces() and bridge not in links()
    assert not Path(workdir).exists()
    assert _ended(sleeper)


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever adopted it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


# --- physical links from recorded LLDP/CDP ------------------------------------------------------


def _recorded_link(a: str, b: str) -> tuple[str, str]:
    """The ports of the estate's link between switches ``a`` and ``b`` (a's port, b's port)."""
    estate = yaml.safe_load((DEMO / "estate.yaml").read_text())
    for line in estate["links"]:
        ends = dict(end.split(":", 1) for end in line.split())
        if set(ends) == {a, b}:
            return ends[a], ends[b]
    raise AssertionError(f"the demo estate has no link between {a} and {b}")


def test_lldp_neighbours_in_recordings_become_linked_to_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.snmpsim import SnmpsimPeer, responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    switches = ("th-core-sw01", "th-dist-sw01")
    peers: dict[str, SnmpsimPeer] = {}
    try:
        for name in switches:
            data = tmp_path / name
            data.mkdir()
            shutil.copy(DEMO / "recordings" / f"{name}.snmprec", data)
            peers[name] = SnmpsimPeer.start(data, free_port(), probe_community=name)
        db = tmp_path / "cw.db"
        config = tmp_path / "cloudward.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": f"sqlite:///{db}",
                    "defaults": {"snmp": {"timeout": "2s", "retries": 1}},
                    "credentials": {
                        n: {"type": "snmp-community", "community": {"env": f"CW_LAB_{i}"}}
                        for i, n in enumerate(switches)
                    },
                    "targets": [
                        {"host": "127.0.0.1", "snmp_port": peers[n].port, "credentials": [n]}
                        for n in switches
                    ],
                }
            )
        )
        for i, name in enumerate(switches):
            monkeypatch.setenv(f"CW_LAB_{i}", name)
        done = run_cli("scan", "--config", str(config), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["ok"] == 2
    finally:
        for peer in peers.values():
            peer.stop()
    store = Store.open(f"sqlite:///{db}")
    try:
        ids = {a.sys_name.split(".")[0]: a.id for a in store.list_assets() if a.sys_name}
        assert sorted(ids) == sorted(switches), ids
        g = build_graph(store)
    finally:
        store.close()
    core, dist = (f"asset:{ids[n]}" for n in switches)
    core_port, dist_port = _recorded_link(*switches)
    for src, dst, local, remote in (
        (core, dist, core_port, dist_port),
        (dist, core, dist_port, core_port),
    ):
        # one edge per cable and direction, whether LLDP, CDP or both told of it
        [link] = [d for d in (g.get_edge_data(src, dst) or {}).values()]
        assert link["type"] == "linked-to"
        assert set(link["protocols"].split(",")) <= {"lldp", "cdp"}
        assert same_port(link["local_port"], local) and same_port(link["remote_port"], remote)
    assert {d["type"] for _u, _v, d in g.edges(data=True)} == {"linked-to"}
    # neighbours nobody inventoried are external nodes, one per box whatever the protocol said
    external = [n for n, d in g.nodes(data=True) if d["type"] == "external"]
    assert external
    names = [str(g.nodes[n]["name"]).split(".")[0].lower() for n in external]
    assert len(set(names)) == len(names), sorted(names)
