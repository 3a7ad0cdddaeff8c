"""Neighbour discovery: from one seed switch, every switch of a lab of four (generated
recordings, each served by its own snmpsim on its own loopback address) is found through LLDP
and CDP, and nothing outside the configured ranges is added, whatever the neighbour tables say.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.inventory.discovery import DiscoveryRange, next_targets
from collectors.facts import Neighbor
from tests.lab import switches as lab

RANGE = DiscoveryRange(ipaddress.ip_network("192.0.2.0/28"), credentials=("snmp-ro",))


def _nb(address: str | None, name: str, port: str = "1") -> Neighbor:
    return Neighbor("lldp", local_port=port, remote_sys_name=name, remote_address=address)


def test_only_neighbours_inside_a_range_with_credentials_are_added() -> None:
    seen = {
        "192.0.2.1": [
            _nb("192.0.2.2", "in-range"),
            _nb("198.51.100.7", "partner"),
            _nb(None, "no-address"),
            _nb("192.0.2.1", "itself"),
        ]
    }
    found, skipped = next_targets(
        seen, {"192.0.2.1": 0}, {"192.0.2.1"}, [RANGE], max_depth=3, max_new=10
    )
    assert [(f.address, f.depth, f.credentials) for f in found] == [("192.0.2.2", 1, ("snmp-ro",))]
    assert {(s.name, s.reason) for s in skipped} == {
        ("partner", "outside the discovery ranges"),
        ("no-address", "no management address"),
    }
    bare = DiscoveryRange(RANGE.network, credentials=())
    found, skipped = next_targets(seen, {}, {"192.0.2.1"}, [bare], max_depth=3, max_new=10)
    assert not found and "its range has no credentials" in {s.reason for s in skipped}


def test_depth_and_count_guards() -> None:
    seen = {"192.0.2.5": [_nb(f"192.0.2.{n}", f"sw{n}", str(n)) for n in (9, 7, 8)]}
    found, skipped = next_targets(
        seen, {"192.0.2.5": 2}, {"192.0.2.5"}, [RANGE], max_depth=2, max_new=10
    )
    assert not found and {s.reason for s in skipped} == {"3 hops away, deeper than 2"}
    found, skipped = next_targets(
        seen, {"192.0.2.5": 0}, {"192.0.2.5"}, [RANGE], max_depth=2, max_new=2
    )
    assert [f.address for f in found] == ["192.0.2.7", "192.0.2.8"]  # lowest address first
    assert [(s.address, s.reason) for s in skipped] == [("192.0.2.9", "over max_new (2)")]


@pytest.fixture(scope="module")
def switch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.Lab]:
    with lab.serve(tmp_path_factory.mktemp("discovery-lab")) as served:
        yield served


def _discover(served: lab.Lab, tmp_path: Path, depth: int, *extra: str) -> dict[str, object]:
    config = {
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "defaults": {"snmp": {"port": served.port, "timeout": 2, "retries": 1}},
        "credentials": {
            "lab-ro": {"type": "snmp-community", "community": {"env": "CW_LAB_COMMUNITY"}}
        },
        "targets": [{"host": "127.0.0.12", "name": "acc1", "credentials": ["lab-ro"]}],
        "discovery": {"ranges": [lab.RANGE], "credentials": ["lab-ro"], "depth": depth},
    }
    path = tmp_path / "cloudward.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "agent", "discover", "--config", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, CW_LAB_COMMUNITY=lab.COMMUNITY),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    if "--json" in extra:
        return json.loads(done.stdout)  # type: ignore[no-any-return]
    return {"text": done.stdout}


def test_one_seed_finds_every_switch_and_nothing_outside_the_range(
    switch_lab: lab.Lab, tmp_path: Path
) -> None:
    out = _discover(switch_lab, tmp_path, 3, "--dry-run", "--json")
    added = {(a["address"], a["name"], a["depth"], a["protocol"]) for a in out["would_add"]}  # type: ignore[index, union-attr]
    assert added == {
        ("127.0.0.11", "core", 1, "lldp"),
        ("127.0.0.14", "acc3", 1, "lldp"),
        ("127.0.0.13", "acc2", 2, "lldp"),
    }
    refused = {(s["address"], s["reason"]) for s in out["not_added"]}  # type: ignore[index, union-attr]
    assert ("127.0.0.99", "outside the discovery ranges") in refused  # core's partner router
    assert ("10.10.1.4", "outside the discovery ranges") in refused  # the phone on acc1
    assert all(a["address"].startswith("127.0.0.") for a in out["would_add"])  # type: ignore[index, union-attr]
    # Every switch of the lab was read (acc2 through its CDP back to core, already known).
    assert sorted(out["polled"]) == sorted(s.address for s in switch_lab.switches.values())  # type: ignore[arg-type]


def test_depth_one_stops_at_the_seed_neighbours_and_says_so(
    switch_lab: lab.Lab, tmp_path: Path
) -> None:
    out = _discover(switch_lab, tmp_path, 1, "--dry-run", "--json")
    assert {a["address"] for a in out["would_add"]} == {"127.0.0.11", "127.0.0.14"}  # type: ignore[index, union-attr]
    assert ("127.0.0.13", "2 hops away, deeper than 1") in {
        (s["address"], s["reason"])
        for s in out["not_added"]  # type: ignore[union-attr]
    }
    text = _discover(switch_lab, tmp_path, 1, "--dry-run")["text"]
    assert "2 targets would be added" in str(text) and "127.0.0.99" in str(text)


def test_without_dry_run_it_refuses_and_says_how(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent", "discover"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "--dry-run" in done.stderr
