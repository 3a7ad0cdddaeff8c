"""Rule evaluation against one device: conditions (``when``) and value sources.

The pieces of identification that read the device's raw values: whether a condition holds,
and what a source yields (matched, looked up, formatted, cleaned, junk filtered) with the OID or
sysDescr it came from. :mod:`collectors.snmp.identify` decides which rules to apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from collectors.snmp.rawindex import (
    ENT_PHYSICAL,
    SYS_DESCR,
    SYS_OBJECT_ID,
    RawIndex,
    as_text,
    index_text,
)
from collectors.snmp.rulebook import Condition, IdentifyRules, Source
from collectors.snmp.values import RawValue, integer

MAX_LEN = 160
_SPACES = re.compile(r"\s+")
_ENTITY_NAMES = {
    col: "entPhysical" + name
    for col, name in {
        2: "Descr",
        7: "Name",
        8: "HardwareRev",
        9: "FirmwareRev",
        10: "SoftwareRev",
        11: "SerialNum",
        12: "MfgName",
        13: "ModelName",
    }.items()
}
_LABELS = {
    "1.3.6.1.2.1.25.3.2.1.3": "hrDeviceDescr",
    "1.3.6.1.2.1.25.6.3.1.2": "hrSWInstalledName",
    "1.3.6.1.2.1.2.2.1.6": "ifPhysAddress",
}


def under(oid: str, prefix: str) -> bool:
    """Whether ``oid`` is ``prefix`` or lies in its subtree."""
    return oid == prefix or oid.startswith(prefix + ".")


class Device:
    """One device's raw values plus the few scalars every rule reads."""

    __slots__ = ("descr", "index", "object_id")

    def __init__(self, raw: Mapping[str, RawValue]) -> None:
        self.index = RawIndex(raw)
        descr = self.index.text(SYS_DESCR) or ""
        self.descr = descr.strip().strip('"').strip()
        oid = (self.index.text(SYS_OBJECT_ID) or "").strip().strip(".")
        self.object_id = oid if re.fullmatch(r"\d+(\.\d+)*", oid) else ""


def _any_value(dev: Device, oid: str, pattern: re.Pattern[str]) -> bool:
    """Whether the scalar at ``oid`` (or, for a column, any row under it) matches."""
    value = dev.index.get(oid)
    rows = [value] if value is not None else (v for _, v in dev.index.subtree(oid))
    for row in rows:
        found = as_text(row)
        if found is not None and pattern.search(found):
            return True
    return False


def _installed(dev: Device, prefix: str, pattern: re.Pattern[str] | None) -> bool:
    """Whether an installed package name starts with ``prefix`` (and matches ``pattern``)."""
    return any(pattern is None or pattern.search(name) for _, name in dev.index.packages(prefix))


def holds(cond: Condition, dev: Device) -> bool:
    if cond.object_id and not any(under(dev.object_id, p) for p in cond.object_id):
        return False
    if cond.descr is not None and not cond.descr.search(dev.descr):
        return False
    if cond.has and not any(dev.index.has(p) for p in cond.has):
        return False
    for oid, pattern in cond.values:
        if not _any_value(dev, oid, pattern):
            return False
    if cond.bits is not None:
        value = dev.index.get(cond.bits[0])
        if not isinstance(value, bytes) or not any(
            n // 8 < len(value) and value[n // 8] & (0x80 >> n % 8) for n in cond.bits[1]
        ):
            return False
    if cond.int_mask is not None:
        number = integer(dev.index.get(cond.int_mask[0]))
        if number is None or number & cond.int_mask[1] != cond.int_mask[2]:
            return False
    if cond.any_of and not any(holds(c, dev) for c in cond.any_of):
        return False
    if cond.packages and not any(_installed(dev, p, r) for p, r in cond.packages):
        return False
    if not all(holds(c, dev) for c in cond.all_of):
        return False
    return not any(holds(c, dev) for c in cond.none_of)


def _short(pattern: str, limit: int = 60) -> str:
    return pattern if len(pattern) <= limit else pattern[: limit - 3] + "..."


def describe(cond: Condition, dev: Device | None = None) -> str:
    """A short human reading of a condition, for evidence (with ``dev``: the branch that held)."""
    parts: list[str] = []
    if cond.object_id:
        parts.append("sysObjectID under " + "|".join(cond.object_id))
    if cond.descr is not None:
        parts.append(f"sysDescr ~ /{_short(cond.descr.pattern)}/")
    if cond.has:
        parts.append("has " + "|".join(cond.has))
    parts.extend(f"{oid} ~ /{_short(p.pattern)}/" for oid, p in cond.values)
    if cond.packages:
        found = [(p, r) for p, r in cond.packages if dev is not None and _installed(dev, p, r)]
        parts.append(
            "installed "
            + " or ".join(
                p + "*" + (f" ~ /{_short(r.pattern)}/" if r else "")
                for p, r in found[:1] or cond.packages
            )
        )
    if cond.bits is not None:
        parts.append(f"{cond.bits[0]} bits {sorted(cond.bits[1])}")
    if cond.int_mask is not None:
        parts.append(f"{cond.int_mask[0]} & {cond.int_mask[1]} == {cond.int_mask[2]}")
    if cond.any_of:
        held = [c for c in cond.any_of if dev is not None and holds(c, dev)][:1]
        parts.append(" or ".join(describe(c, dev) for c in held or cond.any_of))
    parts.extend(describe(c, dev) for c in cond.all_of)
    parts.extend("not(" + describe(c) + ")" for c in cond.none_of)
    return ", ".join(parts)


def _label(oid: str) -> str:
    if under(oid, ENT_PHYSICAL):
        rest = oid[len(ENT_PHYSICAL) + 1 :].split(".", 1)
        if rest[0].isdigit() and int(rest[0]) in _ENTITY_NAMES and len(rest) == 2:
            return f"{_ENTITY_NAMES[int(rest[0])]}.{rest[1]}"
    for prefix, name in _LABELS.items():
        if oid.startswith(prefix + "."):
            return name + oid[len(prefix) :]
    return oid


def _raw_value(src: Source, dev: Device, rules: IdentifyRules) -> Iterator[tuple[str, str]]:
    """Candidate ``(text, where)`` pairs for one source, before matching."""
    kind = src.kind
    if kind == "descr":
        if dev.descr:
            yield dev.descr, "sysDescr"
    elif kind == "object_id":
        if dev.object_id:
            yield dev.object_id, "sysObjectID"
    elif kind == "value":
        yield src.arg, "set by rule"
    elif kind == "oid":
        if src.index_text is not None:
            for index, value in dev.index.column(src.arg):
                name = index_text(index)
                found = as_text(value)
                if name and found and src.index_text.search(name):
                    yield found, f"{src.arg}.{index}"
            return
        hit = dev.index.first(src.arg)
        found = as_text(hit[1]) if hit else None
        if hit and found:
            yield found, hit[0]
    elif kind == "oids":
        yield "", ",".join(o for _, o in src.oids)
    elif kind == "entity":
        ent = dev.index.entity(src.arg)
        if ent:
            yield ent[1], ent[0]
    elif kind == "hr_device":
        hr = dev.index.hr_device(src.arg)
        if hr:
            yield hr[1], hr[0]
    elif kind == "hr_sw":
        for oid, name in dev.index.installed_software():
            yield name, oid
    elif kind == "package":
        for oid, name in dev.index.packages(src.arg):
            yield name, oid
    elif kind == "product":
        product = rules.products.get(dev.object_id)
        if product is not None:
            value = product.model if src.arg == "model" else product.name
            yield value, f"sysObjectID = {product.module}::{product.name}"
    elif kind == "mac":
        found_mac = dev.index.ethernet_mac()
        if found_mac:
            yield found_mac[1], found_mac[0]


def _format(template: str, values: Mapping[str, str]) -> str | None:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


def _clean(value: str) -> str:
    value = _SPACES.sub(" ", value).strip().strip("\"'").strip(" ,;:/-").strip()
    return value[:MAX_LEN].rstrip()


def take(src: Source, dev: Device, rules: IdentifyRules, fld: str) -> tuple[str, str] | None:
    """The first usable value a source yields, with where it came from."""
    if src.when is not None and not holds(src.when, dev):
        return None
    for found, where in _raw_value(src, dev, rules):
        ctx: dict[str, str] = {}
        if src.kind == "oids":
            for name, oid in src.oids:
                hit = dev.index.first(oid)
                piece = as_text(hit[1]) if hit else None
                if not piece:
                    return None
                ctx[name] = piece
        value = found
        if src.match is not None:
            m = src.match.search(found)
            if m is None:
                continue
            groups = m.groupdict()
            ctx.update({k: v or "" for k, v in groups.items()})
            if "v" in groups:
                value = groups["v"] or ""
            elif m.re.groups:
                value = m.group(1) or ""
            else:
                value = m.group(0)
        ctx["value"] = value
        if src.lookup is not None:
            key = _format(src.lookup[1], ctx)
            entry = rules.tables[src.lookup[0]].get(key) if key is not None else None
            looked = _format(entry, ctx) if entry is not None else None
            if looked is None:
                continue
            ctx["lookup"] = value = looked
        if src.fmt is not None:
            formatted = _format(src.fmt, ctx)
            if formatted is None:
                continue
            value = formatted
        if src.case == "upper":
            value = value.upper()
        elif src.case == "lower":
            value = value.lower()
        for pattern, repl in src.subs:
            value = pattern.sub(repl, value)
        value = _clean(value)
        if not value or any(
            p.search(value) for p in (*rules.junk.get(fld, ()), *rules.junk.get("all", ()))
        ):
            continue
        return value, _label(where)
    return None
