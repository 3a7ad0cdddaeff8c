"""Polling targets over SSH: connect, fetch the allow-listed output, parse it into Facts.

A failed target is a result (a :class:`CollectorError` in the list), never the end of a sweep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from collectors.errors import CollectorError, ProtocolError
from collectors.facts import Facts
from collectors.ssh.cisco import parse_cisco
from collectors.ssh.client import SshSession
from collectors.ssh.commands import load_allow_list
from collectors.ssh.fetch import Fetched, fetch_outputs
from collectors.ssh.hostspec import SshCredentials, SshTarget
from collectors.ssh.linux import parse_linux
from collectors.ssh.windows import parse_windows

log = logging.getLogger(__name__)


def collect_ssh(target: SshTarget, creds: SshCredentials) -> Facts:
    """Poll one target. Raises a :class:`CollectorError` subclass on failure."""
    allow = load_allow_list()
    started = time.monotonic()
    with SshSession(target, creds) as session:
        fetched = fetch_outputs(
            session, allow, target.platform, target.command_timeout, target.label
        )
        address = session.peer_address
        ours = session.local_endpoint
    facts = parse_fetched(fetched, target=target.label, address=address)
    if ours is not None:
        # The collector's own SSH session is not a dependency of the box.
        kept = tuple(
            c
            for c in facts.connections
            if (c.remote_address.removeprefix("::ffff:"), c.remote_port) != ours
        )
        if len(kept) != len(facts.connections):
            facts = replace(facts, connections=kept)
    log.debug(
        "%s: %s polled in %.3fs (%d values, %d warnings)",
        target.label,
        fetched.platform.name,
        time.monotonic() - started,
        facts.values_read,
        len(facts.warnings),
    )
    return facts


def parse_fetched(fetched: Fetched, *, target: str, address: str | None = None) -> Facts:
    """Raw output of one poll -> Facts, by the platform's family. Pure."""
    plat = fetched.platform
    try:
        if plat.family == "linux":
            return parse_linux(
                fetched.raw, target=target, address=address, platform_evidence=fetched.evidence
            )
        if plat.family == "cisco":
            return parse_cisco(
                fetched.raw,
                platform=plat.name,
                textfsm_platform=plat.textfsm or plat.name,
                commands={c.name: c.run for c in plat.commands},
                target=target,
                address=address,
                platform_evidence=fetched.evidence,
            )
        return parse_windows(
            fetched.raw, target=target, address=address, platform_evidence=fetched.evidence
        )
    except CollectorError:
        raise
    except Exception as exc:  # a parser bug must not end the sweep; keep the traceback in the log
        log.exception("%s: parsing %s output failed", target, plat.name)
        raise ProtocolError(
            f"{target}: could not parse the {plat.name} output: {exc!r}", target=target
        ) from exc


def collect_many(
    items: Sequence[tuple[SshTarget, SshCredentials]], max_workers: int = 8
) -> list[Facts | CollectorError]:
    """Poll several targets in a thread pool; results in the order given."""
    if not items:
        return []
    workers = max(1, min(max_workers, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ssh-poll") as pool:
        return list(pool.map(_collect_one, items))


def _collect_one(item: tuple[SshTarget, SshCredentials]) -> Facts | CollectorError:
    target, creds = item
    try:
        return collect_ssh(target, creds)
    except CollectorError as exc:
        log.info("%s: %s (%s)", target.label, exc, exc.kind)
        return exc
    except Exception as exc:
        log.exception("%s: unexpected failure", target.label)
        return CollectorError(f"{target.label}: unexpected failure: {exc!r}", target=target.label)
