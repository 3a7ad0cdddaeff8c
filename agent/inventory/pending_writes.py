"""Poll results that could not be written because the database was away.

They wait in memory and are written, in order, as soon as the database answers again; at
shutdown whatever is still waiting is spooled to a JSON-lines file next to the configuration's
state and replayed at the next start. Nothing collected is lost to a database outage.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import StoreError
from agent.store import Store
from collectors.facts import Facts, facts_from_dict

log = logging.getLogger(__name__)

MAX_PENDING = 50_000


@dataclass
class PendingWrite:
    target: str
    protocol: str
    site: str | None
    tags: tuple[str, ...]
    started_at: datetime
    agent: str | None = None
    facts: Facts | None = None
    error_kind: str | None = None
    error: str | None = None
    exposures: list[dict[str, str]] | None = None
    run_id: int | None = None
    name: str | None = None  # the target's name in the configuration

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "target": self.target,
            "protocol": self.protocol,
            "site": self.site,
            "tags": list(self.tags),
            "started_at": self.started_at.isoformat(),
            "agent": self.agent,
            "error_kind": self.error_kind,
            "error": self.error,
            "exposures": self.exposures,
            "run_id": self.run_id,
            "name": self.name,
            "facts": asdict(self.facts) if self.facts is not None else None,
        }
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, line: str) -> PendingWrite:
        d = json.loads(line)
        return cls(
            target=d["target"],
            protocol=d["protocol"],
            site=d["site"],
            tags=tuple(d["tags"]),
            started_at=datetime.fromisoformat(d["started_at"]),
            agent=d.get("agent"),
            error_kind=d.get("error_kind"),
            error=d.get("error"),
            exposures=d.get("exposures"),
            run_id=d.get("run_id"),
            name=d.get("name"),
            facts=facts_from_dict(d["facts"]) if d.get("facts") else None,
        )


@dataclass
class PendingQueue:
    items: deque[PendingWrite] = field(default_factory=deque)
    dropped: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: PendingWrite) -> None:
        if len(self.items) >= MAX_PENDING:
            self.items.popleft()
            self.dropped += 1
            log.error("more than %d results wait for the database: dropped the oldest", MAX_PENDING)
        self.items.append(item)

    def flush(self, store: Store) -> int:
        """Write what waits, oldest first; stop at the first transient failure."""
        written = 0
        while self.items:
            item = self.items[0]
            try:
                write(store, item)
            except StoreError as exc:
                if exc.transient:
                    break
                log.error(
                    "a waiting result for %s could not be written and was dropped: %s",
                    item.target,
                    exc,
                )
            self.items.popleft()
            written += 1
        if written:
            log.info(
                "wrote %d results that waited for the database (%d still waiting)",
                written,
                len(self.items),
            )
        return written

    def spool(self, path: Path) -> int:
        if not self.items:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for item in self.items:
                fh.write(item.to_json() + "\n")
        count = len(self.items)
        self.items.clear()
        return count

    def load(self, path: Path) -> int:
        if not path.exists():
            return 0
        count = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    self.add(PendingWrite.from_json(line))
                    count += 1
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("skipped an unreadable spooled result in %s: %s", path, exc)
        path.unlink()
        return count


def write(store: Store, item: PendingWrite) -> None:
    run_id = item.run_id
    if run_id is None:
        run_id = store.start_poll(
            item.target, item.protocol, site=item.site, agent=item.agent, started_at=item.started_at
        )
        item.run_id = run_id
    if item.facts is not None:
        store.save_facts(
            item.facts,
            run_id=run_id,
            site=item.site,
            tags=item.tags,
            exposures=item.exposures,
            name=item.name,
        )
    else:
        kind = item.error_kind or "error"
        store.fail_poll(
            run_id,
            kind=kind,
            error=item.error or "",
            status="cancelled" if kind == "cancelled" else "failed",
        )
