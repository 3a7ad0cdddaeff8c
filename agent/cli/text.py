"""Plain-text and JSON renderings of facts and assets for the command line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collectors.facts import Facts

ASSET_FIELDS = (
    "id",
    "name",
    "device_class",
    "vendor",
    "model",
    "os_name",
    "os_version",
    "serial",
    "firmware",
    "mgmt_address",
    "site",
    "tags",
    "sources",
    "sys_location",
    "cpu_count",
    "memory_bytes",
    "first_seen",
    "last_seen",
)


def asset_dict(a: Mapping[str, Any]) -> dict[str, Any]:
    """One asset as ``assets --json`` prints it, from a row of Store.read_assets(ASSET_FIELDS)."""
    return {f: a[f] for f in ASSET_FIELDS}


def _fmt_bytes(n: int | None) -> str:
    if not n:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def facts_text(f: Facts) -> str:
    i = f.identity
    lines = [
        f"{f.target}  ({f.protocol}{' v' + f.snmp_version if f.snmp_version else ''}, "
        f"{f.values_read} values)",
        f"  name      {f.sys_name or '-'}",
        f"  class     {i.device_class}",
        f"  vendor    {i.vendor}",
        f"  model     {i.model or '-'}",
        f"  os        {i.os_name or '-'} {i.os_version or ''}".rstrip(),
        f"  serial    {i.serial or '-'}",
        f"  firmware  {i.firmware or '-'}",
        f"  location  {f.sys_location or '-'}",
        f"  memory    {_fmt_bytes(f.memory_bytes)}",
        f"  interfaces {len(f.interfaces)}, addresses {len(f.addresses)}, software "
        f"{len(f.software)}, hardware {len(f.hardware)}, storage {len(f.storage)}, "
        f"neighbours {len(f.neighbors)}",
    ]
    if f.listening or f.connections:
        lines.append(f"  listening {len(f.listening)}, connections {len(f.connections)}")
    if i.evidence:
        lines.append("  evidence:")
        lines.extend(f"    {k}: {v}" for k, v in sorted(i.evidence.items()))
    for w in f.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def assets_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no assets stored yet: run `cloudward scan` first"
    cols = [
        ("id", 4),
        ("name", 24),
        ("device_class", 10),
        ("vendor", 12),
        ("model", 22),
        ("os_name", 12),
        ("os_version", 16),
        ("mgmt_address", 15),
        ("site", 12),
    ]
    head = "  ".join(n.upper()[:w].ljust(w) for n, w in cols)
    out = [head]
    for a in rows:
        out.append("  ".join(str(a[n] or "-")[:w].ljust(w) for n, w in cols))
    out.append(f"{len(rows)} assets")
    return "\n".join(out)
