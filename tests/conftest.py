"""Session-wide fixtures for real peers. Each starts on a free loopback port and is stopped
at the end; a missing peer fails under CI=true and skips locally (see tests/peers.py)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import free_port, need, need_binary

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "librenms"
LIFECYCLE = SHARED / "lifecycle" / "endoflife-date"
# Tests run the `cloudward` command as a user would. It is installed beside this interpreter,
# which need not be on PATH when the suite runs as `.venv/bin/python -m pytest`.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

PG_URL = os.environ.get("CLOUDWARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def snmpd() -> Iterator[object]:
    from tests.snmpd import SNMPD, SnmpdPeer

    need_binary("snmpd", SNMPD)
    peer = SnmpdPeer.start(free_port())
    try:
        yield peer
    finally:
        peer.cleanup()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    need((CORPUS / "snmprec").is_dir(), f"device recordings not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def snmpsim_corpus(corpus_dir: Path) -> Iterator[object]:
    from tests.snmpsim import SnmpsimPeer, responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    peer = SnmpsimPeer.start(corpus_dir / "snmprec", free_port())
    try:
        yield peer
    finally:
        peer.stop()


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    need(_pg_available(), f"PostgreSQL not reachable at {PG_URL}")
    yield PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh, empty Store on each backend (a new schema per test on PostgreSQL)."""
    from agent.store import Store

    if request.param == "sqlite":
        st = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
        try:
            yield st
            assert st.engine.pool.checkedout() == 0, "a connection was left checked out"
        finally:
            st.close()
        return
    url = request.getfixturevalue("pg_url")
    schema = f"cwtest_{uuid.uuid4().hex[:12]}"
    import psycopg

    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    st = Store.open(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield st
        assert st.engine.pool.checkedout() == 0, "a connection was left checked out"
    finally:
        st.close()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def pytest_report_header(config: pytest.Config) -> list[str]:
    peers = {
        n: bool(shutil.which(n) or os.path.exists(f"/usr/sbin/{n}"))
        for n in ("snmpd", "sshd", "promtool", "chromium")
    }
    return [
        f"peers: {', '.join(f'{k}={v}' for k, v in peers.items())}; CI={os.environ.get('CI', '')}"
    ]
