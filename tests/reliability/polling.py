"""Poll through the agent's own Poller into a store, as the daemon does, from a test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from agent.configuration.config_file import Settings, parse_settings
from agent.inventory.polling import JobResult, Poller
from agent.inventory.targets import PollJob, expand_targets
from agent.store import Store
from agent.store import tables as m
from collectors.snmp.identify import IdentifyRules


def settings_from(cfg: dict[str, Any]) -> Settings:
    return parse_settings(cfg)


def only_job(settings: Settings) -> PollJob:
    [job] = expand_targets(settings)
    return job


def poll_once(settings: Settings, store: Store, rules: IdentifyRules) -> JobResult:
    return poll_steps(settings, store, rules, [None])[0]


def poll_steps(
    settings: Settings,
    store: Store,
    rules: IdentifyRules,
    between: list[Callable[[], Awaitable[None] | None] | None],
) -> list[JobResult]:
    """Poll the one configured target once per entry of ``between`` with one Poller (its
    caches, e.g. SNMP engine IDs, live on), running the entry first when it is not None."""
    job = only_job(settings)

    async def go() -> list[JobResult]:
        poller = Poller(settings, store, rules)
        results = []
        try:
            for step in between:
                if step is not None:
                    done = await asyncio.to_thread(step)
                    if done is not None:
                        await done
                results.append(await poller.poll(job))
        finally:
            poller.close()
        return results

    return asyncio.run(go())


def stored(store: Store) -> dict[str, list[str]]:
    """Everything stored about assets (not poll runs or events), comparable across polls."""
    from sqlmodel import select

    out: dict[str, list[str]] = {}
    with store.session() as s:
        for table in (
            m.Asset,
            m.AssetKey,
            m.Interface,
            m.AddressRow,
            m.SoftwareRow,
            m.StorageRow,
            m.HardwareRow,
            m.ListeningRow,
            m.ConnectionRow,
        ):
            out[table.__name__] = sorted(repr(r.model_dump()) for r in s.exec(select(table)).all())
    return out
