"""What ``pip install`` ships. pyproject.toml lists every folder that is installed, and config/
installs as the package ``cloudward_data``; a wheel built from a copy of the checkout, installed
into a fresh virtualenv and run from an unrelated folder, imports, plans and runs the demo on
its own data files, with the copy removed and no ``$CLOUDWARD_DATA_DIR``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import REPO
from tests.peers import free_port, need, wait_for
from tests.snmpsim import responder_binary

CODE = ("agent", "collectors", "planner", "simulator")
DATA = "config"
DATA_PACKAGE = "cloudward_data"
JUNK = ("__pycache__",)


def _setuptools() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    return table["setuptools"]  # type: ignore[no-any-return]


def _folders(root: Path) -> list[Path]:
    """``root`` and its folders that hold files (a folder left with only caches does not ship)."""
    return [root, *(p for p in root.rglob("*") if p.is_dir() and _files(p))]


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not set(p.relative_to(root).parts) & set(JUNK) and p.suffix != ".pyc"
    }


def test_every_folder_that_ships_is_listed() -> None:
    cfg = _setuptools()
    assert cfg.get("package-dir") == {DATA_PACKAGE: DATA}
    listed = set(cfg["packages"])
    expected = {
        ".".join(d.relative_to(REPO).parts) for top in CODE for d in _folders(REPO / top)
    } | {".".join((DATA_PACKAGE, *d.relative_to(REPO / DATA).parts)) for d in _folders(REPO / DATA)}
    assert not expected - listed, (
        f"folders not installed: add {sorted(expected - listed)} to [tool.setuptools] packages "
        "in pyproject.toml"
    )
    assert not listed - expected, (
        f"pyproject.toml lists missing folders {sorted(listed - expected)}"
    )


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except OSError:
        return 0, b""


def _copy_checkout(dest: Path) -> None:
    """The checkout as `pip install <checkout>` sees it, less the local state and caches."""
    top_level = {".venv", ".git", "build", "dist", "var", "tests", "bench", ".hypothesis"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n.endswith((".egg-info", ".pyc", ".db")) or n in JUNK}
        skip |= {n for n in names if n.startswith(".") and n.endswith("_cache")}
        if Path(folder) == REPO:
            skip |= top_level & set(names)
        return skip

    shutil.copytree(REPO, dest, ignore=ignore)


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    r = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert r.returncode == 0, f"{cmd} exited {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    return r.stdout


WHERE = """\
import json, agent, collectors, planner, simulator, cloudward_data
from collectors.datadir import data_dir
modules = (agent, collectors, planner, simulator, cloudward_data)
print(json.dumps({m.__name__: m.__file__ for m in modules} | {"data_dir": str(data_dir())}))
"""
ESTATE_CSV = """\
Server name,IP addresses,OS name,OS version,Cores,Memory (In MB),disk GB,environment,application
sql01,10.0.0.5,Windows,Server 2012 R2,8,65536,1000,Production,Revenues
web01,10.0.0.6,Ubuntu,22.04,2,4096,60,Production,Revenues
"""
DEPENDENCIES_CSV = """\
Source server name,Destination server name,Destination port
web01,sql01,1433
"""


@pytest.mark.slow
@pytest.mark.peer
def test_wheel_in_a_fresh_venv_runs_on_its_installed_data(tmp_path: Path) -> None:
    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    src, wheels, venv, work = (tmp_path / n for n in ("src", "wheels", "venv", "work"))
    _copy_checkout(src)
    env = {k: v for k, v in os.environ.items() if k not in ("CLOUDWARD_DATA_DIR", "PYTHONPATH")}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    # Every shipped folder is a listed package: setuptools has nothing to warn about.
    assert "BuildBackendWarning" not in build.stdout + build.stderr, build.stdout[-5000:]
    (wheel,) = wheels.glob("cloudward-*.whl")
    shutil.rmtree(src)  # nothing but the wheel is left to read data from

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install: list[str | Path] = ["install", "--no-deps", "--no-index", wheel]
    _run([sys.executable, "-m", "pip", "--python", python, *install], tmp_path, env)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([python, "-c", purelib], tmp_path, env).strip())
    # The third-party dependencies come from the project's environment, after the venv's own
    # site-packages (a .pth line adds a folder without running the .pth files inside it, so the
    # project's editable install stays out).
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-project-deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))

    work.mkdir()
    where = json.loads(_run([python, "-c", WHERE], work, env))
    for name, file in where.items():
        assert Path(file).is_relative_to(site), f"{name} comes from {file}, not the installed wheel"
    data = site / DATA_PACKAGE
    assert Path(where["data_dir"]) == data
    # Every data file ships, and every non-Python file of the code (templates, static files,
    # the migration template).
    assert _files(REPO / DATA) - {"__init__.py"} <= _files(data)
    for top in CODE:
        shipped = {f for f in _files(REPO / top) if not f.endswith(".py")}
        missing = shipped - _files(site / top)
        assert not missing, f"{top}: not installed: {sorted(missing)}"
    assert (site / "agent" / "store" / "migrations" / "script.py.mako").is_file()
    assert (site / "agent" / "web" / "templates" / "overview.html").is_file()

    cloudward = venv / "bin" / "cloudward"
    (work / "estate.csv").write_text(ESTATE_CSV)
    (work / "dependencies.csv").write_text(DEPENDENCIES_CSV)
    assert "imported 2 assets" in _run([cloudward, "import", "estate.csv"], work, env)
    assert "1 dependencies" in _run([cloudward, "import", "dependencies.csv"], work, env)
    plan = json.loads(_run([cloudward, "plan", "--json"], work, env))
    # The lifecycle catalogue knows Windows Server 2012 R2 is past end of support; the price
    # list sizes and prices the move.
    assert plan["summary"]["support_status"].get("eol") == 1, plan["summary"]
    assert plan["summary"]["waves"] >= 1
    assert all(a["cost"]["cloud_size"] for a in plan["assets"])
    assert "Azure" in plan["sources"]["cloud_prices"]

    port = free_port()
    demo = work / "demo"
    proc = subprocess.Popen(
        [cloudward, "demo", "--listen", f"127.0.0.1:{port}", "--workdir", demo],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: any("cloudward demo is running" in x for x in lines), 90, "the banner")
        # snmpsim serves the recordings installed with the wheel.
        cmdlines = [
            (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and (p / "cmdline").exists()
        ]
        assert any(
            f"--data-dir={data / 'demo' / 'recordings'}" in c for c in cmdlines if str(demo) in c
        ), "snmpsim does not serve the installed recordings"
        status, page = _get(f"{base}/")
        assert status == 200 and b"<html" in page.lower()
        status, css = _get(f"{base}/static/cloudward.css")
        assert status == 200 and css

        def polled() -> bool:
            status, body = _get(f"{base}/api/v1/assets?limit=500")
            return status == 200 and len(json.loads(body)["items"]) > 0

        wait_for(polled, 180, "assets polled from the demo estate")
        items = json.loads(_get(f"{base}/api/v1/assets?limit=500")[1])["items"]
        # The SNMP identification rules (installed data) name the vendors.
        assert any(item.get("vendor") for item in items), items[:3]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        reader.join(5)
    out = "".join(lines)
    assert code == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
