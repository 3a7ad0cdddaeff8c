"""The example configurations pass ``cloudward config check`` (the CLI, in an environment
without any secret) and show what they are meant to show."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from agent.configuration.config_file import SnmpV3Cred, SshCred, load_settings
from agent.inventory.targets import expand_targets
from tests.deploy.conftest import DEPLOY, REPO

MULTI_SITE = DEPLOY / "examples" / "multi-site.yaml"
COMPOSE_CONFIG = DEPLOY / "compose" / "cloudward.yaml"


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDWARD_", "PG"))}
    return subprocess.run(
        ["cloudward", "config", "check", "--file-only", str(path.relative_to(REPO))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("path", [MULTI_SITE, COMPOSE_CONFIG], ids=lambda p: p.parent.name)
def test_config_check_accepts_the_example(path: Path) -> None:
    r = config_check(path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ": ok (" in r.stdout


def test_config_check_would_refuse_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "multi-site.yaml"
    broken.write_text(MULTI_SITE.read_text().replace("group: depot-servers", "group: depot-srv"))
    r = subprocess.run(
        ["cloudward", "config", "check", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "no group named 'depot-srv'" in r.stderr


def test_multi_site_example_content() -> None:
    settings = load_settings(MULTI_SITE)
    jobs = expand_targets(settings)
    sites = {j.site for j in jobs}
    assert {"town-hall", "depot", "central-library"} <= sites and len(sites) >= 4
    # Per-site poll intervals.
    by_site: dict[str | None, set[float]] = {}
    for j in jobs:
        by_site.setdefault(j.site, set()).add(j.interval)
    assert len({min(v) for v in by_site.values()}) >= 3
    # SNMPv3 pass phrases by environment variable; SSH by key file.
    v3 = [c for c in settings.credentials.values() if isinstance(c, SnmpV3Cred)]
    assert v3 and all(c.auth_key.env and c.priv_key.env for c in v3)
    ssh = [c for c in settings.credentials.values() if isinstance(c, SshCred)]
    assert ssh and all(c.key_file is not None and c.password is None for c in ssh)
    # Groups per site, ranges with excludes, and the excluded addresses are not polled
    # (except where listed on their own).
    assert len({g.site for g in settings.groups.values()}) >= 3
    ranges = [t for t in settings.targets if t.range]
    assert ranges and all(t.exclude for t in ranges if t.group != "town-hall-facilities")
    own_hosts = {t.host for t in settings.targets if t.host}
    polled = {j.host for j in jobs}
    for t in ranges:
        assert t.range is not None
        for address in t.exclude:
            assert ipaddress.ip_address(address) in ipaddress.ip_network(t.range)
            assert (address in polled) == (address in own_hosts), address
    # PostgreSQL, with no password in the URL.
    url = make_url(settings.database)
    assert url.drivername.startswith("postgresql") and url.password is None
    assert settings.api.token is not None
