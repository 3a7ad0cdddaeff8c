"""The virtual machines a hypervisor lists over SSH (pure): libvirt, ESXi and Hyper-V.

The ``guests`` command of each platform (config/ssh/commands.yaml) prints, where the tool
exists:

- libvirt: ``virsh -r -c qemu:///system dominfo`` of every domain of ``list --all --uuid``
  (section ``virsh``); the domain UUID is the guest's SMBIOS system UUID.
- ESXi: ``vim-cmd vmsvc/getallvms`` (every registered VM, section ``vim-cmd``) and
  ``esxcli vm process list`` (the running ones with their BIOS UUID, section ``esxcli-vm``).
- Hyper-V: ``Get-VM`` as JSON with the BIOSGUID of each VM's settings
  (Msvm_VirtualSystemSettingData), which the guest reads as its system UUID.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from collectors.facts import Guest
from collectors.system_uuid import canonical

_GETALLVMS = re.compile(
    r"^\s*(?P<vmid>\d+)\s+(?P<name>.+?)\s+(?P<file>\[[^\]]+\]\s+\S.*?\.vmx)\s+"
    r"(?P<guest>\S+)\s+(?P<version>vmx-\d+)"
)
_HYPERV_STATES = {2: "Running", 3: "Off", 6: "Saved", 9: "Paused"}


def parse_dominfo(text: str) -> tuple[Guest, ...]:
    """``virsh dominfo`` blocks (``Name:``, ``UUID:``, ``OS Type:``, ``State:``)."""
    guests: list[Guest] = []
    block: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            if key.strip() == "Id" and block.get("Name"):
                guests.append(_domain(block))
                block = {}
            block[key.strip()] = value.strip()
        elif not line.strip() and block.get("Name"):
            guests.append(_domain(block))
            block = {}
    return tuple(guests)


def _domain(block: Mapping[str, str]) -> Guest:
    return Guest(
        name=block["Name"][:255],
        platform="libvirt",
        uuid=canonical(block.get("UUID")),
        guest_os=block.get("OS Type") or None,
        state=block.get("State") or None,
    )


def parse_esxi(getallvms: str, processes: str) -> tuple[Guest, ...]:
    """Registered VMs (``vim-cmd vmsvc/getallvms``), with the BIOS UUID of those running
    (``esxcli vm process list``: blocks with ``Display Name:`` and ``UUID:``)."""
    uuid_of: dict[str, str] = {}
    current_uuid: str | None = None
    for line in processes.splitlines():  # blocks: UUID comes before Display Name
        key, sep, value = line.strip().partition(":")
        if sep and key == "UUID":
            current_uuid = value.strip()
        elif sep and key == "Display Name" and current_uuid:
            uuid_of[value.strip()] = current_uuid
            current_uuid = None
    guests = []
    for line in getallvms.splitlines():
        found = _GETALLVMS.match(line)
        if found is None:
            continue
        vm = found["name"].strip()
        guests.append(
            Guest(
                name=vm[:255],
                platform="vmware",
                uuid=canonical(uuid_of.get(vm)),
                guest_os=found["guest"],
                state="poweredOn" if vm in uuid_of else None,
            )
        )
    return tuple(guests)


def parse_hyperv(value: Any) -> tuple[Guest, ...]:
    """``Get-VM`` rows as the ``guests`` script prints them (JSON: an object or a list)."""
    rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    guests = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("Name"), str):
            continue
        state = row.get("State")
        if isinstance(state, int):  # an older PowerShell serialises the enum as a number
            state = _HYPERV_STATES.get(state, str(state))
        guests.append(
            Guest(
                name=row["Name"][:255],
                platform="hyperv",
                uuid=canonical(
                    row.get("BIOSGUID") if isinstance(row.get("BIOSGUID"), str) else None
                ),
                guest_os=None,
                state=state if isinstance(state, str) else None,
            )
        )
    return tuple(guests)


def linux_guests(sections: Mapping[str, str]) -> tuple[Guest, ...]:
    """The guests of a Linux (libvirt) or ESXi host from the ``guests`` script's sections."""
    guests = parse_dominfo(sections.get("virsh", ""))
    if "vim-cmd" in sections:
        guests += parse_esxi(sections["vim-cmd"], sections.get("esxcli-vm", ""))
    return guests


def hyperv_guests(text: str | None) -> tuple[Guest, ...]:
    if not text or not text.strip():
        return ()
    try:
        return parse_hyperv(json.loads(text))
    except ValueError:
        return ()
