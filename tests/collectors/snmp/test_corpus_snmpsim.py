"""End to end on real device recordings: snmpsim serves every recording of the shared corpus,
the real collector (pysnmp, GETBULK, our table set and vendor OIDs) polls each one, and the
identification is scored against what LibreNMS found (same rules as the offline test)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from collectors.errors import CollectorError
from collectors.facts import Facts
from collectors.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import load_rules
from tests.collectors.snmp.test_identify_corpus import FLOORS, Result, load_corpus, score
from tests.snmpsim import V3_AUTH, V3_PRIV, V3_USER

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def poll_all(peer: Any, names: list[str], *, v3: bool = False) -> dict[str, Facts | Exception]:
    rules = load_rules()

    async def go() -> dict[str, Facts | Exception]:
        client = SnmpClient()
        sem = asyncio.Semaphore(8)
        out: dict[str, Facts | Exception] = {}

        async def one(name: str) -> None:
            auth = (
                SnmpAuth("3", user=V3_USER, auth_key=V3_AUTH, priv_key=V3_PRIV, context=name)
                if v3
                else SnmpAuth("2c", community=name)
            )
            ep = SnmpEndpoint("127.0.0.1", peer.port, timeout=5, retries=2)
            async with sem:
                try:
                    out[name] = await collect_snmp(client, SnmpTarget(ep, auth, name=name), rules)
                except CollectorError as exc:
                    out[name] = exc

        try:
            await asyncio.gather(*(one(n) for n in names))
        finally:
            client.close()
        return out

    return asyncio.run(go())


def test_corpus_through_snmpsim(snmpsim_corpus: Any, corpus_dir: Path) -> None:
    corpus = load_corpus()
    polled = poll_all(snmpsim_corpus, [r["name"] for r in corpus])
    failed = {n: str(f) for n, f in polled.items() if isinstance(f, Exception)}
    assert not failed, failed
    results: list[Result] = []
    for rec in corpus:
        facts = polled[rec["name"]]
        assert isinstance(facts, Facts)
        results.append((rec, facts.identity, facts.kernel))
    scores = score(results)
    print("\nagreement with LibreNMS over snmpsim (live polls):")
    for field, (hit, total) in scores.items():
        print(f"  {field:8} {hit:3}/{total:3} = {hit / total:6.1%}   (floor {FLOORS[field]:.0%})")
    for field, (hit, total) in scores.items():
        assert hit / total >= FLOORS[field], f"{field}: {hit}/{total}"

    # Interfaces and LLDP/CDP neighbours come through too where the recordings have them.
    def recorded(prefixes: tuple[str, ...]) -> set[str]:
        out = set()
        for path in (corpus_dir / "snmprec").glob("*.snmprec"):
            text = path.read_text(errors="replace")
            if any(f"\n{p}" in text or text.startswith(p) for p in prefixes):
                out.add(path.stem)
        return out

    want_if = recorded(("1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.31.1.1.1.1."))
    want_nb = recorded(("1.0.8802.1.1.2.1.4.1.1.", "1.3.6.1.4.1.9.9.23.1.2.1.1."))
    got_if = {n for n, f in polled.items() if isinstance(f, Facts) and f.interfaces}
    got_nb = {n for n, f in polled.items() if isinstance(f, Facts) and f.neighbors}
    print(
        f"  interfaces: {len(got_if)} of {len(want_if)} recordings that have them; "
        f"LLDP/CDP neighbours: {len(got_nb)} of {len(want_nb)}"
    )
    assert want_if <= got_if, sorted(want_if - got_if)
    assert want_nb <= got_nb, sorted(want_nb - got_nb)


def test_corpus_over_snmpv3_authpriv(snmpsim_corpus: Any) -> None:
    """snmpsim's v3 user reaches each recording by context name: identity must match v2c."""
    names = ["ios_ir809", "junos_rpm", "fortigate_60f3g4g", "apc_sua750i", "windows_3790s"]
    v2 = poll_all(snmpsim_corpus, names)
    v3 = poll_all(snmpsim_corpus, names, v3=True)
    for n in names:
        a, b = v2[n], v3[n]
        assert isinstance(a, Facts) and isinstance(b, Facts), (n, a, b)
        assert a.identity == b.identity, n
