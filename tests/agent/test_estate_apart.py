"""A large estate's dependencies are read in a forked child while the command reads the
assets (``agent.bridge.estate_reader``): the estate is the one read in a single process, on
both backends, with the store's engine built or not; when the assets change between the two
reads, the dependencies are read again here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.inventory.estate_import import import_estate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "estate" / "council.json"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forks only on Linux")

# Run by a new interpreter (one thread, as the command line is): the estate read in one
# process; read with its dependencies apart (the child reading all of them, as the council's
# 36 assets take more than its 156 dependencies; then half of them, the rest read here); and
# read apart by a child that saw other assets.
READS = """
import json, sys
from agent.bridge import apart, estate_reader
from agent.store import Store

url, schema, engine = sys.argv[1:4]
extra = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
store = Store.open(url, create=False, **extra)
if engine == "engine":
    store.engine.connect().close()  # a pool whose connections the child must leave alone
forked = []
real = apart.Apart.__init__

def noted(self, *args, **kw):
    real(self, *args, **kw)
    forked.append(self.forked)

apart.Apart.__init__ = noted
estate_reader.READ_APART_FROM = 10**12
here = estate_reader.estate_from_store(store)
estate_reader.READ_APART_FROM = 1
made_apart = estate_reader.estate_from_store(store)
child = estate_reader._edges_apart

def other_assets(store, parent, upto):
    ids, edges, externals = child(store, parent, upto)
    return ids + (10**9,), [], {}  # as if an asset was stored between the reads

estate_reader._ASSET_COST = 0.0  # no asset work to balance: the child reads half the rows
halves = estate_reader.estate_from_store(store)
with store.driver() as (dialect, driver):
    split = estate_reader._split(driver)
    first, last = estate_reader._fetch(
        driver, "SELECT min(id), max(id) FROM cw_dependency"
    )[0]
estate_reader._edges_apart = other_assets
again = estate_reader.estate_from_store(store)
store.close()
print(json.dumps({
    "forked": forked,
    "apart": made_apart == here,
    "again": again == here,
    "halves": halves == here,
    "split": [first, split, last],
    "dependencies": len(here.dependencies),
    "externals": sum(a.external for a in here.assets),
    "assets": sum(not a.external for a in here.assets),
}))
"""


def _reads(url: str, schema: str, engine: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", READS, url, schema, engine],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    got: dict[str, Any] = json.loads(out.stdout)
    return got


def test_dependencies_read_apart_give_the_estate_read_here(store: Any) -> None:
    import_estate(store, DATA.read_text(), "json", DATA.name)
    url = str(store.url)
    # a PostgreSQL store reads through its engine; an SQLite file without one too
    modes = [("engine", "")]
    if store.engine.dialect.name == "postgresql":
        modes = [("engine", store.rows("SELECT current_schema()")[0][0])]  # this test's own
    else:
        modes.append(("no engine", ""))
    for engine, schema in modes:
        got = _reads(url, schema, engine)
        # the first read is made here, with no child (below READ_APART_FROM); the rest apart
        assert got["forked"] == [True, True, True], (engine, got)
        assert got["apart"] and got["again"] and got["halves"], (engine, got)
        first, split, last = got["split"]
        assert first < split < last and split - first + 1 == (last - first + 1) // 2, got
        assert got["assets"] == 36 and got["dependencies"] > 100, (engine, got)
