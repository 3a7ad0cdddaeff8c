"""Generate the sysObjectID -> product tables (``config/snmp/products/``) from vendors' MIBs.

Vendors register one OBJECT IDENTIFIER per product under a products subtree (CISCO-PRODUCTS-MIB
``ciscoProducts``, JUNIPER-CHASSIS-DEFINES-MIB ``jnxProductName``...); a device answers that OID
as its sysObjectID. This module reads a folder of MIB files (SMIv1/SMIv2 text), resolves every
OBJECT IDENTIFIER / OBJECT-IDENTITY / MODULE-IDENTITY assignment through the modules' IMPORTS,
and writes, per vendor, the products under the subtrees named in ``sources.yaml``:
``sysObjectID: [MIB object name, readable model]`` with the source MIB (module, LAST-UPDATED,
repository and path) in the file's header.

The readable model is the product number the MIB's own text gives: a DESCRIPTION clause (or, in
MIBs that use them, the comment on the assignment line, or on its own line just above it as in
ARISTA-PRODUCTS-MIB) containing a token that spells the object name's product part with its
punctuation (``ciscoWSC2960X48FPDL`` described as "... WS-C2960X-48FPD-L ..." ->
``WS-C2960X-48FPD-L``); else a short description that names the
product; else the object name without the vendor's naming prefix. Per vendor, ``sources.yaml``
may give the pattern its descriptions follow (``description_model``), which models are written
in capitals (``upper_models``, for vendors whose object names spell the product number in lower
case: HUAWEI-MIB ``ar161fgw-l`` is the AR161FGW-L) and rewrites of the model (``model_sub``, for
object names that abbreviate the product family: ``fgt60D``); and whether a node with products
registered beneath it is itself a product (``nested_products``).

Run from a checkout::

    python -m collectors.snmp.mibgen MIB_FOLDER [--spec config/snmp/products/sources.yaml]
        [--table cisco ...]

Only the standard library and PyYAML; the parser reads what product-registration MIBs use and
skips everything else.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Assignment",
    "MibError",
    "Module",
    "Product",
    "parse_module",
    "product_table",
    "readable_model",
    "resolve",
]

# Roots every MIB may name without importing them from a file of the folder (SNMPv2-SMI, RFC1155).
WELL_KNOWN: dict[str, tuple[int, ...]] = {
    "ccitt": (0,),
    "iso": (1,),
    "joint-iso-ccitt": (2,),
    "org": (1, 3),
    "dod": (1, 3, 6),
    "internet": (1, 3, 6, 1),
    "directory": (1, 3, 6, 1, 1),
    "mgmt": (1, 3, 6, 1, 2),
    "mib-2": (1, 3, 6, 1, 2, 1),
    "transmission": (1, 3, 6, 1, 2, 1, 10),
    "experimental": (1, 3, 6, 1, 3),
    "private": (1, 3, 6, 1, 4),
    "enterprises": (1, 3, 6, 1, 4, 1),
    "security": (1, 3, 6, 1, 5),
    "snmpV2": (1, 3, 6, 1, 6),
    "snmpModules": (1, 3, 6, 1, 6, 3),
}

_MACROS = ("OBJECT IDENTIFIER", "OBJECT-IDENTITY", "MODULE-IDENTITY")
_STRING = re.compile(r'"[^"]*"', re.S)
_HEADER = re.compile(r"([A-Za-z][\w-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.S)
_IMPORTS = re.compile(r"\bIMPORTS\b(.*?);", re.S)
_FROM = re.compile(r"(.*?)\bFROM\s+([A-Za-z][\w-]*)", re.S)
# Object names start with a lower-case letter, but vendors also register upper-case ones
# (HUAWEI-MIB `S6730-H28Y4C`); `SYNTAX OBJECT IDENTIFIER` of an OBJECT-TYPE is no assignment.
_HEAD = re.compile(
    r"(?m)^[ \t]*(?!SYNTAX\s)([A-Za-z][\w-]*)\s+"
    r"(OBJECT\s+IDENTIFIER|OBJECT-IDENTITY|MODULE-IDENTITY)\b"
)
_VALUE = re.compile(r"::=\s*\{([^}]*)\}")
_ARC = re.compile(r"^(?:[a-zA-Z][\w-]*\((\d+)\)|(\d+)|([a-zA-Z][\w-]*))$")


class MibError(ValueError):
    """A MIB file cannot be read, or a name cannot be resolved; the message names both."""


@dataclass(frozen=True, slots=True)
class Assignment:
    name: str
    parent: str | None
    arcs: tuple[int, ...]
    description: str | None = None


@dataclass(slots=True)
class Module:
    name: str
    imports: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    last_updated: str | None = None
    revision: str | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    oid: str
    name: str
    model: str
    description: str | None


def _strip_comments(text: str) -> tuple[str, dict[int, str]]:
    """Text without ASN.1 comments (``--`` to ``--`` or end of line); strings kept.

    Also returns each line's trailing comment (by line number), which some vendors use as the
    product's description (CISCO-PRODUCTS-MIB).
    """
    out: list[str] = []
    comments: dict[int, str] = {}
    in_string = False
    for number, line in enumerate(text.splitlines()):
        kept: list[str] = []
        i, n = 0, len(line)
        while i < n:
            ch = line[i]
            if in_string:
                kept.append(ch)
                in_string = ch != '"'
                i += 1
            elif ch == '"':
                kept.append(ch)
                in_string = True
                i += 1
            elif line.startswith("--", i):
                end = line.find("--", i + 2)
                body = line[i + 2 : end if end >= 0 else n].strip()
                if body:
                    comments[number] = (comments.get(number, "") + " " + body).strip()
                i = n if end < 0 else end + 2
            else:
                kept.append(ch)
                i += 1
        out.append("".join(kept))
    return "\n".join(out), comments


def _clean(description: str) -> str:
    return re.sub(r"\s+", " ", description).strip()


def parse_module(text: str, path: str = "") -> Module:
    """The module name, imports, OID assignments and dates of one MIB module's text."""
    body, comments = _strip_comments(text)
    strings: list[str] = []

    def stash(m: re.Match[str]) -> str:
        strings.append(m.group(0)[1:-1])
        # keep the line count, so that a line's comment is found by its number
        return f"\x00{len(strings) - 1}\x00" + "\n" * m.group(0).count("\n")

    masked = _STRING.sub(stash, body)
    lines = masked.split("\n")
    header = _HEADER.search(masked)
    if header is None:
        raise MibError(f"{path or 'MIB text'}: no `<NAME> DEFINITIONS ::= BEGIN` header")
    module = Module(name=header.group(1), path=path)
    imports = _IMPORTS.search(masked, header.end())
    if imports is not None:
        for symbols, source in _FROM.findall(imports.group(1)):
            for symbol in re.split(r"[\s,]+", symbols.strip()):
                if symbol:
                    module.imports[symbol] = source
    for head in _HEAD.finditer(masked, header.end()):
        name, macro = head.group(1), head.group(2)
        m = _VALUE.search(masked, head.end())
        if m is None:
            break
        clauses, value = masked[head.end() : m.start()], m.group(1)
        if "IDENTIFIER" in macro and clauses.strip():
            continue  # `x OBJECT IDENTIFIER,` inside a SEQUENCE, not an assignment
        if _HEAD.search(clauses):
            continue  # a macro without its own value; the next head has it
        parts = value.split()
        parent: str | None = None
        arcs: list[int] = []
        for i, part in enumerate(parts):
            arc = _ARC.match(part)
            if arc is None:
                break
            number = arc.group(1) or arc.group(2)
            if number is not None:
                arcs.append(int(number))
            elif i == 0:
                parent = arc.group(3)
            else:
                break
        else:
            description = None
            found = re.search(r"\bDESCRIPTION\s+\x00(\d+)\x00", clauses)
            if found:
                description = _clean(strings[int(found.group(1))])
            elif "IDENTIFIER" in macro:
                line = masked.count("\n", 0, m.end())
                description = comments.get(line)
                above = masked.count("\n", 0, head.start()) - 1
                if description is None and above >= 0 and not lines[above].strip():
                    # a comment line of its own just above the assignment (ARISTA-PRODUCTS-MIB)
                    description = comments.get(above)
            if macro == "MODULE-IDENTITY":
                updated = re.search(r"\bLAST-UPDATED\s+\x00(\d+)\x00", clauses)
                revision = re.search(r"\bREVISION\s+\x00(\d+)\x00", clauses)
                module.last_updated = strings[int(updated.group(1))] if updated else None
                module.revision = strings[int(revision.group(1))] if revision else None
            module.assignments[name] = Assignment(name, parent, tuple(arcs), description)
    return module


def resolve(modules: Mapping[str, Module]) -> dict[tuple[str, str], tuple[int, ...]]:
    """The numeric OID of every assignment, keyed by (module, name)."""
    done: dict[tuple[str, str], tuple[int, ...]] = {}

    def oid_of(module: str, name: str, seen: frozenset[tuple[str, str]]) -> tuple[int, ...]:
        key = (module, name)
        if key in done:
            return done[key]
        if key in seen:
            raise MibError(f"{module}: {name} is defined in terms of itself")
        mod = modules.get(module)
        if mod is not None and name in mod.assignments:
            a = mod.assignments[name]
            base = oid_of(module, a.parent, seen | {key}) if a.parent else ()
            done[key] = base + a.arcs
            return done[key]
        if mod is not None and name in mod.imports and mod.imports[name] in modules:
            done[key] = oid_of(mod.imports[name], name, seen | {key})
            return done[key]
        if name in WELL_KNOWN:
            return WELL_KNOWN[name]
        source = mod.imports.get(name) if mod is not None else None
        raise MibError(
            f"{module}: cannot resolve {name}"
            + (f" (imported from {source}: add that MIB to the folder)" if source else "")
        )

    for mod in modules.values():
        for name in mod.assignments:
            oid_of(mod.name, name, frozenset())
    return done


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def readable_model(
    name: str, description: str | None, prefix: str = "", stem_models: bool = False
) -> str:
    """The product as its vendor writes it, from the object name and its description.

    1. A run of description tokens that spells the object name's product part (the name less
       ``prefix``, compared on letters and digits) with the vendor's punctuation.
    2. A product number in the description that ends with the name's part from its first digit
       (``cat4006`` described as "... (WS-C4006)" -> ``WS-C4006``).
    3. The object name less ``prefix`` when letters and digits remain, else the name; with
       ``stem_models`` (vendors whose object names are product names, such as Juniper's
       ``jnxProductNameVMX``) the name less ``prefix`` whenever a letter remains.
    """
    stem = re.sub(f"^(?:{prefix})", "", name) if prefix else name
    target = _norm(stem)
    first_digit = re.search(r"\d", stem)
    tokens: list[str] = re.findall(
        r"[A-Za-z0-9][\w+./-]*[A-Za-z0-9+]|[A-Za-z0-9]", description or ""
    )
    if len(target) >= 3:
        for size in (1, 2, 3):
            for i in range(len(tokens) - size + 1):
                run = " ".join(tokens[i : i + size])
                # a product number (digits or dashes) or a product name ("Panorama"); digits
                # alone ("1407" of cisco1407) say less than the name, as in rule 3
                named = first_digit or "-" in run or re.fullmatch(r"[A-Z][a-z]{4,}", run)
                if named and _norm(run) == target and re.search(r"[A-Za-z]", run):
                    return run
    if first_digit is not None and len(_norm(stem[first_digit.start() :])) >= 3:
        tail = _norm(stem[first_digit.start() :])
        # a name that leads with a product code ("CE" of ciscoCE507AV) wants it kept: "507-AV"
        # drops it; a family word ("cat" of cat4840gL3) may go
        coded = stem[: first_digit.start()][:1].isupper()
        found: list[str] = [
            t
            for t in tokens
            if "-" in t
            and re.search(r"[A-Za-z]", t)
            and _norm(t).endswith(tail)
            and (len(_norm(t)) > len(tail) or not coded)
        ]
        if found:
            return max(found, key=len)
    # a stem of digits alone ("3000" of cisco3000) says less than the name itself
    if stem != name and stem_models and re.search(r"[A-Za-z]", stem):
        return stem
    return stem if first_digit is not None and re.search(r"[A-Za-z]", stem) else name


def product_table(
    modules: Mapping[str, Module],
    oids: Mapping[tuple[str, str], tuple[int, ...]],
    module: str,
    roots: Sequence[str],
    prefix: str = "",
    exclude: str = "",
    stem_models: bool = False,
    model_sub: Sequence[tuple[str, str]] = (),
    description_model: tuple[str, str] | None = None,
    nested_products: bool = False,
    upper_models: str = "",
) -> list[Product]:
    """Every assignment of ``module`` strictly under one of ``roots``, in OID order, except
    names matching ``exclude`` and nodes that only group other products (excluded names, such
    as a switch's modules registered beneath it, group nothing). With ``nested_products``
    (vendors that register a variant beneath its base model: ARISTA-PRODUCTS-MIB
    ``aristaDCS7508`` and ``aristaDCS7508N`` beneath it) every assignment is a product.

    ``description_model`` is a ``(regex, template)`` pair for vendors whose descriptions follow
    one pattern: when the regex matches the description, the model is the template expanded
    with the match (HP-ICF-OID "... the J9775A HP 2530-48G Switch." -> ``J9775A 2530-48G``);
    otherwise :func:`readable_model` decides. A model that ``upper_models`` (a regex) finds is
    then written in capitals (``ar161fgw-l`` -> ``AR161FGW-L``), and ``model_sub`` rewrites each
    model with ``(regex, replacement)`` pairs, in order: for vendors whose object names
    abbreviate the product family (``fgt60D`` -> ``FortiGate-60D``).
    """
    if module not in modules:
        raise MibError(f"MIB module {module} is not in the folder")
    bases = []
    for root in roots:
        key = (module, root)
        imported = modules[module].imports.get(root)
        if key not in oids and imported is not None:
            key = (imported, root)
        if key not in oids:
            if root in WELL_KNOWN:
                bases.append(WELL_KNOWN[root])
                continue
            raise MibError(f"{module}: products root {root} is not defined or imported")
        bases.append(oids[key])
    out: list[Product] = []
    skip = re.compile(exclude) if exclude else None
    described = re.compile(description_model[0]) if description_model else None
    capitals = re.compile(upper_models) if upper_models else None
    kept = [n for n in modules[module].assignments if skip is None or not skip.search(n)]
    for name in kept:
        a = modules[module].assignments[name]
        oid = oids[(module, name)]
        if any(len(oid) > len(b) and oid[: len(b)] == b for b in bases):
            # a node that only groups others (products under it) is a family, not a product
            if not nested_products and any(
                (module, other) in oids and oids[(module, other)][: len(oid)] == oid
                for other in kept
                if other != name and len(oids[(module, other)]) > len(oid)
            ):
                continue
            found = described.search(a.description or "") if described else None
            if found is not None and description_model is not None:
                model = _clean(found.expand(description_model[1]))
            else:
                model = readable_model(name, a.description, prefix, stem_models)
            if capitals is not None and capitals.search(model):
                model = model.upper()
            for pattern, replacement in model_sub:
                model = re.sub(pattern, replacement, model)
            out.append(
                Product(
                    oid=".".join(map(str, oid)),
                    name=name,
                    model=model,
                    description=a.description,
                )
            )
    out.sort(key=lambda p: tuple(int(x) for x in p.oid.split(".")))
    return out


def load_folder(folder: Path) -> dict[str, Module]:
    """Every MIB module found in the files of ``folder`` (any file name or extension)."""
    modules: dict[str, Module] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "DEFINITIONS" not in text:
            continue
        try:
            mod = parse_module(text, str(path.relative_to(folder)))
        except MibError:
            continue
        modules[mod.name] = mod
    return modules


def _yaml_scalar(value: str) -> str:
    dumped: str = yaml.safe_dump(value, default_style=None, width=1000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def write_table(
    path: Path, spec: Mapping[str, Any], mod: Module, products: Iterable[Product]
) -> int:
    """Write one vendor's table; returns the number of products written."""
    rows = list(products)
    lines = [
        f"# {spec['vendor']} products: sysObjectID -> [MIB object name, model].",
        "#",
        "# Generated by collectors/snmp/mibgen.py from the vendor's product-registration MIB; do",
        "# not edit by hand: change config/snmp/products/sources.yaml or the MIB and regenerate.",
        f"# Source: {mod.name} (LAST-UPDATED {mod.last_updated or 'not given'}), "
        f"{spec.get('repository', '?')} {spec.get('path', mod.path)}"
        + (f" at {spec['commit']}" if spec.get("commit") else ""),
        f"# Subtree: {', '.join(spec['roots'])}; {len(rows)} products.",
        *(f"# Note: {line}" for line in str(spec.get("note", "")).splitlines() if line),
        "",
        f"vendor: {_yaml_scalar(str(spec['vendor']))}",
        "source:",
        f"  module: {mod.name}",
        f"  last_updated: {_yaml_scalar(mod.last_updated or '')}",
        f"  repository: {_yaml_scalar(str(spec.get('repository', '')))}",
        f"  path: {_yaml_scalar(str(spec.get('path', mod.path)))}",
    ]
    if spec.get("commit"):
        lines.append(f"  commit: {spec['commit']}")
    lines.append("products:")
    for p in rows:
        lines.append(f"  {p.oid}: [{_yaml_scalar(p.name)}, {_yaml_scalar(p.model)}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


def _pair(value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise MibError(f"expected [regex, template], got {value!r}")
    return str(value[0]), str(value[1])


def generate(
    mib_folder: Path, spec_path: Path, out: Path, only: Sequence[str] = ()
) -> dict[str, int]:
    """Write the tables ``spec_path`` lists (those named in ``only``, when given); returns
    products written per table. Nothing is written unless every chosen table's module is in
    the folder."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    tables = spec.get("tables") if isinstance(spec, dict) else None
    if not isinstance(tables, dict):
        raise MibError(f"{spec_path}: expected `tables: {{name: {{vendor, module, roots}}}}`")
    unknown = [name for name in only if name not in tables]
    if unknown:
        raise MibError(f"{spec_path}: no table {', '.join(unknown)} (has {', '.join(tables)})")
    chosen = {name: entry for name, entry in tables.items() if not only or name in only}
    modules = load_folder(mib_folder)
    for table, entry in chosen.items():
        if str(entry["module"]) not in modules:
            raise MibError(
                f"{spec_path}: table {table}: MIB module {entry['module']} not in {mib_folder}"
            )
    oids = resolve(modules)
    written: dict[str, int] = {}
    for table, entry in chosen.items():
        module = str(entry["module"])
        rows = product_table(
            modules,
            oids,
            module,
            list(entry["roots"]),
            str(entry.get("prefix", "")),
            str(entry.get("exclude", "")),
            bool(entry.get("stem_models", False)),
            [
                (str(pattern), str(replacement))
                for pattern, replacement in entry.get("model_sub", [])
            ],
            _pair(entry.get("description_model")),
            bool(entry.get("nested_products", False)),
            str(entry.get("upper_models", "")),
        )
        written[table] = write_table(out / f"{table}.yaml", entry, modules[module], rows)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m collectors.snmp.mibgen",
        description="Write config/snmp/products/*.yaml from a folder of vendor MIB files.",
    )
    parser.add_argument("mibs", type=Path, help="folder holding the MIB files (any names)")
    here = Path(__file__).resolve().parents[2] / "config" / "snmp" / "products"
    parser.add_argument("--spec", type=Path, default=here / "sources.yaml")
    parser.add_argument("--out", type=Path, default=here)
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        help="regenerate only this table (repeatable); default: every table in the spec",
    )
    args = parser.parse_args(argv)
    try:
        written = generate(args.mibs, args.spec, args.out, args.table)
    except (MibError, OSError, KeyError) as exc:
        print(f"mibgen: {exc}", file=sys.stderr)
        return 1
    for table, count in written.items():
        print(f"{table}: {count} products")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
