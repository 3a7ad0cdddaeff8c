"""Import assets and dependencies from CSV or JSON (the format is in ``config/import-format.md``).

Columns are matched by name ignoring case, spaces, underscores and brackets, with the aliases the
cloud migration tools' CSV imports use ("Server name", "Cores", "Memory (In MB)", "OS name",
"CPU utilization percentage", "Source server name", "Destination port", ...). A CSV file holds
either assets or dependencies (told apart by its header); a JSON file holds
``{"assets": [...], "dependencies": [...]}``. Every error names the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from planner.errors import EstateError, ImportFormatError
from planner.import_columns import (
    ASSET_ALIASES,
    DEPENDENCY_ALIASES,
    DISK_N,
    ENVIRONMENT_WORDS,
    CellRow,
    Row,
    cell_columns,
    key_of,
    present_aliases,
    to_float,
)
from planner.import_dependencies import dependencies
from planner.json_stream import JsonStreamReader, TextSource
from planner.model import (
    CRITICALITY_LABELS,
    DEVICE_CLASSES,
    AssetInput,
    Dependency,
    Exposure,
    Listener,
)

Assets = tuple[AssetInput, ...]
Dependencies = tuple[Dependency, ...]
Progress = Callable[[int], None]  # told how many rows were read so far, now and then
PROGRESS_EVERY = 50_000
_T = TypeVar("_T")


def parse_import(text: str, fmt: str) -> tuple[Assets, Dependencies]:
    """Assets and dependencies from ``text`` in ``fmt`` ("csv" or "json")."""
    return parse_import_stream(io.StringIO(text), fmt)


def parse_import_stream(
    source: TextSource, fmt: str, progress: Progress | None = None
) -> tuple[Assets, Dependencies]:
    """:func:`parse_import` reading ``source`` as it goes: one row at a time is held as text,
    and only the validated assets and (merged) dependencies are kept. Every row is checked
    before this returns, so a bad row refuses the whole file."""
    if fmt == "json":
        return _parse_json(source, progress)
    if fmt == "csv":
        return _parse_csv(source, progress)
    raise ImportFormatError(f"unknown import format {fmt!r}: use 'csv' or 'json'")


def _counted(rows: Iterable[_T], progress: Progress | None) -> Iterator[_T]:
    if progress is None:
        yield from rows
        return
    for done, item in enumerate(rows, 1):
        yield item
        if done % PROGRESS_EVERY == 0:
            progress(done)


# --- JSON ---------------------------------------------------------------------------------


_NOT_AN_OBJECT = 'JSON import must be an object with "assets" and/or "dependencies" lists'


def _parse_json(source: TextSource, progress: Progress | None) -> tuple[Assets, Dependencies]:
    reader = JsonStreamReader(source)
    if reader.peek() != "{":
        rest = reader.buf[reader.pos :] + source.read()
        try:
            json.loads(rest)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        raise ImportFormatError(_NOT_AN_OBJECT)
    reader.pos += 1
    parts: dict[str, Any] = {}
    waiting: list[tuple[int, Mapping[str, Any]]] | None = None
    while reader.peek() != "}":
        if parts or waiting is not None:
            reader.take(",", "Expecting ',' delimiter")
        if reader.peek() != '"':
            raise reader.error("Expecting property name enclosed in double quotes", reader.pos)
        key = reader.value()
        reader.take(":", "Expecting ':' delimiter")
        if key not in ("assets", "dependencies"):
            parts[key] = reader.value()
            continue
        if reader.peek() != "[":
            reader.value()
            raise ImportFormatError(f'"{key}" must be a list of objects')
        rows = _objects(key, reader.items())
        if key == "assets":
            parts[key] = _assets(_counted(rows, progress))
        elif "assets" in parts:  # the usual order: addresses of the assets are known
            parts[key] = dependencies(
                _rows(_counted(rows, progress), DEPENDENCY_ALIASES), parts["assets"]
            )
        else:  # dependencies first: wait for the assets their addresses may name
            waiting = list(rows)
            parts[key] = None
    reader.pos += 1
    if reader.peek() != "":
        raise reader.error("Extra data", reader.pos)
    if not {"assets", "dependencies"} & set(parts):
        raise ImportFormatError(_NOT_AN_OBJECT)
    assets: Assets = parts.get("assets") or ()
    if waiting is not None:
        parts["dependencies"] = dependencies(
            _rows(_counted(waiting, progress), DEPENDENCY_ALIASES), assets
        )
    return assets, parts.get("dependencies") or ()


def _objects(part: str, items: Iterable[Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise ImportFormatError(f'"{part}" must be a list of objects')
        yield number, item


# --- CSV ----------------------------------------------------------------------------------


def _parse_csv(source: TextSource, progress: Progress | None) -> tuple[Assets, Dependencies]:
    reader = csv.reader(source)
    names = next(reader, [])
    if names:
        names[0] = names[0].lstrip("\ufeff")
    header = [key_of(h) for h in names]
    if not header:
        raise ImportFormatError("the CSV file is empty: the first line must be a header", row=1)
    src_keys = set(DEPENDENCY_ALIASES["src"]) | set(DEPENDENCY_ALIASES["src_ip"])
    if src_keys & set(header):  # a million rows: read by position, no dict per row
        columns = cell_columns(names, DEPENDENCY_ALIASES)
        cells = _counted(_csv_cells(reader), progress)
        return (), dependencies((CellRow(n, c, columns) for n, c in cells), ())
    rows = _counted(_csv_rows(reader, names, header), progress)
    name_keys = set(ASSET_ALIASES["name"]) | set(ASSET_ALIASES["id"])
    if name_keys & set(header):
        return _assets(rows, present_aliases(ASSET_ALIASES, set(header))), ()
    raise ImportFormatError(
        "the header names neither assets (a 'Server name' or 'id' column) "
        "nor dependencies (a 'Source server name' or 'source' column)",
        row=1,
    )


class _Keyed(dict[str, tuple[Any, Any]]):
    """A CSV row already keyed as :class:`Row` keys it (marks rows that skip re-keying)."""


def _csv_rows(
    reader: Iterator[list[str]], names: list[str], header: list[str]
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Rows as ``csv.DictReader`` gives them (blank lines skipped; a short row's missing cells
    are None; cells beyond the header are dropped; of two columns with one key, the last),
    keyed once by the header rather than once per cell."""
    width = len(names)
    columns = list(zip(header, names, strict=True))
    number = 1
    for cells in reader:
        if not cells:
            continue
        number += 1
        if len(cells) < width:
            cells = cells + [None] * (width - len(cells))  # type: ignore[list-item]
        yield (
            number,
            _Keyed(
                (key, (name, value)) for (key, name), value in zip(columns, cells, strict=False)
            ),
        )


def _csv_cells(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of ``reader`` with their row numbers (the header is row 1)."""
    number = 1
    for cells in reader:
        if cells:
            number += 1
            yield number, cells


def _row(number: int, raw: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]) -> Row:
    if isinstance(raw, _Keyed):
        return Row.keyed(number, raw, aliases)
    return Row(number, raw, aliases)


# --- rows ---------------------------------------------------------------------------------


def _assets(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    aliases: Mapping[str, tuple[str, ...]] = ASSET_ALIASES,
) -> Assets:
    out: list[AssetInput] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        row = _row(number, raw, aliases)
        asset = _asset(row)
        if asset.id in seen:
            raise row.fail(
                row.get("id")[0] if row.get("id")[1] else row.get("name")[0],
                f"asset {asset.id!r} already given on row {seen[asset.id]}",
            )
        seen[asset.id] = number
        out.append(asset)
    return tuple(out)


def _asset(row: Row) -> AssetInput:
    name = row.text("name")
    asset_id = row.text("id") or name
    if not asset_id:
        raise row.fail("name", "every asset needs a server name (or an id)")
    memory = row.number("memory_bytes")
    if memory is None and row.number("memory_gb") is not None:
        memory = (row.number("memory_gb") or 0) * 2**30
    if memory is None and row.number("memory_mb") is not None:
        memory = (row.number("memory_mb") or 0) * 2**20
    disk = row.number("disk_bytes")
    if disk is None:
        gb = row.number("disk_gb")
        disks = [
            (to_float(v) if v not in ("", None) else 0.0)
            for k, (_, v) in row.raw.items()
            if DISK_N.match(k)
        ]
        if gb is None and disks:
            gb = sum(disks)
        disk = None if gb is None else gb * 1e9
    try:
        return AssetInput(
            id=asset_id,
            name=name,
            addresses=tuple(row.items("addresses")),
            site=row.text("site"),
            environment=row.choice("environment", ENVIRONMENT_WORDS) or "unknown",
            device_class=row.choice("device_class", DEVICE_CLASSES) or "server",
            vendor=row.text("vendor"),
            model=row.text("model"),
            serial=row.text("serial"),
            os_name=row.text("os_name"),
            os_version=row.text("os_version"),
            firmware=row.text("firmware"),
            architecture=row.text("architecture"),
            software=tuple(_software(row, x) for x in row.items("software")),
            cpu_count=row.whole("cpu_count"),
            memory_bytes=None if memory is None else int(memory),
            disk_bytes=None if disk is None else int(disk),
            cpu_util_pct=row.number("cpu_util_pct"),
            memory_util_pct=row.number("memory_util_pct"),
            listening=tuple(_listener(row, x) for x in row.items("listening")),
            exposures=tuple(_exposure(row, x) for x in row.items("exposures")),
            first_seen=row.day("first_seen"),
            manufactured=row.day("manufactured"),
            bios_date=row.day("bios_date"),
            idle_days=row.whole("idle_days"),
            application=row.text("application"),
            tags=tuple(row.items("tags")),
            criticality=row.choice("criticality", CRITICALITY_LABELS),
            virtual=row.flag("virtual"),
            host=row.text("host"),
            hub=row.flag("hub"),
            redundant=row.flag("redundant"),
            external=bool(row.flag("external")),
            power_watts=row.number("power_watts"),
            support_cost=row.number("support_cost"),
        )
    except EstateError as exc:
        raise row.fail("", str(exc)) from None


def _software(row: Row, item: Any) -> tuple[str, str | None]:
    """``name=version`` text, a ``{"name", "version"}`` object or a ``[name, version]`` pair."""
    if isinstance(item, Mapping) and item.get("name"):
        version = item.get("version")
        return str(item["name"]).strip(), (str(version).strip() if version else None)
    if isinstance(item, list) and 1 <= len(item) <= 2 and item[0]:
        return str(item[0]).strip(), (str(item[1]).strip() if len(item) > 1 and item[1] else None)
    if isinstance(item, str):
        name, _, version = item.partition("=")
        if name.strip():
            return name.strip(), (version.strip() or None)
    raise row.fail(
        row.get("software")[0],
        f'{item!r} is not \'name=version\' or {{"name": ..., "version": ...}}',
    )


def _listener(row: Row, item: Any) -> Listener:
    if isinstance(item, Mapping) and "port" in item:
        item = f"{item.get('proto', 'tcp')}/{item['port']}"
    text = str(item).strip().lower()
    proto = "tcp"
    if "/" in text:
        left, right = text.split("/", 1)
        if left in ("tcp", "udp"):
            proto, text = left, right
        else:
            text = left
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise row.fail(row.get("listening")[0], f"{item!r} is not a port like 443 or tcp/443")
    return Listener(int(text), proto)


def _exposure(row: Row, item: Any) -> Exposure:
    if isinstance(item, Mapping):
        item = f"{item.get('kind', '')}:{item.get('detail') or ''}"
    kind, _, detail = str(item).partition(":")
    try:
        return Exposure(kind.strip().lower(), detail.strip() or None)
    except EstateError as exc:
        raise row.fail(row.get("exposures")[0], str(exc)) from None


def _rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]], aliases: Mapping[str, tuple[str, ...]]
) -> Iterator[Row]:
    for number, raw in rows:
        yield _row(number, raw, aliases)
