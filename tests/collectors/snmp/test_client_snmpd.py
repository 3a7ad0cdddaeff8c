"""The SNMP collector against a real net-snmp snmpd on loopback: v1, v2c, v3 authPriv (SHA and
SHA-256 with AES), on both engines, which must read the same facts; `cloudward probe
--snmp-engine`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from collectors.errors import AuthError, CollectTimeout
from collectors.facts import Facts
from collectors.snmp.client import Engine, SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import load_rules
from collectors.ssh.rules import load_identity_rules
from tests.snmpd import imported_modules

pytestmark = pytest.mark.peer


def collect(peer: Any, auth: SnmpAuth, engine: Engine = "fast", **ep: Any) -> Facts:
    async def go() -> Facts:
        client = SnmpClient(engine)
        try:
            target = SnmpTarget(SnmpEndpoint("127.0.0.1", peer.port, **ep), auth)
            return await collect_snmp(client, target, load_rules())
        finally:
            client.close()

    return asyncio.run(go())


def v3(peer: Any, **kw: Any) -> SnmpAuth:
    args = {
        "version": "3",
        "user": peer.v3_user,
        "auth_key": peer.v3_auth,
        "priv_key": peer.v3_priv,
        "auth_proto": "SHA",
        "priv_proto": "AES",
    }
    args.update(kw)
    return SnmpAuth(**args)


def local_packages() -> int:
    out = subprocess.run(["dpkg-query", "-W"], capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


def os_release() -> dict[str, str]:
    """This machine's os-release(5) (KEY=value lines, values optionally quoted)."""
    for path in (Path("/etc/os-release"), Path("/usr/lib/os-release")):
        if path.is_file():
            pairs = (line.partition("=") for line in path.read_text().splitlines())
            return {k.strip(): v.strip().strip("\"'") for k, sep, v in pairs if sep and k.strip()}
    pytest.fail("this machine has no os-release file to compare the identification with")


def check_local_host(facts: Facts, peer: Any) -> None:
    assert facts.sys_name == peer.sys_name
    assert facts.sys_location == peer.sys_location
    assert facts.identity.device_class == "server"
    # The distribution and release, named as the SSH collector names them from os-release
    # (SNMP may be more precise: CentOS 7.9 where VERSION_ID says 7; SLES "15 SP5" for 15.5).
    osr = os_release()
    assert facts.identity.os_name == load_identity_rules().os_name(osr.get("ID"), osr.get("NAME"))
    ours, theirs = facts.identity.os_version or "", osr.get("VERSION_ID")
    if theirs:  # rolling and testing releases have none
        assert ours.replace(" SP", ".") == theirs or ours.startswith(theirs + "."), (ours, osr)
    assert facts.kernel == os.uname().release
    assert facts.sys_object_id == "1.3.6.1.4.1.8072.3.2.10"
    assert "lo" in {i.name for i in facts.interfaces}
    assert any(a.address == "127.0.0.1" and a.prefix_len == 8 for a in facts.addresses)
    # HOST-RESOURCES: installed packages (dpkg) and storage served by snmpd.
    names = {s.name for s in facts.software}
    assert abs(len(facts.software) - local_packages()) <= 2
    assert "snmpd" in names
    snmpd_pkg = next(s for s in facts.software if s.name == "snmpd")
    assert snmpd_pkg.version and snmpd_pkg.version[0].isdigit()
    kinds = {s.kind for s in facts.storage}
    assert "ram" in kinds and "fixed" in kinds
    assert facts.memory_bytes and facts.memory_bytes > 100 * 1024 * 1024
    assert facts.engine_id and len(facts.engine_id) >= 10
    assert facts.values_read > 1000


def lasting(facts: Facts) -> dict[str, object]:
    """What cannot change between two polls of this host: no clocks, load, processes,
    connections, storage use, or the addresses and devices that tests elsewhere add."""
    return {
        "system": (
            facts.sys_name,
            facts.sys_descr,
            facts.sys_object_id,
            facts.sys_location,
            facts.sys_contact,
            facts.snmp_version,
        ),
        "identity": facts.identity,
        "host": (facts.kernel, facts.engine_id, facts.cpu_count, facts.cpu_model),
        "memory": facts.memory_bytes,
        "software": facts.software,
        "storage": sorted((s.descr, s.kind or "") for s in facts.storage),
        "interfaces": {i.name for i in facts.interfaces},
    }


def test_v2c_reads_the_local_host(snmpd: Any, engine: Engine) -> None:
    facts = collect(snmpd, SnmpAuth(version="2c", community=snmpd.community), engine)
    check_local_host(facts, snmpd)
    assert facts.snmp_version == "2c"


def test_v3_authpriv_reads_the_same(snmpd: Any, engine: Engine) -> None:
    facts = collect(snmpd, v3(snmpd), engine)
    check_local_host(facts, snmpd)
    assert facts.snmp_version == "3"


def test_v3_sha256_authpriv_reads_the_same(snmpd_sha256: Any, engine: Engine) -> None:
    facts = collect(snmpd_sha256, v3(snmpd_sha256, auth_proto="SHA256"), engine)
    check_local_host(facts, snmpd_sha256)


@pytest.mark.parametrize("version", ["2c", "3-SHA", "3-SHA256"])
def test_both_engines_read_the_same_facts(snmpd: Any, snmpd_sha256: Any, version: str) -> None:
    peer = snmpd_sha256 if version == "3-SHA256" else snmpd
    auth = {
        "2c": SnmpAuth(version="2c", community=peer.community),
        "3-SHA": v3(peer),
        "3-SHA256": v3(peer, auth_proto="SHA256"),
    }[version]
    for _ in range(3):  # the host can change under a poll: a pair is polled again up to twice
        fast, ref = collect(peer, auth, "fast"), collect(peer, auth, "pysnmp")
        if lasting(fast) == lasting(ref):
            break
    assert lasting(fast) == lasting(ref)
    assert fast.sys_name == peer.sys_name and len(fast.software) > 100


def test_v1_getnext_walk(snmpd: Any) -> None:
    facts = collect(snmpd, SnmpAuth(version="1", community=snmpd.community))
    assert facts.sys_name == snmpd.sys_name and len(facts.interfaces) >= 1


def test_wrong_v3_password_is_a_clear_auth_error(snmpd: Any, engine: Engine) -> None:
    with pytest.raises(AuthError) as info:
        collect(snmpd, v3(snmpd, auth_key="not-the-password"), engine)
    msg = str(info.value)
    assert "authentication failed" in msg and f"127.0.0.1:{snmpd.port}" in msg
    assert "not-the-password" not in msg


def test_wrong_community_times_out_with_hint(snmpd: Any, engine: Engine) -> None:
    wrong = SnmpAuth(version="2c", community="wrong-community")
    with pytest.raises(CollectTimeout) as info:
        collect(snmpd, wrong, engine, timeout=0.5, retries=0)
    assert "community" in str(info.value)
    assert "wrong-community" not in str(info.value)


def test_value_cap_stops_the_walk(snmpd: Any, engine: Engine) -> None:
    from collectors.errors import ValueCapExceeded

    auth = SnmpAuth(version="2c", community=snmpd.community)
    with pytest.raises(ValueCapExceeded, match="value cap"):
        collect(snmpd, auth, engine, value_cap=200)


def test_cli_probe_json_keys(snmpd: Any) -> None:
    env = dict(os.environ, CW_TEST_COMMUNITY=snmpd.community)
    r = subprocess.run(
        [
            "cloudward",
            "probe",
            f"snmp://127.0.0.1:{snmpd.port}",
            "--community-env",
            "CW_TEST_COMMUNITY",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in (
        "sys_name",
        "device_class",
        "vendor",
        "model",
        "os_name",
        "os_version",
        "serial",
        "interfaces",
        "addresses",
        "software",
        "neighbors",
    ):
        assert key in data, key
    assert data["sys_name"] == snmpd.sys_name
    assert {"name", "mac", "speed"} <= set(data["interfaces"][0])
    assert {"name", "version"} <= set(data["software"][0])


@pytest.mark.parametrize(
    ("option", "configured", "used"),
    [("pysnmp", None, "pysnmp"), (None, "pysnmp", "pysnmp"), ("fast", "pysnmp", "fast")],
)
def test_cli_probe_snmp_engine(
    snmpd: Any, tmp_path: Path, option: str | None, configured: str | None, used: str
) -> None:
    """``--snmp-engine`` wins over ``snmp.engine`` of ``--config``; which engine ran is read
    from the process's import trace (only the pysnmp engine imports pysnmp)."""
    args = ["--community-env", "CW_TEST_COMMUNITY", "--json"]
    if option:
        args += ["--snmp-engine", option]
    if configured:
        config = tmp_path / "cloudward.yaml"
        config.write_text(f"snmp:\n  engine: {configured}\n")
        args += ["--config", str(config)]
    env = dict(os.environ, CW_TEST_COMMUNITY=snmpd.community, PYTHONPROFILEIMPORTTIME="1")
    r = subprocess.run(
        ["cloudward", "probe", f"snmp://127.0.0.1:{snmpd.port}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["sys_name"] == snmpd.sys_name
    assert ("pysnmp.hlapi.v3arch.asyncio" in imported_modules(r.stderr)) == (used == "pysnmp")


def test_cli_probe_errors_go_to_stderr(snmpd: Any) -> None:
    env = dict(os.environ, CW_A="wrong-auth-pass", CW_P=snmpd.v3_priv)
    r = subprocess.run(
        [
            "cloudward",
            "probe",
            f"snmp://127.0.0.1:{snmpd.port}",
            "--v3-user",
            snmpd.v3_user,
            "--v3-auth-env",
            "CW_A",
            "--v3-priv-env",
            "CW_P",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert "authentication failed" in r.stderr and "wrong-auth-pass" not in r.stderr
    r = subprocess.run(
        ["cloudward", "probe", f"snmp://127.0.0.1:{snmpd.port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--community-env" in r.stderr
    r = subprocess.run(
        ["cloudward", "probe", "snmp://127.0.0.1:99999", "--community-env", "X"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "out of range" in r.stderr
