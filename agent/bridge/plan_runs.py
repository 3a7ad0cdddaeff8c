"""From the store to the pure planner and back: build the Estate, load settings and lifecycle
facts, run :func:`planner.plan`, store the Plan (summary, per-asset rows, waves, full JSON)."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select as select_columns
from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select

import planner
from agent.bridge.apart import apart
from agent.bridge.plan_views import build_views
from agent.errors import ConfigError
from agent.store import Store, jsontext, utcnow
from agent.store import tables as m
from agent.store.bulk import execute_many
from agent.store.database import json_value
from agent.store.placement import hosted_on
from agent.store.sightings import ENDPOINT
from agent.store.usage_history import daily_by_asset
from collectors.datadir import data_path, load_yaml
from planner.strategy import StrategyRule
from planner.usage import window_figure

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
DEFAULT_COMMUNITIES = frozenset({"public", "private", "community", "snmp", "admin"})


def read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: not found (is the config/ folder installed?)"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None


def load_planner_settings(overrides: Path | None = None) -> planner.Settings:
    """The shipped YAML under config/, with a user's overrides deep-merged on top; a problem
    names the file that gave the key it is about."""
    layers: list[tuple[str, dict[str, Any]]] = []
    for section, parts in planner.SETTINGS_FILES.items():
        path = data_path(*parts)
        if section == "hardware" and not path.exists():
            continue
        layers.append((_shown(path), {section: read_yaml(path)}))
    if overrides is not None:
        extra = read_yaml(overrides) or {}
        if not isinstance(extra, dict):
            raise ConfigError([f"{overrides}: expected a mapping of planner sections"])
        layers.append((str(overrides), extra))
    try:
        return endpoints_stay(planner.Settings.from_layers(layers))
    except planner.SettingsError as exc:
        raise ConfigError(exc.problems, "planner settings") from None


# Endpoints (PCs, phones, printers seen on switch ports) are inventory, never migration
# candidates: this rule comes before every other, whatever the settings say, as external peers
# come before theirs; they are counted as assets, but kept out of move groups and waves.
ENDPOINT_RULE = StrategyRule(
    name="endpoint-not-a-candidate",
    strategy="retain",
    when={"device_class": frozenset({ENDPOINT})},
    reason="endpoint (a user device seen on a switch port): not a migration candidate",
)


def endpoints_stay(settings: planner.Settings) -> planner.Settings:
    """``settings`` with :data:`ENDPOINT_RULE` first among the strategy rules."""
    rules = settings.strategy.rules
    if rules and rules[0] == ENDPOINT_RULE:
        return settings
    strategy = dataclasses.replace(settings.strategy, rules=(ENDPOINT_RULE, *rules))
    return dataclasses.replace(settings, strategy=strategy)


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
    with store.session() as s:
        rows = s.exec(select(m.LifecycleProduct).order_by(col(m.LifecycleProduct.name))).all()
    synced = []
    for row in rows:
        try:
            synced.append(planner.parse_product(json.loads(row.body), source=row.source))
        except (ValueError, planner.LifecycleDataError) as exc:
            log.warning(
                "cached lifecycle data for %s is unusable (%s); using the catalogue", row.name, exc
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


def _driver_rows(conn: Any, query: str, make: Callable[[Sequence[Any]], Any]) -> list[Any]:
    """``query``'s rows as its driver gives them (no per-value type processing by SQLAlchemy:
    SQLite's JSON as text, PostgreSQL's decoded), each made by ``make``."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        cursor = conn.connection.driver_connection.execute(query)
        try:
            return list(map(make, cursor.fetchall()))
        finally:
            cursor.close()
    return list(map(make, conn.exec_driver_sql(query).all()))


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
_PLAN_ROWS = 5_000  # a plan's per-asset rows built and written at a time


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
    usage = _usage_figures(store, today, window_days)
    days, day = _days()
    with store.session() as s:
        conn = s.connection()
        # as the driver gives them (no per-value type processing: JSON columns are decoded
        # and times cut to their UTC day below, as they are used)
        # JSON columns as text on PostgreSQL too: each distinct text is decoded once (_memo)
        as_text = "{0}::text AS {0}" if conn.dialect.name == "postgresql" else "{0}"
        columns = [as_text.format(c) if c in _JSON_COLUMNS else c for c in _ASSET_COLUMNS]
        assets = _driver_rows(
            conn,
            f"SELECT {', '.join(columns)} FROM cw_asset WHERE status = 'active' ORDER BY id",
            _AssetColumns._make,
        )
        read = conn.exec_driver_sql  # plain rows, as for the assets
        # replaced: history, neither planned nor a dependency's end
        gone = {r[0] for r in read("SELECT id FROM cw_asset WHERE status != 'active'")}
        placed = hosted_on(s)
        addresses: dict[int, list[str]] = {}
        for aid, addr in read("SELECT asset_id, address FROM cw_address"):
            addresses.setdefault(aid, []).append(addr)
        software: dict[int, set[tuple[str, str | None]]] = {}
        for aid, name, version in read("SELECT asset_id, name, version FROM cw_software"):
            software.setdefault(aid, set()).add((name, version))
        listening: dict[int, set[tuple[int, str, str | None]]] = {}
        for aid, port, proto, proc in read(
            "SELECT asset_id, port, proto, process FROM cw_listening"
        ):
            listening.setdefault(aid, set()).add((port, proto, proc))
        ids = {a.id: str(a.id) for a in assets}  # as the planner knows them: one string each
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

        add, day_of = edges.append, days.get
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
        ) in _dependency_rows(conn) if dependencies else ():
            if gone and (src_id in gone or dst_id in gone):
                continue
            src = ids.get(src_id)  # the common case: both ends are stored assets
            if src is None:
                src = end(src_id, src_key, src_address)
            dst = ids.get(dst_id)
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
    all_assets = tuple(inputs) + tuple(externals[k] for k in sorted(externals))
    return planner.Estate(assets=all_assets, dependencies=planner.DependencyRows(edges))


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


def _dependency_rows(conn: Any) -> Iterator[tuple[Any, ...]]:
    """Every stored dependency row (the columns of ``_DEPENDENCY_COLUMNS``) by id, streamed
    through the driver's own cursor on the session's connection: a million rows without a
    SQLAlchemy row each. Of each time only its UTC day: SQLite's stored UTC text cut to the
    date (a few distinct texts however varied the times, each parsed once), PostgreSQL's date
    itself (a server-side cursor, a batch at a time). An end's key and address are read only
    where the end is not a stored asset (NULL otherwise): the estate names a stored asset by
    its id."""
    driver = conn.connection.driver_connection
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        columns = [getattr(m.DependencyRow, c) for c in _DEPENDENCY_COLUMNS]
        yield from conn.execute(
            select_columns(*columns)
            .order_by(col(m.DependencyRow.id))
            .execution_options(yield_per=_BATCH)
        )
        return
    day = "substr({0}, 1, 10)" if dialect == "sqlite" else "CAST({0} AT TIME ZONE 'UTC' AS DATE)"
    # an end's key and address only where it is not a stored asset (else NULL: no text made)
    external = "CASE WHEN {0}_asset_id IS NULL THEN {0}_{1} END"
    named = {
        "first_seen": day.format("first_seen"),
        "last_seen": day.format("last_seen"),
        **{f"{e}_{c}": external.format(e, c) for e in ("src", "dst") for c in ("key", "address")},
    }
    names = [named.get(c, c) for c in _DEPENDENCY_COLUMNS]
    query = f"SELECT {', '.join(names)} FROM cw_dependency ORDER BY id"
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


def _usage_figures(store: Store, today: date | None, window_days: int) -> dict[int, dict[str, Any]]:
    """Per asset with daily rollups in the window: its CPU and memory p95 and the days of data
    they rest on (the larger count when the two metrics differ)."""
    out: dict[int, dict[str, Any]] = {}
    for aid, metrics in daily_by_asset(store, ("cpu_pct", "mem_pct")).items():
        cpu, mem = metrics.get("cpu_pct", []), metrics.get("mem_pct", [])
        if not cpu and not mem:
            continue
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


def compute_plan(
    store: Store,
    today: date,
    overrides: Path | None = None,
    *,
    fresh: bool = False,
    usage_window_days: int = USAGE_WINDOW_DAYS,
) -> planner.Plan:
    """Plan the stored estate as of ``today``, starting from the newest stored plan (its groups
    and waves are kept where nothing forces a change) unless ``fresh``. Right-sizing reads the
    utilisation rollups of the last ``usage_window_days`` (the daily retention)."""
    from agent.inventory.dependencies import rebuild_dependencies

    rebuild_dependencies(store)
    estate = estate_from_store(store, today, usage_window_days)
    previous = None if fresh else previous_plan(store)
    return planner.plan(
        estate, load_planner_settings(overrides), today, load_lifecycle(store), previous
    )


def previous_plan(store: Store) -> planner.PreviousPlan | None:
    """The newest stored plan as a re-plan's starting point, read from its per-asset and wave
    rows (not its JSON body); None when no plan is stored yet."""
    with store.session() as s:
        row = s.exec(  # not its body: tens of MB at 100,000 assets, none of it needed here
            select(m.PlanRow.id, m.PlanRow.as_of).order_by(col(m.PlanRow.id).desc()).limit(1)
        ).first()
        if row is None:
            return None
        plan_id, stored_as_of = row
        assets = s.exec(
            select(m.AssetPlan.asset_id, m.AssetPlan.move_group, m.AssetPlan.wave).where(
                m.AssetPlan.plan_id == plan_id
            )
        ).all()
        waves = s.exec(select(m.WaveRow).where(m.WaveRow.plan_id == plan_id)).all()
        as_of = _day(stored_as_of)
    if as_of is None:
        return None
    return planner.PreviousPlan(
        as_of,
        {str(a): (g, w) for a, g, w in assets},
        {
            w.number: (
                date.fromisoformat(w.start),
                date.fromisoformat(w.end),
                str((w.detail or {}).get("kind", "")),
            )
            for w in waves
            if w.start and w.end
        },
    )


def save_plan(store: Store, result: planner.Plan, body: Mapping[str, Any] | None = None) -> int:
    """Store the plan: summary, per-asset results, waves and the full JSON. Returns its id.
    ``body`` is ``result.to_dict()`` when the caller has it already."""
    created = utcnow()

    def packed_body() -> tuple[str, bytes, str]:
        return _packed_body(result.to_dict() if body is None else body, created)

    # A large plan's body (seconds of CPU: its document, text, digest, packing and views) is
    # made in a forked child while this process writes the plan's rows, where it can fork
    # (the command line; agent.bridge.apart says when); else here, before the rows.
    with apart(packed_body, when=len(result.assets) >= PACK_APART_FROM) as packing:
        later = packing.result if packing.forked else None
        plan_id = _save_rows(store, result, created, None if later else packed_body(), later)
    _refresh_statistics(store)
    return plan_id


# Assets from which a plan's body is made apart from its rows (below it a fork costs more
# than it saves).
PACK_APART_FROM = 5_000


def _packed_body(doc: Mapping[str, Any], created: datetime) -> tuple[str, bytes, str]:
    """A plan's stored body from its document: the digest of its text, the text packed, and
    the API's views of it as JSON text.

    The text is made a thousand assets at a time and each piece digested and handed to a
    packing thread as it is made (zlib lets go of the interpreter, so making and packing
    overlap, and the whole text is never held: 355 MB at 100,000 assets); then the views are
    built from the document as plan_body reads it back (the plan's id is filled in when a view
    is read: plan_views.stored_view)."""
    digest = hashlib.sha256()
    packer = zlib.compressobj(1)  # jsontext.packed's level: a zlib stream it reads back
    packed: list[bytes] = []
    with ThreadPoolExecutor(1, thread_name_prefix="cloudward-plan-pack") as pool:
        waiting: list[Future[bytes]] = []
        for piece in jsontext.dump_pieces(doc, "assets", ascii_only=True):
            digest.update(piece)
            waiting.append(pool.submit(packer.compress, piece))
            if len(waiting) > 2:  # at most two pieces held beside the one being made
                packed.append(waiting.pop(0).result())
        packed.extend(w.result() for w in waiting)
    packed.append(packer.flush())
    views = build_views({**doc, "plan_id": None, "created_at": created.isoformat()})
    return digest.hexdigest(), b"".join(packed), jsontext.dumps(views)


def _save_rows(
    store: Store,
    result: planner.Plan,
    created: datetime,
    body: tuple[str, bytes, str] | None,
    later: Callable[[], tuple[str, bytes, str]] | None,
) -> int:
    """The plan's rows, and its body (digest, packed text, views): ``body`` made before (its
    document and text already let go of: hundreds of MB each at 100,000 assets), or
    ``later``'s, asked for once the rows are written."""
    digest, packed, views = body or ("", b"", "")
    summary = {**result.summary(), "warnings": list(result.warnings)}
    if result.replan is not None:
        summary["replan"] = {
            "previous": result.replan.previous.isoformat(),
            "kept_waves": list(result.replan.kept_waves),
            "groups_moved": len(result.replan.moved),
        }
    with store.session() as s:
        row = m.PlanRow(
            created_at=created,
            as_of=result.today.isoformat(),
            assets=summary["assets"],
            waves=summary["waves"],
            digest=digest,
            summary=summary,
            body="",
            body_zlib=packed,
            # with the row, not after: SQLite rewrites a whole row (its body too) on an update
            views=views,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        plan_id = row.id
        ours = [a for a in result.assets if a.asset_id.isdigit()]  # not the external peers
        detail = _detail_maker()
        conn = s.connection()
        details = _PlanDetails(conn)
        for first in range(0, len(ours), _PLAN_ROWS):  # plain INSERTs, no ORM object per row
            batch = ours[first : first + _PLAN_ROWS]
            detail_ids = details.ids([detail(a) for a in batch])
            rows = [
                {
                    "plan_id": plan_id,
                    "asset_id": int(a.asset_id),
                    "support_status": a.support.status,
                    "days_to_eos": a.support.days_remaining,
                    "debt": a.debt.score,
                    "strategy": a.strategy.strategy,
                    "wave": a.wave,
                    "move_group": a.group,
                    "detail_id": detail_id,
                }
                for a, detail_id in zip(batch, detail_ids, strict=True)
            ]
            execute_many(conn, m.AssetPlan, rows)
        groups = {g.id: g for g in result.groups.groups}
        names = {a.asset_id: a.name for a in result.assets}
        for w in result.waves:
            wave = w.wave
            s.add(
                m.WaveRow(
                    plan_id=plan_id,
                    number=wave.number,
                    name=f"Wave {wave.number} ({wave.kind})",
                    start=wave.start.isoformat(),
                    end=wave.end.isoformat(),
                    assets=len(wave.assets),
                    groups=len(wave.groups),
                    debt_retired=w.debt_retired,
                    detail={
                        "kind": wave.kind,
                        "reasons": list(wave.reasons),
                        "risk": wave.risk,
                        "effort_days": wave.effort_days,
                        "cost_delta": w.cost_delta,
                        "onprem_annual": w.onprem_annual,
                        "cloud_annual": w.cloud_annual,
                        "kwh_delta": w.kwh_delta,
                        "kgco2e_delta": w.kgco2e_delta,
                        "groups": [
                            {
                                "name": gid,
                                "reason": groups[gid].reason if gid in groups else "",
                                "strategy": groups[gid].strategy if gid in groups else "",
                                "assets": [
                                    names.get(x, x)
                                    for x in (groups[gid].assets if gid in groups else ())
                                ],
                            }
                            for gid in wave.groups
                        ],
                    },
                )
            )
        if later is not None:  # the body made meanwhile: one update of a small row
            digest, packed, views = later()
            row.digest, row.body_zlib, row.views = digest, packed, views
            s.add(row)
        s.commit()
    return plan_id


# PostgreSQL: savers and pruners of plan details take turns, for their transaction (a pruner
# could otherwise drop a detail a saver has just found and is about to name).
_DETAILS_LOCK = sql("SELECT pg_advisory_xact_lock(hashtext('cloudward-plan-details'))")


class _PlanDetails:
    """The ``cw_plan_detail`` ids of plan rows' details, on a plan's saving connection: each
    detail's JSON text is looked up by its digest and stored only when no plan stored it
    before (a re-plan of an estate that changed little adds few), under an id given here.
    PostgreSQL savers of plans take turns (an advisory lock for the transaction), so two never
    store the same new text; on SQLite the plan's own row, written first, holds the database's
    write lock."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.known: dict[str, int] = {}  # digest -> id, of the details this plan uses
        self.postgres = conn.dialect.name == "postgresql"
        if self.postgres:
            conn.execute(_DETAILS_LOCK)
        self.next_id = 1 + (conn.execute(sql("SELECT max(id) FROM cw_plan_detail")).scalar() or 0)
        self.any_stored = self.next_id > 1  # the first plan looks nothing up
        self.at_once = _DIGESTS if self.postgres or sqlite3.sqlite_version_info >= (3, 32) else 900

    def ids(self, details: list[dict[str, Any]]) -> list[int]:
        """The detail id of each of ``details``, in order."""
        texts = [jsontext.dump_bytes(d) for d in details]
        digests = [detail_digest(t) for t in texts]
        known = self.known
        wanted = {d: t for d, t in zip(digests, texts, strict=True) if d not in known}
        if wanted and self.any_stored:
            known.update(self._stored(list(wanted)))
        new = [(d, t) for d, t in wanted.items() if d not in known]
        if new:
            ids = self._new_ids(len(new))
            execute_many(
                self.conn,
                m.PlanDetail,
                [
                    {"id": i, "digest": d, "detail": t.decode()}
                    for i, (d, t) in zip(ids, new, strict=True)
                ],
            )
            known.update((d, i) for i, (d, _) in zip(ids, new, strict=True))
        return [known[d] for d in digests]

    def _new_ids(self, n: int) -> list[int]:
        if self.postgres:  # the column's own sequence, as an insert without an id takes it
            return list(
                self.conn.execute(
                    sql(
                        "SELECT nextval(pg_get_serial_sequence('cw_plan_detail', 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": n},
                ).scalars()
            )
        first, self.next_id = self.next_id, self.next_id + n
        return list(range(first, first + n))

    def _stored(self, digests: list[str]) -> dict[str, int]:
        table = m.PlanDetail.__table__  # type: ignore[attr-defined]
        out: dict[str, int] = {}
        for first in range(0, len(digests), self.at_once):
            chosen = digests[first : first + self.at_once]
            q = select_columns(table.c.digest, table.c.id).where(table.c.digest.in_(chosen))
            out.update((d, i) for d, i in self.conn.execute(q).all())
        return out


def detail_digest(text: bytes) -> str:
    """``cw_plan_detail.digest`` of a detail's JSON text: the first 128 bits of its SHA-256, in
    hex (revision 0010's migration computes the same for the rows it moves)."""
    return hashlib.sha256(text).hexdigest()[:32]


# Digests looked up at a time: within SQLite's limit of bound values since 3.32 (999 before)
# and PostgreSQL's (65,535).
_DIGESTS = 30_000


def _refresh_statistics(store: Store) -> None:
    """Tell PostgreSQL's planner about the rows a plan's views read.

    Until the tables are analysed, the new plan's id is not in the statistics and PostgreSQL
    expects about one row for it: the API's joins of 100,000 plan rows with their assets then
    run as nested loops for tens of seconds. Autovacuum analyses late, or never where it is
    turned off. SQLite keeps no statistics unless asked and plans these by their indexes."""
    if store.engine.dialect.name != "postgresql":
        return
    try:
        with store.engine.connect() as conn:
            conn.execute(sql("ANALYZE cw_asset_plan, cw_asset"))
            conn.commit()
    except SQLAlchemyError as exc:  # the plan is stored; only the API may be slower for a while
        log.warning("could not analyse the plan tables: %s", str(exc).splitlines()[0])


def _detail_maker() -> Callable[[planner.AssetPlan], dict[str, Any]]:
    """A maker of the ``detail`` of an asset's plan row. The planner gives assets with equal
    facts one shared factor or support component object (at 100,000 assets, some 30,000
    distinct factors among a million), so each one's JSON is made once, under the object's
    identity (the object kept alongside: an identity is only unique while it lives); the rows
    are serialised as they are written and never changed."""
    made: dict[int, tuple[object, dict[str, Any]]] = {}

    def once(obj: Any, make: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        found = made.get(id(obj))
        if found is None or found[0] is not obj:
            found = made[id(obj)] = (obj, make(obj))
        return found[1]

    def detail(a: planner.AssetPlan) -> dict[str, Any]:
        return {
            "factors": [once(f, _factor_json) for f in a.debt.factors],
            "dependants": a.debt.dependants,
            "support": [once(c, _component_json) for c in a.support.components],
            "strategy_rule": a.strategy.rule,
            "strategy_reasons": list(a.strategy.reasons),
            "hub": a.hub,
            "debt_retired": a.debt_retired,
        }

    return detail


def _factor_json(f: planner.DebtFactor) -> dict[str, Any]:
    return {
        "name": f.name,
        "weight": f.weight,
        "value": round(f.value, 3),
        "points": round(f.points, 1),
        "evidence": f.evidence,
    }


def _component_json(c: Any) -> dict[str, Any]:
    return {
        "component": c.component,
        "subject": c.subject,
        "status": c.status,
        "product": c.product,
        "cycle": c.cycle,
        "security_until": c.security_until.isoformat() if c.security_until else None,
        "extended_until": c.extended_until.isoformat() if c.extended_until else None,
        "days_remaining": c.days_remaining,
        "evidence": c.evidence,
        "verdict": c.verdict,
        "why": c.why,
        "packaged_by": c.packaged_by,
        "source": c.source,
    }


def prune_plans(store: Store, keep: int = 20) -> int:
    """Keep the newest ``keep`` plans (older per-asset rows go with them, and the details
    no kept plan uses)."""
    with store.session() as s:
        if store.engine.dialect.name == "postgresql":
            s.exec(_DETAILS_LOCK)  # type: ignore[call-overload]
        ids = list(s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).all())
        old = [i for i in ids[keep:] if i is not None]
        if not old:
            return 0
        s.exec(delete(m.AssetPlan).where(col(m.AssetPlan.plan_id).in_(old)))
        s.exec(delete(m.WaveRow).where(col(m.WaveRow.plan_id).in_(old)))
        s.exec(delete(m.PlanRow).where(col(m.PlanRow.id).in_(old)))
        # the details no kept plan uses (an index on detail_id answers each look-up)
        s.exec(  # type: ignore[call-overload]
            sql(
                "DELETE FROM cw_plan_detail WHERE NOT EXISTS "
                "(SELECT 1 FROM cw_asset_plan p WHERE p.detail_id = cw_plan_detail.id)"
            )
        )
        s.commit()
        return len(old)


def plan_stamp(store: Store, plan_id: int | None = None) -> tuple[int, str, str] | None:
    """(id, digest, created_at) of a stored plan (the newest when None), without its body.

    A stored plan never changes, so anything derived from its body can be kept under this."""
    return store.plan_stamp(plan_id)


def plan_body(store: Store, plan_id: int | None = None) -> Mapping[str, Any] | None:
    with store.session() as s:
        q = select(m.PlanRow)
        q = (
            q.where(m.PlanRow.id == plan_id)
            if plan_id is not None
            else q.order_by(col(m.PlanRow.id).desc())
        )
        row = s.exec(q.limit(1)).first()
        if row is None:
            return None
        body: dict[str, Any] = jsontext.loads(jsontext.plan_text(row.body, row.body_zlib))
        body["plan_id"] = row.id
        body["created_at"] = row.created_at.isoformat()
        return body
