"""From the store to the planner's input: the Estate, the planner settings and the lifecycle
facts, read with the store's database driver itself (plain SQL, no ORM object per row).

Nothing here imports SQLAlchemy: on an SQLite file already at the current schema a command that
only reads the estate (``cloudward lifecycle gaps``, ``cloudward hubs``) starts without it, as
:meth:`agent.store.Store.open` documents."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

import planner
import planner.model
from agent.errors import ConfigError
from agent.store import Store, jsontext
from agent.store.database import json_value, utc
from agent.store.link_kinds import HOSTS
from collectors.datadir import data_path, load_yaml
from collectors.facts import ENDPOINT
from planner.usage import Rollup, window_figure

if TYPE_CHECKING:
    from agent.bridge.apart import Apart
    from planner.strategy import StrategyRule, StrategyRules

log = logging.getLogger(__name__)

VIRTUAL_HINTS = (
    "vmware",
    "qemu",
    "kvm",
    "virtual machine",
    "hyper-v",
    "virtualbox",
    "xen",
    "bochs",
    "openstack",
    "ovirt",
)
ENV_TAGS = {
    "prod": "prod",
    "production": "prod",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "uat": "test",
    "staging": "staging",
    "dr": "dr",
}
USAGE_WINDOW_DAYS = 90  # right-sizing window when none is given (sampling.daily_retention_days)


def read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: not found (is the config/ folder installed?)"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None


def _settings_layers(
    overrides: Path | None, sections: Sequence[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The shipped YAML of the planner's settings (of ``sections`` alone, when given), then a
    user's overrides, each by the file it came from."""
    layers: list[tuple[str, dict[str, Any]]] = []
    for section, parts in planner.SETTINGS_FILES.items():
        if sections is not None and section not in sections:
            continue
        path = data_path(*parts)
        if section == "hardware" and not path.exists():
            continue
        layers.append((_shown(path), {section: read_yaml(path)}))
    if overrides is not None:
        extra = read_yaml(overrides) or {}
        if not isinstance(extra, dict):
            raise ConfigError([f"{overrides}: expected a mapping of planner sections"])
        layers.append((str(overrides), extra))
    return layers


def load_planner_settings(overrides: Path | None = None) -> planner.Settings:
    """The shipped YAML under config/, with a user's overrides deep-merged on top; a problem
    names the file that gave the key it is about."""
    layers = _settings_layers(overrides)
    try:
        return endpoints_stay(planner.Settings.from_layers(layers))
    except planner.SettingsError as exc:
        raise ConfigError(exc.problems, "planner settings") from None


def load_planner_sections(names: Sequence[str], overrides: Path | None = None) -> dict[str, Any]:
    """Only these sections of the planner settings (``hubs``, ``matching``, ...), by name, each
    as :func:`load_planner_settings` gives it: for a command that reads one part of the
    settings, without reading, checking or importing the rest (what ``overrides`` holds of
    other sections is not checked either)."""
    layers = _settings_layers(overrides, names)
    try:
        found = planner.sections_from_layers(names, layers)
    except planner.SettingsError as exc:
        raise ConfigError(exc.problems, "planner settings") from None
    if "strategy" in found:
        found["strategy"] = _endpoint_first(found["strategy"])
    return found


@functools.cache
def endpoint_rule() -> StrategyRule:
    """Endpoints (PCs, phones, printers seen on switch ports) are inventory, never migration
    candidates: this rule comes before every other, whatever the settings say, as external
    peers come before theirs; they are counted as assets, but kept out of move groups and
    waves."""
    from planner.strategy import StrategyRule

    return StrategyRule(
        name="endpoint-not-a-candidate",
        strategy="retain",
        when={"device_class": frozenset({ENDPOINT})},
        reason="endpoint (a user device seen on a switch port): not a migration candidate",
    )


def endpoints_stay(settings: planner.Settings) -> planner.Settings:
    """``settings`` with :func:`endpoint_rule` first among the strategy rules."""
    strategy = _endpoint_first(settings.strategy)
    if strategy is settings.strategy:
        return settings
    return dataclasses.replace(settings, strategy=strategy)


def _endpoint_first(strategy: StrategyRules) -> StrategyRules:
    """``strategy`` with :func:`endpoint_rule` first among its rules (itself when it is)."""
    rules = strategy.rules
    if rules and rules[0] == endpoint_rule():
        return strategy
    return dataclasses.replace(strategy, rules=(endpoint_rule(), *rules))


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it (config/planner/...)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (OSError, ValueError):
        return str(path)


def load_lifecycle(store: Store | None = None) -> planner.Lifecycle:
    """The built-in catalogue, overlaid with products synced from endoflife.date (if any)."""
    base = planner.catalogue_from_mapping(read_yaml(data_path(*planner.CATALOGUE_FILE)))
    if store is None:
        return base
    synced = []
    for name, source, body in store.rows(
        "SELECT name, source, body FROM cw_lifecycle_product ORDER BY name"
    ):
        try:
            synced.append(planner.parse_product(json.loads(body), source=source))
        except (ValueError, planner.LifecycleDataError) as exc:
            log.warning(
                "cached lifecycle data for %s is unusable (%s); using the catalogue", name, exc
            )
    return base.merged(synced)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # its UTC day (a driver may give the session's zone)
        return (value if value.utcoffset() is None else value.astimezone(UTC)).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# What planning reads of an asset and of a dependency: plain columns, no ORM object per row.
_ASSET_COLUMNS = (
    "id",
    "name",
    "tags",
    "vendor",
    "model",
    "exposures",
    "planning",
    "device_class",
    "site",
    "serial",
    "os_name",
    "os_version",
    "firmware",
    "cpu_count",
    "memory_bytes",
    "disk_bytes",
    "cpu_pct",
    "mem_pct",
    "first_seen",
    "manufacture_date",
    "bios_date",
)
_JSON_COLUMNS = frozenset({"tags", "exposures", "planning"})
# an asset's columns by name, as a tuple: read a hundred thousand times each, faster than a
# SQLAlchemy row's
_AssetColumns = collections.namedtuple("_AssetColumns", _ASSET_COLUMNS)  # type: ignore[misc]


def _fetch(driver: Any, query: str) -> list[Any]:
    """``query``'s rows as the driver gives them."""
    cursor = driver.execute(query)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


_DEPENDENCY_COLUMNS = (
    "src_asset_id",
    "dst_asset_id",
    "src_key",
    "dst_key",
    "src_address",
    "dst_address",
    "port",
    "service",
    "process",
    "count",
    "first_seen",
    "last_seen",
)
_BATCH = 20_000  # dependency rows fetched at a time (PostgreSQL: a server-side cursor)


def _days() -> tuple[dict[Any, date | None], Callable[[Any], date | None]]:
    """:func:`_day`, giving the same ``date`` object for every stored time of one day, and
    its memo by stored value (a million rows share few times: a caller looks there first)."""
    seen: dict[date, date] = {}
    known: dict[Any, date | None] = {}

    def day(value: Any) -> date | None:
        if value in known:
            return known[value]
        found = _day(value)
        if len(known) >= 100_000:  # times that hardly repeat: keep the look-up small
            known.clear()
        known[value] = found = None if found is None else seen.setdefault(found, found)
        return found

    return known, day


def estate_from_store(
    store: Store,
    today: date | None = None,
    window_days: int = USAGE_WINDOW_DAYS,
    *,
    dependencies: bool = True,
) -> planner.Estate:
    """Every active asset (not one replaced by another box) and the dependencies between them
    as the planner's frozen input; a virtual machine's ``host`` is the hypervisor that its
    stored ``hosts`` link names, else the one its import's hint names. Without
    ``dependencies``, the assets alone (no dependency, no external peer): what reading the
    assets' own facts needs, seconds sooner at a million dependencies.

    CPU and memory utilisation are the p95 over the stored daily rollups of the last
    ``window_days`` up to ``today`` (default: each asset's newest rollup day), with the number
    of days in ``util_days``; an asset without rollups keeps its last poll's figures."""
    _, day = _days()
    with store.driver() as (dialect, driver):
        # the dependencies (most of a large estate's rows) are read in a forked child while
        # the assets are read here, where that pays (agent.bridge.apart says where it can);
        # this process reads the newest of them (ids past ``split``) once its assets are made
        split = _split(driver) if dependencies else None
        with _apart(store, split) as reading:
            usage = _usage_figures(driver, today, window_days)
            # JSON columns as text on PostgreSQL too: each distinct text is decoded once (_memo)
            as_text = "{0}::text AS {0}" if dialect == "postgresql" else "{0}"
            columns = [as_text.format(c) if c in _JSON_COLUMNS else c for c in _ASSET_COLUMNS]
            assets: list[Any] = list(
                map(
                    _AssetColumns._make,
                    _fetch(
                        driver,
                        f"SELECT {', '.join(columns)} FROM cw_asset WHERE status = 'active' "
                        "ORDER BY id",
                    ),
                )
            )
            # replaced: history, neither planned nor a dependency's end
            gone = {r[0] for r in _fetch(driver, _REPLACED)}
            placed = {  # guest -> the hypervisor that hosts it (agent.store.placement.hosted_on)
                dst: src
                for src, dst in _fetch(
                    driver,
                    f"SELECT src_asset_id, dst_asset_id FROM cw_asset_link WHERE kind = '{HOSTS}' "
                    "ORDER BY id",
                )
            }
            addresses: dict[int, list[str]] = {}
            for aid, addr in _fetch(driver, "SELECT asset_id, address FROM cw_address"):
                addresses.setdefault(aid, []).append(addr)
            software: dict[int, set[tuple[str, str | None]]] = {}
            for aid, name, version in _fetch(
                driver, "SELECT asset_id, name, version FROM cw_software"
            ):
                software.setdefault(aid, set()).add((name, version))
            listening: dict[int, set[tuple[int, str, str | None]]] = {}
            for aid, port, proto, proc in _fetch(
                driver, "SELECT asset_id, port, proto, process FROM cw_listening"
            ):
                listening.setdefault(aid, set()).add((port, proto, proc))
            ids = {a.id: str(a.id) for a in assets}  # as the planner knows them: one string each
            edges: list[planner.model.DependencyRow] = []
            externals: dict[str, planner.AssetInput] = {}
            forked = reading is not None and reading.forked
            if dependencies and not forked:  # all of them, here
                edges, externals = _edges(dialect, driver, ids, gone)
            from agent.inventory.dependencies import service_names

            names = service_names()
            hosts = {a.name.lower(): str(a.id) for a in assets}
            inputs = []
            # tags, exposures, planning hints and make/model repeat across assets: each distinct
            # stored value is read once (SQLite gives JSON as text; PostgreSQL's decoded lists are
            # looked up by their text)
            read_tags, read_exposures, read_hints = (
                _memo(_tag_facts),
                _memo(_exposures),
                _memo(lambda stored: _planning_hints(json_value(stored) or {}, hosts)),
            )
            virtual_hint = _memo(_virtual_hint)
            for a in assets:
                tags, env, app, crit = read_tags(a.tags)
                exposures = read_exposures(a.exposures)
                if 23 in {p for p, proto, _ in listening.get(a.id, ()) if proto == "tcp"}:
                    exposures = (planner.Exposure("telnet", "TCP port 23 is listening"), *exposures)
                hints = dict(read_hints(a.planning))  # a copy: set below for this asset alone
                if a.device_class == ENDPOINT:
                    hints["hub"] = False  # never set aside as shared infrastructure into wave 0
                if placed.get(a.id) is not None and placed[a.id] not in gone:
                    hints["host"] = str(placed[a.id])
                    hints.setdefault("virtual", True)  # a hypervisor lists it: a virtual machine
                fields: dict[str, Any] = {
                    "id": ids[a.id],
                    "name": a.name,
                    "addresses": tuple(sorted(addresses.get(a.id, ()))),
                    "site": a.site,
                    "environment": env,
                    "device_class": a.device_class
                    if a.device_class in planner.model.DEVICE_CLASSES
                    else "unknown",
                    "vendor": None if a.vendor == "unknown" else a.vendor,
                    "model": a.model,
                    "serial": a.serial,
                    "os_name": a.os_name,
                    "os_version": a.os_version,
                    "firmware": a.firmware,
                    "software": tuple(sorted(software.get(a.id, ()), key=_software_order)),
                    "cpu_count": a.cpu_count,
                    "memory_bytes": a.memory_bytes,
                    "disk_bytes": a.disk_bytes,
                    "cpu_util_pct": a.cpu_pct,
                    "memory_util_pct": a.mem_pct,
                    "listening": tuple(
                        planner.Listener(p, proto, names.get(p), proc)
                        for p, proto, proc in sorted(listening.get(a.id, ()), key=_listener_order)
                    ),
                    "exposures": exposures,
                    "first_seen": day(a.first_seen),
                    "manufactured": day(a.manufacture_date),
                    "bios_date": day(a.bios_date),
                    "application": app,
                    "tags": tags,
                    "criticality": crit,
                    "virtual": virtual_hint((a.vendor, a.model)),
                }
                used = usage.get(a.id)
                if used:
                    fields.update(used)  # sampled history over the single poll
                fields.update(hints)
                inputs.append(planner.AssetInput(**fields))
            # the child's result is asked for last: it reads while the assets are made here
            if reading is not None and forked:
                newest, newest_externals = _edges(dialect, driver, ids, gone, after=split)
                active, edges, externals = reading.result()
                if active == tuple(ids):
                    edges.extend(newest)  # in the order of their ids, as read here
                    externals.update(newest_externals)
                else:  # assets changed between the two reads: all of them read here
                    edges, externals = _edges(dialect, driver, ids, gone)
    all_assets = tuple(inputs) + tuple(externals[k] for k in sorted(externals))
    return planner.Estate(assets=all_assets, dependencies=planner.DependencyRows(edges))


# Dependency rows (by their ids' span) from which a child reads them: below it the fork and
# handing the rows back cost more than reading them alongside the assets saves.
READ_APART_FROM = 20_000
# What reading costs, relative to one another (measured with `bench plancli` at 100,000
# assets): making an asset's input here, reading a dependency in the child and handing it
# back, and reading one here. The child's share is chosen so both processes end together.
_ASSET_COST, _CHILD_ROW_COST, _ROW_COST = 52.0, 7.7, 6.3
# replaced assets: history, neither planned nor a dependency's end (the command and the
# child reading dependencies each read them)
_REPLACED = "SELECT id FROM cw_asset WHERE status != 'active'"
_SPANS = (
    "SELECT (SELECT min(id) FROM cw_dependency), (SELECT max(id) FROM cw_dependency), "
    "(SELECT max(id) FROM cw_asset)"
)


def _apart(store: Store, split: int | None) -> AbstractContextManager[Apart[_EdgesRead] | None]:
    """The dependencies up to ``split`` read in a forked child (agent.bridge.apart, imported
    only then: a command reading a small estate starts without it), or nothing to wait for."""
    if split is None:
        return contextlib.nullcontext()
    from agent.bridge.apart import apart

    return apart(functools.partial(_edges_apart, store, os.getpid(), split))


def _split(driver: Any) -> int | None:
    """The id of the newest dependency a child reads (this process reads the ones after
    it), or None when there are too few to read apart. Ids stand in for counts: rows removed
    leave gaps, which only shift the balance."""
    first, last, assets = _fetch(driver, _SPANS)[0]
    if first is None or last is None:
        return None
    rows: int = last - first + 1
    if rows < READ_APART_FROM:
        return None
    # the child's rows r and this process's: r * child = assets * asset + (rows - r) * here
    child = (rows * _ROW_COST + (assets or 0) * _ASSET_COST) / (_CHILD_ROW_COST + _ROW_COST)
    return int(first) - 1 + max(rows // 2, min(rows, int(child)))


_EdgesRead = tuple[
    tuple[int, ...], list[planner.model.DependencyRow], dict[str, planner.AssetInput]
]


def _edges_apart(store: Store, parent: int, upto: int | None = None) -> _EdgesRead:
    """What :func:`_edges` gives (of the dependencies with ids up to ``upto``, when given), on
    a connection of its own (in a forked child: ``parent`` is not this process), with the ids
    of the active assets it took as stored: the caller reads the dependencies itself when its
    own assets differ (a write between the reads)."""
    if os.getpid() != parent:
        store.in_forked_child()
    with store.driver() as (dialect, driver):
        ids = {
            r[0]: str(r[0])
            for r in _fetch(driver, "SELECT id FROM cw_asset WHERE status = 'active' ORDER BY id")
        }
        gone = {r[0] for r in _fetch(driver, _REPLACED)}
        edges, externals = _edges(dialect, driver, ids, gone, upto=upto)
    return tuple(ids), edges, externals


def _edges(
    dialect: str,
    driver: Any,
    ids: Mapping[int, str],
    gone: set[int],
    *,
    after: int | None = None,
    upto: int | None = None,
) -> tuple[list[planner.model.DependencyRow], dict[str, planner.AssetInput]]:
    """Every stored dependency (with an id past ``after`` and up to ``upto``, where given)
    between active assets (``ids``: each one's id as the planner knows it) or external peers,
    as the planner's rows by id, and those external peers by id. A dependency with an end in
    ``gone`` (replaced assets: history) is left out."""
    days, day = _days()
    known = set(ids.values())
    externals: dict[str, planner.AssetInput] = {}
    edges: list[planner.model.DependencyRow] = []
    # one object for each distinct port, service, process and external key: a million
    # edges name a few (``keep(v, v)``: v, or the equal value kept first)
    kept: dict[Any, Any] = {}
    keep = kept.setdefault

    def end(asset_id: int | None, key: str, address: str | None) -> str:
        """A dependency's end that is not an active stored asset: an external peer."""
        node = str(asset_id) if asset_id is not None else keep(key, key)
        if node not in known and node not in externals:
            externals[node] = _external(node, address)
        return node

    add, day_of, id_of = edges.append, days.get, ids.get
    for (
        src_id,
        dst_id,
        src_key,
        dst_key,
        src_address,
        dst_address,
        port,
        service,
        process,
        count,
        first_seen,
        last_seen,
    ) in _dependency_rows(dialect, driver, after, upto):
        if gone and (src_id in gone or dst_id in gone):
            continue
        src = id_of(src_id)  # the common case: both ends are stored assets
        if src is None:
            src = end(src_id, src_key, src_address)
        dst = id_of(dst_id)
        if dst is None:
            dst = end(dst_id, dst_key, dst_address)
        add(  # a Dependency's fields by position, as planner.DependencyRows keeps them
            (
                src,
                dst,
                keep(port, port),
                keep(service, service),
                keep(process, process),
                count if count > 1 else 1,
                day_of(first_seen) or day(first_seen),
                day_of(last_seen) or day(last_seen),
                "unknown",
            )
        )
    return edges, externals


def _memo(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``read`` of a stored value, once for each distinct one (an unhashable value, such as a
    list PostgreSQL's driver decoded, by its JSON text)."""
    seen: dict[Any, Any] = {}

    def once(stored: Any) -> Any:
        key = (
            stored
            if stored is None or isinstance(stored, str | bytes | tuple)
            else (jsontext.dumps(stored, sort_keys=True))
        )
        if key not in seen:
            seen[key] = read(stored)
        return seen[key]

    return once


def _tag_facts(stored: Any) -> tuple[tuple[str, ...], str, str | None, str | None]:
    """An asset's stored tags, and the environment, application and criticality they name."""
    tags = tuple(json_value(stored) or ())
    env = next((ENV_TAGS[t.lower()] for t in tags if t.lower() in ENV_TAGS), "unknown")
    app = next((t.split(":", 1)[1] for t in tags if t.lower().startswith("app:")), None)
    crit = next(
        (t.split(":", 1)[1].lower() for t in tags if t.lower().startswith("criticality:")), None
    )
    return tags, env, app, crit


def _exposures(stored: Any) -> tuple[planner.Exposure, ...]:
    """An asset's stored exposures of the kinds the planner knows."""
    return tuple(
        planner.Exposure(str(e["kind"]), str(e.get("detail") or ""))
        for e in json_value(stored) or ()
        if e.get("kind") in planner.model.EXPOSURE_KINDS
    )


def _virtual_hint(make: tuple[str | None, str | None]) -> bool | None:
    """True when an asset's vendor and model name a hypervisor's virtual hardware."""
    hint = f"{make[0]} {make[1] or ''}".lower()
    return True if any(h in hint for h in VIRTUAL_HINTS) else None


def _software_order(item: tuple[str, str | None]) -> tuple[str, str]:
    return item[0], item[1] or ""


def _listener_order(item: tuple[int, str, str | None]) -> tuple[int, str, str]:
    return item[0], item[1], item[2] or ""


def _dependency_rows(
    dialect: str, driver: Any, after: int | None = None, upto: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every stored dependency row (with an id past ``after`` and up to ``upto``, where given;
    the columns of ``_DEPENDENCY_COLUMNS``) by id, streamed
    through the driver's own cursor: a million rows with no per-row work beyond the driver's.
    Of each time only its UTC day: SQLite's stored UTC text cut to the date (a few distinct
    texts however varied the times, each parsed once), PostgreSQL's date itself (a server-side
    cursor, a batch at a time). An end's key and address are read only where the end is not a
    stored asset (NULL otherwise): the estate names a stored asset by its id."""
    day = "substr({0}, 1, 10)" if dialect == "sqlite" else "CAST({0} AT TIME ZONE 'UTC' AS DATE)"
    # an end's key and address only where it is not a stored asset (else NULL: no text made)
    external = "CASE WHEN {0}_asset_id IS NULL THEN {0}_{1} END"
    named = {
        "first_seen": day.format("first_seen"),
        "last_seen": day.format("last_seen"),
        **{f"{e}_{c}": external.format(e, c) for e in ("src", "dst") for c in ("key", "address")},
    }
    names = [named.get(c, c) for c in _DEPENDENCY_COLUMNS]
    span = [f"id > {int(after)}"] if after is not None else []
    span += [f"id <= {int(upto)}"] if upto is not None else []
    where = f" WHERE {' AND '.join(span)}" if span else ""
    query = f"SELECT {', '.join(names)} FROM cw_dependency{where} ORDER BY id"
    if dialect == "sqlite":
        cursor = driver.execute(query)
        try:
            while batch := cursor.fetchmany(_BATCH):
                yield from batch
        finally:
            cursor.close()
        return
    with driver.cursor(name="cloudward_estate_dependencies") as server_side:
        server_side.execute(query)
        while batch := server_side.fetchmany(_BATCH):
            yield from batch


def _external(node: str, address: str | None) -> planner.AssetInput:
    """A dependency's end that is not a stored asset: an external peer."""
    return planner.AssetInput(
        id=node, name=address or node, external=True, addresses=(address,) if address else ()
    )


def _usage_figures(driver: Any, today: date | None, window_days: int) -> dict[int, dict[str, Any]]:
    """Per asset with daily rollups in the window: its CPU and memory p95 and the days of data
    they rest on (the larger count when the two metrics differ)."""
    daily: dict[int, dict[str, list[Rollup]]] = {}
    for aid, metric, start, count, p50, p95, top in _fetch(
        driver,
        "SELECT asset_id, metric, start, count, p50, p95, max FROM cw_usage_rollup "
        "WHERE period = 'day' AND metric IN ('cpu_pct', 'mem_pct') ORDER BY asset_id, start",
    ):
        daily.setdefault(aid, {}).setdefault(metric, []).append(
            Rollup(cast(datetime, utc(start)), count, p50, p95, top)
        )
    out: dict[int, dict[str, Any]] = {}
    for aid, metrics in daily.items():
        cpu, mem = metrics.get("cpu_pct", []), metrics.get("mem_pct", [])
        last = today or max(d.start.date() for d in cpu + mem)
        fig_cpu = window_figure(cpu, today=last, window_days=window_days)
        fig_mem = window_figure(mem, today=last, window_days=window_days)
        figures: dict[str, Any] = {}
        if fig_cpu.p95 is not None:
            figures["cpu_util_pct"] = round(fig_cpu.p95, 1)
        if fig_mem.p95 is not None:
            figures["memory_util_pct"] = round(fig_mem.p95, 1)
        if figures:
            figures["util_days"] = max(fig_cpu.days, fig_mem.days)
            out[aid] = figures
    return out


_HINT_TYPES: dict[str, type] = {
    "environment": str,
    "application": str,
    "criticality": str,
    "idle_days": int,
    "hub": bool,
    "redundant": bool,
    "external": bool,
    "power_watts": float,
    "support_cost": float,
    "virtual": bool,
    "architecture": str,
    "host": str,
}


def _planning_hints(hints: Mapping[str, object], hosts: Mapping[str, str]) -> dict[str, Any]:
    """Hints stored with an asset (from an import) that override what was derived."""
    out: dict[str, Any] = {}
    for key, kind in _HINT_TYPES.items():
        value = hints.get(key)
        if value is None:
            continue
        if kind is float and isinstance(value, int | float):
            out[key] = float(value)
        elif isinstance(value, kind):
            out[key] = value
    if "host" in out:
        out["host"] = hosts.get(str(out["host"]).lower(), str(out["host"]))
    if out.get("environment") not in (None, *planner.model.ENVIRONMENTS):
        out.pop("environment")
    return out
