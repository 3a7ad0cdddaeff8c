"""How old a box's hardware is, from the best evidence there is.

In order: a manufacture date the hardware reports (ENTITY-MIB entPhysicalMfgDate of the
chassis, or one written in an import), the BIOS release date (SMBIOS, read over SSH), a date
code in the serial number where the vendor documents one, and last the day the box was first
seen (so it is at least that old). Each answer names its source, so that people and the debt
score can tell a fact from a lower bound.

Serial date codes are data (:data:`SERIAL_DATE_CODES`), kept only where the vendor documents
the format: Cisco's serials are ``LLLYYWWSSSS`` (location, year code with 01 for 1997, week of
manufacture, sequence). HPE and Dell do not document a date in their serial numbers or service
tags, so none is read from theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# Sources, best first (the ``source`` of a :class:`HardwareDate`).
MANUFACTURED = "manufacture_date"
BIOS = "bios_date"
SERIAL_CODE = "serial_date_code"
FIRST_SEEN = "first_seen"
SOURCES = (MANUFACTURED, BIOS, SERIAL_CODE, FIRST_SEEN)
LABELS = {
    MANUFACTURED: "manufacture date",
    BIOS: "BIOS date",
    SERIAL_CODE: "serial date code",
    FIRST_SEEN: "first seen",
}


@dataclass(frozen=True, slots=True)
class SerialDateCode:
    """A vendor's documented serial format: ``pattern`` has groups ``year`` and ``week``; the
    year is ``year_base`` plus the year group."""

    vendor: str  # matched against the asset's vendor, case-insensitively, as a word prefix
    pattern: re.Pattern[str]
    year_base: int
    format: str  # the documented format, as shown in the evidence


SERIAL_DATE_CODES = (
    SerialDateCode(
        "cisco",
        re.compile(r"^[A-Z]{3}(?P<year>\d{2})(?P<week>0[1-9]|[1-4]\d|5[0-3])[A-Z0-9]{4}$"),
        1996,
        "Cisco LLLYYWWSSSS",
    ),
)


@dataclass(frozen=True, slots=True)
class HardwareDate:
    day: date
    source: str  # one of SOURCES
    evidence: str

    @property
    def label(self) -> str:
        return LABELS[self.source]


def serial_date(
    vendor: str | None, serial: str | None, today: date | None = None
) -> HardwareDate | None:
    """The first day of the week of manufacture that a documented serial format encodes; None
    for another vendor, another format, or a date after ``today``."""
    if not vendor or not serial:
        return None
    vendor_key, text = vendor.strip().lower(), serial.strip().upper()
    for code in SERIAL_DATE_CODES:
        if not vendor_key.startswith(code.vendor):
            continue
        found = code.pattern.match(text)
        if found is None:
            continue
        year, week = code.year_base + int(found["year"]), int(found["week"])
        if year <= code.year_base:
            continue
        day = date(year, 1, 1) + timedelta(weeks=week - 1)
        if today is not None and day > today:
            continue
        return HardwareDate(
            day, SERIAL_CODE, f"serial {text}, {code.format}: week {week} of {year}"
        )
    return None


def hardware_date(
    *,
    manufactured: date | None,
    bios_date: date | None,
    vendor: str | None,
    serial: str | None,
    first_seen: date | None,
    today: date | None = None,
    manufactured_from: str = "reported by the hardware",
    bios_from: str = "SMBIOS",
) -> HardwareDate | None:
    """The best date for the hardware's age (module docstring), or None when nothing dates it."""
    if manufactured is not None:
        return HardwareDate(
            manufactured, MANUFACTURED, f"manufactured {manufactured} ({manufactured_from})"
        )
    if bios_date is not None:
        return HardwareDate(bios_date, BIOS, f"BIOS dated {bios_date} ({bios_from})")
    coded = serial_date(vendor, serial, today)
    if coded is not None:
        return coded
    if first_seen is not None:
        return HardwareDate(
            first_seen, FIRST_SEEN, f"first seen {first_seen} (so at least this old)"
        )
    return None
