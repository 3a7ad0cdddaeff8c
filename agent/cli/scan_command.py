"""``cloudward scan``: expand targets, sweep them once with a progress bar, summarise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from agent.configuration.config_file import Settings
from agent.errors import StoreError
from agent.inventory.polling import JobResult, Poller, SweepSummary, sweep
from agent.inventory.targets import expand_targets
from agent.store import Store
from collectors.snmp.identify import load_rules

log = logging.getLogger(__name__)


SPOOL_NAME = "pending-results.jsonl"  # the daemon's too: whichever starts next writes them


async def keep_pending(poller: Poller, spool: Path) -> None:
    """Write the results that waited for the database; spool what still cannot be written."""
    if not poller.pending:
        return
    with contextlib.suppress(StoreError, SQLAlchemyError):
        await poller.flush_pending()
    if not poller.pending:
        return
    waiting = len(poller.pending)
    try:
        poller.pending.spool(spool)
    except OSError as exc:
        log.error("database unavailable and %d results cannot be spooled: %s", waiting, exc)
        return
    log.warning(
        "database unavailable: %d results spooled to %s; the next `cloudward scan` or "
        "`cloudward run` writes them",
        waiting,
        spool,
    )


def run_scan(settings: Settings, store: Store, *, progress: bool = True) -> SweepSummary:
    jobs = expand_targets(settings)
    # Poll runs are labelled with who ran them, so that closing runs an earlier, killed scan
    # left 'running' never touches those of an agent polling into the same store right now.
    agent = f"scan@{settings.agent.name or socket.gethostname()}"
    store.close_abandoned_polls("the scan stopped before the poll finished", agent=agent)
    known = store.known_targets()
    rules = load_rules()

    async def go() -> SweepSummary:
        poller = Poller(settings, store, rules, agent_name=agent)
        spool = settings.state_dir / SPOOL_NAME
        if poller.pending.load(spool):  # results an earlier run could not write
            await keep_pending(poller, spool)
        try:
            if not progress:
                return await sweep(poller, jobs, known_targets=known)
            with Progress(
                TextColumn("[bold]scan"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[ok]} ok, {task.fields[failed]} failed"),
                TimeElapsedColumn(),
                transient=False,
            ) as bar:
                task = bar.add_task("scan", total=len(jobs), ok=0, failed=0)
                counts = {"ok": 0, "failed": 0}

                def tick(r: JobResult) -> None:
                    if r.ok:
                        counts["ok"] += 1
                    elif r.recorded:
                        counts["failed"] += 1
                    bar.update(task, advance=1, ok=counts["ok"], failed=counts["failed"])

                return await sweep(poller, jobs, tick, known_targets=known)
        finally:
            await keep_pending(poller, spool)
            poller.close()

    return asyncio.run(go())
