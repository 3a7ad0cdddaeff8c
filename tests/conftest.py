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
from hypothesis import settings as hypothesis_settings

from tests.peers import free_port, need, need_binary

# Randomised tests (hypothesis, schemathesis) are derandomised by default: each test draws the
# same examples on every run, so a red run is a regression, not a lucky draw. `make explore`
# loads the `explore` profile (fresh random seeds, more examples); what it finds becomes a
# fixed regression test (an @example or a plain test).
hypothesis_settings.register_profile("derandomized", derandomize=True, database=None)
hypothesis_settings.register_profile(
    "explore",
    derandomize=False,
    max_examples=300,
    print_blob=True,  # a failure prints its blob
)
hypothesis_settings.load_profile(os.environ.get("CLOUDWARD_HYPOTHESIS_PROFILE", "derandomized"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "librenms"
LIFECYCLE = SHARED / "lifecycle" / "endoflife-date"
# Tests run the `cloudward` command as a user would. It is installed beside this interpreter,
# which need not be on PATH when the suite runs as `.venv/bin/python -m pytest`.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# A PostgreSQL server of one's own, by URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
# unset, the session starts a private one from the distribution's binaries (tests/postgres.py).
PG_URL_ENV = "CLOUDWARD_TEST_PG"


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


def _pg_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL for the session (tests make their own schema in it): the server at
    $CLOUDWARD_TEST_PG when set, else a private one started here and removed at the end."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        need(_pg_reachable(external), f"PostgreSQL not reachable at {PG_URL_ENV}={external}")
        yield external
        return
    from tests.postgres import PgCluster

    cluster = PgCluster.create()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.destroy()


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
    from tests.postgres import pg_bin

    peers["postgresql"] = bool(os.environ.get(PG_URL_ENV)) or pg_bin() is not None
    return [
        f"peers: {', '.join(f'{k}={v}' for k, v in peers.items())}; CI={os.environ.get('CI', '')}"
    ]
