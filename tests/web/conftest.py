"""Fixtures for the page tests: a planned estate, the daemon serving it, a headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port, need, need_binary, stop, wait_for
from tests.web.estate import REPO, ScannedEstate, scanned_estate

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


@pytest.fixture(scope="session")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> ScannedEstate:
    from tests.snmpsim import responder_binary

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    return scanned_estate(tmp_path_factory.mktemp("scanned-estate"))


@pytest.fixture(scope="session")
def server(scanned: ScannedEstate) -> Iterator[str]:
    """``cloudward run`` serving the scanned estate (no targets: it only serves)."""
    port = free_port()
    log = (scanned.workdir / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "run",
            "--config",
            str(scanned.config),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: bool(get_json(f"{base}/api/v1/assets?limit=1")["items"]), 60, "daemon")
        wait_for(lambda: "cloudward_wave_assets{" in get_text(f"{base}/metrics"), 60, "metrics")
        yield base
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Selenium through Debian's chromedriver."""
    chromium = need_binary("chromium", "/usr/bin/chromium")
    driver_bin = need_binary("chromedriver", "/usr/bin/chromedriver")
    need(_has_selenium(), "selenium is not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(driver_bin), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _has_selenium() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A stable folder (ignored by git) where the screenshots are copied for people to look at."""
    path = Path(os.environ.get("CLOUDWARD_ARTIFACTS", REPO / "tests" / "web" / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


TOKEN = "browser-test-token-0123456789abcdef"
VIEWER_TOKEN = "browser-viewer-token-fedcba9876543210"


@pytest.fixture(scope="session")
def guarded(scanned: ScannedEstate) -> Iterator[str]:
    """``cloudward run`` bound beyond localhost (0.0.0.0) with a token and a viewer token,
    serving the scanned estate; reached at 127.0.0.1 (only loopback traffic)."""
    import yaml

    port = free_port()
    secrets = scanned.workdir / "guarded-secrets"
    secrets.mkdir(exist_ok=True)
    viewer = secrets / "viewer-token"
    viewer.write_text(VIEWER_TOKEN)
    viewer.chmod(0o600)
    config = scanned.workdir / "guarded.yaml"
    settings = yaml.safe_load(scanned.config.read_text())
    settings["api"] = {
        "token": {"env": "CW_TEST_API_TOKEN"},
        "viewer_token": {"file": str(viewer)},
    }
    config.write_text(yaml.safe_dump(settings))
    log = (scanned.workdir / "guarded.log").open("wb")
    env = {**os.environ, "CW_TEST_API_TOKEN": TOKEN}
    bound = f"0.0.0.0:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config), "--listen", bound],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get_json(f"{base}/healthz")["status"] == "ok", 60, "guarded daemon")
        yield base
    finally:
        stop(proc)
        log.close()
