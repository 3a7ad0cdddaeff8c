"""Dependency rows of an import (CSV or JSON) as the planner's dependencies: rows for one
link (src, dst, port) are merged, as an export with one row per time slot gives them. A million
rows spell few ports, counts, days and kinds, so each distinct text is converted once; every
refusal still names its own row and column."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from planner.import_columns import Row, to_day, to_int
from planner.model import DEPENDENCY_KINDS, AssetInput, Dependency

_DEPENDENCY_FIELDS = (
    "src",
    "src_ip",
    "dst",
    "dst_ip",
    "port",
    "service",
    "process",
    "count",
    "first_seen",
    "last_seen",
    "kind",
)


def dependencies(rows: Iterable[Row], assets: tuple[AssetInput, ...]) -> tuple[Dependency, ...]:
    by_ip = {ip: a.id for a in assets for ip in a.addresses}
    merged: dict[tuple[str, str, int | None], Dependency] = {}
    shared: dict[str, str] = {}  # one copy of each name: a million rows name few servers
    # a million rows spell few ports, counts, days and kinds: each text converted once
    whole = _Converted(to_int, "a whole number")
    day = _Converted(to_day, "a date like 2026-04-01")
    kinds: dict[Any, str] = {}
    for row in rows:
        (src, src_ip, dst, dst_ip, port_text, service, process, count_text, first, last, kind) = (
            row.values(_DEPENDENCY_FIELDS)
        )
        src = _text(src) or by_ip.get(_text(src_ip) or "", _text(src_ip))
        dst = _text(dst) or by_ip.get(_text(dst_ip) or "", _text(dst_ip))
        if not src:
            raise row.fail("source", "needs a source server name or source IP")
        if not dst:
            raise row.fail("destination", "needs a destination server name or destination IP")
        port = whole(row, "port", port_text)
        if port is not None and not 0 < port < 65536:
            raise row.fail(row.get("port")[0], f"{port} is not a port number (1-65535)")
        count = whole(row, "count", count_text) or 1
        first_seen, last_seen = day(row, "first_seen", first), day(row, "last_seen", last)
        if isinstance(kind, str) and kind in kinds:
            kind = kinds[kind]
        elif kind is not None:
            found = row.choice("kind", DEPENDENCY_KINDS) or "unknown"
            if isinstance(kind, str):
                kinds[kind] = found
            kind = found
        dep = Dependency(
            src=shared.setdefault(src, src),
            dst=shared.setdefault(dst, dst),
            port=port,
            service=_shared(shared, _text(service)),
            process=_shared(shared, _text(process)),
            count=count,
            first_seen=first_seen,
            last_seen=last_seen,
            kind=kind or "unknown",
        )
        key = (dep.src, dep.dst, dep.port)
        old = merged.get(key)
        merged[key] = dep if old is None else _combine(old, dep)
    return tuple(merged[k] for k in merged)


def _text(value: Any) -> str | None:
    """A cell as :meth:`Row.text` gives it."""
    return value if value is None or isinstance(value, str) else str(value)


class _Converted:
    """A field's value converted as :meth:`Row.convert` converts it, each distinct text once
    (a failure is not kept: each row that has it is refused by its own row and column)."""

    __slots__ = ("expected", "how", "seen")
    KEEP = 100_000  # distinct texts remembered at most (values that hardly repeat)

    def __init__(self, how: Callable[[Any], Any], expected: str) -> None:
        self.how, self.expected = how, expected
        self.seen: dict[str, Any] = {}

    def __call__(self, row: Row, field: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str) and value in self.seen:
            return self.seen[value]
        try:
            found = self.how(value)
        except (ValueError, TypeError):
            raise row.fail(row.get(field)[0], f"{value!r} is not {self.expected}") from None
        if isinstance(value, str):
            if len(self.seen) >= self.KEEP:
                self.seen.clear()
            self.seen[value] = found
        return found


def _shared(shared: dict[str, str], text: str | None) -> str | None:
    return None if text is None else shared.setdefault(text, text)


def _combine(a: Dependency, b: Dependency) -> Dependency:
    """Rows for the same link (one per time slot, as exported) add up."""
    firsts = [d for d in (a.first_seen, b.first_seen) if d]
    lasts = [d for d in (a.last_seen, b.last_seen) if d]
    return Dependency(
        a.src,
        a.dst,
        a.port,
        a.service or b.service,
        a.process or b.process,
        a.count + b.count,
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        a.kind if a.kind != "unknown" else b.kind,
    )
