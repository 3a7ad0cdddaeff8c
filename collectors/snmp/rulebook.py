"""The identification rule book: YAML under ``config/snmp/`` compiled once into frozen records.

Files: ``enterprises.yaml`` (IANA enterprise numbers and sysObjectID prefixes -> vendor, vendor
name aliases, agent-only enterprise numbers) and ``identify/*.yaml`` (profiles per product family,
read in file-name order, plus shared ``defaults``, lookup ``tables`` and ``junk`` values).

A profile is ``when`` (a condition) and, per identity field, the sources to try in order. The
format is described in ``config/snmp/identify/README.md``. Every problem found while loading is
reported at once, naming the file, the rule and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from collectors.datadir import load_yaml
from collectors.errors import CollectorError
from collectors.facts import DEVICE_CLASSES
from collectors.snmp.rawindex import ENTITY_COLUMNS, ENTITY_PRODUCT, HR_DEVICE_TYPES

FIELDS = ("vendor", "os", "model", "version", "serial", "firmware")
SOURCE_KINDS = (
    "descr",
    "object_id",
    "oid",
    "oids",
    "entity",
    "hr_device",
    "hr_sw",
    "package",
    "mac",
    "product",
    "value",
)
SOURCE_MODIFIERS = ("match", "sub", "lookup", "format", "case", "when", "index_text")
CONDITION_KEYS = (
    "object_id",
    "descr",
    "has",
    "value",
    "package",
    "bits",
    "int",
    "any",
    "all",
    "not",
)
PROFILE_KEYS = ("id", "when", "class", "classes", "walk", "defaults", *FIELDS)


class RulesError(CollectorError, ValueError):
    """The identification rule files are missing or invalid; the message lists every problem."""

    kind = "rules"


@dataclass(frozen=True, slots=True)
class Condition:
    object_id: tuple[str, ...] = ()
    descr: re.Pattern[str] | None = None
    has: tuple[str, ...] = ()
    values: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # (installed package name prefix, optional regex the whole name must also match)
    packages: tuple[tuple[str, re.Pattern[str] | None], ...] = ()
    bits: tuple[str, frozenset[int]] | None = None
    int_mask: tuple[str, int, int] | None = None
    any_of: tuple[Condition, ...] = ()
    all_of: tuple[Condition, ...] = ()
    none_of: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    kind: str
    arg: str = ""
    oids: tuple[tuple[str, str], ...] = ()
    match: re.Pattern[str] | None = None
    subs: tuple[tuple[re.Pattern[str], str], ...] = ()
    lookup: tuple[str, str] | None = None
    fmt: str | None = None
    case: str | None = None
    when: Condition | None = None
    index_text: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    when: Condition
    device_class: str | None = None
    classes: tuple[tuple[Condition, str], ...] = ()
    fields: Mapping[str, tuple[Source, ...]] = field(default_factory=dict)
    walk: tuple[str, ...] = ()
    defaults: bool = True


@dataclass(frozen=True, slots=True)
class IdentifyRules:
    """Everything identification needs, compiled. Build it with ``load_rules``."""

    enterprises: Mapping[int, str]
    prefixes: tuple[tuple[str, str], ...]  # (sysObjectID prefix, vendor), longest first
    agents: frozenset[int]
    aliases: tuple[tuple[re.Pattern[str], str], ...]
    profiles: tuple[Profile, ...]
    defaults: Mapping[str, tuple[Source, ...]]
    default_classes: tuple[tuple[Condition, str], ...]
    default_walk: tuple[str, ...]
    tables: Mapping[str, Mapping[str, str]]
    junk: Mapping[str, tuple[re.Pattern[str], ...]]
    # sysObjectID -> product registered in its vendor's MIB (config/snmp/products/)
    products: Mapping[str, Product] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Product:
    """A sysObjectID as its vendor's product-registration MIB names it."""

    model: str  # the product number or name, readable
    name: str  # the MIB object name (what `snmptranslate` prints)
    module: str  # the MIB module that registers it


class _Compiler:
    """Turns parsed YAML into records, collecting every problem instead of stopping at one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, where: str, value: Any) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
            return {}
        return value

    def listing(self, where: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {type(value).__name__}")
            return []
        return value

    def regex(self, where: str, pattern: Any) -> re.Pattern[str] | None:
        if not isinstance(pattern, str):
            self.fail(where, f"expected a regular expression string, got {pattern!r}")
            return None
        try:
            return re.compile(pattern)
        except re.error as exc:
            self.fail(where, f"invalid regular expression {pattern!r}: {exc}")
            return None

    def oid_list(self, where: str, value: Any) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            oid = str(item).strip(".")
            if not re.fullmatch(r"\d+(\.\d+)*", oid):
                self.fail(where, f"{item!r} is not a dotted numeric OID")
            else:
                out.append(oid)
        return tuple(out)

    def prefix(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected a package name prefix (non-empty text), got {value!r}")
            return None
        return value

    def packages(self, where: str, spec: Any) -> tuple[tuple[str, re.Pattern[str] | None], ...]:
        """``package: PREFIX``, ``[PREFIX, ...]`` or ``{PREFIX: REGEX, ...}``."""
        out: list[tuple[str, re.Pattern[str] | None]] = []
        if isinstance(spec, dict):
            for prefix, pattern in spec.items():
                name = self.prefix(where, prefix)
                compiled = self.regex(f"{where}.{prefix}", pattern)
                if name is not None and compiled is not None:
                    out.append((name, compiled))
        else:
            for item in spec if isinstance(spec, list) else [spec]:
                name = self.prefix(where, item)
                if name is not None:
                    out.append((name, None))
        if not spec:
            self.fail(where, "expected at least one package name prefix")
        return tuple(out)

    def condition(self, where: str, spec: Any) -> Condition:
        if not isinstance(spec, dict) or not spec:
            self.fail(where, "a condition must be a non-empty mapping")
            return Condition()
        for key in spec:
            if key not in CONDITION_KEYS:
                self.fail(
                    where, f"unknown condition key {key!r} (expected {', '.join(CONDITION_KEYS)})"
                )
        values: list[tuple[str, re.Pattern[str]]] = []
        for oid, pattern in self.mapping(f"{where}.value", spec.get("value")).items():
            compiled = self.regex(f"{where}.value.{oid}", pattern)
            if compiled is not None:
                values.extend((o, compiled) for o in self.oid_list(f"{where}.value", oid))
        packages = self.packages(f"{where}.package", spec["package"]) if "package" in spec else ()
        bits = None
        if "bits" in spec:
            b = spec["bits"]
            oids = self.oid_list(f"{where}.bits.oid", b.get("oid") if isinstance(b, dict) else None)
            nums = b.get("set") if isinstance(b, dict) else None
            if oids and isinstance(nums, list) and all(isinstance(n, int) for n in nums):
                bits = (oids[0], frozenset(nums))
            else:
                self.fail(f"{where}.bits", "expected {oid: OID, set: [bit numbers]}")
        int_mask = None
        if "int" in spec:
            m = spec["int"]
            oids = self.oid_list(f"{where}.int.oid", m.get("oid") if isinstance(m, dict) else None)
            if oids and isinstance(m.get("mask"), int) and isinstance(m.get("equals"), int):
                int_mask = (oids[0], int(m["mask"]), int(m["equals"]))
            else:
                self.fail(f"{where}.int", "expected {oid: OID, mask: INT, equals: INT}")
        subs = {k: self.listing(f"{where}.{k}", spec.get(k)) for k in ("any", "all")}
        return Condition(
            object_id=self.oid_list(f"{where}.object_id", spec["object_id"])
            if "object_id" in spec
            else (),
            descr=self.regex(f"{where}.descr", spec["descr"]) if "descr" in spec else None,
            has=self.oid_list(f"{where}.has", spec["has"]) if "has" in spec else (),
            values=tuple(values),
            packages=packages,
            bits=bits,
            int_mask=int_mask,
            any_of=tuple(self.condition(f"{where}.any[{i}]", c) for i, c in enumerate(subs["any"])),
            all_of=tuple(self.condition(f"{where}.all[{i}]", c) for i, c in enumerate(subs["all"])),
            none_of=(self.condition(f"{where}.not", spec["not"]),) if "not" in spec else (),
        )

    def source(self, where: str, spec: Any, tables: Mapping[str, Any]) -> Source | None:
        if isinstance(spec, str | int | float):
            return Source(kind="value", arg=str(spec))
        if not isinstance(spec, dict):
            self.fail(where, f"expected a source mapping or a constant, got {spec!r}")
            return None
        kinds = [k for k in spec if k in SOURCE_KINDS]
        unknown = [k for k in spec if k not in SOURCE_KINDS and k not in SOURCE_MODIFIERS]
        if unknown:
            self.fail(
                where,
                f"unknown key(s) {unknown} (sources: {', '.join(SOURCE_KINDS)}; "
                f"modifiers: {', '.join(SOURCE_MODIFIERS)})",
            )
        if len(kinds) != 1:
            self.fail(where, f"needs exactly one of {', '.join(SOURCE_KINDS)}, got {kinds}")
            return None
        kind = kinds[0]
        arg = spec[kind]
        match = self.regex(f"{where}.match", spec["match"]) if "match" in spec else None
        oids: tuple[tuple[str, str], ...] = ()
        if kind in ("descr", "object_id", "hr_sw"):
            if arg is not True:
                match = self.regex(f"{where}.{kind}", arg)
            arg = ""
        elif kind == "oid":
            found = self.oid_list(f"{where}.oid", arg)
            arg = found[0] if found else ""
        elif kind == "package":
            arg = self.prefix(f"{where}.package", arg) or ""
        elif kind == "oids":
            if not isinstance(arg, dict) or "format" not in spec:
                self.fail(where, "oids needs a mapping {name: OID} and a format")
            else:
                oids = tuple((str(k), o) for k, v in arg.items() for o in self.oid_list(where, v))
            arg = ""
        elif kind == "product" and arg not in ("model", "name"):
            self.fail(where, f"product field {arg!r} unknown (expected model or name)")
        elif kind == "entity" and arg not in ENTITY_COLUMNS and arg != ENTITY_PRODUCT:
            self.fail(
                where,
                f"entity field {arg!r} unknown (expected {', '.join(ENTITY_COLUMNS)}, "
                f"{ENTITY_PRODUCT})",
            )
        elif kind == "hr_device" and arg != "any" and arg not in HR_DEVICE_TYPES:
            self.fail(
                where,
                f"hr_device kind {arg!r} unknown (expected any, {', '.join(HR_DEVICE_TYPES)})",
            )
        subs: list[tuple[re.Pattern[str], str]] = []
        for i, pair in enumerate(self.listing(f"{where}.sub", spec.get("sub"))):
            if not (isinstance(pair, list) and len(pair) == 2):
                self.fail(f"{where}.sub[{i}]", "expected [pattern, replacement]")
                continue
            compiled = self.regex(f"{where}.sub[{i}]", pair[0])
            if compiled is not None:
                subs.append((compiled, str(pair[1])))
        case = spec.get("case")
        if case is not None and case not in ("upper", "lower"):
            self.fail(f"{where}.case", f"expected upper or lower, got {case!r}")
        lookup = None
        if "lookup" in spec:
            lk = spec["lookup"]
            if isinstance(lk, list) and len(lk) == 2 and lk[0] in tables:
                lookup = (str(lk[0]), str(lk[1]))
            else:
                self.fail(
                    f"{where}.lookup",
                    f"expected [table, key template] with a table from {sorted(tables)}",
                )
        return Source(
            kind=kind,
            arg=str(arg),
            oids=oids,
            match=match,
            subs=tuple(subs),
            lookup=lookup,
            fmt=str(spec["format"]) if "format" in spec else None,
            case=case if case in ("upper", "lower") else None,
            when=self.condition(f"{where}.when", spec["when"]) if "when" in spec else None,
            index_text=self.regex(f"{where}.index_text", spec["index_text"])
            if "index_text" in spec
            else None,
        )

    def sources(self, where: str, spec: Any, tables: Mapping[str, Any]) -> tuple[Source, ...]:
        items = spec if isinstance(spec, list) else [spec]
        out = (self.source(f"{where}[{i}]", s, tables) for i, s in enumerate(items))
        return tuple(s for s in out if s is not None)

    def device_class(self, where: str, value: Any) -> str | None:
        if value not in DEVICE_CLASSES:
            self.fail(where, f"class {value!r} is not one of {', '.join(DEVICE_CLASSES)}")
            return None
        return str(value)

    def class_rules(self, where: str, spec: Any) -> tuple[tuple[Condition, str], ...]:
        out: list[tuple[Condition, str]] = []
        for i, rule in enumerate(self.listing(where, spec)):
            w = f"{where}[{i}]"
            if not isinstance(rule, dict) or set(rule) != {"when", "class"}:
                self.fail(w, "expected {when: CONDITION, class: CLASS}")
                continue
            klass = self.device_class(w, rule["class"])
            if klass:
                out.append((self.condition(f"{w}.when", rule["when"]), klass))
        return tuple(out)

    def profile(self, where: str, spec: Any, tables: Mapping[str, Any]) -> Profile | None:
        if not isinstance(spec, dict) or "id" not in spec or "when" not in spec:
            self.fail(where, "a profile needs at least `id` and `when`")
            return None
        where = f"{where} ({spec['id']})"
        for key in spec:
            if key not in PROFILE_KEYS:
                self.fail(where, f"unknown key {key!r} (expected {', '.join(PROFILE_KEYS)})")
        return Profile(
            id=str(spec["id"]),
            when=self.condition(f"{where}.when", spec["when"]),
            device_class=self.device_class(f"{where}.class", spec["class"])
            if "class" in spec
            else None,
            classes=self.class_rules(f"{where}.classes", spec.get("classes")),
            fields=MappingProxyType(
                {f: self.sources(f"{where}.{f}", spec[f], tables) for f in FIELDS if f in spec}
            ),
            walk=self.oid_list(f"{where}.walk", spec["walk"]) if "walk" in spec else (),
            defaults=bool(spec.get("defaults", True)),
        )


def _read(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror})")
        return {}
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML ({exc})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a mapping at the top level")
        return {}
    return data


PRODUCT_SPEC = "sources.yaml"


def product_files(folder: Path) -> list[Path]:
    """The generated product tables under ``folder/products`` (not the generator's spec)."""
    return sorted(p for p in (folder / "products").glob("*.yaml") if p.name != PRODUCT_SPEC)


def _products(c: _Compiler, folder: Path) -> dict[str, Product]:
    out: dict[str, Product] = {}
    for path in product_files(folder):
        doc = _read(path, c.problems)
        module = str(c.mapping(f"products/{path.name} source", doc.get("source")).get("module", ""))
        for oid, row in c.mapping(f"products/{path.name} products", doc.get("products")).items():
            key = str(oid).strip(".")
            if not re.fullmatch(r"\d+(\.\d+)*", key) or not (
                isinstance(row, list) and len(row) == 2 and all(isinstance(v, str) for v in row)
            ):
                c.fail(f"products/{path.name}", f"entry {oid!r}: expected OID: [name, model]")
                continue
            out.setdefault(key, Product(model=row[1], name=row[0], module=module or path.stem))
    return out


def compile_rules(folder: Path) -> IdentifyRules:
    """Load and compile ``enterprises.yaml`` and ``identify/*.yaml`` under ``folder``."""
    c = _Compiler()
    if not folder.is_dir():
        raise RulesError(
            f"identification rules folder {folder} does not exist; "
            "point CLOUDWARD_DATA_DIR at the shipped config/ folder"
        )
    ent = _read(folder / "enterprises.yaml", c.problems)
    enterprises: dict[int, str] = {}
    for num, name in c.mapping("enterprises.yaml enterprises", ent.get("enterprises")).items():
        if isinstance(num, int) and isinstance(name, str):
            enterprises[num] = name
        else:
            c.fail("enterprises.yaml", f"entry {num!r}: {name!r} must be NUMBER: Name")
    declared = c.mapping("enterprises.yaml prefixes", ent.get("prefixes"))
    prefixes = sorted(
        ((o, str(v)) for k, v in declared.items() for o in c.oid_list("prefixes", k)),
        key=lambda kv: -len(kv[0].split(".")),
    )
    aliases: list[tuple[re.Pattern[str], str]] = []
    for pattern, name in c.mapping("enterprises.yaml aliases", ent.get("aliases")).items():
        compiled = c.regex(f"enterprises.yaml aliases {name}", pattern)
        if compiled is not None:
            aliases.append((compiled, str(name)))

    files = sorted((folder / "identify").glob("*.yaml"))
    if not files:
        c.fail(str(folder / "identify"), "no rule files (*.yaml) found")
    docs = [(p.name, _read(p, c.problems)) for p in files]
    tables: dict[str, dict[str, str]] = {}
    junk: dict[str, tuple[re.Pattern[str], ...]] = {}
    for name, doc in docs:
        for tname, table in c.mapping(f"{name} tables", doc.get("tables")).items():
            if tname in tables or not isinstance(table, dict):
                c.fail(name, f"table {tname!r} is defined twice or is not a mapping")
            else:
                tables[tname] = {str(k): str(v) for k, v in table.items()}
        for fname, patterns in c.mapping(f"{name} junk", doc.get("junk")).items():
            listed = c.listing(f"{name} junk.{fname}", patterns)
            compiled_junk = (c.regex(f"{name} junk.{fname}", p) for p in listed)
            junk[fname] = junk.get(fname, ()) + tuple(p for p in compiled_junk if p is not None)
    profiles: list[Profile] = []
    defaults: dict[str, tuple[Source, ...]] = {}
    default_classes: tuple[tuple[Condition, str], ...] = ()
    default_walk: tuple[str, ...] = ()
    for name, doc in docs:
        for key in doc:
            if key not in ("profiles", "defaults", "tables", "junk"):
                c.fail(
                    name,
                    f"unknown top-level key {key!r} (expected profiles, defaults, tables, junk)",
                )
        for i, spec in enumerate(c.listing(f"{name} profiles", doc.get("profiles"))):
            prof = c.profile(f"{name} profiles[{i}]", spec, tables)
            if prof is not None:
                profiles.append(prof)
        if "defaults" in doc:
            d = c.mapping(f"{name} defaults", doc["defaults"])
            defaults.update(
                {f: c.sources(f"{name} defaults.{f}", d[f], tables) for f in FIELDS if f in d}
            )
            default_classes += c.class_rules(f"{name} defaults.classes", d.get("classes"))
            if "walk" in d:
                default_walk += c.oid_list(f"{name} defaults.walk", d["walk"])
    products = _products(c, folder)
    agents = frozenset(c.listing("enterprises.yaml agents", ent.get("agents")))
    if not all(isinstance(n, int) for n in agents):
        c.fail("enterprises.yaml agents", "expected a list of enterprise numbers")
    ids = [p.id for p in profiles]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        c.fail("identify/", f"profile id {dup!r} is used more than once")
    if c.problems:
        raise RulesError(
            f"invalid identification rules in {folder} ({len(c.problems)} problem(s)):\n  "
            + "\n  ".join(c.problems)
        )
    return IdentifyRules(
        enterprises=MappingProxyType(enterprises),
        prefixes=tuple(prefixes),
        agents=agents,
        aliases=tuple(aliases),
        profiles=tuple(profiles),
        defaults=MappingProxyType(defaults),
        default_classes=default_classes,
        default_walk=default_walk,
        tables=MappingProxyType({k: MappingProxyType(v) for k, v in tables.items()}),
        junk=MappingProxyType(junk),
        products=MappingProxyType(products),
    )
