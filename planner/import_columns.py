"""Import columns: names and aliases, and one row's values converted with errors naming the cell.

Column names are compared ignoring case, spaces, underscores and brackets (:func:`key_of`), so
"Memory (In MB)", "memory_mb" and "MemoryInMB" are the same column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from planner.errors import ImportFormatError
from planner.fields import parse_day

ASSET_ALIASES: Mapping[str, tuple[str, ...]] = {
    "id": ("id", "assetid"),
    "name": ("name", "servername", "hostname", "machinename", "displayname"),
    "addresses": ("addresses", "ipaddresses", "ipaddress", "ip", "ips"),
    "site": ("site", "location", "datacenter", "datacentre"),
    "environment": ("environment", "env"),
    "device_class": ("deviceclass", "class", "type", "devicetype"),
    "vendor": ("vendor", "manufacturer", "make"),
    "model": ("model",),
    "serial": ("serial", "serialnumber"),
    "os_name": ("osname", "operatingsystem", "os"),
    "os_version": ("osversion", "operatingsystemversion"),
    "firmware": ("firmware", "firmwareversion"),
    "architecture": ("architecture", "osarchitecture", "arch"),
    "software": ("software", "installedsoftware"),
    "cpu_count": ("cpucount", "cores", "numberofcores", "vcpus", "cpus"),
    "memory_mb": ("memorymb", "memoryinmb", "memory"),
    "memory_gb": ("memorygb", "memoryingb"),
    "memory_bytes": ("memorybytes",),
    "disk_gb": ("diskgb", "disksizegb", "storagegb", "storageingb", "totaldiskgb"),
    "disk_bytes": ("diskbytes",),
    "cpu_util_pct": ("cpuutilpct", "cpuutilizationpercentage", "cpuutilisation", "cpuutil"),
    "memory_util_pct": ("memoryutilpct", "memoryutilizationpercentage", "memoryutilisation"),
    "listening": ("listening", "ports", "listeningports"),
    "exposures": ("exposures", "insecureservices"),
    "first_seen": ("firstseen",),
    "manufactured": ("manufactured", "manufacturedate", "manufacturingdate"),
    "bios_date": ("biosdate",),
    "idle_days": ("idledays",),
    "application": ("application", "app", "applicationname"),
    "tags": ("tags",),
    "criticality": ("criticality",),
    "virtual": ("virtual", "isvirtual"),
    "host": ("host", "hypervisorhost", "runson"),
    "hub": ("hub", "sharedinfrastructure"),
    "redundant": ("redundant",),
    "external": ("external",),
    "power_watts": ("powerwatts", "watts"),
    "support_cost": ("supportcost", "annualsupportcost"),
}
DEPENDENCY_ALIASES: Mapping[str, tuple[str, ...]] = {
    "src": ("src", "source", "sourceservername", "sourceserver", "sourcename"),
    "src_ip": ("sourceip", "srcip"),
    "dst": ("dst", "destination", "destinationservername", "destinationserver", "destname"),
    "dst_ip": ("destinationip", "dstip"),
    "port": ("port", "destinationport", "dstport"),
    "service": ("service", "destinationapplication", "destinationprocess"),
    "process": ("process", "sourceprocess", "sourceprocessname", "sourceapplication"),
    "count": ("count", "connections", "connectioncount"),
    "first_seen": ("firstseen",),
    "last_seen": ("lastseen",),
    "kind": ("kind", "dependencykind"),
}
ENVIRONMENT_WORDS = {
    "prod": "prod",
    "production": "prod",
    "live": "prod",
    "prd": "prod",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "testing": "test",
    "uat": "test",
    "qa": "test",
    "tst": "test",
    "staging": "staging",
    "stage": "staging",
    "preprod": "staging",
    "preproduction": "staging",
    "dr": "dr",
    "disasterrecovery": "dr",
    "": "unknown",
    "unknown": "unknown",
}
_KEY = re.compile(r"[^a-z0-9]")
DISK_N = re.compile(r"^disk\d+sizeingb$|^disk\d+sizegb$")
_SPLIT = re.compile(r"\s*[;,]\s*")


@functools.lru_cache(maxsize=4096)
def key_of(name: str) -> str:
    return _KEY.sub("", name.lower())


def present_aliases(
    aliases: Mapping[str, tuple[str, ...]], keys: set[str]
) -> dict[str, tuple[str, ...]]:
    """``aliases`` cut down to the columns a file has (its header's :func:`key_of` keys): rows of
    that file then look up only those, with the same result."""
    return {f: tuple(a for a in names if a in keys) for f, names in aliases.items()}


class Row:
    """One row of an import: values by field (through the aliases), converted or refused."""

    __slots__ = ("aliases", "line", "raw")

    def __init__(self, line: int, raw: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]):
        self.line = line
        self.raw = {key_of(str(k)): (k, v) for k, v in raw.items() if k is not None}
        self.aliases = aliases

    @classmethod
    def keyed(
        cls,
        line: int,
        raw: dict[str, tuple[Any, Any]],
        aliases: Mapping[str, tuple[str, ...]],
    ) -> Row:
        """A row whose cells are already keyed: ``{key_of(column): (column, value)}``."""
        row = cls.__new__(cls)
        row.line, row.raw, row.aliases = line, raw, aliases
        return row

    def get(self, field: str) -> tuple[str, Any]:
        for alias in self.aliases[field]:
            if alias in self.raw:
                column, value = self.raw[alias]
                if isinstance(value, str):
                    value = value.strip()
                if value not in ("", None):
                    return str(column), value
        return field, None

    def values(self, fields: Sequence[str]) -> list[Any]:
        """What :meth:`get` gives of each of ``fields``, the values alone (None where empty)."""
        return [self.get(f)[1] for f in fields]

    def fail(self, column: str, message: str) -> ImportFormatError:
        return ImportFormatError(message, row=self.line, column=column)

    def convert(self, field: str, how: Callable[[Any], Any], expected: str) -> Any:
        column, value = self.get(field)
        if value is None:
            return None
        try:
            return how(value)
        except (ValueError, TypeError):
            raise self.fail(column, f"{value!r} is not {expected}") from None

    def text(self, field: str) -> str | None:
        return self.convert(field, str, "text")  # type: ignore[no-any-return]

    def number(self, field: str) -> float | None:
        return self.convert(field, to_float, "a number")  # type: ignore[no-any-return]

    def whole(self, field: str) -> int | None:
        return self.convert(field, to_int, "a whole number")  # type: ignore[no-any-return]

    def day(self, field: str) -> date | None:
        return self.convert(field, to_day, "a date like 2026-04-01")  # type: ignore[no-any-return]

    def flag(self, field: str) -> bool | None:
        return self.convert(field, _bool, "yes/no (true/false, 1/0)")  # type: ignore[no-any-return]

    def items(self, field: str) -> list[Any]:
        """A list: a JSON list as it is, or text split on ';' or ','."""
        _, value = self.get(field)
        if value is None:
            return []
        if isinstance(value, list):
            return [v.strip() if isinstance(v, str) else v for v in value if v not in ("", None)]
        return [v for v in _SPLIT.split(str(value)) if v]

    def choice(self, field: str, words: Mapping[str, str] | tuple[str, ...]) -> str | None:
        column, value = self.get(field)
        if value is None:
            return None
        word = str(value).strip().lower()
        if isinstance(words, Mapping):
            if key_of(word) in words:
                return words[key_of(word)]
            allowed = sorted(set(words.values()))
        elif word in words:
            return word
        else:
            allowed = list(words)
        raise self.fail(column, f"{value!r} is not one of {', '.join(allowed)}")


class CellRow(Row):
    """A CSV row read by position: where each field's columns are is worked out once per file
    (:func:`cell_columns`), so a row is only its list of cells. Reads as :class:`Row` does."""

    __slots__ = ("cells", "columns")

    def __init__(
        self, line: int, cells: list[str], columns: Mapping[str, tuple[tuple[int, str], ...]]
    ):
        self.line = line
        self.cells = cells
        self.columns = columns

    def get(self, field: str) -> tuple[str, Any]:
        cells = self.cells
        for index, column in self.columns[field]:
            value = cells[index] if index < len(cells) else None
            if value:
                value = value.strip()
                if value:
                    return column, value
        return field, None

    def text(self, field: str) -> str | None:
        value: str | None = self.get(field)[1]
        return value

    def values(self, fields: Sequence[str]) -> list[Any]:
        cells, columns = self.cells, self.columns
        width = len(cells)
        out: list[Any] = []
        for field in fields:
            for index, _ in columns[field]:
                value = cells[index] if index < width else None
                if value and (value := value.strip()):
                    out.append(value)
                    break
            else:
                out.append(None)
        return out


def cell_columns(
    names: list[str], aliases: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[tuple[int, str], ...]]:
    """Per field, the (position, column name) of each of its aliases the header ``names`` has,
    in the aliases' order; of two columns with one key, the last (as ``csv.DictReader``)."""
    where = {key_of(name): (i, name) for i, name in enumerate(names)}
    return {f: tuple(where[a] for a in keys if a in where) for f, keys in aliases.items()}


def to_float(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(v)
    return float(str(v).replace(",", "")) if isinstance(v, str) else float(v)


def to_int(v: Any) -> int:
    number = to_float(v)
    if number != int(number):
        raise ValueError(v)
    return int(number)


def to_day(v: Any) -> date:
    found = parse_day(v)
    if found is None:
        raise ValueError(v)
    return found


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    word = str(v).strip().lower()
    if word in ("yes", "y", "true", "1"):
        return True
    if word in ("no", "n", "false", "0"):
        return False
    raise ValueError(v)
