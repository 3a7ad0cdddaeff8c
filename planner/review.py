"""Second looks at the strategy rules' choices, with facts a single asset does not hold.

:func:`keep_what_stays_needs`: infrastructure chosen for retirement (a storage array, a
hypervisor host) is decommissioned after what depends on it has moved; when something that
stays on premise still uses it (a server kept for a dongle on its datastore, a guest kept on
its host), it is kept, with the reason, and the check repeats through the chain (storage used
by a host that is now kept).

:func:`judge_at_move`: once the waves are dated, an asset to be rehosted as it is onto an OS
whose support ends before or during its wave is rebuilt instead (replatform).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import numpy as np
import numpy.typing as npt

from planner.graphcore import EstateGraph
from planner.lifecycle import SUPPORTED
from planner.strategy import StrategyChoice, StrategyRules
from planner.support import AssetSupport

KEPT_RULE = "kept-for-what-stays"
MOVE_DATE_RULE = "support-ends-by-move"


def users_of(
    graph: EstateGraph,
    hubs: frozenset[str],
    rules: StrategyRules,
    among: npt.NDArray[np.bool_] | None = None,
) -> dict[int, set[int]]:
    """Per node, the nodes that use it: business callers (not shared infrastructure, not on a
    monitoring, backup or management port) and the guests that run on it.

    ``among``: only the nodes marked there (a million links name few nodes that matter)."""
    n = graph.n
    hub = np.zeros(n, dtype=bool)
    hub[[graph.index[h] for h in sorted(hubs) if h in graph.index]] = True
    src, dst = graph.src, graph.dst
    keep = ~hub[src] & (src != dst)
    if among is not None:
        keep &= among[dst]
    quiet = rules.idle.quiet_ports
    if quiet:
        keep &= ~np.isin(graph.port, np.fromiter(sorted(quiet), dtype=np.int64))
    out: dict[int, set[int]] = {}
    for a, b in zip(src[keep].tolist(), dst[keep].tolist(), strict=True):
        out.setdefault(b, set()).add(a)
    for node, asset in enumerate(graph.assets):
        host = graph.index.get(asset.host or "")
        if host is not None and host != node and (among is None or among[host]):
            out.setdefault(host, set()).add(node)
    return out


def keep_what_stays_needs(
    graph: EstateGraph,
    choices: tuple[StrategyChoice, ...],
    rules: StrategyRules,
    hubs: frozenset[str] = frozenset(),
) -> tuple[StrategyChoice, ...]:
    """Retired assets still used by an asset that stays on premise are kept (see the module)."""
    # only what is retired can be kept, and nothing becomes retired here: the users of the
    # rest are never looked at
    retiring = np.fromiter((c.strategy == "retire" for c in choices), dtype=bool, count=graph.n)
    users = users_of(graph, hubs, rules, retiring)
    out = list(choices)
    changed = True
    while changed:
        changed = False
        for node in sorted(users):
            choice = out[node]
            if choice.strategy != "retire":
                continue
            staying = sorted(
                graph.assets[u].label
                for u in users[node]
                if out[u].strategy == "retain" and not graph.assets[u].external
            )
            if not staying:
                continue
            shown = ", ".join(staying[:5]) + (", ..." if len(staying) > 5 else "")
            why = (
                f"kept on premise: still used by {len(staying)} asset(s) that stay ({shown}); "
                f"decommission when they go (was: {choice.reasons[0]})"
            )
            out[node] = replace(choice, strategy="retain", rule=KEPT_RULE, reasons=(why,))
            changed = True
    return tuple(out)


def judge_at_move(
    choices: tuple[StrategyChoice, ...],
    support: tuple[AssetSupport, ...],
    moves: Mapping[str, tuple[int, date]],
) -> tuple[tuple[StrategyChoice, ...], int]:
    """Rehosts whose OS support ends by the end of their wave become replatforms.

    ``moves``: asset id -> (wave number, last day of the wave). Returns the choices and how many
    changed."""
    out = list(choices)
    changed = 0
    for node, choice in enumerate(choices):
        if choice.strategy != "rehost" or choice.asset_id not in moves:
            continue
        os_comp = support[node].component("os")
        if os_comp is None or os_comp.status != SUPPORTED or os_comp.ends is None:
            continue
        number, end = moves[choice.asset_id]
        if os_comp.ends > end:
            continue
        why = (
            f"{os_comp.subject} support ends {os_comp.ends}, by the end of its wave {number} "
            f"({end}): rebuild on a supported OS image instead of moving it as it is "
            f"(was: {choice.reasons[0]})"
        )
        out[node] = replace(
            choice,
            strategy="replatform",
            rule=MOVE_DATE_RULE,
            reasons=(why, f"OS: {os_comp.evidence}"),
        )
        changed += 1
    return tuple(out), changed
