"""Evidence the strategy rules read beyond an asset's own fields: idleness and constraints.

*Idle* is decided from what was observed, not only from an inventory's ``idle_days``: an asset is
idle when it has been idle for ``idle.days`` or more, or when its CPU is under
``idle.cpu_pct_below`` (for the device classes in ``idle.device_classes``); in both cases
nothing may use it beyond monitoring, backup and management (inbound links from shared
infrastructure or on ``idle.quiet_ports`` do not count).

*Constraints* pin an asset on premise or to a named place: a tag from the vocabulary
(``strategy.constraints.<name>.tags``), a port it listens on or talks on (serial-over-IP, SIP,
Modbus, DNP3, ...), or software by name (a dongle driver). Each constraint has a reason, and the
strategy rules name the constraints they act on (``when: {constraint: [...]}``). The vocabulary
is documented in ``config/planner/strategy.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field

from planner.fields import Note, Number, Pattern, Strict, Text, Texts, one_of
from planner.graphcore import EstateGraph, distinct
from planner.model import DEVICE_CLASSES, AssetInput
from planner.usage import util_basis

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class IdleRules:
    days: int = 90
    cpu_pct_below: float = 1.0
    device_classes: frozenset[str] = frozenset({"server", "appliance", "unknown"})
    quiet_ports: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Constraint:
    name: str
    reason: str
    tags: frozenset[str] = frozenset()
    ports: frozenset[int] = frozenset()
    software: re.Pattern[str] | None = None


class IdleFile(Strict):
    """``strategy.idle``: when an asset counts as idle."""

    days: int = Field(90, ge=1)
    cpu_pct_below: Number = Field(1.0, ge=0, le=100)
    device_classes: Annotated[Texts, AfterValidator(one_of(DEVICE_CLASSES))] = (
        "server",
        "appliance",
        "unknown",
    )
    quiet_ports: list[int] = Field(default_factory=list)
    notes: Note = None

    def build(self) -> IdleRules:
        return IdleRules(
            self.days,
            self.cpu_pct_below,
            frozenset(self.device_classes),
            frozenset(self.quiet_ports),
        )


class ConstraintFile(Strict):
    """``strategy.constraints.<name>``: what pins an asset, and why."""

    reason: Text
    tags: Texts = ()
    ports: list[int] = Field(default_factory=list)
    software: Pattern | None = None
    notes: Note = None

    def build(self, name: str) -> Constraint:
        return Constraint(
            name,
            self.reason,
            frozenset(_tag(t) for t in self.tags),
            frozenset(self.ports),
            self.software,
        )


def _tag(text: str) -> str:
    """Tags compare case-blind, with ``_``/space as ``-`` and licence/license as one word."""
    out = re.sub(r"[\s_]+", "-", text.strip().lower())
    return out.replace("license", "licence")


def asset_tags(asset: AssetInput) -> frozenset[str]:
    return frozenset(_tag(t) for t in asset.tags)


def business_callers(
    graph: EstateGraph, hubs: frozenset[str], quiet_ports: frozenset[int]
) -> IntArray:
    """Distinct callers per node that use it for business: not shared infrastructure calling
    in, not an outside peer, not on a monitoring, backup or management port."""
    n = graph.n
    hub = np.zeros(n, dtype=bool)
    hub[[graph.index[h] for h in sorted(hubs) if h in graph.index]] = True
    src, dst = graph.src, graph.dst
    keep = ~hub[src] & (src != dst)
    if quiet_ports:
        keep &= ~np.isin(graph.port, np.fromiter(sorted(quiet_ports), dtype=np.int64))
    pairs = distinct(dst[keep] * n + src[keep])
    return np.asarray(np.bincount(pairs // n, minlength=n), dtype=np.int64)


def idle_evidence(asset: AssetInput, callers: int, rules: IdleRules) -> str | None:
    """Why the asset is idle, or None when it is not (or nothing says so)."""
    if callers:
        return None
    quiet = "no inbound use beyond monitoring, backup and management"
    if asset.idle_days is not None and asset.idle_days >= rules.days:
        return f"idle for {asset.idle_days} days and {quiet}"
    cpu = asset.cpu_util_pct
    if cpu is not None and cpu < rules.cpu_pct_below and asset.device_class in rules.device_classes:
        basis = util_basis(asset.util_days, True)
        return f"CPU {cpu:g}% (under {rules.cpu_pct_below:g}%) and {quiet} ({basis})"
    return None


def constraint_ports(graph: EstateGraph, constraints: tuple[Constraint, ...]) -> list[set[int]]:
    """Per node, the constraint ports it listens on or talks on (either end of a link)."""
    out: list[set[int]] = [set() for _ in range(graph.n)]
    wanted = sorted({p for c in constraints for p in c.ports})
    if not wanted:
        return out
    for node, asset in enumerate(graph.assets):
        out[node].update(x.port for x in asset.listening if x.port in wanted)
    mask = np.isin(graph.port, np.asarray(wanted, dtype=np.int64))
    for a, b, p in zip(
        graph.src[mask].tolist(), graph.dst[mask].tolist(), graph.port[mask].tolist(), strict=True
    ):
        out[a].add(p)
        out[b].add(p)
    return out


def asset_constraints(
    asset: AssetInput, ports: set[int], constraints: tuple[Constraint, ...]
) -> tuple[tuple[str, str], ...]:
    """The constraints that hold for the asset, each with the fact that shows it."""
    tags = asset_tags(asset)
    found: list[tuple[str, str]] = []
    for c in constraints:
        facts = [f"tag {t!r}" for t in sorted(tags & c.tags)]
        facts += [f"port {p}" for p in sorted(ports & c.ports)]
        if c.software is not None:
            facts += [f"software {n!r}" for n, _ in asset.software if c.software.search(n)]
        if facts:
            found.append((c.name, f"{c.reason} ({', '.join(facts)})"))
    return tuple(found)


def build_constraints(data: Mapping[str, ConstraintFile]) -> tuple[Constraint, ...]:
    return tuple(data[name].build(name.lower()) for name in sorted(data))


def constraint_facts(found: tuple[tuple[str, str], ...], names: Any = None) -> str:
    """The reasons of the constraints found (only those in ``names`` when given)."""
    return "; ".join(why for name, why in found if names is None or name in names)
