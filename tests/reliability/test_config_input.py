"""Configuration files no one should write, beyond what tests/agent/test_settings.py covers:
huge, not UTF-8, nested thousands deep, alias bombs, keys given twice, numbers of thousands of
digits, infinite or absurd durations, YAML tags that would run code, host names that are shell
commands. Each is refused with the key (or line) named, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.configuration.config_file import MAX_CONFIG_BYTES, load_settings
from agent.errors import ConfigError

CRED = "credentials: {c: {type: snmp-community, community: 'env:CW_X'}}\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh", strict=True)
)
CASES = {
    "not UTF-8": (b"\xff\xfe\x00targets: []\n", "(file): cannot be read"),
    "nested 5,000 deep": (
        ("targets: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "(yaml): nested too deeply",
    ),
    "alias bomb (9^9 references)": (
        (BOMB + "targets: [" + ", ".join(["*h"] * 9) + "]\n").encode(),
        "targets[0]:",
    ),
    "a key given twice": (
        b"database: sqlite:///a.db\ndatabase: sqlite:///b.db\n",
        "line 2, column 1: key 'database' is given twice",
    ),
    "an integer of 5,000 digits": (
        ("defaults:\n  poll_interval: " + "9" * 5000 + "\n").encode(),
        "(yaml): a value cannot be read",
    ),
    "an infinite poll interval": (
        b"defaults:\n  poll_interval: .inf\n",
        "defaults.poll_interval: Input should be less than or equal to",
    ),
    "a poll interval of 1e300 seconds": (
        b"replan_interval: 1.0e+300\n",
        "replan_interval: Input should be less than or equal to",
    ),
    "NaN as a timeout": (b"defaults:\n  snmp:\n    timeout: .nan\n", "defaults.snmp.timeout"),
    "a YAML tag that runs code": (
        b"targets: !!python/object/apply:os.system ['touch /tmp/cw-yaml-pwned']\n",
        "could not determine a constructor",
    ),
    "host names that are shell commands": (
        (
            CRED + "targets:\n - {host: 'a;rm -rf /', credentials: [c]}\n"
            " - {host: '$(reboot)', credentials: [c]}\n"
            ' - {host: "\\e[2J", credentials: [c]}\n'
        ).encode(),
        "targets[2]: host '\\x1b[2J' is not an address or host name",
    ),
    "a string where a list belongs, a list where a mapping does": (
        b"targets: 10.0.0.1\ncredentials: [a, b]\ndefaults: 5\n",
        "defaults:",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_naming_the_problem(tmp_path: Path, case: str) -> None:
    content, words = CASES[case]
    path = tmp_path / "cloudward.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert words in str(info.value), str(info.value)
    assert str(path) in str(info.value)
    assert not Path("/tmp/cw-yaml-pwned").exists()


def test_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cloudward.yaml"
    with path.open("wb") as fh:
        fh.write(b"# " + b"x" * 1000 + b"\n")
        fh.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ConfigError, match="more than a configuration should be"):
        load_settings(path)


@pytest.mark.parametrize("case", ["nested 5,000 deep", "an integer of 5,000 digits"])
def test_config_check_exits_2_without_a_traceback(tmp_path: Path, case: str) -> None:
    path = tmp_path / "cloudward.yaml"
    path.write_bytes(CASES[case][0])
    done = subprocess.run(
        ["cloudward", "config", "check", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and CASES[case][1] in done.stderr, done.stderr
