"""Network devices over SSH, against a small server replaying recorded Cisco output.

Whatever the transport path (exec channels, an interactive shell, a reconnect after the device
drops the link, paging), the Facts must equal those parsed straight from the recordings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from collectors.errors import AuthError, CollectTimeout, HostKeyError
from collectors.facts import Facts
from collectors.ssh import SshCredentials, SshTarget, collect_many, collect_ssh
from collectors.ssh.commands import Platform, load_allow_list
from collectors.ssh.sampler import collect_ssh_sample
from collectors.ssh.windows import parse_windows, sample_from_windows
from tests.collectors.ssh.recorded import DATA, load_raw
from tests.collectors.ssh.test_cisco_parse import DEVICES, parse_device
from tests.sshreplay import ReplayServer

PROMPTS = {"ios-c2960x": "hq-acc-sw03#", "xe-isr4331": "hq-wan-rtr01#", "nxos-n9k": "dc1-leaf01#"}
BANNERS = {"nxos-n9k": "SSH-2.0-OpenSSH_8.3"}  # NX-OS runs OpenSSH: detection needs the probe


def _server(device: str, **kw: object) -> ReplayServer:
    kw.setdefault("banner", BANNERS.get(device, "SSH-2.0-Cisco-1.25"))
    return ReplayServer(DATA / "cisco" / device, prompt=PROMPTS[device], **kw)  # type: ignore[arg-type]


def _login(server: ReplayServer, tmp_path: Path, **kw: object) -> tuple[SshTarget, SshCredentials]:
    """The target and a key the replay server trusts, its host key known."""
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts_line())
    key = server.write_client_key(tmp_path / "id_ecdsa")
    target = SshTarget(
        server.address,
        port=server.port,
        username="admin",
        known_hosts=known,
        **kw,  # type: ignore[arg-type]
    )
    return target, SshCredentials(key_file=key)


def _collect(server: ReplayServer, tmp_path: Path, **kw: object) -> Facts:
    return collect_ssh(*_login(server, tmp_path, **kw))


def _same_as_recordings(facts: Facts, device: str) -> None:
    expected = parse_device(device)
    got = dataclasses.replace(facts, target=expected.target, address=None)
    assert got.to_dict() | {"evidence": {}} == expected.to_dict() | {"evidence": {}}
    assert (
        got.identity.evidence.items()
        >= {k: v for k, v in expected.identity.evidence.items() if k != "platform"}.items()
    )


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_exec_channels(device: str, tmp_path: Path) -> None:
    with _server(device) as server:
        facts = _collect(server, tmp_path)
    _same_as_recordings(facts, device)
    assert {mode for mode, _ in server.received} == {"exec"}
    assert {command for _, command in server.received} <= load_allow_list().all_commands()
    assert facts.identity.evidence["platform"].startswith(DEVICES[device])


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_interactive_shell_when_exec_is_refused(device: str, tmp_path: Path) -> None:
    with _server(device, exec_enabled=False, motd="Authorised access only\r\n") as server:
        facts = _collect(server, tmp_path)
    _same_as_recordings(facts, device)
    assert server.received[0] == ("shell", "terminal length 0")
    assert {command for _, command in server.received} <= load_allow_list().all_commands()
    assert [c for m, c in server.received].count("show version") == 1


def test_reconnects_to_a_shell_when_the_device_drops_exec_sessions(tmp_path: Path) -> None:
    with _server("xe-isr4331", close_after_exec=True) as server:
        facts = _collect(server, tmp_path)
    _same_as_recordings(facts, "xe-isr4331")
    modes = [m for m, _ in server.received]
    assert modes[0] == "exec" and set(modes[1:]) == {"shell"}


def test_paging_is_answered_when_terminal_length_is_ignored(tmp_path: Path) -> None:
    with _server("ios-c2960x", exec_enabled=False, honour_terminal_length=False) as server:
        facts = _collect(server, tmp_path)
    _same_as_recordings(facts, "ios-c2960x")


def test_configured_platform_skips_detection(tmp_path: Path) -> None:
    with _server("nxos-n9k") as server:
        facts = _collect(server, tmp_path, platform="cisco_nxos")
    assert ("exec", "uname -s") not in server.received
    assert facts.identity.os_name == "NX-OS"


@pytest.mark.parametrize("exec_enabled", [True, False])
def test_a_command_that_never_answers_times_out(exec_enabled: bool, tmp_path: Path) -> None:
    server = _server("ios-c2960x", exec_enabled=exec_enabled, hang_on="show inventory")
    with server, pytest.raises(CollectTimeout, match="show inventory"):
        _collect(server, tmp_path, command_timeout=1.5)


def test_devices_in_one_sweep(tmp_path: Path) -> None:
    servers = [_server(d).start() for d in sorted(DEVICES)]
    try:
        items = []
        for i, server in enumerate(servers):
            known = tmp_path / f"known_hosts{i}"
            known.write_text(server.known_hosts_line())
            key = server.write_client_key(tmp_path / f"id{i}")
            target = SshTarget(
                server.address, port=server.port, username="admin", known_hosts=known
            )
            items.append((target, SshCredentials(key_file=key)))
        stranger_known = tmp_path / "empty"
        stranger_known.write_text("")
        items.insert(1, (dataclasses.replace(items[0][0], known_hosts=stranger_known), items[0][1]))
        results = collect_many(items, max_workers=3)
    finally:
        for server in servers:
            server.stop()
    assert isinstance(results[1], HostKeyError)
    names = [r.identity.os_name for r in results if isinstance(r, Facts)]
    assert names == ["IOS", "NX-OS", "IOS-XE"]


def test_password_login_when_configured(tmp_path: Path) -> None:
    with _server("ios-c2960x", password="s3cret-pw") as server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line())
        target = SshTarget(server.address, port=server.port, username="admin", known_hosts=known)
        facts = collect_ssh(target, SshCredentials(password="s3cret-pw"))
        assert facts.identity.os_name == "IOS"
        with pytest.raises(AuthError) as err:
            collect_ssh(target, SshCredentials(password="not-it"))
    assert "not-it" not in str(err.value) and "password" in str(err.value)


def _windows_server() -> tuple[Platform, Path, ReplayServer]:
    """A Windows OpenSSH server answering every allow-listed command from recordings."""
    plat = load_allow_list().platform("windows")
    folder = DATA / "windows" / "win2019-hyperv"
    answers = {c.run: (folder / f"{c.name}.txt").read_text() for c in plat.commands}
    server = ReplayServer(folder, banner="SSH-2.0-OpenSSH_for_Windows_8.1", answers=answers)
    return plat, folder, server


def test_windows_over_openssh(tmp_path: Path) -> None:
    """The banner says Windows; the PowerShell commands are answered from recordings."""
    plat, folder, server = _windows_server()
    with server:
        facts = _collect(server, tmp_path)
    expected = parse_windows(load_raw(folder), target=facts.target)
    assert dataclasses.replace(facts, address=None).to_dict() | {"evidence": {}} == (
        expected.to_dict() | {"evidence": {}}
    )
    assert [c for _, c in server.received] == [c.run for c in plat.commands]


def test_windows_sample_over_openssh(tmp_path: Path) -> None:
    """The light poll of a Windows host sends only the allow-list's PowerShell ``sample``."""
    plat, folder, server = _windows_server()
    with server:
        target, creds = _login(server, tmp_path, platform="windows")
        got = collect_ssh_sample(target, creds)
    assert [c for _, c in server.received] == [plat.command("sample").run]
    assert got == sample_from_windows((folder / "sample.txt").read_text(), target.label)
    assert got.cpu_pct == 29.0 and got.interfaces == 2
