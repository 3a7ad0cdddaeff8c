"""Work made apart in a forked child (``agent.bridge.apart``): the child's result when it
delivers, the same work done here when it cannot, and a plan stored with its body made apart
the same as one whose body is made in the saving process (on both backends)."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.bridge import apart as apart_module
from agent.bridge import plan_runs
from agent.bridge.plan_runs import compute_plan, save_plan
from agent.inventory.estate_import import import_estate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "estate" / "council.json"
TODAY = date(2026, 11, 1)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forks only on Linux")


def _fresh(code: str) -> Any:
    """``code`` run by a new interpreter (one thread, as the command line is); the JSON it
    prints."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(out.stdout)


def test_the_work_runs_in_a_child_and_its_result_comes_back() -> None:
    got = _fresh(
        "import json, os\n"
        "from agent.bridge.apart import Apart\n"
        "work = Apart(lambda: {'pid': os.getpid(), 'text': 'x' * 3_000_000})\n"
        "value = work.result()\n"
        "print(json.dumps({'forked': work.forked, 'pid': os.getpid(), 'child': value['pid'],"
        " 'size': len(value['text'])}))\n"
    )
    # larger than a pipe holds, so the parent must read while the child writes
    assert got["forked"] and got["child"] != got["pid"] and got["size"] == 3_000_000


def test_a_child_that_fails_or_is_killed_leaves_the_work_to_this_process() -> None:
    got = _fresh(
        "import json, os, signal\n"
        "from agent.bridge.apart import Apart\n"
        "me = os.getpid()\n"
        "def fails_apart():\n"
        "    if os.getpid() != me:\n"
        "        raise RuntimeError('only in the child')\n"
        "    return 'done here'\n"
        "def killed_apart():\n"
        "    if os.getpid() != me:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return 'done here too'\n"
        "a = Apart(fails_apart)\n"
        "first = [a.forked, a.result()]\n"
        "b = Apart(killed_apart)\n"
        "print(json.dumps([*first, b.forked, b.result()]))\n"
    )
    assert got == [True, "done here", True, "done here too"]


def test_an_error_of_the_work_reaches_the_caller_as_it_would_here() -> None:
    def broken() -> None:
        raise ValueError("the plan's document is broken")

    with pytest.raises(ValueError, match="document is broken"):
        apart_module.Apart(broken).result()


def test_no_child_from_a_process_running_threads_or_when_not_asked() -> None:
    got = _fresh(
        "import json, os, threading\n"
        "from agent.bridge.apart import Apart\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait); t.start()\n"
        "busy = Apart(os.getpid)\n"
        "stop.set(); t.join()\n"
        "no = Apart(os.getpid, when=False)\n"
        "print(json.dumps([busy.forked, busy.result() == os.getpid(), no.forked]))\n"
    )
    assert got == [False, True, False]


def test_a_cancelled_child_is_stopped_and_reaped() -> None:
    got = _fresh(
        "import json, os, time\n"
        "from agent.bridge.apart import apart\n"
        "with apart(lambda: time.sleep(60)) as work:\n"
        "    pid = work._pid\n"
        "try:\n"
        "    os.kill(pid, 0)\n"
        "    alive = True\n"
        "except ProcessLookupError:\n"
        "    alive = False\n"
        "print(json.dumps([pid is not None, alive]))\n"
    )
    assert got == [True, False]


def test_a_plan_whose_body_is_made_apart_is_stored_as_one_made_here(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_estate(store, DATA.read_text(), "json", DATA.name)
    result = compute_plan(store, TODAY)
    forked: list[bool] = []
    real = apart_module.Apart.__init__

    def noted(self: apart_module.Apart[Any], *args: Any) -> None:
        real(self, *args)
        forked.append(self.forked)

    monkeypatch.setattr(apart_module.Apart, "__init__", noted)
    monkeypatch.setattr(plan_runs, "PACK_APART_FROM", 0)  # the council's 36 assets too
    # the test process may run other tests' threads; the forked work takes none of their locks
    monkeypatch.setattr(apart_module, "can_fork", lambda: True)
    made_apart = save_plan(store, result)
    monkeypatch.setattr(apart_module, "can_fork", lambda: False)
    made_here = save_plan(store, result)
    assert forked == [True, False]
    rows = {
        pid: (digest, zlib.decompress(bytes(packed)), json.loads(views))
        for pid, digest, packed, views in store.rows(
            "SELECT id, digest, body_zlib, views FROM cw_plan"
        )
    }
    (digest_a, text_a, views_a), (digest_h, text_h, views_h) = rows[made_apart], rows[made_here]
    assert len(digest_a) == 64 and digest_a == digest_h and text_a == text_h
    assert len(text_a) > 10_000 and json.loads(text_a)["assets"]
    for view in (*views_a.values(), *views_h.values()):
        view.pop("created_at", None)  # each save's own time
    assert views_a == views_h and "waves" in views_a
    plan_rows = "SELECT asset_id, debt, wave, detail_id FROM cw_asset_plan WHERE plan_id = :p"
    apart_rows = sorted(store.rows(plan_rows, {"p": made_apart}))
    assert len(apart_rows) == 36 and apart_rows == sorted(store.rows(plan_rows, {"p": made_here}))
