"""Properties of every plan, on random estates (hypothesis).

- every hard dependency points to the same or an earlier wave (cut links are listed);
- no wave exceeds its limits, mixes production with non-production, or overlaps a freeze;
- the plan is identical across runs and input orders, and the input is not changed;
- hubs do not glue the estate into one group.
"""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import AssetInput, Dependency, Estate, Lifecycle, Listener, Plan, Settings, plan
from planner.schedule import overlapped_freezes
from planner.settings import merge
from tests.planner.conftest import TODAY, default_mappings

OS = [
    ("Windows", "Server 2012 R2"),
    ("Windows", "Server 2019"),
    ("Ubuntu", "18.04"),
    ("Ubuntu", "22.04"),
    ("Red Hat Enterprise Linux", "6.10"),
    ("VMware ESXi", "6.7.0"),
    ("IOS-XE", "16.9.4"),
    (None, None),
]
CLASSES = ["server"] * 6 + ["hypervisor", "switch", "firewall", "ups", "storage"]
PORTS = [53, 389, 123, 443, 8080, 1433, 5432, 445, 5666, None]
ENVIRONMENTS = ["prod", "prod", "dev", "test", "unknown"]
HOOK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAPPINGS = default_mappings()
TIGHT = Settings.from_mapping(
    merge(
        MAPPINGS,
        {
            "groups": {"max_group_size": 3},
            "waves": {"ramp": [2, 3], "max_assets": 4, "team_days_per_week": 2, "max_risk": 150},
        },
    )
)
DEFAULT = Settings.from_mapping(MAPPINGS)


@st.composite
def estates(draw: st.DrawFn) -> Estate:
    n = draw(st.integers(min_value=1, max_value=24))
    ids = [f"a{i:02d}" for i in range(n)]
    assets = []
    for i, asset_id in enumerate(ids):
        os_name, os_version = draw(st.sampled_from(OS))
        klass = draw(st.sampled_from(CLASSES))
        assets.append(
            AssetInput(
                asset_id,
                name=draw(st.sampled_from([asset_id, f"dns{i}", f"dc{i}", f"mon{i}"])),
                environment=draw(st.sampled_from(ENVIRONMENTS)),
                device_class=klass,
                os_name=os_name,
                os_version=os_version,
                application=draw(st.sampled_from([None, None, "alpha", "beta", "gamma"])),
                idle_days=draw(st.sampled_from([None, None, 200])),
                virtual=draw(st.booleans()),
                host=draw(st.sampled_from([None, *ids[:3]])),
                listening=tuple(
                    Listener(p)
                    for p in draw(
                        st.lists(st.sampled_from([53, 1433, 445]), max_size=2, unique=True)
                    )
                ),
                hub=draw(st.sampled_from([None, None, None, True, False])),
                cpu_count=draw(st.sampled_from([None, 2, 8])),
            )
        )
    m = draw(st.integers(min_value=0, max_value=4 * n))
    deps = []
    for _ in range(m):
        src, dst = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        deps.append(
            Dependency(
                src,
                dst,
                draw(st.sampled_from(PORTS)),
                kind=draw(st.sampled_from(["unknown"] * 4 + ["hard", "soft"])),
                count=draw(st.integers(min_value=1, max_value=50)),
            )
        )
    return Estate(tuple(assets), tuple(deps))


def wave_of(result: Plan) -> dict[str, int | None]:
    return {a.asset_id: a.wave for a in result.assets}


def retired(result: Plan, asset_id: str) -> bool:
    return result.asset(asset_id).strategy.strategy == "retire"


def check_dependencies(estate: Estate, result: Plan) -> None:
    wave = wave_of(result)
    groups = result.groups
    links = {(x.src, x.dst): x for x in groups.links}
    for i, dep in enumerate(estate.dependencies):
        gs, gd = groups.group_of.get(dep.src), groups.group_of.get(dep.dst)
        if gs is None or gd is None or gs == gd:
            assert gs is None or gd is None or wave[dep.src] == wave[dep.dst]
            continue
        if gd == "landing-zone":
            assert wave[dep.dst] == 0 <= (wave[dep.src] or 0)
            continue
        if gs == "landing-zone":
            continue  # shared infrastructure calling out (monitoring): soft by rule
        if retired(result, dep.dst) and not retired(result, dep.src):
            back = links[(gd, gs)]  # what is retired goes after what uses it
            if back.kind == "hard":
                assert wave[dep.dst] >= wave[dep.src], f"{dep.dst} is retired before its user"  # type: ignore[operator]
            continue
        link = links[(gs, gd)]
        hard = bool(groups.kinds.hard[i])
        if hard:
            assert link.hard >= 1
        if link.kind == "hard":
            assert wave[dep.dst] <= wave[dep.src], f"{dep} goes to a later wave"  # type: ignore[operator]
        elif hard:
            assert link.cut, f"{dep} is hard but its group link is soft without a cut"
    for asset in estate.assets:  # a hypervisor retires after its guests
        pair = (groups.group_of.get(asset.host or ""), groups.group_of.get(asset.id))
        if None not in pair and "landing-zone" not in pair and pair[0] != pair[1]:
            link = links[pair]  # type: ignore[index]
            host = asset.host or ""
            if link.kind == "hard":
                assert wave[host] >= wave[asset.id]  # type: ignore[operator]


def check_waves(result: Plan, config: Settings) -> None:
    env = {a.asset_id: a for a in result.assets}
    seen: set[str] = set()
    previous_end = None
    for outcome in result.waves:
        w = outcome.wave
        assert len(w.assets) <= w.limit_assets <= max(config.waves.max_assets, len(w.assets))
        assert w.risk <= w.limit_risk and w.effort_days <= w.limit_effort_days + 1e-9
        assert not (set(w.assets) & seen), "an asset is in one wave only"
        seen |= set(w.assets)
        if previous_end is not None:
            assert w.start > previous_end
        previous_end = w.end
        overlapped = set(overlapped_freezes(w.reasons))
        if overlapped:  # only a wave longer than every gap between the freezes, and it says so
            assert any(f"wave {w.number} (" in x for x in result.warnings)
            assert w.number == 0 or any(r.startswith("stretched to ") for r in w.reasons)
        for fw in config.waves.freeze_windows:
            for start, end in fw.spans(w.start.year - 1, w.end.year):
                clear = w.end < start or w.start > end
                assert clear or fw.name in overlapped, f"wave {w.number} overlaps {fw.name}"
        if w.number > 0:
            kinds = {result.groups.group(g).environment for g in w.groups}
            assert len(kinds) == 1, "production and non-production never share a wave"
    moving = {a for a, x in env.items() if x.group is not None}
    assert seen == moving, "every grouped asset is in exactly one wave"


@HOOK
@given(estates())
def test_plans_keep_their_promises(estate: Estate) -> None:
    for config in (DEFAULT, TIGHT):
        result = plan(estate, config, TODAY, CATALOGUE)
        check_dependencies(estate, result)
        check_waves(result, config)
        for g in result.groups.groups:  # above the maximum only with no weak cut, said so
            whole = "no weak cut: kept whole" in g.reason
            assert len(g.assets) <= config.groups.max_group_size or g.id == "landing-zone" or whole


@HOOK
@given(estates(), st.randoms(use_true_random=False))
def test_same_input_same_plan_and_input_untouched(estate: Estate, rnd: Any) -> None:
    frozen = pickle.dumps(estate)
    deep = copy.deepcopy(estate)
    first = json.dumps(plan(estate, TIGHT, TODAY, CATALOGUE).to_dict(), sort_keys=True)
    assert pickle.dumps(estate) == frozen and estate == deep, "the input was changed"
    assets, deps = list(estate.assets), list(estate.dependencies)
    rnd.shuffle(assets)
    rnd.shuffle(deps)
    again = json.dumps(
        plan(Estate(tuple(assets), tuple(deps)), TIGHT, TODAY, CATALOGUE).to_dict(), sort_keys=True
    )
    assert first == again, "the plan depends only on the estate, not on its order"


@HOOK
@given(
    st.integers(min_value=2, max_value=8),
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=1, max_value=3),
    st.booleans(),
)
def test_hubs_do_not_glue_the_estate(apps: int, size: int, dns: int, labelled: bool) -> None:
    assets = [AssetInput(f"ns{d}", name=f"ns{d}", listening=(Listener(53),)) for d in range(dns)]
    assets.append(AssetInput("mon1", name="mon1"))
    deps = []
    for a in range(apps):
        ids = [f"app{a}-{i}" for i in range(size)]
        assets += [AssetInput(x, application=f"app{a}" if labelled else None) for x in ids]
        deps += [Dependency(ids[i], ids[(i + 1) % size], 8080) for i in range(size)]
        deps += [Dependency(x, f"ns{d}", 53) for x in ids for d in range(dns)]
        deps += [Dependency("mon1", x, 5666) for x in ids]
    result = plan(Estate(tuple(assets), tuple(deps)), DEFAULT, TODAY, CATALOGUE)
    groups = [g for g in result.groups.groups if g.id != "landing-zone"]
    assert len(groups) == apps, "one group per application, however many hubs touch them"
    assert all(len({x.split("-")[0] for x in g.assets}) == 1 for g in groups)


def _catalogue() -> Lifecycle:
    from planner import catalogue_from_mapping
    from tests.planner.conftest import load_yaml

    return catalogue_from_mapping(load_yaml("lifecycle", "catalogue.yaml"))


CATALOGUE = _catalogue()
