"""The SSH collector against a real OpenSSH sshd on loopback.

The probe must report what the machine itself reports; every failure mode must be a clear
per-target CollectorError, and a sweep must carry on past it.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from collectors.errors import (
    AuthError,
    CollectorError,
    CollectTimeout,
    ConnectError,
    CredentialError,
    HostKeyError,
    ProtocolError,
)
from collectors.facts import Facts
from collectors.ssh import SshCredentials, collect_many, collect_ssh
from collectors.ssh.client import SshSession, _open_socket
from collectors.ssh.commands import load_allow_list
from tests.collectors.ssh.conftest import PASSPHRASE, Lab
from tests.peers import free_port
from tests.sshd import make_keypair, start_sshd

pytestmark = pytest.mark.peer


def _os_release() -> dict[str, str]:
    values = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = " ".join(shlex.split(value))
    return values


def _local_tcp_listening() -> set[tuple[str, int]]:
    out = subprocess.run(["ss", "-tlnH"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        local = line.split()[3]
        host, _, port = local.rpartition(":")
        host = host.strip("[]").split("%")[0]
        host = "0.0.0.0" if host == "*" else str(ipaddress.ip_address(host))
        found.add((host, int(port)))
    return found


def _installed_dpkg_packages() -> int:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n"], capture_output=True, text=True
    ).stdout
    return sum(1 for line in out.splitlines() if len(line) > 1 and line[1] not in "nc")


def test_probe_reports_what_the_machine_reports(lab: Lab) -> None:
    before = _local_tcp_listening()
    facts = collect_ssh(lab.target(), lab.creds())
    after = _local_tcp_listening()

    osr = _os_release()
    assert facts.protocol == "ssh"
    assert facts.identity.os_version == osr["VERSION_ID"]
    assert facts.identity.os_name and osr["NAME"].startswith(facts.identity.os_name)
    assert facts.sys_descr is not None and facts.sys_descr.startswith(osr["PRETTY_NAME"])
    assert facts.kernel == os.uname().release
    assert facts.sys_name == os.uname().nodename
    assert facts.address == "127.0.0.1"
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    assert facts.memory_bytes == int(meminfo[1]) * 1024
    if Path("/usr/bin/dpkg-query").exists():
        assert len(facts.software) == _installed_dpkg_packages()
        assert all(s.name and s.version for s in facts.software)

    remote = {(x.address, x.port) for x in facts.listening if x.proto == "tcp"}
    assert before & after <= remote <= before | after
    ours = [x for x in facts.listening if x.port == lab.sshd.port and x.proto == "tcp"]
    assert ours and ours[0].process == "sshd"  # root sees the owning process
    # Our own SSH session is an established connection into sshd, but it is the collector's,
    # not a dependency of the box: it is left out.
    assert not any(
        c.local_port == lab.sshd.port and c.remote_address in ("127.0.0.1", "::1")
        for c in facts.connections
    )
    assert facts.utilisation is not None and facts.utilisation.load1 is not None
    assert facts.values_read > len(facts.software)


def test_probe_json_has_the_snmp_keys_plus_sockets(lab: Lab) -> None:
    data = collect_ssh(lab.target(platform="linux"), lab.creds()).to_dict()
    empty = Facts(target="x", protocol="snmp").to_dict()
    assert set(empty) <= set(data)
    assert {"proto", "address", "port", "process"} <= set(data["listening"][0])
    assert {"name", "version"} <= set(data["software"][0])
    conn = data["connections"][0]
    assert {"local_address", "local_port", "remote_address", "remote_port", "process"} <= set(conn)


def test_socket_has_tcp_nodelay(lab: Lab) -> None:
    sock = _open_socket(lab.target())
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


# -- host keys ---------------------------------------------------------------------------------


def test_unknown_host_key_is_refused_and_nothing_recorded(lab: Lab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(HostKeyError) as err:
        collect_ssh(lab.target(known_hosts=known), lab.creds())
    assert err.value.kind == "hostkey" and err.value.reason == "unknown"
    assert "SHA256:" in str(err.value) and str(known) in str(err.value)
    assert known.read_text() == ""


def test_trust_on_first_use_records_the_key_then_verifies_it(lab: Lab, tmp_path: Path) -> None:
    known = tmp_path / "new" / "known_hosts"
    known.parent.mkdir()
    collect_ssh(lab.target(known_hosts=known, tofu=True, platform="linux"), lab.creds())
    assert known.read_text() == lab.sshd.known_hosts_line()
    collect_ssh(lab.target(known_hosts=known, platform="linux"), lab.creds())  # no tofu now
    assert known.read_text() == lab.sshd.known_hosts_line()  # recorded once


def test_changed_host_key_is_an_error_with_both_fingerprints(lab: Lab, tmp_path: Path) -> None:
    """The same name and port now answer with another key (the box was replaced)."""
    with start_sshd(tmp_path / "replaced") as other:
        other.authorize(Path(f"{lab.key}.pub").read_text())
        known = tmp_path / "known_hosts"
        known.write_text(f"{other.known_hosts_name} {lab.sshd.host_public}\n")
        target = lab.target(known_hosts=known, port=other.port, tofu=True)
        with pytest.raises(HostKeyError) as err:
            collect_ssh(target, lab.creds())
    msg = str(err.value)
    assert err.value.reason == "changed"
    assert err.value.known_fingerprint and err.value.known_fingerprint in msg
    assert err.value.fingerprint and err.value.fingerprint in msg
    assert err.value.fingerprint != err.value.known_fingerprint
    assert "remove its line from" in msg
    assert known.read_text().count("\n") == 1  # tofu never overwrites a changed key


# -- logins --------------------------------------------------------------------------------------


def test_wrong_key_is_an_auth_error(lab: Lab) -> None:
    with pytest.raises(AuthError) as err:
        collect_ssh(lab.target(), lab.creds(lab.stranger))
    assert err.value.kind == "auth" and "publickey" in str(err.value)


def test_refused_login_is_an_auth_error(lab: Lab) -> None:
    with pytest.raises(AuthError):
        collect_ssh(lab.target(username="no-such-user"), lab.creds())


def test_password_when_server_allows_keys_only_is_an_auth_error(lab: Lab) -> None:
    with pytest.raises(AuthError) as err:
        collect_ssh(lab.target(), SshCredentials(password="secret"))
    assert "secret" not in str(err.value)


def test_encrypted_key_needs_its_passphrase(lab: Lab) -> None:
    with pytest.raises(CredentialError):
        collect_ssh(lab.target(), lab.creds(lab.ecdsa_encrypted))
    with pytest.raises(CredentialError) as err:
        collect_ssh(lab.target(), lab.creds(lab.ecdsa_encrypted, key_passphrase="xyzzy-42"))
    assert "xyzzy-42" not in str(err.value)
    facts = collect_ssh(
        lab.target(platform="linux"), lab.creds(lab.ecdsa_encrypted, key_passphrase=PASSPHRASE)
    )
    assert facts.kernel == os.uname().release


def test_missing_key_file_is_a_credential_error(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(CredentialError) as err:
        collect_ssh(lab.target(), lab.creds(tmp_path / "nope"))
    assert "nope" in str(err.value)


# -- bad answers -----------------------------------------------------------------------------------


def test_a_command_that_hangs_times_out_naming_it(lab: Lab) -> None:
    with pytest.raises(CollectTimeout) as err:
        collect_ssh(lab.target(command_timeout=1.5), lab.creds(lab.hang))
    assert "uname -s" in str(err.value) and err.value.kind == "timeout"
    with pytest.raises(CollectTimeout) as err:
        collect_ssh(lab.target(command_timeout=1.5, platform="linux"), lab.creds(lab.hang))
    assert "script" in str(err.value)


@pytest.mark.parametrize("platform", [None, "linux"])
def test_garbage_output_is_a_clean_protocol_error(lab: Lab, platform: str | None) -> None:
    with pytest.raises(ProtocolError) as err:
        collect_ssh(lab.target(platform=platform), lab.creds(lab.garbage))
    assert lab.sshd.address in str(err.value)


@pytest.mark.parametrize("platform", [None, "linux"])
def test_empty_output_is_a_clean_protocol_error(lab: Lab, platform: str | None) -> None:
    with pytest.raises(ProtocolError):
        collect_ssh(lab.target(platform=platform), lab.creds(lab.empty))


def test_cut_off_output_gives_facts_with_warnings(lab: Lab) -> None:
    facts = collect_ssh(lab.target(platform="linux"), lab.creds(lab.partial))
    assert facts.identity.os_name == "Debian" and facts.identity.os_version == "12"
    assert any("ended early" in w for w in facts.warnings)
    assert facts.software == () and facts.listening == ()


def test_output_beyond_the_cap_is_cut_and_marked(lab: Lab) -> None:
    packages = load_allow_list().platform("linux").command("packages")
    with SshSession(lab.target(), lab.creds(), max_output=2000) as session:
        out = session.run_exec([packages], timeout=20)["packages"]
    assert out.truncated and len(out.text) <= 2000


def test_refused_port_is_a_connect_error(lab: Lab) -> None:
    with pytest.raises(ConnectError) as err:
        collect_ssh(lab.target(port=free_port()), lab.creds())
    assert "refused" in str(err.value)


def test_a_port_that_is_not_ssh_is_a_protocol_error(lab: Lab) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        # The kernel completes the handshake; nobody ever sends an SSH banner.
        with pytest.raises((ProtocolError, CollectTimeout)) as err:
            collect_ssh(lab.target(port=port, connect_timeout=1), lab.creds())
    assert str(port) in str(err.value)


# -- sweeps ----------------------------------------------------------------------------------------


def test_sweep_goes_on_past_every_kind_of_failure(lab: Lab, tmp_path: Path) -> None:
    empty_known = tmp_path / "known_hosts"
    empty_known.write_text("")
    items = [
        (lab.target(platform="linux"), lab.creds()),
        (lab.target(known_hosts=empty_known), lab.creds()),
        (lab.target(), lab.creds(lab.stranger)),
        (lab.target(username="no-such-user"), lab.creds()),
        (lab.target(command_timeout=1.5), lab.creds(lab.hang)),
        (lab.target(platform="linux"), lab.creds(lab.garbage)),
        (lab.target(port=free_port()), lab.creds()),
        (lab.target(), lab.creds()),
    ]
    results = collect_many(items, max_workers=4)
    kinds = [r.kind if isinstance(r, CollectorError) else "ok" for r in results]
    assert kinds == ["ok", "hostkey", "auth", "auth", "timeout", "protocol", "connect", "ok"]
    assert all(r.target for r in results if isinstance(r, CollectorError))


def test_many_targets_at_once_all_answer(lab: Lab) -> None:
    items = [(lab.target(platform="linux"), lab.creds()) for _ in range(12)]
    results = collect_many(items, max_workers=6)
    assert all(isinstance(r, Facts) for r in results), results
    assert len({r.kernel for r in results if isinstance(r, Facts)}) == 1


def test_a_second_user_key_type_works(lab: Lab, tmp_path: Path) -> None:
    rsa = tmp_path / "id_rsa"
    lab.sshd.authorize(make_keypair(rsa, "rsa", bits=2048))
    facts = collect_ssh(lab.target(platform="linux"), lab.creds(rsa))
    assert facts.kernel == os.uname().release
