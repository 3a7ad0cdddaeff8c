"""Decide what a device is from its raw SNMP values, with the evidence for every answer.

The engine is generic; vendor knowledge is data (``config/snmp/``, see ``rulebook``). For one
device: the first profile whose ``when`` holds supplies vendor, OS, class and the sources to try
for each field; the shared ``defaults`` (ENTITY-MIB chassis, Printer-MIB, UPS-MIB...) fill what
the profile left empty. Without a profile the vendor comes from the sysObjectID enterprise number.
Every field's evidence names the rule and the OID (or sysDescr) it came from.

Identification never raises on device data: absent, empty or garbage values give ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from collectors.datadir import data_path
from collectors.facts import UNKNOWN, Identity
from collectors.snmp.rawindex import SYS_DESCR, as_text
from collectors.snmp.rulebook import (
    Condition,
    IdentifyRules,
    Profile,
    RulesError,
    Source,
    compile_rules,
    product_files,
)
from collectors.snmp.rulematch import Device, describe, holds, take, under
from collectors.snmp.values import RawValue

__all__ = ["IdentifyRules", "RulesError", "identify", "kernel_release", "load_rules", "vendor_oids"]

# net-snmp's sysDescr on Linux is `uname -a`: "Linux <host> <kernel release> <build> <machine>".
_LINUX_KERNEL = re.compile(r"^\s*Linux\s+\S+\s+(\d[^\s]*)")

# Identity field -> rule-file field.
_FIELD_KEYS = {
    "model": "model",
    "os_version": "version",
    "serial": "serial",
    "firmware": "firmware",
}


def load_rules(path: Path | None = None) -> IdentifyRules:
    """Compile the rule files under ``path`` (default: the shipped ``config/snmp``).

    Compiled rules are kept while the files are unchanged (name, size and modification time), so
    callers may ask for them per poll; the result is read-only and shared.
    """
    folder = path if path is not None else data_path("snmp")
    return _compiled(str(folder), _stamp(folder))


def _stamp(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = [
        folder / "enterprises.yaml",
        *sorted((folder / "identify").glob("*.yaml")),
        *product_files(folder),
    ]
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((f.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


@lru_cache(maxsize=8)
def _compiled(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> IdentifyRules:
    return compile_rules(Path(folder))


def _object_ids(cond: Condition) -> Iterator[str]:
    yield from cond.object_id
    for sub in (*cond.any_of, *cond.all_of):
        yield from _object_ids(sub)


def _claims(cond: Condition) -> Iterator[str]:
    """sysObjectID prefixes under which the condition holds for every device, whatever else."""
    others = (cond.descr, cond.bits, cond.int_mask)
    if any(o is not None for o in others) or cond.has or cond.values or cond.packages:
        return
    if cond.all_of or cond.none_of:
        return
    if cond.object_id and not cond.any_of:
        yield from cond.object_id
    elif cond.any_of and not cond.object_id:
        for branch in cond.any_of:
            yield from _claims(branch)


def _enterprise(object_id: str) -> int | None:
    arcs = object_id.split(".")
    if len(arcs) > 6 and arcs[:6] == ["1", "3", "6", "1", "4", "1"] and arcs[6].isdigit():
        return int(arcs[6])
    return None


def vendor_oids(rules: IdentifyRules, sys_object_id: str | None) -> tuple[str, ...]:
    """Extra OIDs worth reading for this device's identity, from its sysObjectID alone.

    Subtrees (walked with GETBULK) and, ending in ``.0``, vendor MIB scalars (one GET): the
    ``walk`` lists of every profile whose sysObjectID prefixes cover it, plus the generic ones
    (UPS-MIB and Printer-MIB identity, LLDP capabilities) unless a profile claims every device
    under that sysObjectID, and always when its enterprise number belongs to a software agent
    (net-snmp) that runs on anything.
    """
    oid = (sys_object_id or "").strip().strip(".")
    walks: list[str] = []
    claimed = False
    for prof in rules.profiles:
        if oid and any(under(oid, p) for p in _object_ids(prof.when)):
            walks.extend(prof.walk)
            claimed = claimed or any(under(oid, p) for p in _claims(prof.when))
    if not claimed or _enterprise(oid) in rules.agents:
        walks.extend(rules.default_walk)
    out: list[str] = []
    for w in sorted(set(walks), key=lambda s: [int(a) for a in s.split(".")]):
        if not any(under(w, kept) for kept in out):
            out.append(w)
    return tuple(out)


def _resolve(
    fld: str, profile: Profile | None, dev: Device, rules: IdentifyRules
) -> tuple[str, str] | None:
    """Value and evidence of one field: the profile's sources, then the shared defaults."""
    chains: list[tuple[str, tuple[Source, ...]]] = []
    if profile is not None:
        chains.append((profile.id, profile.fields.get(fld, ())))
    if profile is None or profile.defaults:
        chains.append(("default", rules.defaults.get(fld, ())))
    for rule_id, sources in chains:
        for src in sources:
            got = take(src, dev, rules, fld)
            if got:
                return got[0], f"{rule_id}: {got[1]}"
    return None


def _canonical_vendor(name: str, rules: IdentifyRules) -> str:
    for pattern, canonical in rules.aliases:
        if pattern.search(name):
            return canonical
    return name


def _vendor(profile: Profile | None, dev: Device, rules: IdentifyRules) -> tuple[str, str] | None:
    if profile is not None:
        for src in profile.fields.get("vendor", ()):
            got = take(src, dev, rules, "vendor")
            if got:
                name = got[0] if src.kind == "value" else _canonical_vendor(got[0], rules)
                return name, f"{profile.id}: {got[1]}"
    oid = dev.object_id
    for prefix, name in rules.prefixes:
        if under(oid, prefix):
            return name, f"sysObjectID under {prefix}"
    number = _enterprise(oid)
    if number is not None and number not in rules.agents and number in rules.enterprises:
        return rules.enterprises[number], f"sysObjectID enterprise {number} (IANA)"
    for src in rules.defaults.get("vendor", ()):
        got = take(src, dev, rules, "vendor")
        if got:
            return _canonical_vendor(got[0], rules), f"default: {got[1]}"
    return None


def _device_class(profile: Profile | None, dev: Device, rules: IdentifyRules) -> tuple[str, str]:
    if profile is not None:
        for cond, klass in profile.classes:
            if holds(cond, dev):
                return klass, f"{profile.id}: {describe(cond, dev)}"
        if profile.device_class:
            return profile.device_class, f"{profile.id}: {describe(profile.when, dev)}"
    for cond, klass in rules.default_classes:
        if holds(cond, dev):
            return klass, f"default: {describe(cond, dev)}"
    return UNKNOWN, "no rule matched"


def identify(raw: Mapping[str, RawValue], rules: IdentifyRules) -> Identity:
    """Vendor, class, model, OS, version, serial and firmware of one device, with evidence."""
    dev = Device(raw)
    profile = next((p for p in rules.profiles if holds(p.when, dev)), None)
    evidence: dict[str, str] = {}
    if profile is not None:
        evidence["profile"] = f"{profile.id}: {describe(profile.when, dev)}"
    vendor = _vendor(profile, dev, rules)
    if vendor:
        evidence["vendor"] = vendor[1]
    klass, why = _device_class(profile, dev, rules)
    evidence["device_class"] = why
    os_name = _resolve("os", profile, dev, rules)
    if os_name:
        evidence["os_name"] = os_name[1]
    found: dict[str, str | None] = {}
    for fld, key in _FIELD_KEYS.items():
        got = _resolve(key, profile, dev, rules)
        found[fld] = got[0] if got else None
        if got:
            evidence[fld] = got[1]
    return Identity(
        vendor=vendor[0] if vendor else UNKNOWN,
        device_class=klass,
        model=found["model"],
        os_name=os_name[0] if os_name else None,
        os_version=found["os_version"],
        serial=found["serial"],
        firmware=found["firmware"],
        evidence=evidence,
    )


def kernel_release(raw: Mapping[str, RawValue]) -> str | None:
    """The kernel release of a Linux host ("3.10.0-1160.el7.x86_64") from its sysDescr, else None.

    Identification reports the distribution and its release as the OS; the kernel is kept
    beside it (``Facts.kernel``), as the SSH collector keeps ``uname -r``.
    """
    descr = as_text(raw.get(SYS_DESCR)) if isinstance(raw, Mapping) else None
    found = _LINUX_KERNEL.match(descr or "")
    return found[1][:80] if found else None
