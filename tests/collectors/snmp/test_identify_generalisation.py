"""How well identification generalises, measured on the shared recordings without rewarding
rules that were written against them.

Two views, printed with ``pytest -s`` (the figures in the README come from here):

1. By kind of evidence: each field agreeing with LibreNMS is credited to what decided it,
   (a) vendor-published data (product tables generated from vendors' MIBs, standard and vendor MIB
   objects, IANA enterprise numbers) or (b) a hand-written sysDescr pattern. A rule book that only
   memorised the recordings would score in (b) and not in (a).
2. Untuned: each recording identified with every profile that matches it removed, as if nobody
   had written a rule for its family: only the shared defaults (ENTITY-MIB, UPS-MIB, Printer-MIB,
   LLDP, sysServices), enterprise numbers and product tables remain. This is a floor for a device
   of a vendor nobody tuned for.

Model agreement is reported strictly (our text against LibreNMS's) and with the one equivalence
the product tables justify: LibreNMS prints the MIB object name registered for the sysObjectID
(``catalyst3560G24TS``) where we print the product number; when LibreNMS's text is exactly that
registered name, both name the same registration.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from collectors.facts import Identity
from collectors.snmp.identify import IdentifyRules, identify, kernel_release, load_rules
from collectors.snmp.rulematch import Device, holds
from tests.collectors.snmp.test_identify_corpus import (
    CLASS_TYPES,
    CORPUS,
    agree,
    fetched,
    load_corpus,
    norm,
    os_agrees,
    our_version,
    scorable,
)
from tests.snmprec import load

FIELDS = ("class", "os", "model", "version", "serial")
_EVIDENCE_KEY = {
    "class": "device_class",
    "os": "os_name",
    "model": "model",
    "version": "os_version",
    "serial": "serial",
}
# Evidence that a hand-written sysDescr pattern decided the field.
_DESCR_EVIDENCE = re.compile(r": sysDescr$|sysDescr ~")


def evidence_kind(ident: Identity, field: str) -> str:
    """``mib`` (vendor-published data, standard MIBs, enterprise numbers) or ``descr``."""
    why = ident.evidence.get(_EVIDENCE_KEY[field], "")
    if field == "os" and "os_name" not in ident.evidence:
        why = ident.evidence.get("vendor", "")
    if field in ("os", "class") and why.endswith("set by rule"):
        why = ident.evidence.get("profile", "")  # a constant: what selected the profile counts
    return "descr" if _DESCR_EVIDENCE.search(why) else "mib"


def model_agrees(ident: Identity, expected: str, rules: IdentifyRules, object_id: str) -> bool:
    product = rules.products.get(object_id)
    return agree(ident.model, expected) or (
        product is not None and ident.model is not None and norm(product.name) == norm(expected)
    )


def field_scores(
    rec: dict[str, Any], ident: Identity, kernel: str | None, rules: IdentifyRules
) -> dict[str, bool | None]:
    """Per field: agreement (True/False), or None when LibreNMS gives nothing to score."""
    out: dict[str, bool | None] = {
        "class": rec["type"] in CLASS_TYPES.get(ident.device_class, set()),
        "os": os_agrees(ident, rec["os"]),
    }
    oid = str(rec.get("sysObjectID") or "")
    out["model"] = (
        model_agrees(ident, rec["hardware"], rules, oid)
        if scorable("model", rec["hardware"])
        else None
    )
    out["version"] = (
        agree(our_version(rec, ident, kernel), rec["version"])
        if scorable("version", rec["version"])
        else None
    )
    out["serial"] = (
        agree(ident.serial, rec["serial"]) if scorable("serial", rec["serial"]) else None
    )
    return out


def untuned(rules: IdentifyRules, raw: dict[str, Any]) -> IdentifyRules:
    """The rule book without every profile that matches this device."""
    dev = Device(raw)
    kept = tuple(p for p in rules.profiles if not holds(p.when, dev))
    return dataclasses.replace(rules, profiles=kept)


Tally = dict[str, list[int]]  # field -> [agreed, scored]


def _add(tally: Tally, field: str, ok: bool | None) -> None:
    if ok is None:
        return
    cell = tally.setdefault(field, [0, 0])
    cell[0] += ok
    cell[1] += 1


@pytest.fixture(scope="module")
def report() -> dict[str, Tally]:
    rules = load_rules()
    out: dict[str, Tally] = {"full": {}, "mib": {}, "descr": {}, "untuned": {}, "strict": {}}
    for rec in load_corpus():
        raw = fetched(load(CORPUS / "snmprec" / f"{rec['name']}.snmprec"), rules)
        kernel = kernel_release(raw)
        ident = identify(raw, rules)
        scores = field_scores(rec, ident, kernel, rules)
        for field in FIELDS:
            _add(out["full"], field, scores[field])
            _add(out[evidence_kind(ident, field)], field, scores[field])
        if scorable("model", rec["hardware"]):
            _add(out["strict"], "model", agree(ident.model, rec["hardware"]))
        bare_rules = untuned(rules, raw)
        bare = identify(
            fetched(load(CORPUS / "snmprec" / f"{rec['name']}.snmprec"), bare_rules), bare_rules
        )
        for field, ok in field_scores(rec, bare, kernel, bare_rules).items():
            _add(out["untuned"], field, ok)
    return out


def _cell(tally: Tally, field: str) -> str:
    hit, total = tally.get(field, [0, 0])
    return f"{hit}/{total} ({hit / total:.0%})" if total else "-"


def figures(report: dict[str, Tally]) -> str:
    rows = [
        ("all rules", "full"),
        ("decided by MIB data / standard MIBs", "mib"),
        ("decided by a sysDescr pattern", "descr"),
        ("untuned (matching profiles removed)", "untuned"),
    ]
    lines = [
        "| view | " + " | ".join(FIELDS) + " |",
        "|---|" + "---|" * len(FIELDS),
    ]
    lines += [
        f"| {label} | " + " | ".join(_cell(report[key], f) for f in FIELDS) + " |"
        for label, key in rows
    ]
    lines.append(
        f"\nmodel, strict text agreement (no registration-name equivalence): "
        f"{_cell(report['strict'], 'model')}"
    )
    return "\n".join(lines)


def test_generalisation_report(report: dict[str, Tally]) -> None:
    print("\n" + figures(report))
    full, mib, descr = report["full"], report["mib"], report["descr"]
    for field in FIELDS:
        # every scored field is credited to exactly one kind of evidence
        assert full[field][1] == mib.get(field, [0, 0])[1] + descr.get(field, [0, 0])[1]
    # most agreement comes from vendor-published data, not from sysDescr patterns
    assert sum(v[0] for v in mib.values()) > 2 * sum(v[0] for v in descr.values())
    # the untuned floor is below the tuned rules on every field (it is a floor, not a target:
    # many recordings carry neither LLDP, sysServices nor ENTITY-MIB to class them by)
    for field in FIELDS:
        bare = report["untuned"].get(field, [0, 1])
        assert bare[0] / bare[1] <= full[field][0] / full[field][1]


def test_evidence_kind_reads_the_evidence() -> None:
    ident = Identity(
        evidence={
            "profile": "cisco-ios: sysObjectID under 1.3.6.1.4.1.9, sysDescr ~ /IOS/",
            "os_name": "cisco-ios: set by rule",
            "os_version": "cisco-ios: sysDescr",
            "model": "default: sysObjectID = CISCO-PRODUCTS-MIB::catalyst375024",
            "serial": "default: entPhysicalSerialNum.1",
            "device_class": "cisco-ios: sysDescr ~ /router/",
        }
    )
    assert [evidence_kind(ident, f) for f in FIELDS] == ["descr", "descr", "mib", "descr", "mib"]
