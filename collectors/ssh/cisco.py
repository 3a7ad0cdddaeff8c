"""Pure parsing of Cisco IOS / IOS-XE / NX-OS ``show`` output into :class:`Facts`.

Tables come from TextFSM templates: ``config/ssh/templates/<platform>_<command>.textfsm`` when
present (local fixes), else the ntc-templates package's own file of the same name. A command
whose output the template cannot read becomes a warning; only an unreadable ``show version`` is
an error (:class:`ProtocolError`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import ntc_templates
import textfsm

from collectors.datadir import data_path
from collectors.errors import ProtocolError
from collectors.facts import (
    Address,
    Facts,
    HardwareComponent,
    Identity,
    Interface,
    Neighbor,
    Software,
)
from collectors.ssh.output import CommandOutput, RawOutput
from collectors.ssh.rules import IdentityRules, load_identity_rules

Row = dict[str, Any]

_OS_NAMES = {"cisco_ios": "IOS", "cisco_xe": "IOS-XE", "cisco_nxos": "NX-OS"}
_NOT_ENABLED = re.compile(
    r"\A\s*(%.*|.*(CDP|LLDP) is not enabled.*)$", re.MULTILINE | re.IGNORECASE
)
_MEMORY = re.compile(r"with (\d+)K(?:/(\d+)K)? bytes of memory|with (\d+) kB of memory")
_PART_CLASSES = (  # show inventory NAME/DESCR -> ENTITY-MIB-like class
    (re.compile(r"power"), "powerSupply"),
    (re.compile(r"\bfan"), "fan"),
    (re.compile(r"sfp|transceiver|gbic|^(ten)?gigabitethernet|^ethernet"), "port"),
)
_BOOTLDR = re.compile(r"(?m)^BOOTLDR:.*?Version ([^,\s]+)")
_NXOS_UPTIME = re.compile(r"(\d+) day\(s\), (\d+) hour\(s\), (\d+) minute\(s\), (\d+) second\(s\)")


@cache
def _template_text(name: str) -> str | None:
    for folder in (
        data_path("ssh", "templates"),
        Path(ntc_templates.__file__).parent / "templates",
    ):
        path = folder / f"{name}.textfsm"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def parse_table(textfsm_platform: str, command: str, text: str) -> list[Row]:
    """Rows (lower-case keys) from the template for ``command``; raises ValueError if unreadable."""
    name = f"{textfsm_platform}_{command.strip().replace(' ', '_')}"
    template = _template_text(name)
    if template is None:
        raise ValueError(f"no TextFSM template {name}.textfsm")
    try:
        fsm = textfsm.TextFSM(io.StringIO(template))
        rows = fsm.ParseText(text)
    except (textfsm.TextFSMError, textfsm.TextFSMTemplateError) as exc:
        raise ValueError(f"template {name} could not read the output: {exc}") from exc
    keys = [h.lower() for h in fsm.header]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def parse_cisco(
    raw: RawOutput,
    *,
    platform: str,
    textfsm_platform: str,
    commands: Mapping[str, str],
    target: str,
    address: str | None = None,
    platform_evidence: str = "",
    rules: IdentityRules | None = None,
) -> Facts:
    """``raw`` is keyed by command name (version, inventory, interfaces, cdp, lldp);
    ``commands`` maps those names to the command strings that produced them."""
    rules = rules or load_identity_rules()
    warnings: list[str] = []
    tables: dict[str, list[Row]] = {}
    for name, out in raw.items():
        if name in commands:
            tables[name] = _table(textfsm_platform, name, commands[name], out, warnings)
    version_out = raw.get("version")
    version_text = version_out.text if version_out is not None else ""
    version = tables.get("version") or []
    if not version:
        raise ProtocolError(
            f"{target}: `show version` output was not recognised "
            f"({version_text.strip()[:60]!r}); check the platform ({platform}) is right",
            target=target,
        )
    ver = version[0]
    inventory = tables.get("inventory", [])
    chassis = _chassis(inventory)
    model = (chassis or {}).get("pid") or _first(ver.get("hardware")) or _first(ver.get("platform"))
    serial = _first(ver.get("serial")) or (chassis or {}).get("sn") or None
    os_name = _OS_NAMES.get(platform, "IOS")
    if os_name == "IOS" and re.search(r"IOS[ -]XE", version_text):
        os_name = "IOS-XE"
    os_version = _first(ver.get("version")) or _first(ver.get("os"))
    klass, class_why = rules.cisco_class(model, version_text)
    evidence = {
        "vendor": "Cisco CLI (show version)",
        "device_class": class_why,
        "os_name": f"platform {platform}",
    }
    if platform_evidence:
        evidence["platform"] = f"{platform}: {platform_evidence}"
    if os_version:
        evidence["os_version"] = f"show version: {os_version!r}"
    if model:
        evidence["model"] = (
            "show inventory chassis PID" if chassis and chassis.get("pid") else "show version"
        )
    interfaces, addresses = _interfaces(tables.get("interfaces", []))
    neighbors = _neighbors(tables.get("cdp", []), "cdp") + _neighbors(
        tables.get("lldp", []), "lldp"
    )
    hardware = [_component(i, row) for i, row in enumerate(inventory)]
    base_mac = _mac(_first(ver.get("mac_address")))
    chassis_id = base_mac or next((i.mac for i in interfaces if i.mac), None)
    software = [Software(f"Cisco {os_name}", os_version, "os", None, "Cisco")] if os_version else []
    values = len(version[0]) + len(inventory) + len(interfaces) + len(addresses) + len(neighbors)
    return Facts(
        target=target,
        protocol="ssh",
        address=address,
        sys_name=_first(ver.get("hostname")) or None,
        sys_descr=next((ln.strip() for ln in version_text.splitlines() if ln.strip()), None),
        uptime_s=_uptime(ver),
        identity=Identity(
            vendor="Cisco",
            device_class=klass,
            model=model or None,
            os_name=os_name,
            os_version=os_version,
            serial=rules.clean(serial),
            firmware=_firmware(ver, version_text),
            evidence=evidence,
        ),
        chassis_id=chassis_id,
        memory_bytes=_memory(version_text),
        interfaces=tuple(interfaces),
        addresses=tuple(addresses),
        software=tuple(software),
        hardware=tuple(hardware),
        neighbors=tuple(neighbors),
        values_read=values,
        warnings=tuple(warnings),
    )


def _table(
    plat: str, name: str, command: str, out: CommandOutput, warnings: list[str]
) -> list[Row]:
    if out.refused:
        warnings.append(f"{command}: refused by the device")
        return []
    if out.truncated:
        warnings.append(f"{command}: output cut at the size limit")
    refusal = _NOT_ENABLED.match(out.text)
    if refusal:
        warnings.append(f"{command}: {refusal[1].strip()[:80]}")
        return []
    try:
        rows = parse_table(plat, command, out.text)
    except ValueError as exc:
        warnings.append(f"{command}: {exc}")
        return []
    if not rows and out.text.strip() and name in {"version", "inventory"}:
        warnings.append(f"{command}: output not recognised")
    return rows


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]).strip() if value else ""
    return str(value or "").strip()


def _chassis(inventory: list[Row]) -> Row | None:
    for row in inventory:
        if re.search(r"(?i)chassis|^switch ?1$|^1$", str(row.get("name", ""))):
            return row
    return inventory[0] if inventory else None


def _component(index: int, row: Row) -> HardwareComponent:
    name, descr = str(row.get("name") or ""), str(row.get("descr") or "")
    text = f"{name} {descr}".lower()
    klass = "chassis" if index == 0 or "chassis" in name.lower() else "module"
    for pattern, part in _PART_CLASSES:
        if klass != "chassis" and pattern.search(text):
            klass = part
            break
    return HardwareComponent(
        index=index + 1,
        klass=klass,
        name=name or None,
        descr=descr or None,
        model=str(row.get("pid") or "").strip() or None,
        serial=str(row.get("sn") or "").strip() or None,
        hw_rev=str(row.get("vid") or "").strip() or None,
        manufacturer="Cisco",
    )


def _interfaces(rows: list[Row]) -> tuple[list[Interface], list[Address]]:
    interfaces: list[Interface] = []
    addresses: list[Address] = []
    for row in rows:
        name = str(row.get("interface") or "")
        if not name:
            continue
        link = str(row.get("link_status") or "").lower()
        admin = str(row.get("admin_state") or "").lower()
        bandwidth = re.match(r"(\d+)\s*Kbit", str(row.get("bandwidth") or ""), re.I)
        mtu = str(row.get("mtu") or "")
        interfaces.append(
            Interface(
                index=None,
                name=name,
                descr=str(row.get("hardware_type") or "").strip() or None,
                alias=str(row.get("description") or "").strip() or None,
                mac=_mac(str(row.get("bia") or row.get("mac_address") or "")),
                speed=int(bandwidth[1]) * 1000 if bandwidth else None,
                mtu=int(mtu) if mtu.isdigit() else None,
                admin_status="down" if "administratively" in link or admin == "down" else "up",
                oper_status=_oper(link, str(row.get("protocol_status") or "").lower()),
            )
        )
        ip, plen = str(row.get("ip_address") or ""), str(row.get("prefix_length") or "")
        if ip:
            addresses.append(Address(ip, int(plen) if plen.isdigit() else None, None, "ipv4"))
    return interfaces, addresses


def _neighbors(rows: list[Row], protocol: str) -> list[Neighbor]:
    out: list[Neighbor] = []
    for row in rows:
        get = _getter(row)
        name = get("neighbor_name")
        chassis = get("chassis_id")
        if protocol == "cdp" and chassis is None:
            chassis = name
        out.append(
            Neighbor(
                protocol=protocol,
                local_port=get("local_interface"),
                remote_chassis_id=chassis,
                remote_port=get("neighbor_port_id") or get("neighbor_interface"),
                remote_sys_name=name or chassis,
                remote_descr=get("neighbor_description"),
                remote_address=get("mgmt_address") or get("interface_ip"),
                remote_platform=get("platform"),
            )
        )
    return out


def _oper(link: str, protocol: str) -> str | None:
    state = protocol or link
    return ("up" if state.startswith("up") else "down") if state else None


def _getter(row: Row) -> Callable[[str], str | None]:
    def get(key: str) -> str | None:
        return _first(row.get(key)) or None

    return get


def _mac(text: str | None) -> str | None:
    """``0c11.2233.4455`` / ``0C:11:22:33:44:55`` -> ``0c:11:22:33:44:55``."""
    digits = re.sub(r"[^0-9a-fA-F]", "", text or "").lower()
    if len(digits) != 12 or digits == "0" * 12:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _uptime(ver: Row) -> float | None:
    parts = {k: ver.get(f"uptime_{k}") for k in ("years", "weeks", "days", "hours", "minutes")}
    if any(parts.values()):
        scale = {
            "years": 365 * 86400,
            "weeks": 7 * 86400,
            "days": 86400,
            "hours": 3600,
            "minutes": 60,
        }
        return float(
            sum(int(str(v)) * scale[k] for k, v in parts.items() if str(v or "").isdigit())
        )
    match = _NXOS_UPTIME.search(str(ver.get("uptime") or ""))
    if match:
        d, h, m, s = (int(x) for x in match.groups())
        return float(d * 86400 + h * 3600 + m * 60 + s)
    return None


def _firmware(ver: Row, text: str) -> str | None:
    """Boot loader / ROMMON / BIOS version (``ROM: Bootstrap program`` names no version)."""
    loader = _BOOTLDR.search(text)
    if loader:
        return loader[1]
    rommon = _first(ver.get("rommon"))
    if rommon and rommon not in {"Bootstrap", "IOS-XE"}:
        return rommon
    return _first(ver.get("bios")) or None


def _memory(text: str) -> int | None:
    match = _MEMORY.search(text)
    if not match:
        return None
    if match[3]:
        return int(match[3]) * 1024
    return (int(match[1]) + int(match[2] or 0)) * 1024
