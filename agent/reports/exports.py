"""Exports of the inventory and the plan: assets, waves and dependencies as CSV, JSON or XLSX,
and the asset graph as GraphML.

The columns are listed in :data:`COLUMNS` (the ``export`` command prints them in its help).
Nothing secret is in the store, so nothing secret can be exported. Text that a spreadsheet
would run as a formula (a device name starting with ``=``, ``+``, ``-`` or ``@``) is written as
text: prefixed with ``'`` in CSV, typed as a string in XLSX. In XLSX numbers are numbers,
days and times (UTC) are the spreadsheet's dates and a missing value is an empty cell, so a
column sums and sorts as it should.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from agent.errors import AgentError
from agent.store import Store
from agent.store import tables as m
from agent.store.placement import hosted_on
from agent.store.queries import hardware_age

TABLES = ("assets", "waves", "dependencies")
FORMATS = ("csv", "json", "xlsx", "graphml")

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "assets": (
        ("id", "asset id in the store"),
        ("name", "name (system name, else the target)"),
        ("sys_name", "SNMP sysName or host name"),
        ("device_class", "server, switch, router, firewall, storage, ups, printer, ..."),
        ("vendor", "manufacturer"),
        ("model", "hardware model"),
        ("os_name", "operating system"),
        ("os_version", "its version"),
        ("firmware", "firmware version"),
        ("serial", "serial number"),
        ("mgmt_address", "address it is polled at"),
        ("site", "site from the configuration"),
        ("sys_location", "location the device reports"),
        ("tags", "tags from the configuration, ';'-separated"),
        ("sources", "protocols that saw it (snmp, ssh, import)"),
        ("first_seen", "first seen (UTC)"),
        ("last_seen", "last seen (UTC)"),
        ("hardware_date", "the date its hardware age counts from"),
        (
            "hardware_age_source",
            "where that date comes from: manufacture_date, bios_date, serial_date_code or "
            "first_seen (the best there is, in this order)",
        ),
        ("hosted_on", "the hypervisor it runs on (a virtual machine)"),
        ("support_status", "supported, extended, eol or unknown (from the plan)"),
        ("days_to_eos", "days from the plan's day to the end of support"),
        ("debt", "technical debt score, 0-100"),
        ("strategy", "retire, retain, rehost, relocate, replatform, repurchase or refactor"),
        ("move_group", "move group id"),
        ("wave", "wave number"),
        ("plan_id", "the plan these columns come from"),
    ),
    "waves": (
        ("plan_id", "the plan"),
        ("number", "wave number, in order"),
        ("name", "wave name"),
        ("kind", "landing-zone, pilot, nonprod or prod"),
        ("start", "first day"),
        ("end", "last day"),
        ("assets", "assets moving"),
        ("groups", "move groups"),
        ("group_ids", "move group ids, ';'-separated"),
        ("asset_names", "asset names, ';'-separated"),
        ("debt_retired", "debt points retired"),
        ("risk", "risk score of the wave"),
        ("effort_days", "engineer days"),
        ("onprem_annual", "on-premise running cost a year of its assets"),
        ("cloud_annual", "cloud running cost a year after the move"),
        ("cost_delta", "cloud minus on premise, a year"),
        ("kwh_delta", "energy change, kWh a year"),
        ("kgco2e_delta", "carbon change, kgCO2e a year"),
        ("reasons", "why the wave is where it is, ';'-separated"),
    ),
    "dependencies": (
        ("id", "dependency id"),
        ("client_id", "client asset id (empty: not inventoried)"),
        ("client", "client asset name"),
        ("client_address", "client address"),
        ("server_id", "server asset id (empty: not inventoried)"),
        ("server", "server asset name"),
        ("server_address", "server address"),
        ("port", "server port"),
        ("service", "service name of the port"),
        ("process", "server process"),
        ("client_process", "client process"),
        ("count", "times seen"),
        ("origin", "observed or import"),
        ("first_seen", "first seen (UTC)"),
        ("last_seen", "last seen (UTC)"),
    ),
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_DAYS = frozenset({"start", "end", "hardware_date"})
_XLSX_TIMES = frozenset({"first_seen", "last_seen"})


class ExportError(AgentError, ValueError):
    """The export cannot be written as asked. Says what to do; ``exit_code`` 2 for bad usage,
    1 when the store lacks what was asked for (a plan)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _plan_id(s: Any, plan_id: int | None) -> int | None:
    if plan_id is not None:
        if s.get(m.PlanRow, plan_id) is None:
            raise ExportError(f"no plan {plan_id} in the store (see `cloudward plan list`)", 1)
        return plan_id
    found = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc()).limit(1)).first()
    return int(found) if found is not None else None


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def asset_rows(store: Store, plan_id: int | None = None) -> list[dict[str, Any]]:
    with store.session() as s:
        pid = _plan_id(s, plan_id)
        plans = {
            p.asset_id: p
            for p in s.exec(select(m.AssetPlan).where(m.AssetPlan.plan_id == (pid or -1))).all()
        }
        names = {i: n for i, n in s.exec(select(m.Asset.id, m.Asset.name)).all()}
        placed = hosted_on(s)
        today = datetime.now(UTC).date()
        rows = []
        for a in s.exec(select(m.Asset).order_by(col(m.Asset.id))).all():
            p = plans.get(a.id or 0)
            age = hardware_age(a, today)
            row: dict[str, Any] = {
                name: getattr(a, name) for name, _ in COLUMNS["assets"] if hasattr(a, name)
            }
            row.update(
                first_seen=_when(a.first_seen),
                last_seen=_when(a.last_seen),
                support_status=p.support_status if p else "unknown",
                days_to_eos=p.days_to_eos if p else None,
                debt=p.debt if p else None,
                strategy=p.strategy if p else None,
                move_group=p.move_group if p else None,
                wave=p.wave if p else None,
                plan_id=pid if p else None,
                hardware_date=age["date"] if age else None,
                hardware_age_source=age["source"] if age else None,
                hosted_on=names.get(placed.get(a.id or 0, 0)),
            )
            rows.append({name: row.get(name) for name, _ in COLUMNS["assets"]})
        return rows


def wave_rows(store: Store, plan_id: int | None = None) -> list[dict[str, Any]]:
    with store.session() as s:
        pid = _plan_id(s, plan_id)
        waves = s.exec(
            select(m.WaveRow)
            .where(m.WaveRow.plan_id == (pid or -1))
            .order_by(col(m.WaveRow.number))
        ).all()
        out = []
        for w in waves:
            d: dict[str, Any] = dict(w.detail)
            groups = d.get("groups", [])
            row = {
                "plan_id": w.plan_id,
                "number": w.number,
                "name": w.name,
                "kind": d.get("kind"),
                "start": w.start,
                "end": w.end,
                "assets": w.assets,
                "groups": w.groups,
                "group_ids": [g.get("name") for g in groups],
                "asset_names": [n for g in groups for n in g.get("assets", [])],
                "debt_retired": w.debt_retired,
                "reasons": d.get("reasons", []),
            }
            for key in ("risk", "effort_days", "onprem_annual", "cloud_annual", "cost_delta"):
                row[key] = d.get(key)
            row["kwh_delta"], row["kgco2e_delta"] = d.get("kwh_delta"), d.get("kgco2e_delta")
            out.append({name: row.get(name) for name, _ in COLUMNS["waves"]})
        return out


def dependency_rows(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        names = {i: n for i, n in s.exec(select(m.Asset.id, m.Asset.name)).all()}
        out = []
        for d in s.exec(select(m.DependencyRow).order_by(col(m.DependencyRow.id))).all():
            row = {
                "id": d.id,
                "client_id": d.src_asset_id,
                "client": names.get(d.src_asset_id) if d.src_asset_id else None,
                "client_address": d.src_address,
                "server_id": d.dst_asset_id,
                "server": names.get(d.dst_asset_id) if d.dst_asset_id else None,
                "server_address": d.dst_address,
                "port": d.port,
                "service": d.service,
                "process": d.process,
                "client_process": d.client_process,
                "count": d.count,
                "origin": d.origin,
                "first_seen": _when(d.first_seen),
                "last_seen": _when(d.last_seen),
            }
            out.append({name: row.get(name) for name, _ in COLUMNS["dependencies"]})
        return out


def collect(
    store: Store, what: Sequence[str], plan_id: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    readers = {
        "assets": lambda: asset_rows(store, plan_id),
        "waves": lambda: wave_rows(store, plan_id),
        "dependencies": lambda: dependency_rows(store),
    }
    return {t: readers[t]() for t in what}


def cell_text(value: Any) -> Any:
    """A value as a flat cell: lists joined with ';', None empty; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def csv_safe(value: Any) -> Any:
    text = cell_text(value)
    if isinstance(text, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


def csv_text(rows: list[dict[str, Any]], table: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS[table]])
    for row in rows:
        writer.writerow([csv_safe(row[name]) for name, _ in COLUMNS[table]])
    return buf.getvalue()


def write_csv(tables: Mapping[str, list[dict[str, Any]]], out: Path) -> list[Path]:
    """One table: a CSV file at ``out``. Several: a ``.zip`` of CSVs, or a folder of them."""
    if len(tables) == 1:
        [(table, rows)] = tables.items()
        out.write_text(csv_text(rows, table), encoding="utf-8", newline="")
        return [out]
    if out.suffix.lower() == ".zip":
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for table, rows in tables.items():
                z.writestr(f"{table}.csv", csv_text(rows, table))
        return [out]
    if (out.exists() and not out.is_dir()) or (not out.exists() and out.suffix.lower() == ".csv"):
        raise ExportError(
            f"{out} names a file: several tables go to a folder or a .zip (use --out DIR or "
            "--out FILE.zip, or --what to pick one table)"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table, rows in tables.items():
        path = out / f"{table}.csv"
        path.write_text(csv_text(rows, table), encoding="utf-8", newline="")
        written.append(path)
    return written


def write_json(
    tables: Mapping[str, list[dict[str, Any]]], out: Path, meta: Mapping[str, Any]
) -> list[Path]:
    doc = {**meta, **tables, "columns": {t: dict(COLUMNS[t]) for t in tables}}
    out.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return [out]


def xlsx_value(value: Any, name: str) -> Any:
    """A value as a spreadsheet cell: numbers stay numbers, dates and times (UTC) become the
    spreadsheet's own dates, a missing value an empty cell (not an empty text), the rest text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    if name in _XLSX_DAYS and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if name in _XLSX_TIMES and isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:  # spreadsheets have no time zones: the column says UTC
            return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    text = cell_text(value)
    if not isinstance(text, str):
        return text
    return _ILLEGAL_XML.sub("", text) or None  # an empty list is an empty cell too


def write_xlsx(tables: Mapping[str, list[dict[str, Any]]], out: Path) -> list[Path]:
    """One sheet per table, header frozen; numbers as numbers, dates as dates, every text cell
    typed as text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for table, rows in tables.items():
        sheet = book.create_sheet(table)
        names = [name for name, _ in COLUMNS[table]]
        sheet.append(names)
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in rows:
            sheet.append([xlsx_value(row[name], name) for name in names])
            for c in sheet[sheet.max_row]:
                if isinstance(c.value, str):
                    c.data_type = "s"
                elif isinstance(c.value, datetime):
                    c.number_format = "yyyy-mm-dd hh:mm:ss"
                elif isinstance(c.value, date):
                    c.number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "A2"
        for i, name in enumerate(names, 1):
            width = max([len(name)] + [len(str(cell_text(r[name]))) for r in rows[:500]])
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(width + 2, 60)
    book.save(out)
    return [out]


def write_graphml(store: Store, out: Path) -> list[Path]:
    from agent.inventory.asset_graph import build_graph, export_graph

    export_graph(build_graph(store), out, "graphml")
    return [out]


def export(
    store: Store, fmt: str, what: Sequence[str], out: Path, plan_id: int | None = None
) -> list[Path]:
    """Write the tables in ``what`` (or, for GraphML, the asset graph) to ``out``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    unknown = [t for t in what if t not in TABLES]
    if unknown:
        raise ExportError(f"unknown table {unknown[0]!r}: use {', '.join(TABLES)} or all")
    if not out.parent.is_dir():
        raise ExportError(f"folder {out.parent} does not exist: create it or choose another --out")
    if fmt == "graphml":
        return write_graphml(store, out)
    tables = collect(store, what, plan_id)
    if fmt == "csv":
        return write_csv(tables, out)
    if fmt == "xlsx":
        return write_xlsx(tables, out)
    with store.session() as s:
        pid = _plan_id(s, plan_id)
    meta = {"exported_at": datetime.now(UTC).isoformat(timespec="seconds"), "plan_id": pid}
    return write_json(tables, out, meta)
