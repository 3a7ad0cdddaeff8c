"""Device text is data, never code. A real sshd whose host name (its own UTS namespace) and SSH
banner carry shell metacharacters, markup and terminal control sequences, and a real snmpd whose
sysName does, are scanned by ``cloudward scan``. Every command the sshd ran is recorded by a
forced-command wrapper: each must be one of the allow-listed strings, whatever the device said.
What is stored is inert text; the CLI, API and pages show it without running or rendering it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.api.server import create_app
from agent.configuration.config_file import Settings
from agent.store import Store
from agent.telemetry.metrics import new_registry
from collectors.ssh.commands import load_allow_list
from tests.peers import free_port, need_binary
from tests.reliability.daemon import write_config
from tests.reliability.untrusted import CONTROL, SCRIPT, assert_inert_html, html_pages
from tests.snmpd import SnmpdPeer
from tests.sshd import Sshd, make_keypair, start_sshd

pytestmark = [pytest.mark.peer, pytest.mark.slow]

PWNED = Path("/tmp/cw-reliability-pwned")
# A host name (at most 64 bytes) and a banner addendum no one should trust.
HOSTNAME = f"h;$(reboot)`id`{SCRIPT}\x1b[2J"
BANNER = f"$(touch {PWNED});{SCRIPT}|reboot"
SYSNAME = f"sw;$(touch {PWNED})`reboot`|{SCRIPT}&&id"
SET_HOSTNAME = (
    "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass
class Scanned:
    db: Path
    commands: list[str]
    scan_output: str
    assets_output: str
    ssh_target: str
    snmp_target: str


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    need_binary("unshare")
    d = tmp_path_factory.mktemp("untrusted")
    PWNED.unlink(missing_ok=True)
    log = d / "commands.log"
    wrapper = d / "record.sh"
    wrapper.write_text(
        f"printf '%s\\0' \"$SSH_ORIGINAL_COMMAND\" >> {log}\n"
        'exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"\n'
    )
    sshd: Sshd | None = None
    snmpd = SnmpdPeer.start(free_port(), community="untrusted", sys_name=SYSNAME)
    try:
        sshd = start_sshd(
            d / "sshd",
            extra_config=f"VersionAddendum {BANNER}\n",
            prefix=("unshare", "--uts", sys.executable, "-c", SET_HOSTNAME, HOSTNAME),
        )
        key = d / "id_ed25519"
        sshd.authorize(make_keypair(key), command=f"sh {wrapper}")
        db = d / "cw.db"
        cfg: dict[str, Any] = {
            "database": f"sqlite:///{db}",
            "defaults": {
                "snmp": {"timeout": "1s", "retries": 0},
                "ssh": {"known_hosts": str(d / "known_hosts"), "trust_on_first_use": True},
            },
            "credentials": {
                "k": {"type": "ssh", "user": "root", "key_file": str(key)},
                "c": {"type": "snmp-community", "community": {"env": "CW_U_COMM"}},
            },
            "targets": [
                {"host": "127.0.0.1", "ssh_port": sshd.port, "credentials": ["k"]},
                {"host": "127.0.0.1", "snmp_port": snmpd.port, "credentials": ["c"]},
            ],
        }
        config = write_config(d / "cloudward.yaml", cfg)
        env = {**os.environ, "CW_U_COMM": "untrusted"}
        done = subprocess.run(
            ["cloudward", "scan", "--config", str(config), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        listing = subprocess.run(
            ["cloudward", "assets", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listing.returncode == 0, listing.stderr
        commands = [c for c in log.read_text(errors="replace").split("\0") if c]
        yield Scanned(
            db,
            commands,
            done.stdout + done.stderr,
            listing.stdout + listing.stderr,
            f"ssh://127.0.0.1:{sshd.port}",
            f"snmp://127.0.0.1:{snmpd.port}",
        )
    finally:
        if sshd is not None:
            sshd.stop()
        snmpd.cleanup()


def test_only_allow_listed_commands_ran_on_the_device(scanned: Scanned) -> None:
    allow = load_allow_list()
    allowed = {allow.probe.run} | {c.run for p in allow.platforms.values() for c in p.commands}
    assert scanned.commands, "the wrapper recorded nothing: the check would prove nothing"
    assert set(scanned.commands) <= allowed, set(scanned.commands) - allowed
    for command in scanned.commands:
        assert "reboot" not in command and "<script>" not in command
    assert not PWNED.exists()


def test_hostile_names_are_stored_as_inert_text(scanned: Scanned) -> None:
    summary = json.loads(scanned.scan_output[: scanned.scan_output.index("\n}") + 2])
    assert summary["ok"] == 2, summary
    store = Store.open(f"sqlite:///{scanned.db}")
    try:
        by_source = {tuple(a.sources): a for a in store.list_assets()}
    finally:
        store.close()
    ssh, snmp = by_source[("ssh",)], by_source[("snmp",)]
    assert ssh.sys_name is not None and "h;$(reboot)`id`" in ssh.sys_name and SCRIPT in ssh.sys_name
    assert snmp.sys_name == SYSNAME
    for asset in (ssh, snmp):
        for value in (asset.name, asset.sys_name, asset.sys_descr):
            assert value is None or not CONTROL.search(value), repr(value)
    assert not PWNED.exists()


def test_cli_output_carries_no_control_sequences(scanned: Scanned) -> None:
    for output in (scanned.scan_output, scanned.assets_output):
        assert "\x1b" not in output and "\x07" not in output
    assert "sw;$(touch" in scanned.assets_output  # shown as the text it is


def test_api_and_pages_show_it_escaped(scanned: Scanned) -> None:
    store = Store.open(f"sqlite:///{scanned.db}")
    registry, _live, _estate = new_registry()
    app = create_app(
        SimpleNamespace(settings=Settings(), store=store, registry=registry),  # type: ignore[arg-type]
        token=None,
    )
    try:
        with TestClient(app) as client:
            items = client.get("/api/v1/assets").json()["items"]
            names = {a["name"] for a in items}
            assert SYSNAME in names
            for asset in items:
                page = client.get(f"/assets/{asset['id']}")
                assert page.status_code == 200
                assert_inert_html(page.text)
                assert "&lt;script&gt;" in page.text
            for path in html_pages(app):
                r = client.get(path)
                assert r.status_code in (200, 404), (path, r.status_code)
                assert_inert_html(r.text)
    finally:
        store.close()
