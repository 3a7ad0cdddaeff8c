"""The maker of a network card, from the first three octets of its MAC (the IEEE MA-L registry).

The registry ships as data (``config/oui/oui.tsv``, built by :mod:`collectors.ouigen`): a header
naming its source and date, then ``OUI<TAB>organisation`` lines sorted by OUI. A locally
administered MAC (the second-lowest bit of the first octet set: randomised phone and laptop
addresses, virtual machines of some hypervisors) has no registrant and gets no vendor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from collectors.datadir import data_path
from collectors.errors import CollectorError

OUI_FILE = ("oui", "oui.tsv")


class OuiError(CollectorError, ValueError):
    """The shipped OUI registry is missing or malformed."""


@dataclass(frozen=True)
class OuiRegistry:
    source: str
    date: str
    vendors: dict[str, str] = field(repr=False)

    def vendor(self, mac: str) -> str | None:
        """The registrant of ``mac``'s OUI (any of aa:bb:cc..., aa-bb-cc..., aabb.cc...)."""
        digits = "".join(c for c in mac if c in "0123456789abcdefABCDEF").upper()
        if len(digits) < 6:
            return None
        if int(digits[:2], 16) & 0x02:  # locally administered: nobody's OUI
            return None
        return self.vendors.get(digits[:6])


def read_registry(path: Path) -> OuiRegistry:
    meta: dict[str, str] = {}
    vendors: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OuiError(
            f"cannot read the OUI registry {path} ({exc}): reinstall cloudward or regenerate it "
            "with `python -m collectors.ouigen`"
        ) from exc
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                meta[key.strip()] = value.strip()
            continue
        oui, sep, name = line.partition("\t")
        if not sep or len(oui) != 6 or not name:
            raise OuiError(
                f"{path} line {number}: expected OUI<TAB>organisation, got {line[:60]!r}; "
                "regenerate the file with `python -m collectors.ouigen`"
            )
        vendors[oui] = name
    if "source" not in meta or "date" not in meta:
        raise OuiError(f"{path}: the header names no source or date; regenerate it")
    return OuiRegistry(meta["source"], meta["date"], vendors)


@functools.cache
def shipped_registry() -> OuiRegistry:
    return read_registry(data_path(*OUI_FILE))


def vendor_of(mac: str) -> str | None:
    """The vendor of ``mac`` by the shipped registry."""
    return shipped_registry().vendor(mac)
