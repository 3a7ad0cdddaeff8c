"""The fast engine and the pysnmp engine read the same raw values from a real net-snmp snmpd
(v1, v2c, v3 SHA+AES, v3 SHA-256+AES) and fail alike on wrong v3 credentials and bad OIDs; an
agent replaced at the same address (a new engine ID) and many targets at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collectors.errors import AuthError, CollectorError, CollectTimeout, ProtocolError
from collectors.snmp import oids
from collectors.snmp.client import Engine, SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, fetch
from collectors.snmp.values import RawValue
from tests.peers import free_port, need_binary

pytestmark = pytest.mark.peer

# Values that change while the agent runs (clocks, load, processes, connections).
VOLATILE = (
    oids.SYS_UPTIME,
    oids.HR_SYSTEM_UPTIME,
    oids.UCD_MEM_AVAIL_REAL,
    oids.UCD_CPU_IDLE,
    oids.UCD_LOAD1,
    oids.HR_PROCESSOR_LOAD,
    oids.HR_SW_RUN_NAME,
    "1.3.6.1.2.1.25.2.3.1.6",
    "1.3.6.1.2.1.6.",
    "1.3.6.1.4.1.2021.4.",
)


# Columns that stay put while tests elsewhere add interfaces and processes.
# Installed packages do not change during a test run; hrDevice does (network devices come and
# go as other tests add and remove interfaces), so it is not compared.
STABLE_COLUMNS = [oids.HR_SW_INSTALLED_NAME, oids.HR_SW_INSTALLED_TYPE]


def v3(peer: Any, proto: str = "SHA", **kw: Any) -> SnmpAuth:
    args: dict[str, Any] = {
        "version": "3",
        "user": peer.v3_user,
        "auth_key": peer.v3_auth,
        "priv_key": peer.v3_priv,
        "auth_proto": proto,
    }
    args.update(kw)
    return SnmpAuth(**args)


def poll(engine: str, peer: Any, auth: SnmpAuth, **ep: Any) -> dict[str, RawValue]:
    async def go() -> dict[str, RawValue]:
        client = SnmpClient(engine)  # type: ignore[arg-type]
        try:
            return await fetch(client, SnmpTarget(SnmpEndpoint(peer.host, peer.port, **ep), auth))
        finally:
            client.close()

    return asyncio.run(go())


def stable(raw: dict[str, RawValue]) -> dict[str, RawValue]:
    return {k: v for k, v in raw.items() if not k.startswith(VOLATILE)}


def assert_same_raw(poll_fast: Any, poll_ref: Any) -> None:
    """Equal, value for value and type for type, except what changes between two polls. The
    host can change under a poll (tests elsewhere add interfaces), so a pair is polled again
    up to twice before the difference counts."""
    for _ in range(3):
        fast, ref = poll_fast(), poll_ref()
        if stable(fast) == stable(ref):
            break
    assert stable(fast) == stable(ref)
    for key in fast.keys() & ref.keys():
        assert type(fast[key]) is type(ref[key]), key
    assert len(stable(fast)) > 1000


@pytest.mark.parametrize("version", ["1", "2c", "3-SHA"])
def test_engines_agree(snmpd: Any, version: str) -> None:
    auth = v3(snmpd) if version == "3-SHA" else SnmpAuth(version, community=snmpd.community)  # type: ignore[arg-type]
    polls: list[dict[str, RawValue]] = []

    def fast() -> dict[str, RawValue]:
        polls.append(poll("fast", snmpd, auth))
        return polls[-1]

    assert_same_raw(fast, lambda: poll("pysnmp", snmpd, auth))
    assert polls[-1][oids.SYS_NAME] == snmpd.sys_name.encode()
    assert str(polls[-1][oids.SYS_OBJECT_ID]) == "1.3.6.1.4.1.8072.3.2.10"


def test_engines_agree_v3_sha256(snmpd_sha256: Any) -> None:
    auth = v3(snmpd_sha256, "SHA256")
    assert_same_raw(
        lambda: poll("fast", snmpd_sha256, auth), lambda: poll("pysnmp", snmpd_sha256, auth)
    )


def test_bigger_responses_read_the_same(snmpd: Any) -> None:
    auth = SnmpAuth("2c", community=snmpd.community)
    assert_same_raw(
        lambda: poll("fast", snmpd, auth, values_per_request=250),
        lambda: poll("fast", snmpd, auth),
    )


@pytest.mark.parametrize(
    "wrong", [{"auth_key": "not-the-password"}, {"user": "nobody"}, {"auth_proto": "SHA256"}]
)
def test_wrong_v3_credentials_are_auth_errors(
    snmpd: Any, engine: Engine, wrong: dict[str, str]
) -> None:
    with pytest.raises(AuthError, match="authentication failed") as info:
        poll(engine, snmpd, v3(snmpd, **wrong), timeout=1, retries=0)
    assert "not-the-password" not in str(info.value) and snmpd.v3_priv not in str(info.value)


def test_wrong_privacy_pass_phrase_times_out_with_a_hint(snmpd: Any, engine: Engine) -> None:
    with pytest.raises(CollectTimeout, match="privacy pass phrase") as info:
        poll(engine, snmpd, v3(snmpd, priv_key="not-the-password"), timeout=0.5, retries=0)
    assert "not-the-password" not in str(info.value)


def test_replaced_agent_new_engine_id_is_rediscovered(tmp_path: Any, engine: Engine) -> None:
    """A device swapped for another at the same address (new engine ID, boots and time)."""
    from tests.snmpd import SNMPD, SnmpdPeer

    need_binary("snmpd", SNMPD)
    port = free_port()

    async def read_engine_id(client: SnmpClient, peer: Any) -> RawValue:
        ep = SnmpEndpoint(peer.host, port, timeout=1, retries=1)
        return (await client.get(ep, v3(peer), [oids.SNMP_ENGINE_ID]))[oids.SNMP_ENGINE_ID]

    async def go() -> tuple[RawValue, RawValue]:
        client = SnmpClient(engine)
        try:
            first = SnmpdPeer.start(port, workdir=tmp_path / "a")
            try:
                before = await read_engine_id(client, first)
            finally:
                first.stop()
            second = SnmpdPeer.start(port, workdir=tmp_path / "b")
            try:
                return before, await read_engine_id(client, second)
            finally:
                second.stop()
        finally:
            client.close()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before, after = asyncio.run(go())
    assert isinstance(before, bytes) and isinstance(after, bytes) and before != after


def test_many_targets_share_one_socket(snmpd: Any, snmpd_sha256: Any) -> None:
    """Forty polls at once (v1, v2c, v3 on two agents) with a dead port among them."""
    dead = free_port()
    jobs: list[tuple[Any, SnmpAuth, int]] = []
    for _ in range(8):
        jobs += [
            (snmpd, SnmpAuth("2c", community=snmpd.community), snmpd.port),
            (snmpd, SnmpAuth("1", community=snmpd.community), snmpd.port),
            (snmpd, v3(snmpd), snmpd.port),
            (snmpd_sha256, v3(snmpd_sha256, "SHA256"), snmpd_sha256.port),
            (snmpd, SnmpAuth("2c", community="public"), dead),
        ]

    async def go() -> tuple[list[Any], dict[str, int]]:
        client = SnmpClient()
        try:

            async def one(peer: Any, auth: SnmpAuth, port: int) -> Any:
                ep = SnmpEndpoint(peer.host, port, timeout=3, retries=1)
                try:
                    return await client.walk(ep, auth, STABLE_COLUMNS)
                except CollectorError as exc:
                    return exc

            results = await asyncio.gather(*(one(*job) for job in jobs))
            assert client._fast is not None
            return results, client._fast.stats()
        finally:
            client.close()

    results, stats = asyncio.run(go())
    reference = results[0]
    assert isinstance(reference, dict) and len(reference) > 100
    for (_peer, _auth, port), got in zip(jobs, results, strict=True):
        if port == dead:
            assert isinstance(got, CollectTimeout)
        else:
            assert got == reference
    assert stats["sockets"] == 1 and stats["engines"] == 2 and stats["garbage"] == 0


@pytest.mark.parametrize("method", ["get", "walk"])
def test_bad_oid_is_a_protocol_error(snmpd: Any, engine: Engine, method: str) -> None:
    async def go() -> Any:
        client = SnmpClient(engine)
        try:
            ask = client.get if method == "get" else client.walk
            return await ask(
                SnmpEndpoint(snmpd.host, snmpd.port),
                SnmpAuth("2c", community=snmpd.community),
                [oids.SYS_NAME, "ifDescr"],
            )
        finally:
            client.close()

    with pytest.raises(ProtocolError, match="'ifDescr' is not a numeric OID") as info:
        asyncio.run(go())
    assert f"snmp://127.0.0.1:{snmpd.port}" in str(info.value)
