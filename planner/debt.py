"""Technical debt: a 0-100 score per asset, the weighted sum of explained factors.

Each factor is ``(name, weight, value, evidence)`` with value in [0, 1]; its ``points`` are
``100 x weight x value / sum of weights`` and the points add up to the score, so every number in
a ranking can be traced to a fact (a lifecycle date, an open telnet port, a manufacture date).
Weights and value scales are settings (``config/planner/debt.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.debt_settings import DebtSettings
from planner.factors import (
    count,
    exposure_value,
    hardware_age,
    hardware_support,
    runway,
    status_value,
    utilisation,
)
from planner.graphcore import EstateGraph, FloatArray, distinct, pagerank
from planner.model import AssetInput
from planner.support import AssetSupport


@dataclass(frozen=True, slots=True)
class DebtFactor:
    name: str
    weight: float
    value: float
    points: float
    evidence: str


@dataclass(frozen=True, slots=True)
class AssetDebt:
    asset_id: str
    score: float
    dependants: int
    factors: tuple[DebtFactor, ...]

    def factor(self, name: str) -> DebtFactor:
        return next(f for f in self.factors if f.name == name)


def rank_key(debt: AssetDebt, name: str) -> tuple[float, float, int, str, str]:
    """Order of a debt ranking: score, then criticality, then dependants, then name and id
    (never the order of a store's ids)."""
    return (-debt.score, -debt.factor("criticality").value, -debt.dependants, name, debt.asset_id)


@dataclass(frozen=True, slots=True)
class _GraphFacts:
    dependants: Any  # distinct dependants per node (hubs calling in do not count)
    rank_pct: Any  # PageRank percentile among assets with dependants
    alternative: Any  # share of in-links whose caller also uses another server on that port


def graph_facts(
    graph: EstateGraph, infrastructure: frozenset[str], backend: str = "igraph"
) -> _GraphFacts:
    n = graph.n
    hub = np.zeros(n, dtype=bool)
    for asset_id in infrastructure:
        if asset_id in graph.index:
            hub[graph.index[asset_id]] = True
    keep = ~hub[graph.src] & (graph.src != graph.dst)
    src, dst, port = graph.src[keep], graph.dst[keep], graph.port[keep]
    pairs = distinct(dst * n + src)
    dependants = np.bincount(pairs // n, minlength=n)
    ranks = pagerank(n, src, dst, np.ones(src.shape[0]), backend=backend)
    rank_pct = np.zeros(n)
    has = dependants > 0
    if has.any():
        rank_pct[has] = max_rank(ranks[has]) / has.sum()
    # a caller with two or more servers on the same port has an alternative (a redundant pair)
    span = np.int64(65538)
    trip = distinct((src * span + (port + 1)) * n + dst)  # distinct (caller, port, server)
    caller_port, server = trip // n, trip % n
    _, inverse, counts = np.unique(caller_port, return_inverse=True, return_counts=True)
    has_alt = counts[inverse] >= 2
    total = np.bincount(server, minlength=n)
    alt = np.bincount(server, weights=has_alt, minlength=n)
    alternative = np.divide(alt, total, out=np.zeros(n), where=total > 0)
    return _GraphFacts(dependants, rank_pct, alternative)


def max_rank(values: FloatArray) -> npt.NDArray[np.intp]:
    """1-based ranks, ties taking the highest rank of their group (``rankdata(method="max")``):
    how many values are at most each one. Values within a billionth (of the largest) of each
    other are ties: PageRank's sums round differently as the dependencies come in another
    order, and equal ranks must not part on that (found by the randomised property that a
    plan depends only on the estate, not on its order)."""
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    close = 1e-9 * float(np.max(np.abs(values)))
    return np.searchsorted(np.sort(values), values + close, side="right")


def score_debt(
    graph: EstateGraph,
    support: tuple[AssetSupport, ...],
    settings: DebtSettings,
    today: date,
    *,
    infrastructure: frozenset[str] = frozenset(),
    backend: str = "igraph",
) -> tuple[AssetDebt, ...]:
    """Debt per asset (sorted by id). ``infrastructure``: hub ids whose calls are not dependants;
    ``backend``: igraph (numpy PageRank) or networkx (the reference)."""
    facts = graph_facts(graph, infrastructure, backend)
    scorer = _Scorer(settings, today)
    dependants = facts.dependants.tolist()
    rank_pct = facts.rank_pct.tolist()
    alternative = facts.alternative.tolist()
    out = []
    for node, (asset, sup) in enumerate(zip(graph.assets, support, strict=True)):
        s = scorer.support_factors(sup)
        a = scorer.asset_factors(asset, sup)
        g = scorer.graph_factors(asset, dependants[node], rank_pct[node], alternative[node])
        ordered = (s[0], s[1], a[0], s[2], a[1], a[2], a[3], g[0], g[1])  # FACTORS order
        score = (
            s[0].points
            + s[1].points
            + a[0].points
            + s[2].points
            + a[1].points
            + a[2].points
            + a[3].points
            + g[0].points
            + g[1].points
        )
        out.append(AssetDebt(asset.id, round(score, 1), dependants[node], ordered))
    return tuple(out)


class _Scorer:
    """Builds factors, sharing identical ones: most assets repeat the same facts."""

    def __init__(self, settings: DebtSettings, today: date) -> None:
        self.s = settings
        self.today = today
        self.total = sum(settings.weights.values())
        self.factors: dict[tuple[str, float, str], DebtFactor] = {}
        self.by_support: dict[int, tuple[DebtFactor, ...]] = {}
        self.by_asset: dict[tuple[Any, ...], DebtFactor] = {}

    def factor(self, name: str, value: float, evidence: str) -> DebtFactor:
        key = (name, value, evidence)
        found = self.factors.get(key)
        if found is None:
            weight = self.s.weights.get(name, 0.0)
            points = round(100.0 * weight * value / self.total, 2)
            found = DebtFactor(name, weight, round(value, 3), points, evidence)
            self.factors[key] = found
        return found

    def support_factors(self, sup: AssetSupport) -> tuple[DebtFactor, ...]:
        key = id(sup.components)  # support shares component tuples between equal assets
        found = self.by_support.get(key)
        if found is not None:
            return found
        sv = self.s.status_values
        os_comp = sup.component("os")
        if os_comp is None:
            os_f = self.factor(
                "os_support", sv["unknown"], "no OS or firmware reported: support unknown"
            )
        else:
            value, how = status_value(os_comp.status, os_comp.days_remaining, self.s)
            os_f = self.factor("os_support", value, os_comp.evidence + how)
        software = [c for c in sup.components if c.component == "software"]
        if software:
            scored = [(status_value(c.status, c.days_remaining, self.s), c) for c in software]
            (value, how), worst = max(scored, key=lambda x: (x[0][0], x[1].subject))
            sw_f = self.factor("software_support", value, worst.evidence + how)
        else:
            sw_f = self.factor(
                "software_support", 0.0, "no major software with lifecycle data detected"
            )
        found = (os_f, sw_f, self.factor("support_runway", *runway(sup, self.s)))
        self.by_support[key] = found
        return found

    def asset_factors(self, asset: AssetInput, sup: AssetSupport) -> tuple[DebtFactor, ...]:
        s, today, cache = self.s, self.today, self.by_asset
        key: tuple[Any, ...] = ("hw", asset.virtual, id(sup.components), id(sup.hardware))
        hardware = cache.get(key)
        if hardware is None:
            hardware = cache[key] = self.factor(
                "hardware_support", *hardware_support(asset, sup, s, today)
            )
        key = (
            "age",
            asset.virtual,
            asset.manufactured,
            id(sup.hardware),
            asset.bios_date,
            asset.vendor,
            asset.serial,
            asset.first_seen,
        )
        age = cache.get(key)
        if age is None:
            age = cache[key] = self.factor("hardware_age", *hardware_age(asset, sup, s, today))
        key = ("exposure", asset.exposures)
        exposure = cache.get(key)
        if exposure is None:
            exposure = cache[key] = self.factor("insecure_exposure", *exposure_value(asset, s))
        key = ("util", asset.idle_days, asset.cpu_util_pct, asset.cpu_count, asset.util_days)
        util = cache.get(key)
        if util is None:
            util = cache[key] = self.factor("utilisation", *utilisation(asset, s))
        return hardware, age, exposure, util

    def graph_factors(
        self, asset: AssetInput, dependants: int, pct: float, alt: float
    ) -> tuple[DebtFactor, ...]:
        if not dependants and asset.criticality is None and asset.redundant is None:
            quiet = self.by_asset.get(("quiet",))
            if quiet is None:
                quiet = self.by_asset[("quiet",)] = self.factor(
                    "criticality", 0.0, "no dependants observed"
                )
            spof = self.by_asset.get(("quiet-spof",))
            if spof is None:
                spof = self.by_asset[("quiet-spof",)] = self.factor(
                    "single_point_of_failure", 0.0, "no dependants"
                )
            return quiet, spof
        s = self.s
        if asset.criticality is not None:
            value = (s.criticality_labels or {}).get(asset.criticality, 0.0)
            crit = self.factor("criticality", value, f"set to {asset.criticality} by override")
        elif dependants:
            crit = self.factor(
                "criticality",
                pct,
                f"{count(dependants, 'dependant')}; PageRank at "
                f"percentile {100 * pct:.0f} of assets with dependants",
            )
        else:
            crit = self.factor("criticality", 0.0, "no dependants observed")
        # a few hundred (override, dependants, share) cases among all assets: each worded once
        key = ("spof", asset.redundant, dependants, alt)
        spof = self.by_asset.get(key)
        if spof is None:
            spof = self.by_asset[key] = self._spof(asset.redundant, dependants, alt)
        return crit, spof

    def _spof(self, redundant: bool | None, dependants: int, alt: float) -> DebtFactor:
        s = self.s
        if redundant is not None:
            spof = self.factor(
                "single_point_of_failure",
                0.0 if redundant else 1.0,
                "redundant by override" if redundant else "single point of failure by override",
            )
        elif dependants >= s.spof_min_dependants and alt < s.spof_alternative_share:
            spof = self.factor(
                "single_point_of_failure",
                1.0,
                f"{count(dependants, 'dependant')} and only {100 * alt:.0f}% of its callers "
                "also use another server on the same port: no redundant peer seen",
            )
        elif dependants < s.spof_min_dependants:
            spof = self.factor(
                "single_point_of_failure", 0.0, f"only {count(dependants, 'dependant')}"
            )
        else:
            spof = self.factor(
                "single_point_of_failure",
                0.0,
                f"{100 * alt:.0f}% of callers also use another server on the same port",
            )
        return spof
