"""Configuration validation: every problem named by key, all at once, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.configuration.config_file import load_settings, parse_settings
from agent.errors import ConfigError
from agent.inventory.targets import expand_targets

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "cloudward.example.yaml"


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    return info.value.problems


def test_example_config_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    jobs = expand_targets(settings)
    assert jobs, "the example should configure at least one poll job"
    assert {j.protocol for j in jobs} == {"snmp", "ssh"}


def test_empty_document_is_a_valid_empty_config() -> None:
    s = parse_settings(None)
    assert s.targets == [] and s.database.startswith("sqlite:///")


def test_all_errors_reported_at_once_with_keys() -> None:
    found = problems(
        {
            "databse": "sqlite:///x.db",
            "defaults": {"poll_interval": "soon", "snmp": {"retries": -1}},
            "credentials": {"bad": {"type": "snmp-community", "community": "public"}},
            "targets": [
                {"host": "10.0.0.1", "range": "10.0.0.0/24", "credentials": ["bad"]},
                {"range": "10.0.300.0/24", "credentials": ["bad"]},
            ],
        }
    )
    text = "\n".join(found)
    assert "databse: unknown key" in text
    assert "defaults.poll_interval: must be a duration" in text
    assert "defaults.snmp.retries:" in text
    assert "credentials.bad.community:" in text and "never written in the configuration" in text
    assert "targets[0]: give exactly one of host" in text
    assert "targets[1]: range '10.0.300.0/24' is not a CIDR" in text
    assert len(found) >= 6


def test_semantic_errors_listed_together() -> None:
    found = problems(
        {
            "credentials": {"c": {"type": "snmp-community", "community": {"env": "X"}}},
            "groups": {"g": {"credentials": ["missing-cred"]}},
            "targets": [
                {"range": "10.0.0.0/8", "credentials": ["c"]},
                {"host": "192.0.2.1", "credentials": ["c"]},
                {"host": "192.0.2.1", "credentials": ["c"]},
                {"host": "192.0.2.9", "group": "nogroup"},
                {"range": "192.0.2.0/24", "credentials": ["c"]},
                {"range": "192.0.2.128/25", "credentials": ["c"]},
            ],
        }
    )
    text = "\n".join(found)
    assert "groups.g.credentials: no credential named 'missing-cred'" in text
    assert "targets[0].range: 10.0.0.0/8 has 16,777,214 addresses" in text
    assert "split it" in text
    assert "targets[2].host: 192.0.2.1 is already configured at targets[1]" in text
    assert "targets[3].group: no group named 'nogroup'" in text
    assert "targets[3]: no credentials" in text
    assert "targets[5].range: 192.0.2.128/25 overlaps targets[4]" in text
    assert "192.0.2.1 is also inside targets[4]" in text


@pytest.mark.parametrize(
    "value",
    [
        "env:SNMP_COMMUNITY",
        {"env": "SNMP_COMMUNITY"},
        "file:/etc/cloudward/community",
        {"file": "/x"},
    ],
)
def test_secret_references_accepted(value: object) -> None:
    s = parse_settings({"credentials": {"c": {"type": "snmp-community", "community": value}}})
    assert "c" in s.credentials


@pytest.mark.parametrize("value", ["public", {"env": "A", "file": "/b"}, {}, 42])
def test_secret_values_refused(value: object) -> None:
    found = problems({"credentials": {"c": {"type": "snmp-community", "community": value}}})
    assert any(p.startswith("credentials.c.community") for p in found), found


def test_wrong_types_and_unknown_credential_type() -> None:
    found = problems(
        {
            "targets": "10.0.0.1",
            "credentials": {"x": {"type": "telnet"}},
            "defaults": {"max_range_hosts": "many"},
        }
    )
    text = "\n".join(found)
    assert "targets: " in text
    assert "credentials.x:" in text
    assert "defaults.max_range_hosts:" in text


def test_snmp_engine_defaults_to_fast_and_names_a_bad_value() -> None:
    assert parse_settings(None).snmp.engine == "fast"
    assert parse_settings({"snmp": {"engine": "pysnmp"}}).snmp.engine == "pysnmp"
    for bad in ("turbo", "", 1, None):
        [found] = problems({"snmp": {"engine": bad}})
        assert found == (
            f"snmp.engine: {bad!r} is not an SNMP engine: use fast (the default) or pysnmp "
            "(the slower reference implementation)"
        )
    [found] = problems({"snmp": {"engin": "fast"}})
    assert found == "snmp.engin: unknown key (check its spelling and indentation)"


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - host: 10.0.0.1\n   credentials: [a]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert "line 3" in str(info.value)


def test_top_level_list_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(f)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_range_expansion_excludes_and_dedups() -> None:
    s = parse_settings(
        {
            "credentials": {
                "c": {"type": "snmp-community", "community": {"env": "X"}},
                "k": {"type": "ssh", "user": "u", "key_file": "/k"},
            },
            "targets": [
                {
                    "range": "192.0.2.0/29",
                    "exclude": ["192.0.2.3"],
                    "credentials": ["c", "k"],
                    "site": "depot",
                    "tags": ["x"],
                }
            ],
        }
    )
    jobs = expand_targets(s)
    hosts = sorted({j.host for j in jobs})
    assert hosts == [f"192.0.2.{i}" for i in (1, 2, 4, 5, 6)]
    assert {j.protocol for j in jobs} == {"snmp", "ssh"}
    assert all(j.site == "depot" and j.tags == ("x",) for j in jobs)


def test_config_check_cli_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"targets": [{"host": "10.0.0.1"}], "colour": "blue"}))
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert r.returncode == 2
    assert "colour: unknown key" in r.stderr
    assert "targets[0]: no credentials" in r.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", "--file-only", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert ok.returncode == 0, ok.stderr
    assert ": ok (" in ok.stdout


def test_short_snmpv3_pass_phrase_is_named_by_its_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 3414 section 11.2: at least 8 characters; checked where the reference resolves."""
    secret = tmp_path / "priv"
    secret.write_text("privpass123\n")
    secret.chmod(0o600)
    monkeypatch.setenv("CW_SHORT_AUTH", "maple")
    cred = {"type": "snmpv3", "user": "u", "auth_key": "env:CW_SHORT_AUTH"}
    [found] = problems({"credentials": {"core": {**cred, "priv_key": f"file:{secret}"}}})
    assert found.startswith("credentials.core.auth_key: the pass phrase in env var CW_SHORT_AUTH")
    assert "5 characters long" in found and "at least 8 (RFC 3414 section 11.2)" in found
    assert "maple" not in found.replace("CW_SHORT_AUTH", "")
    # An unset variable is reported when the credential is used, as before.
    unset = {"credentials": {"core": {**cred, "auth_key": "env:CW_UNSET_X", "priv_key": "env:Y"}}}
    assert "core" in parse_settings(unset).credentials
    config = tmp_path / "cw.yaml"
    config.write_text(yaml.safe_dump({"credentials": {"core": {**cred, "priv_key": "env:Y"}}}))
    r = subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", str(config)],
        capture_output=True,
        text=True,
        env=dict(os.environ, CW_SHORT_AUTH="maple"),
        cwd=REPO,
    )
    assert r.returncode == 2 and "credentials.core.auth_key: the pass phrase in env var" in r.stderr
