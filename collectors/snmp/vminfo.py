"""VMWARE-VMINFO-MIB: the virtual machines an ESXi host runs (pure).

``vmwVmTable`` (1.3.6.1.4.1.6876.2.1.1) has one row per registered VM, indexed by its VM id:
``vmwVmDisplayName`` (.2), ``vmwVmGuestOS`` (.4), ``vmwVmState`` (.6: poweredOn, poweredOff,
suspended) and ``vmwVmUUID`` (.10, the VM's BIOS UUID, which its guest OS reads as its system
UUID). The ESXi identity profile walks the table (config/snmp/identify/50-servers.yaml)::

    SNMPv2-SMI::enterprises.6876.2.1.1.2.4 = STRING: "th-sql01"
    SNMPv2-SMI::enterprises.6876.2.1.1.4.4 = STRING: "windows9Server64Guest"
    SNMPv2-SMI::enterprises.6876.2.1.1.6.4 = STRING: "poweredOn"
    SNMPv2-SMI::enterprises.6876.2.1.1.10.4 = STRING: "4213c0de-5b8e-4d3a-9a41-7f0e7d2c1b11"
"""

from __future__ import annotations

from collectors.facts import Guest
from collectors.snmp.values import Raw, text
from collectors.system_uuid import canonical

VM_TABLE = "1.3.6.1.4.1.6876.2.1.1"
_COLUMNS = {"2": "name", "4": "guest_os", "6": "state", "10": "uuid"}


def parse_guests(raw: Raw) -> tuple[Guest, ...]:
    """Every VM with a display name, in VM id order; absent columns stay None."""
    prefix = VM_TABLE + "."
    rows: dict[int, dict[str, str]] = {}
    for oid, value in raw.items():
        if not oid.startswith(prefix):
            continue
        column, _, index = oid[len(prefix) :].partition(".")
        name = _COLUMNS.get(column)
        said = text(value)
        if name is None or not index.isdigit() or said is None or not said.strip():
            continue
        rows.setdefault(int(index), {})[name] = said.strip()[:255]
    return tuple(
        Guest(
            name=row["name"],
            platform="vmware",
            uuid=canonical(row.get("uuid")),
            guest_os=row.get("guest_os"),
            state=row.get("state"),
        )
        for _, row in sorted(rows.items())
        if row.get("name")
    )
