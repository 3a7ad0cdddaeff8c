"""Fast and pysnmp engines read identical raw values from real device recordings served by
snmpsim, over SNMPv2c and SNMPv3 (SHA/AES, the recording chosen by context name)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collectors.snmp import oids
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, fetch
from collectors.snmp.identify import load_rules, vendor_oids
from collectors.snmp.values import RawValue
from tests.snmpsim import V3_AUTH, V3_PRIV, V3_USER

pytestmark = [pytest.mark.peer, pytest.mark.slow]

RECORDINGS = [
    "ios_ir809",
    "junos_rpm",
    "fortigate_60f3g4g",
    "apc_sua750i",
    "windows_3790s",
    "arubaos-cx_6300m",
    "procurve",
    "pfsense",
]


def poll_all(engine: str, peer: Any, v3: bool) -> dict[str, dict[str, RawValue] | str]:
    rules = load_rules()

    async def go() -> dict[str, dict[str, RawValue] | str]:
        client = SnmpClient(engine)  # type: ignore[arg-type]
        out: dict[str, dict[str, RawValue] | str] = {}

        async def one(name: str) -> None:
            auth = (
                SnmpAuth("3", user=V3_USER, auth_key=V3_AUTH, priv_key=V3_PRIV, context=name)
                if v3
                else SnmpAuth("2c", community=name)
            )
            target = SnmpTarget(SnmpEndpoint(peer.host, peer.port, timeout=5, retries=2), auth)
            try:
                out[name] = await fetch(client, target, lambda oid: vendor_oids(rules, oid))
            except Exception as exc:
                out[name] = f"{type(exc).__name__}: {exc}"

        try:
            await asyncio.gather(*(one(n) for n in RECORDINGS))
        finally:
            client.close()
        return out

    return asyncio.run(go())


@pytest.mark.parametrize("v3", [False, True], ids=["v2c", "v3"])
def test_engines_agree_on_recordings(snmpsim_corpus: Any, corpus_dir: Any, v3: bool) -> None:
    names = {p.stem for p in (corpus_dir / "snmprec").glob("*.snmprec")}
    assert set(RECORDINGS) <= names
    fast = poll_all("fast", snmpsim_corpus, v3)
    ref = poll_all("pysnmp", snmpsim_corpus, v3)
    for name in RECORDINGS:
        a, b = fast[name], ref[name]
        assert isinstance(a, dict) and isinstance(b, dict), (name, a, b)
        a.pop(oids.SYS_UPTIME, None)
        b.pop(oids.SYS_UPTIME, None)
        assert a == b, name
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
        assert oids.SYS_OBJECT_ID in a, name
    assert sum(len(v) for v in fast.values()) > 1000
