"""The SMBIOS system UUID as one canonical text, whichever way a tool prints it.

A virtual machine's system UUID (``dmidecode -s system-uuid``, /sys/class/dmi/id/product_uuid,
Win32_ComputerSystemProduct.UUID) is the BIOS UUID its hypervisor keeps for it (VMware's
``uuid.bios``, served as vmwVmUUID; libvirt's domain UUID), which is how a guest is told apart
from another VM of the same name. Tools print it as ``4213c0de-...``, upper case, or in the
``.vmx`` style ``42 13 c0 de ...-...``; SMBIOS before 2.6 left the byte order of its first three
fields undefined, so the same UUID may also be read with those fields byte-swapped
(:func:`swapped`). Values that boards ship unset or as a placeholder are no identity at all.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"[0-9a-f]{32}")
# Placeholders that many boards (and some VM templates) carry: never one box.
_PLACEHOLDERS = frozenset(
    {
        "0" * 32,
        "f" * 32,
        "03000200040005000006000700080009",
        "00020003000400050006000700080009",
        "123456781234567890abcddeefaabbcc",
    }
)


def canonical(text: str | None) -> str | None:
    """``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` in lower case, or None when ``text`` is not a
    usable UUID (absent, malformed, unset or a placeholder)."""
    if not text:
        return None
    digits = re.sub(r"[\s\-{}]", "", text.strip().lower())
    if digits.startswith("uuid:"):
        digits = digits[5:]
    if not _HEX.fullmatch(digits) or digits in _PLACEHOLDERS or len(set(digits)) < 4:
        return None
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def swapped(uuid: str) -> str:
    """The same canonical UUID with its first three fields byte-swapped (SMBIOS < 2.6)."""
    a, b, c, rest = uuid[:8], uuid[9:13], uuid[14:18], uuid[18:]

    def flip(h: str) -> str:
        return "".join(reversed([h[i : i + 2] for i in range(0, len(h), 2)]))

    return f"{flip(a)}-{flip(b)}-{flip(c)}{rest}"
