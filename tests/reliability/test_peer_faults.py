"""Real peers that fail in the middle of a poll. A UDP relay kills or freezes a real snmpd after
N answers of a walk (exactly mid-walk); an snmpd restarts with a new engine ID; a host name
does not resolve; a real sshd drops the connection while a command runs. Each poll goes through
the agent's Poller into the store (SQLite and PostgreSQL): a failure is a poll run with a clear
error, and what was stored before is exactly as it was."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.store import Store
from agent.store import tables as m
from collectors.snmp.identify import IdentifyRules, load_rules
from tests.peers import free_port
from tests.reliability.polling import poll_once, poll_steps, settings_from, stored
from tests.reliability.relay import UdpRelay
from tests.snmpd import SnmpdPeer
from tests.sshd import Sshd, make_keypair, start_sshd

pytestmark = pytest.mark.peer

COMMUNITY = "faults"


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


@pytest.fixture()
def snmpd_peer() -> Iterator[SnmpdPeer]:
    peer = SnmpdPeer.start(free_port(), community=COMMUNITY, sys_name="fault-agent")
    try:
        yield peer
    finally:
        if peer.proc is not None and peer.proc.poll() is None:
            peer.proc.send_signal(signal.SIGCONT)
        peer.cleanup()


def snmp_settings(port: int, *, host: str = "127.0.0.1", v3: SnmpdPeer | None = None) -> Any:
    creds: dict[str, Any] = {"c": {"type": "snmp-community", "community": {"env": "CW_F_COMM"}}}
    if v3 is not None:
        creds = {
            "c": {
                "type": "snmpv3",
                "user": v3.v3_user,
                "auth_key": {"env": "CW_F_AUTH"},
                "priv_key": {"env": "CW_F_PRIV"},
            }
        }
    return settings_from(
        {
            "defaults": {
                "snmp": {"timeout": "1s", "retries": 1, "max_repetitions": 10},
            },
            "credentials": creds,
            "targets": [{"host": host, "snmp_port": port, "credentials": ["c"]}],
        }
    )


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_F_COMM", COMMUNITY)
    monkeypatch.setenv("CW_F_AUTH", "authpass123")
    monkeypatch.setenv("CW_F_PRIV", "privpass123")


# --- SNMP agent dies or freezes mid-walk -------------------------------------------------------


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_agent_failing_mid_walk_is_a_timeout_and_keeps_what_was_stored(
    store: Store, rules: IdentifyRules, snmpd_peer: SnmpdPeer, fault: str
) -> None:
    with UdpRelay(snmpd_peer.port) as relay:
        settings = snmp_settings(relay.port)
        first = poll_once(settings, store, rules)
        assert first.ok, first.error
        before = stored(store)
        answers_per_poll = relay.answers
        assert answers_per_poll > 10  # a walk of many requests: there is a middle to fail in

        proc = snmpd_peer.proc
        assert proc is not None
        sig = signal.SIGKILL if fault == "killed" else signal.SIGSTOP
        relay.arm(after=answers_per_poll // 2, fault=lambda: proc.send_signal(sig))
        second = poll_once(settings, store, rules)
        assert relay.fired.is_set()
        assert not second.ok and second.error_kind == "timeout", second.error
        assert "no response within 1s x 2 tries" in (second.error or "")
        assert stored(store) == before  # nothing half-written, nothing lost
        runs = store.poll_runs()
        assert [r.status for r in runs] == ["failed", "ok"]
        assert runs[0].error_kind == "timeout"

        if fault == "frozen":  # it wakes up: the next poll works again
            proc.send_signal(signal.SIGCONT)
            third = poll_once(settings, store, rules)
            assert third.ok, third.error
            assert store.count(m.Asset) == 1


def test_restarted_agent_with_a_new_engine_id_is_the_same_asset(
    store: Store, rules: IdentifyRules, snmpd_peer: SnmpdPeer
) -> None:
    """SNMPv3 through one Poller (engine IDs cached): the agent restarts with its persistent
    state wiped, so a new engine ID and boots; the poll rediscovers it and the store records
    the change as history and an event on the same asset."""
    port = snmpd_peer.port

    def replace_agent() -> None:
        snmpd_peer.stop()
        shutil.rmtree(snmpd_peer.workdir / "persist")
        fresh = SnmpdPeer.start(
            port, community=COMMUNITY, sys_name="fault-agent", workdir=snmpd_peer.workdir
        )
        snmpd_peer.proc = fresh.proc

    settings = snmp_settings(port, v3=snmpd_peer)
    first, second = poll_steps(settings, store, rules, [None, replace_agent])
    assert first.ok and second.ok, (first.error, second.error)
    [asset] = store.list_assets()
    changes = [h for h in store.history(asset.id or 0) if h.field_name == "engine_id"]
    assert len(changes) == 1 and changes[0].old != changes[0].new
    assert asset.engine_id == changes[0].new
    with store.session() as s:
        from sqlmodel import select

        events = s.exec(select(m.Event).where(m.Event.kind == "engine_id_changed")).all()
    assert len(events) == 1 and events[0].asset_id == asset.id
    assert "agent reset or box replaced" in events[0].message


def test_host_name_that_does_not_resolve_is_a_connect_error(
    store: Store, rules: IdentifyRules
) -> None:
    settings = snmp_settings(161, host="no-such-host.invalid")
    result = poll_once(settings, store, rules)
    assert not result.ok and result.error_kind == "connect", result.error
    [run] = store.poll_runs()
    assert run.status == "failed" and "no-such-host.invalid" in (run.error or "")
    assert "resolve" in (run.error or "")
    assert store.count(m.Asset) == 0


# --- sshd drops the connection while a command runs -----------------------------------------

DROP = """case "$SSH_ORIGINAL_COMMAND" in
  "uname -s") uname -s ;;
  *) echo "@@cw:os-release"; echo "ID=debian"; sleep 0.3; kill -9 $PPID ;;
esac
"""


@pytest.fixture(scope="module")
def dropping_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, Path, Path]]:
    """One sshd; ``good`` key runs anything, ``drop`` key's commands kill their own session."""
    d = tmp_path_factory.mktemp("sshdrop")
    server = start_sshd(d / "sshd")
    try:
        (d / "drop.sh").write_text(DROP)
        good, drop = d / "id_good", d / "id_drop"
        server.authorize(make_keypair(good))
        server.authorize(make_keypair(drop), command=f"sh {d / 'drop.sh'}")
        server.write_known_hosts(d / "known_hosts")
        yield server, good, drop
    finally:
        server.stop()


def ssh_settings(server: Sshd, key: Path) -> Any:
    return settings_from(
        {
            "defaults": {
                "ssh": {
                    "known_hosts": str(key.parent / "known_hosts"),
                    "connect_timeout": "5s",
                    "command_timeout": "20s",
                }
            },
            "credentials": {"k": {"type": "ssh", "user": "root", "key_file": str(key)}},
            "targets": [{"host": "127.0.0.1", "ssh_port": server.port, "credentials": ["k"]}],
        }
    )


def test_ssh_connection_dropped_mid_command_keeps_what_was_stored(
    store: Store, rules: IdentifyRules, dropping_sshd: tuple[Sshd, Path, Path]
) -> None:
    server, good, drop = dropping_sshd
    first = poll_once(ssh_settings(server, good), store, rules)
    assert first.ok, first.error
    before = stored(store)
    assert any("SoftwareRow" in k and v for k, v in before.items())

    second = poll_once(ssh_settings(server, drop), store, rules)
    assert not second.ok and second.error_kind == "connect", second.error
    assert "connection dropped" in (second.error or "") and str(server.port) in second.error
    assert stored(store) == before  # the software, sockets and storage read before stay
    assert [r.status for r in store.poll_runs()] == ["failed", "ok"]
