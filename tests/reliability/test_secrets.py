"""No secret ever leaves cloudward. Real peers (two snmpd, one sshd, a private PostgreSQL) are
polled with distinctive secrets: right and wrong v2c communities (one from a 0600 file), right
and wrong SNMPv3 pass phrases, an encrypted SSH key's passphrase, an SSH password the server
refuses, and an API token. Then every output is searched for every secret (as text and as hex):
the SQLite file, a PostgreSQL dump, the daemon's debug log, /metrics, every API endpoint and
page, the CLI's outputs (config check, scan, probe --json, assets, plan), the exports,
the board report and the state folder."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port, wait_for
from tests.postgres import PgCluster
from tests.reliability.daemon import Cloudward, get, write_config
from tests.snmpd import SnmpdPeer
from tests.sshd import make_keypair, start_sshd

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SECRETS = {
    "community": "cwS3cr3t-community-q7d1",
    "wrong_community": "cwS3cr3t-wrongcomm-p3j6",
    "v3_auth": "cwS3cr3t-authpass-k2m9",
    "v3_priv": "cwS3cr3t-privpass-z8r4",
    "wrong_v3_auth": "cwS3cr3t-wrongauth-l4x7",
    "wrong_v3_priv": "cwS3cr3t-wrongpriv-t9k3",
    "ssh_passphrase": "cwS3cr3t-keyphrase-h5w3",
    "ssh_password": "cwS3cr3t-sshpass-b6y2",
    "api_token": "cwS3cr3t-apitoken-m1s8v0f",
}
ENV = {
    "CW_S_COMM": SECRETS["community"],
    "CW_S_V3_AUTH": SECRETS["v3_auth"],
    "CW_S_V3_PRIV": SECRETS["v3_priv"],
    "CW_S_BAD_AUTH": SECRETS["wrong_v3_auth"],
    "CW_S_BAD_PRIV": SECRETS["wrong_v3_priv"],
    "CW_S_PHRASE": SECRETS["ssh_passphrase"],
    "CW_S_PASSWORD": SECRETS["ssh_password"],
    "CW_S_TOKEN": SECRETS["api_token"],
}
OUTPUTS = [
    "config check",
    "scan (SQLite, debug log)",
    "scan (PostgreSQL, debug log)",
    "SQLite file",
    "PostgreSQL dump",
    "daemon debug log",
    "/metrics",
    "API endpoints",
    "pages",
    "unauthenticated answers",
    "probe --json (v2c)",
    "probe --json (v3)",
    "probe (v3, wrong pass phrases)",
    "probe --json (ssh)",
    "assets --json",
    "plan --json",
    "export (csv, json, xlsx, graphml)",
    "report",
    "state folder",
]


def cli(*args: str, ok: bool = True) -> bytes:
    done = subprocess.run(
        ["cloudward", *args], env={**os.environ, **ENV}, capture_output=True, timeout=300
    )
    if ok:
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout + b"\n" + done.stderr


def files_bytes(*paths: Path) -> bytes:
    """The bytes of files and folders, with zip members (xlsx, zip) opened."""
    out = b""
    for path in paths:
        items = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for item in items:
            if not item.exists():
                continue
            data = item.read_bytes()
            out += data
            if zipfile.is_zipfile(item):
                with zipfile.ZipFile(item) as z:
                    out += b"".join(z.read(n) for n in z.namelist())
    return out


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    d = tmp_path_factory.mktemp("secrets")
    out: dict[str, bytes] = {}
    snmp_a = SnmpdPeer.start(free_port(), community=SECRETS["community"], sys_name="sec-a")
    snmp_b = SnmpdPeer.start(
        free_port(),
        community="not-used-here",
        v3_user="secuser",
        v3_auth=SECRETS["v3_auth"],
        v3_priv=SECRETS["v3_priv"],
        sys_name="sec-b",
    )
    sshd = start_sshd(d / "sshd")
    cluster = PgCluster.create()
    try:
        cluster.start()
        key = d / "id_encrypted"
        sshd.authorize(make_keypair(key, "ed25519", SECRETS["ssh_passphrase"]))
        (d / "state").mkdir()
        comm_file = d / "wrong-community"
        comm_file.write_text(SECRETS["wrong_community"] + "\n")
        comm_file.chmod(0o600)
        db = d / "cw.db"
        cfg: dict[str, Any] = {
            "database": f"sqlite:///{db}",
            "log_level": "debug",
            "state_dir": str(d / "state"),
            "replan_interval": "3s",
            "api": {"token": {"env": "CW_S_TOKEN"}},
            "defaults": {
                "snmp": {"timeout": "1s", "retries": 0},
                "ssh": {
                    "known_hosts": str(d / "state" / "known_hosts"),
                    "trust_on_first_use": True,
                },
            },
            "credentials": {
                "v2-file": {"type": "snmp-community", "community": {"file": str(comm_file)}},
                "v2": {"type": "snmp-community", "community": {"env": "CW_S_COMM"}},
                "v3-bad": {
                    "type": "snmpv3",
                    "user": "secuser",
                    "auth_key": {"env": "CW_S_BAD_AUTH"},
                    "priv_key": {"env": "CW_S_BAD_PRIV"},
                },
                "v3": {
                    "type": "snmpv3",
                    "user": "secuser",
                    "auth_key": {"env": "CW_S_V3_AUTH"},
                    "priv_key": "env:CW_S_V3_PRIV",
                },
                "ssh-pw": {"type": "ssh", "user": "root", "password": {"env": "CW_S_PASSWORD"}},
                "ssh-key": {
                    "type": "ssh",
                    "user": "root",
                    "key_file": str(key),
                    "passphrase": {"env": "CW_S_PHRASE"},
                },
            },
            "targets": [
                # a wrong community first (a timeout), then the right one
                {"host": "127.0.0.1", "snmp_port": snmp_a.port, "credentials": ["v2-file", "v2"]},
                {"host": "localhost", "snmp_port": snmp_a.port, "credentials": ["v2-file"]},
                # wrong v3 pass phrases first (an auth failure), then the right ones
                {"host": "127.0.0.1", "snmp_port": snmp_b.port, "credentials": ["v3-bad", "v3"]},
                {"host": "localhost", "snmp_port": snmp_b.port, "credentials": ["v3-bad"]},
                # a password the server refuses, then the encrypted key
                {"host": "127.0.0.1", "ssh_port": sshd.port, "credentials": ["ssh-pw", "ssh-key"]},
                {"host": "localhost", "ssh_port": sshd.port, "credentials": ["ssh-pw"]},
            ],
        }
        for target in cfg["targets"]:
            target["poll_interval"] = "4s"
        config = write_config(d / "cloudward.yaml", cfg)

        out["config check"] = cli("config", "check", str(config))
        out["scan (SQLite, debug log)"] = cli(
            "--log-level", "debug", "scan", "--config", str(config), "--json"
        )
        out["scan (PostgreSQL, debug log)"] = cli(
            "--log-level",
            "debug",
            "scan",
            "--config",
            str(config),
            "--json",
            "--database",
            cluster.url,
        )
        dump = subprocess.run(
            [
                str(cluster.bin / "pg_dump"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                "postgres",
                "postgres",
            ],
            capture_output=True,
            timeout=120,
        )
        assert dump.returncode == 0, dump.stderr
        out["PostgreSQL dump"] = dump.stdout

        with Cloudward(config, ENV, d / "daemon.log", extra_args=("--log-level", "debug")) as cw:
            cw.start()
            token = SECRETS["api_token"]

            def planned() -> bool:
                return get(cw.base + "/api/v1/plan", token)[0] == 200

            wait_for(planned, 90, "a plan from the daemon")
            out["/metrics"] = get(cw.base + "/metrics", token)[1]
            status, body = get(cw.base + "/openapi.json", token)
            assert status == 200
            schema = json.loads(body)
            _s, assets = get(cw.base + "/api/v1/assets", token)
            asset_id = json.loads(assets)["items"][0]["id"]
            api = b""
            for path in schema["paths"]:
                url = cw.base + path.replace("{asset_id}", str(asset_id))
                if path.endswith("/diff"):
                    url += "?a=1&b=1"
                status, body = get(url, token)
                assert status == 200, (path, status, body[:300])
                api += body
            out["API endpoints"] = api + assets
            pages = b""
            for path in ("/", "/debt", "/waves", f"/assets/{asset_id}"):
                status, body = get(cw.base + path, token)
                assert status == 200, (path, status)
                pages += body
            out["pages"] = pages
            out["unauthenticated answers"] = b"".join(
                get(cw.base + p, t)[1]
                for p in ("/api/v1/assets", "/metrics", "/")
                for t in (None, "wrong-token")
            )
            assert cw.terminate() == 0
        out["daemon debug log"] = cw.log().encode()

        base = ("--config", str(config))
        exports = d / "exports"
        exports.mkdir()
        calls: dict[str, tuple[tuple[str, ...], bool]] = {
            "probe --json (v2c)": (
                (
                    "probe",
                    f"snmp://127.0.0.1:{snmp_a.port}",
                    "--community-env",
                    "CW_S_COMM",
                    "--json",
                ),
                True,
            ),
            "probe --json (v3)": (
                (
                    "--log-level",
                    "debug",
                    "probe",
                    f"snmp://127.0.0.1:{snmp_b.port}",
                    "--v3-user",
                    "secuser",
                    "--v3-auth-env",
                    "CW_S_V3_AUTH",
                    "--v3-priv-env",
                    "CW_S_V3_PRIV",
                    "--json",
                ),
                True,
            ),
            "probe (v3, wrong pass phrases)": (
                (
                    "--log-level",
                    "debug",
                    "probe",
                    f"snmp://127.0.0.1:{snmp_b.port}",
                    "--v3-user",
                    "secuser",
                    "--v3-auth-env",
                    "CW_S_BAD_AUTH",
                    "--v3-priv-env",
                    "CW_S_BAD_PRIV",
                    "--timeout",
                    "1",
                    "--json",
                ),
                False,
            ),
            "probe --json (ssh)": (
                (
                    "--log-level",
                    "debug",
                    "probe",
                    f"ssh://root@127.0.0.1:{sshd.port}",
                    "--ssh-key",
                    str(key),
                    "--ssh-key-passphrase-env",
                    "CW_S_PHRASE",
                    "--known-hosts",
                    str(d / "probe_known_hosts"),
                    "--tofu",
                    "--json",
                ),
                True,
            ),
            "assets --json": (("assets", *base, "--json"), True),
            "plan --json": (("plan", *base, "--json"), True),
            "export csv": (
                ("export", *base, "--format", "csv", "--out", str(exports / "all.zip")),
                True,
            ),
            "export json": (
                ("export", *base, "--format", "json", "--out", str(exports / "all.json")),
                True,
            ),
            "export xlsx": (
                ("export", *base, "--format", "xlsx", "--out", str(exports / "all.xlsx")),
                True,
            ),
            "export graphml": (
                ("export", *base, "--format", "graphml", "--out", str(exports / "graph.graphml")),
                True,
            ),
            "report": (("report", *base, "--out", str(d / "report.html")), True),
        }
        with ThreadPoolExecutor(max_workers=3) as pool:  # each command is mostly start-up
            futures = {name: pool.submit(cli, *args, ok=ok) for name, (args, ok) in calls.items()}
            for name, future in futures.items():
                out[name] = future.result()
        out["export (csv, json, xlsx, graphml)"] = files_bytes(exports)
        out["report"] = files_bytes(d / "report.html")
        out["SQLite file"] = files_bytes(*d.glob("cw.db*"))
        out["state folder"] = files_bytes(d / "state")
        yield out
    finally:
        cluster.destroy()
        sshd.stop()
        snmp_a.cleanup()
        snmp_b.cleanup()


def leaks(data: bytes) -> list[str]:
    found = []
    for name, secret in SECRETS.items():
        for form in (secret.encode(), secret.encode().hex().encode(), secret.upper().encode()):
            if form in data or form in data.lower():
                found.append(name)
                break
    return found


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_secret_in(outputs: dict[str, bytes], name: str) -> None:
    data = outputs[name]
    assert data.strip(), f"{name}: empty (the check would prove nothing)"
    assert leaks(data) == [], f"{name} holds secrets: {leaks(data)}"


def test_the_outputs_searched_are_the_real_thing(outputs: dict[str, bytes]) -> None:
    """Positive controls: the polls worked, the failures happened, the log is at debug level."""
    scan = outputs["scan (SQLite, debug log)"]
    summary = json.loads(scan[: scan.index(b"\n}") + 2])
    assert summary["ok"] == 3 and summary["failed"] == 3, summary
    kinds = sorted(r["error_kind"] for r in summary["results"] if not r["ok"])
    assert kinds == ["auth", "auth", "timeout"], kinds
    log = outputs["daemon debug log"].decode()
    assert '"level": "debug"' in log
    for words in (b"sec-a", b"sec-b"):
        assert words in outputs["SQLite file"] and words in outputs["PostgreSQL dump"]
    assert b"authentication failed" in outputs["probe (v3, wrong pass phrases)"]
    assert b'"sys_name": "sec-b"' in outputs["probe --json (v3)"]
    assert b"cloudward_polls_total" in outputs["/metrics"]
    assert b"missing or wrong bearer token" in outputs["unauthenticated answers"]
    assert SECRETS["api_token"].encode() not in outputs["unauthenticated answers"]
