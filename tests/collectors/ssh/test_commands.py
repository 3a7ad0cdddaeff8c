"""The allow-list is fixed and read-only, and nothing a device prints can reach a command."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.errors import CollectorError, ProtocolError
from collectors.ssh import SshCredentials, SshTarget
from collectors.ssh.commands import Command, load_allow_list
from collectors.ssh.fetch import fetch_outputs
from collectors.ssh.output import CommandOutput, split_sections

ALLOW = load_allow_list()

# Shell words that change a system; none may appear in a Linux script.
WRITERS = re.compile(
    r"\b(rm|mv|cp|dd|mkfs\S*|reboot|shutdown|halt|poweroff|kill|pkill|chmod|chown|tee|"
    r"truncate|useradd|usermod|passwd|systemctl|service|mount|umount|ln|touch|mkdir|install|"
    r"apt|apt-get|yum|dnf|zypper|sed\s+-i|wget|curl|nc|eval|source|sudo|su)\b"
)
POWERSHELL_WRITERS = re.compile(
    r"\b(Set|Remove|Stop|Restart|Start|New|Clear|Rename|Move|Copy|Invoke|Add|Install|Uninstall|"
    r"Enable|Disable|Update|Out-File|Export)-\w+|Invoke-Expression|iex\b",
    re.IGNORECASE,
)


def _posix_scripts() -> list[Command]:
    return [c for p in ALLOW.platforms.values() if p.family == "linux" for c in p.commands]


def _powershell(cmd: Command) -> str:
    encoded = cmd.run.rsplit(" ", 1)[1]
    return base64.b64decode(encoded).decode("utf-16-le")


def test_every_platform_named_in_the_design_has_a_list() -> None:
    assert {"linux", "cisco_ios", "cisco_xe", "cisco_nxos", "windows"} <= set(ALLOW.platforms)
    for plat in ALLOW.platforms.values():
        assert plat.commands, plat.name
        assert len({c.name for c in plat.commands}) == len(plat.commands)


@pytest.mark.parametrize("cmd", _posix_scripts(), ids=lambda c: c.name)
def test_linux_scripts_only_read(cmd: Command) -> None:
    assert not WRITERS.search(cmd.run), cmd.name
    # The only redirections are to /dev/null (or stderr into stdout).
    redirects = re.findall(r"\d?>&?[^\s;)\"]*", cmd.run)
    assert set(redirects) <= {"2>/dev/null", ">/dev/null", "2>&1"}, redirects


@pytest.mark.parametrize("cmd", ALLOW.platform("windows").commands, ids=lambda c: c.name)
def test_windows_commands_only_read_and_fit_a_command_line(cmd: Command) -> None:
    script = _powershell(cmd)
    assert not POWERSHELL_WRITERS.search(script), script
    assert "ConvertTo-Json" in script
    assert len(cmd.run) < 8000  # cmd.exe accepts at most 8191 characters


def test_cisco_commands_are_show_commands() -> None:
    for name in ("cisco_ios", "cisco_xe", "cisco_nxos"):
        plat = ALLOW.platform(name)
        assert all(c.run.startswith("show ") for c in plat.commands)
        assert all(c.run.startswith("terminal ") for c in plat.shell_setup)


def test_unknown_platform_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cisco_ios"):
        SshTarget("h", username="u", known_hosts=tmp_path / "k", platform="junos")


def test_target_checks_every_field_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        SshTarget("bad host", port=0, username="", known_hosts=tmp_path, command_timeout=0)
    msg = str(err.value)
    assert "port 0" in msg and "username" in msg and "timeout" in msg and "spaces" in msg


def test_credentials_repr_hides_secrets() -> None:
    creds = SshCredentials(Path("k"), key_passphrase="pp-secret", password="pw-secret")
    assert "pp-secret" not in repr(creds) and "pw-secret" not in str(creds)
    assert "***" in repr(creds)


def test_a_broken_allow_list_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "commands.yaml"
    bad.write_text(
        "detect: {probe: {command: uname, rules: [{pattern: '(', platform: nope}]}}\n"
        "platforms:\n  x: {family: vms, commands: {}}\n"
    )
    with pytest.raises(ValueError) as err:
        load_allow_list(bad)
    msg = str(err.value)
    assert "family" in msg and "commands is empty" in msg and "regular expression" in msg


def test_split_sections_keeps_the_first_copy_and_drops_preamble() -> None:
    text = "motd\n@@cw:a\n1\n@@cw:b\n2\n3\n@@cw:a\nagain\n@@cw:end\n"
    assert split_sections(text) == {"a": "1", "b": "2\n3", "end": ""}


# -- nothing from device output reaches a command --------------------------------------------------


class FakeSession:
    """Answers every command with text chosen by the test; records what was sent."""

    def __init__(self, banner: str, answers: dict[str, str], refuse_exec: bool) -> None:
        self.banner = banner
        self.answers = answers
        self.refuse_exec = refuse_exec
        self.sent: list[str] = []

    def _answer(self, cmd: Command) -> str:
        return self.answers.get(cmd.run, self.answers.get("*", ""))

    def run_exec(
        self, commands: Sequence[Command], timeout: float, parallel: int = 1
    ) -> dict[str, CommandOutput]:
        self.sent += [c.run for c in commands]
        if self.refuse_exec:
            return {c.name: CommandOutput("", None, refused=True) for c in commands}
        return {c.name: CommandOutput(self._answer(c)) for c in commands}

    def run_shell(
        self,
        commands: Sequence[Command],
        *,
        setup: Sequence[Command],
        prompt_rule: re.Pattern[str],
        more_rule: re.Pattern[str],
        timeout: float,
    ) -> dict[str, CommandOutput]:
        self.sent += [c.run for c in setup] + [c.run for c in commands]
        return {c.name: CommandOutput(self._answer(c), None) for c in commands}


DEVICE_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "Linux",
            "% Invalid input detected at '^' marker.",
            "'uname' is not recognized as an internal or external command",
            "Cisco IOS Software, C2960X Software, Version 15.2(7)E8",
            "Cisco IOS XE Software, Version 17.09.04a",
            "Cisco Nexus Operating System (NX-OS) Software",
            "show version; rm -rf / ; $(reboot) `halt` {platform} %s",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    banner=st.one_of(st.sampled_from(["SSH-2.0-OpenSSH_9.2", "SSH-2.0-Cisco-1.25"]), st.text()),
    probe=DEVICE_TEXT,
    version=DEVICE_TEXT,
    other=DEVICE_TEXT,
    refuse=st.booleans(),
    platform=st.sampled_from([None, *sorted(ALLOW.platforms)]),
)
def test_only_allow_listed_strings_are_ever_sent(
    banner: str, probe: str, version: str, other: str, refuse: bool, platform: str | None
) -> None:
    answers = {ALLOW.probe.run: probe, ALLOW.cisco_probe.run: version, "*": other}
    session = FakeSession(banner, answers, refuse)
    try:
        fetched = fetch_outputs(session, ALLOW, platform, 5.0, "t")
    except ProtocolError:
        pass
    else:
        assert fetched.platform.name in ALLOW.platforms
        assert set(fetched.raw) <= {c.name for c in fetched.platform.commands}
    assert session.sent and set(session.sent) <= ALLOW.all_commands()


@pytest.mark.parametrize(
    ("banner", "probe", "version", "expected"),
    [
        ("SSH-2.0-OpenSSH_9.2p1 Debian-2", "Linux\n", "", "linux"),
        ("SSH-2.0-OpenSSH_for_Windows_8.1", "", "", "windows"),
        ("SSH-2.0-OpenSSH_8.1", "'uname' is not recognized as an internal command", "", "windows"),
        ("SSH-2.0-Cisco-1.25", "", "Cisco IOS Software, C2960X Software", "cisco_ios"),
        ("SSH-2.0-Cisco-1.25", "", "Cisco IOS XE Software, Version 17.09.04a", "cisco_xe"),
        (
            "SSH-2.0-OpenSSH_8.3",
            "% Invalid command at '^' marker.",
            "Cisco Nexus Operating System (NX-OS) Software",
            "cisco_nxos",
        ),
        ("SSH-2.0-OpenSSH_9.0", "VMkernel\n", "", "linux"),
    ],
)
def test_platform_detection(banner: str, probe: str, version: str, expected: str) -> None:
    session = FakeSession(banner, {ALLOW.probe.run: probe, ALLOW.cisco_probe.run: version}, False)
    fetched = fetch_outputs(session, ALLOW, None, 5.0, "t")
    assert fetched.platform.name == expected
    # show version from detection is reused, not sent twice
    assert session.sent.count(ALLOW.cisco_probe.run) <= 1


def test_undetectable_platform_says_how_to_fix_it() -> None:
    session = FakeSession("SSH-2.0-dropbear", {ALLOW.probe.run: "FreeBSD\n"}, False)
    with pytest.raises(ProtocolError, match="set the target's platform"):
        fetch_outputs(session, ALLOW, None, 5.0, "t")


def test_refused_exec_falls_back_to_a_shell_for_network_devices() -> None:
    answers = {ALLOW.cisco_probe.run: "Cisco IOS Software, C2960X", "*": ""}
    session = FakeSession("SSH-2.0-Cisco-1.25", answers, refuse_exec=True)
    fetched = fetch_outputs(session, ALLOW, None, 5.0, "t")
    assert fetched.used_shell and fetched.platform.name == "cisco_ios"
    assert "terminal length 0" in session.sent


def test_collector_errors_share_one_root() -> None:
    assert issubclass(ProtocolError, CollectorError) and issubclass(ProtocolError, ValueError)
