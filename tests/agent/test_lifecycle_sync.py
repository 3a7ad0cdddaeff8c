"""`cloudward lifecycle sync` against a real HTTP server on loopback serving endoflife.date API v1
responses (the shared snapshot), with products that fail, garbage, and no network at all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agent.bridge.plan_runs import load_lifecycle
from agent.cli import cli
from agent.store import Store
from agent.store import tables as m
from tests.conftest import LIFECYCLE
from tests.peers import free_port, need

PREFIX = "/api/v1/products/"


class FakeApi:
    """What the server answers: the snapshot file, or an override per product."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.override: dict[str, tuple[int, bytes]] = {}


@pytest.fixture()
def api() -> Iterator[tuple[FakeApi, int]]:
    need((LIFECYCLE / "rhel.json").is_file(), f"lifecycle snapshot not found at {LIFECYCLE}")
    state = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            name = self.path.removeprefix(PREFIX)
            if name in state.override:
                code, body = state.override[name]
            elif self.path.startswith(PREFIX) and (LIFECYCLE / f"{name}.json").is_file():
                code, body = 200, (LIFECYCLE / f"{name}.json").read_bytes()
            else:
                code, body = 404, b'{"detail": "not found"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def sync(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["lifecycle", "sync", "--database", f"sqlite:///{db}", *args])


def cached(db: Path) -> dict[str, m.LifecycleProduct]:
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.session() as s:
            from sqlmodel import select

            return {r.name: r for r in s.exec(select(m.LifecycleProduct)).all()}
    finally:
        store.close()


def test_sync_caches_good_products_and_keeps_them_when_a_later_sync_fails(
    api: tuple[FakeApi, int], tmp_path: Path
) -> None:
    state, port = api
    db = tmp_path / "cw.db"
    base = f"http://127.0.0.1:{port}{PREFIX}"  # a base URL: /PRODUCT is added
    state.override["broken"] = (500, b"internal error")
    state.override["garbage"] = (200, b"<html>not json</html>")
    products = ["rhel", "windows-server", "broken", "garbage", "no-such-product"]
    r = sync(db, "--url", base, *[x for p in products for x in ("--product", p)])
    assert r.exit_code == 0, r.output
    assert "2 products cached (rhel, windows-server)" in r.output
    for name in ("broken", "garbage", "no-such-product"):
        assert f"not updated: {name}: " in r.output
    assert state.paths == [PREFIX + p for p in products]
    rows = cached(db)
    assert set(rows) == {"rhel", "windows-server"}
    assert rows["rhel"].source == f"{base}rhel"
    snapshot = json.loads((LIFECYCLE / "rhel.json").read_text())
    assert json.loads(rows["rhel"].body) == snapshot

    # What is cached is what planning uses: every RHEL cycle of the response is there.
    store = Store.open(f"sqlite:///{db}")
    try:
        rhel = load_lifecycle(store).product("rhel")
    finally:
        store.close()
    assert rhel is not None and rhel.source == f"{base}rhel"
    assert {x.cycle for x in rhel.releases} == {x["name"] for x in snapshot["result"]["releases"]}

    # The API later answers garbage for RHEL: the sync says so, exits 1, the cache stays.
    before = rows["rhel"].body, rows["rhel"].fetched_at
    state.override["rhel"] = (200, b'{"schema_version": "1.2.0", "result": 42}')
    r = sync(db, "--url", base.rstrip("/") + "/{product}", "--product", "rhel")
    assert r.exit_code == 1 and "not updated: rhel: " in r.output, r.output
    after = cached(db)["rhel"]
    assert (after.body, after.fetched_at) == before


def test_sync_without_network_says_so_and_from_dir_works_offline(tmp_path: Path) -> None:
    need((LIFECYCLE / "ubuntu.json").is_file(), f"lifecycle snapshot not found at {LIFECYCLE}")
    db = tmp_path / "cw.db"
    dead = f"http://127.0.0.1:{free_port()}/api/v1/products/{{product}}"
    r = sync(db, "--url", dead, "--product", "ubuntu", "--product", "rhel")
    assert r.exit_code == 1
    assert "the network is not reachable" in r.output and "--from-dir" in r.output
    assert cached(db) == {}
    r = sync(db, "--from-dir", str(LIFECYCLE), "--product", "ubuntu")
    assert r.exit_code == 0 and "1 product cached (ubuntu)" in r.output, r.output
    assert cached(db)["ubuntu"].source.endswith("ubuntu.json")
