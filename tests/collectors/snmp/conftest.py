"""Fixtures of the SNMP collector tests: the engine under test and a SHA-256 snmpd."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from collectors.snmp.client import Engine
from tests.peers import free_port, need_binary

ENGINES: list[Engine] = ["fast", "pysnmp"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each SNMP engine in turn: the fast one the agent uses and the pysnmp reference."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def snmpd_sha256() -> Iterator[Any]:
    """A second snmpd whose SNMPv3 user authenticates with SHA-256 (and AES privacy)."""
    from tests.snmpd import SNMPD, SnmpdPeer

    need_binary("snmpd", SNMPD)
    peer = SnmpdPeer.start(free_port(), v3_auth_proto="SHA-256", v3_user="cwuser256")
    try:
        yield peer
    finally:
        peer.cleanup()
