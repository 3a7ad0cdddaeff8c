"""Stores with a plan for the page, report and export tests.

``council_store``: the council example estate imported, one hostile device saved as a poll
would save it, and a plan (fast, no peers). ``scanned_estate``: the demo estate's recordings
plus a hostile recording served by snmpsim, scanned and planned by the ``cloudward`` command
(a real poll of 56 devices; built once per test session and shared).

The hostile device carries markup in its sysName and sysDescr and a spreadsheet formula in its
sysLocation: every page, the report and the exports must show them as inert text.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from agent.bridge.plan_runs import compute_plan, save_plan
from agent.inventory.estate_import import import_estate
from agent.store import Store
from collectors.facts import Facts, Identity, Neighbor, Software

REPO = Path(__file__).resolve().parents[2]
COUNCIL = REPO / "tests" / "data" / "estate" / "council.json"
TODAY = date(2026, 11, 1)
XSS_NAME = "<script>alert(1)</script>"
XSS_DESCR = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://example.invalid","x")'
XSS_STEM = "xss-web01"


def hostile_facts() -> Facts:
    return Facts(
        target="10.9.9.9",
        protocol="snmp",
        address="10.9.9.9",
        sys_name=XSS_NAME,
        sys_descr=f"{XSS_DESCR} Linux xss01 3.10.0-1160.el7.x86_64",
        sys_location=FORMULA,
        sys_contact="<b>ops</b>",
        identity=Identity(
            vendor="Net-SNMP",
            device_class="server",
            model="Virtual\x07Box <i>",  # a control character no spreadsheet accepts
            os_name="CentOS",
            os_version="7.9.2009",
        ),
        software=(Software(name="<b>evil</b>", version="1"),),
        neighbors=(
            Neighbor(
                protocol="lldp", local_port="eth0", remote_sys_name="<script>alert(2)</script>"
            ),
        ),
    )


def council_store(path: Path) -> tuple[Store, int]:
    """The council estate, the hostile device and one plan; returns the store and its id."""
    store = Store.open(f"sqlite:///{path}")
    import_estate(store, COUNCIL.read_text(encoding="utf-8"), "json", COUNCIL.name)
    hostile = store.save_facts(hostile_facts())
    save_plan(store, compute_plan(store, TODAY))
    return store, int(hostile)


def _hex(text: str) -> str:
    return text.encode().hex()


def hostile_recording(source: Path) -> str:
    """A copy of a Linux server recording with hostile system text and its own addresses (so
    it is a different box): no TCP tables, no IPv6 table and no engine ID."""
    dropped = ("1.3.6.1.2.1.6.13.", "1.3.6.1.2.1.6.19.", "1.3.6.1.2.1.6.20.", "1.3.6.1.2.1.4.34.")
    out = []
    for line in source.read_text(encoding="utf-8").splitlines():
        oid = line.split("|", 1)[0]
        if oid.startswith(dropped) or oid.startswith("1.3.6.1.6.3.10.2."):
            continue
        if oid == "1.3.6.1.2.1.1.1.0":
            line = f"{oid}|4x|{_hex(XSS_DESCR + ' Linux xss01 3.10.0-1160.119.1.el7.x86_64')}"
        elif oid == "1.3.6.1.2.1.1.5.0":
            line = f"{oid}|4x|{_hex(XSS_NAME)}"
        elif oid == "1.3.6.1.2.1.1.6.0":
            line = f"{oid}|4x|{_hex(FORMULA)}"
        out.append(line.replace("10.20.1.81", "10.20.9.81").replace("005056b0d403", "005056b0ee03"))
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class ScannedEstate:
    workdir: Path
    database: str
    config: Path  # serves the store without polling (no targets)
    devices: int


_BUILT: dict[str, ScannedEstate] = {}


def cloudward(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, f"cloudward {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def scanned_estate(workdir: Path) -> ScannedEstate:
    """Scan the demo recordings plus the hostile one over snmpsim and plan (once a session)."""
    if "estate" in _BUILT:
        return _BUILT["estate"]
    from agent.runtime.demo_run import free_udp_ports, start_snmpsim, wait_snmpsim
    from simulator.estate import load_estate, recordings_dir
    from tests.peers import stop

    data = workdir / "recordings"
    data.mkdir(parents=True)
    source = recordings_dir()
    for rec in source.glob("*.snmprec"):
        (data / rec.name).write_bytes(rec.read_bytes())
    (data / f"{XSS_STEM}.snmprec").write_text(hostile_recording(source / "th-web01.snmprec"))
    devices = [d for d in load_estate().devices if (data / f"{d.name}.snmprec").exists()]
    named = [(d.name, d.site) for d in devices] + [(XSS_STEM, "town-hall")]
    ports = free_udp_ports(len(named))
    sim = start_snmpsim(data, ports, workdir)  # one UDP port per device, as the demo does
    try:
        wait_snmpsim(sim, ports[-1], XSS_STEM)
        env = dict(os.environ)
        credentials, targets = {}, []
        for i, ((name, site), port) in enumerate(zip(named, ports, strict=True)):
            env[f"CW_TEST_COMMUNITY_{i}"] = name
            credentials[f"c{i}"] = {
                "type": "snmp-community",
                "community": {"env": f"CW_TEST_COMMUNITY_{i}"},
            }
            target = {"host": "127.0.0.1", "snmp_port": port, "credentials": [f"c{i}"]}
            if name != XSS_STEM:  # a configured name names the asset: the hostile one keeps its own
                target["name"] = name
            targets.append({**target, "site": site})
        database = f"sqlite:///{workdir / 'cw.db'}"
        scan = workdir / "scan.yaml"
        scan.write_text(
            yaml.safe_dump(
                {
                    "database": database,
                    "state_dir": str(workdir / "state"),
                    "defaults": {"snmp": {"timeout": "5s", "retries": 2, "concurrency": 8}},
                    "credentials": credentials,
                    "targets": targets,
                }
            )
        )
        cloudward("scan", "--config", str(scan), "--no-progress", env=env)
    finally:
        stop(sim)
    serve = workdir / "serve.yaml"
    serve.write_text(yaml.safe_dump({"database": database, "state_dir": str(workdir / "state")}))
    cloudward("plan", "--config", str(serve), "--today", TODAY.isoformat())
    _BUILT["estate"] = ScannedEstate(workdir, database, serve, len(named))
    return _BUILT["estate"]
