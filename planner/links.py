"""Hard and soft dependencies.

A hard dependency must move with, or after, what it depends on (latency- or location-bound: a
shared database, a file share, a message queue); a soft one can stretch across the hybrid link for
a while (DNS, NTP, directory, monitoring). The kind given in the input wins; then links touching
shared infrastructure, retained or external assets are soft; then ports decide (hard ports, soft
ports); then very chatty links are hard; the rest take the default kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field, model_validator

from planner.fields import Note, Number, Strict, Text, one_of, validated
from planner.graphcore import KIND_CODES, EstateGraph

REASONS = (
    "given in the input",
    "touches shared infrastructure",
    "touches an asset that stays on premise",
    "touches an outside peer",
    "hard port",
    "soft port",
    "chatty",
    "default",
    "cut to break a cycle",
    "runs on this host",
    "decommissioned after what uses it",
    "decommissioned after the virtual machines at its site (no guest list)",
)
R_INPUT, R_HUB, R_RETAINED, R_EXTERNAL, R_HARD_PORT, R_SOFT_PORT, R_CHATTY, R_DEFAULT = range(8)
R_CYCLE, R_RUNS_ON, R_AFTER_USERS, R_SITE_GUESTS = 8, 9, 10, 11


@dataclass(frozen=True, slots=True)
class LinkRules:
    hard_ports: frozenset[int] = frozenset()
    soft_ports: frozenset[int] = frozenset()
    chatty_count: int = 0  # 0: off
    default: str = "soft"
    hard_weight: float = 2.0
    soft_weight: float = 1.0
    weak_ports: frozenset[int] = frozenset()  # grouping weight at most weak_weight
    weak_weight: float = 0.1

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> LinkRules:
        return validated(LinkRulesFile, data, ("links",)).build()


class LinkRulesFile(Strict):
    """``groups.links`` in ``config/planner/groups.yaml``."""

    hard_ports: list[int] = Field(default_factory=list)
    soft_ports: list[int] = Field(default_factory=list)
    chatty_count: int = Field(0, ge=0)
    default: Annotated[Text, AfterValidator(one_of(("hard", "soft")))] = "soft"
    hard_weight: Number = Field(2.0, ge=0)
    soft_weight: Number = Field(1.0, ge=0)
    weak_ports: list[int] = Field(default_factory=list)
    weak_weight: Number = Field(0.1, ge=0)
    notes: Note = None

    @model_validator(mode="after")
    def _disjoint(self) -> LinkRulesFile:
        both = sorted(set(self.hard_ports) & set(self.soft_ports))
        if both:
            raise ValueError(f"ports {both} are listed as both hard and soft")
        return self

    def build(self) -> LinkRules:
        return LinkRules(
            hard_ports=frozenset(self.hard_ports),
            soft_ports=frozenset(self.soft_ports),
            chatty_count=self.chatty_count,
            default=self.default,
            hard_weight=self.hard_weight,
            soft_weight=self.soft_weight,
            weak_ports=frozenset(self.weak_ports),
            weak_weight=self.weak_weight,
        )


@dataclass(frozen=True, eq=False)
class LinkKinds:
    """Per dependency (estate order): hard or soft, and why (an index into :data:`REASONS`)."""

    hard: npt.NDArray[np.bool_]
    reason: npt.NDArray[np.int8]

    def describe(self, i: int) -> tuple[str, str]:
        return ("hard" if self.hard[i] else "soft"), REASONS[int(self.reason[i])]


def classify_links(
    graph: EstateGraph,
    rules: LinkRules,
    *,
    hubs: npt.NDArray[np.bool_],
    stays: npt.NDArray[np.bool_],
) -> LinkKinds:
    """Kind of every dependency; ``hubs`` and ``stays`` are per-node masks (stays: retained)."""
    m = graph.m
    src, dst, port = graph.src, graph.dst, graph.port
    external = np.fromiter((a.external for a in graph.assets), dtype=bool, count=graph.n)
    hard = np.full(m, rules.default == "hard")
    reason = np.full(m, R_DEFAULT, dtype=np.int8)
    decided = np.zeros(m, dtype=bool)

    def settle(
        mask: npt.NDArray[np.bool_], is_hard: bool | npt.NDArray[np.bool_], why: int
    ) -> None:
        todo = mask & ~decided
        hard[todo] = is_hard if isinstance(is_hard, bool) else is_hard[todo]
        reason[todo] = why
        decided[todo] = True

    given = graph.kind != KIND_CODES["unknown"]
    settle(given, graph.kind == KIND_CODES["hard"], R_INPUT)
    settle(hubs[src] | hubs[dst], False, R_HUB)
    settle(stays[src] | stays[dst], False, R_RETAINED)
    settle(external[src] | external[dst], False, R_EXTERNAL)
    if rules.hard_ports:
        settle(
            np.isin(port, np.fromiter(sorted(rules.hard_ports), dtype=np.int64)), True, R_HARD_PORT
        )
    if rules.soft_ports:
        settle(
            np.isin(port, np.fromiter(sorted(rules.soft_ports), dtype=np.int64)), False, R_SOFT_PORT
        )
    if rules.chatty_count:
        settle(graph.count >= rules.chatty_count, True, R_CHATTY)
    return LinkKinds(hard, reason)
