"""When a target is polled next: the one schedule and back-off policy of every role.

A target is polled once per interval, on a grid counted from its due time (not from the end of
the poll), so the schedule does not drift; a poll that ends past the next boundary does not
cost that boundary its poll, which is then due at once. A failing target backs off: it waits
``interval x 2^failures``, at most x16 and at most six hours (unless its interval is longer),
and returns to its interval on the first success. An address of a discovery range that has
never answered waits at least the discovery interval between tries.

An agent alone on its schedule adds a jitter (a fraction of the step, drawn by the caller) so
that its targets do not stay bunched; agents sharing one schedule keep to its grid.

Pure: the caller passes the times (from the database clock where several agents share it) and
the jitter it drew; this module reads no clock and draws nothing. The schedule table
(:mod:`agent.runtime.leases`) only stores what :func:`next_due` returns.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_BACKOFF_FACTOR = 16  # a failing target waits interval x 2^failures, at most x16 ...
MAX_BACKOFF_SECONDS = 6 * 3600.0  # ... and at most this long (unless its interval is longer)
DISCOVERY_INTERVAL = 6 * 3600.0  # a range address that never answered is tried this often
FIRST_POLL_SPREAD = 15.0  # new targets are first due within min(interval, this) seconds


@dataclass(frozen=True)
class Slot:
    """Where one target stands on the schedule: when it is due, after how many failures."""

    next_due: datetime
    failures: int = 0


def step(interval: float, failures: int, *, discovering: bool = False) -> float:
    """Seconds between polls of a target after ``failures`` consecutive failed polls.

    ``discovering``: an address of a discovery range that has never answered; it waits at
    least :data:`DISCOVERY_INTERVAL`."""
    base = max(interval, DISCOVERY_INTERVAL) if discovering else interval
    if failures <= 0:
        return base
    factor = min(1 << min(failures, 32), MAX_BACKOFF_FACTOR)
    return min(base * factor, max(base, MAX_BACKOFF_SECONDS))


def next_due(
    *,
    due: datetime,
    claimed: datetime,
    interval: float,
    failures: int,
    discovering: bool = False,
    jitter: float = 0.0,
) -> datetime:
    """When a target is due again after the poll claimed at ``claimed`` (it was due at ``due``).

    ``failures``: consecutive failed polls counting this one (0 when it succeeded). The result
    is the first boundary ``due + k x step`` after the claim (k >= 1), plus ``jitter`` (a
    fraction of the step, 0 <= jitter < 1)."""
    s = step(interval, failures, discovering=discovering)
    late = (claimed - due).total_seconds()
    boundary = due + timedelta(seconds=s * max(1, math.floor(late / s) + 1))
    if boundary <= claimed:  # the claim fell on a boundary (to the microsecond)
        boundary += timedelta(seconds=s)
    return boundary + timedelta(seconds=s * jitter)


def after_poll(
    slot: Slot,
    claimed: datetime,
    interval: float,
    *,
    ok: bool,
    discovering: bool = False,
    jitter: float = 0.0,
) -> Slot:
    """The slot of a target after a poll claimed at ``claimed`` succeeded or failed."""
    failures = 0 if ok else slot.failures + 1
    due = next_due(
        due=slot.next_due,
        claimed=claimed,
        interval=interval,
        failures=failures,
        discovering=discovering and not ok,
        jitter=jitter,
    )
    return Slot(due, failures)


def first_due_offset(key: str, interval: float) -> float:
    """Seconds from now to a new target's first poll: spread by key, so that a fleet does not
    start at once, and the same on every agent."""
    frac = zlib.crc32(key.encode()) / 2**32
    return frac * min(interval, FIRST_POLL_SPREAD)
