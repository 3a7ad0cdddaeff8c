"""The demo estate as data: sites, OS images, devices and cabling, read from ``estate.yaml``.

Loading checks the whole file and reports every problem at once (a :class:`EstateFileError` naming
the device, the key and the fix), so that a typo in the estate never surfaces as a traceback from
deep inside a renderer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import EstateFileError

KINDS = (
    "windows",
    "linux",
    "esxi",
    "cisco",
    "aruba-cx",
    "fortigate",
    "aruba-controller",
    "aruba-ap",
    "apc",
    "eaton",
    "printer-hp",
    "printer-ricoh",
    "idrac",
    "ilo",
    "netapp",
    "synology",
    "axis",
)
CLASSES = (
    "switch",
    "router",
    "firewall",
    "server",
    "hypervisor",
    "bmc",
    "storage",
    "ups",
    "printer",
    "wireless",
    "camera",
)
# The unspecified address, as TCP-MIB shows a socket listening on every interface.
ANY_ADDRESS = str(ipaddress.IPv4Address(0))
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_DEVICE_KEYS = {
    "name": "the community and file stem, lower case (th-dc01)",
    "site": "a key of `sites`",
    "kind": f"how it is rendered, one of {', '.join(KINDS)}",
    "class": f"the device class a correct identification gives ({', '.join(CLASSES)})",
    "vendor": "the vendor a correct identification gives",
    "model": "hardware model",
    "os": "operating system or firmware family",
    "version": "OS or firmware version",
    "serial": "hardware serial number",
    "role": "what the device is for (free text)",
    "sys_name": "sysName when it differs from the name",
    "location": "sysLocation override",
    "addresses": "list of address/prefix, the first one is the management address",
    "image": "a key of `images` (servers)",
    "cpu": "{count, model, load}",
    "memory_gb": "installed memory in GiB",
    "memory_used": "percent of memory in use",
    "disks": "list of [mount, size GB, percent used]",
    "uptime_days": "days since boot",
    "software": "installed software beyond the image",
    "listens": "TCP ports listened on: port, port@process or address:port@process",
    "connects": "list of peer:port, peer:port*count or peer:port*count@process",
    "ports": "switch ports, e.g. 48x1G+4x10G",
    "manufactured": "manufacture date (YYYY-MM-DD)",
    "installed": "OS install date",
    "firmware": "firmware version of a management card or BMC",
    "host": "ESXi host a VM runs on",
    "manages": "the server a BMC manages",
    "controller": "the controller an AP joins",
    "record": "false for kit that is only seen as a neighbour",
    "details": "kind-specific values",
}


@dataclass(frozen=True, slots=True)
class Site:
    key: str
    name: str
    location: str


@dataclass(frozen=True, slots=True)
class Disk:
    mount: str
    size_gb: float
    used_pct: float


@dataclass(frozen=True, slots=True)
class Connect:
    peer: str
    port: int
    count: int = 1
    process: str | None = None


@dataclass(frozen=True, slots=True)
class Listen:
    port: int
    process: str | None = None
    address: str = ANY_ADDRESS


@dataclass(frozen=True, slots=True)
class Link:
    a: str
    a_port: str
    b: str
    b_port: str


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    site: str
    kind: str
    device_class: str
    vendor: str
    model: str | None = None
    os: str | None = None
    version: str | None = None
    serial: str | None = None
    role: str = ""
    sys_name: str | None = None
    location: str | None = None
    addresses: tuple[str, ...] = ()
    image: str | None = None
    cpu_count: int = 1
    cpu_model: str | None = None
    cpu_load: int = 5
    memory_gb: float = 0.0
    memory_used: int = 50
    disks: tuple[Disk, ...] = ()
    uptime_days: float = 30.0
    software: tuple[str, ...] = ()
    listens: tuple[Listen, ...] = ()
    connects: tuple[Connect, ...] = ()
    ports: str | None = None
    manufactured: date | None = None
    installed: date | None = None
    firmware: str | None = None
    host: str | None = None
    manages: str | None = None
    controller: str | None = None
    record: bool = True
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The management (first) address, without its prefix length."""
        return self.addresses[0].split("/")[0] if self.addresses else ANY_ADDRESS


@dataclass(frozen=True, slots=True)
class Estate:
    organisation: str
    domain: str
    contact: str
    epoch: datetime
    sites: Mapping[str, Site]
    images: Mapping[str, Mapping[str, Any]]
    devices: tuple[Device, ...]
    links: tuple[Link, ...]

    def device(self, name: str) -> Device:
        for dev in self.devices:
            if dev.name == name:
                return dev
        raise KeyError(name)


def _date(value: Any, where: str, problems: list[str]) -> date | None:
    if value is None or isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date; write YYYY-MM-DD")
        return None


def _connect(text: Any, where: str, problems: list[str]) -> Connect | None:
    m = re.fullmatch(r"([a-z][a-z0-9-]+):(\d{1,5})(?:\*(\d+))?(?:@(\S+))?", str(text))
    if not m or not 0 < int(m.group(2)) < 65536:
        problems.append(
            f"{where}: {text!r} is not peer:port, peer:port*count or peer:port*count@process"
        )
        return None
    return Connect(m.group(1), int(m.group(2)), int(m.group(3) or 1), m.group(4))


def _listen(text: Any, where: str, problems: list[str]) -> Listen | None:
    m = re.fullmatch(r"(?:(\d+\.\d+\.\d+\.\d+):)?(\d{1,5})(?:@(\S+))?", str(text))
    if not m or not 0 < int(m.group(2)) < 65536:
        problems.append(
            f"{where}: listen {text!r} is not port, port@process or address:port@process"
        )
        return None
    return Listen(int(m.group(2)), m.group(3), m.group(1) or ANY_ADDRESS)


def _device(raw: Any, n: int, problems: list[str]) -> Device | None:
    if not isinstance(raw, dict) or "name" not in raw:
        problems.append(f"devices[{n}]: each device is a mapping with at least a name")
        return None
    name = str(raw["name"])
    where = f"device {name}"
    for key in raw:
        if key not in _DEVICE_KEYS:
            problems.append(f"{where}: unknown key {key!r}; known keys: {', '.join(_DEVICE_KEYS)}")
    for key in ("site", "kind", "class", "vendor"):
        if key not in raw:
            problems.append(f"{where}: missing {key!r} ({_DEVICE_KEYS[key]})")
    if not _NAME.match(name):
        problems.append(f"{where}: the name must be lower-case letters, digits and dashes")
    if raw.get("kind") not in KINDS:
        problems.append(f"{where}: kind {raw.get('kind')!r} is not one of {', '.join(KINDS)}")
    if raw.get("class") not in CLASSES:
        problems.append(f"{where}: class {raw.get('class')!r} is not one of {', '.join(CLASSES)}")
    addresses = tuple(str(a) for a in raw.get("addresses") or ())
    for addr in addresses:
        try:
            ipaddress.IPv4Interface(addr)
        except ValueError:
            problems.append(f"{where}: address {addr!r} is not IPv4 address/prefix (10.20.1.5/24)")
    cpu = raw.get("cpu") or {}
    disks = []
    for item in raw.get("disks") or ():
        if not (isinstance(item, list) and len(item) == 3):
            problems.append(f"{where}: disk {item!r} is not [mount, size GB, percent used]")
            continue
        disks.append(Disk(str(item[0]), float(item[1]), float(item[2])))
    connects = [_connect(c, where, problems) for c in raw.get("connects") or ()]
    listens = [_listen(p, where, problems) for p in raw.get("listens") or ()]
    try:
        return Device(
            name=name,
            site=str(raw.get("site")),
            kind=str(raw.get("kind")),
            device_class=str(raw.get("class")),
            vendor=str(raw.get("vendor")),
            model=raw.get("model"),
            os=raw.get("os"),
            version=None if raw.get("version") is None else str(raw["version"]),
            serial=None if raw.get("serial") is None else str(raw["serial"]),
            role=str(raw.get("role") or ""),
            sys_name=raw.get("sys_name"),
            location=raw.get("location"),
            addresses=addresses,
            image=raw.get("image"),
            cpu_count=int(cpu.get("count", 1)),
            cpu_model=cpu.get("model"),
            cpu_load=int(cpu.get("load", 5)),
            memory_gb=float(raw.get("memory_gb") or 0),
            memory_used=int(raw.get("memory_used", 50)),
            disks=tuple(disks),
            uptime_days=float(raw.get("uptime_days", 30)),
            software=tuple(str(s) for s in raw.get("software") or ()),
            listens=tuple(p for p in listens if p is not None),
            connects=tuple(c for c in connects if c is not None),
            ports=raw.get("ports"),
            manufactured=_date(raw.get("manufactured"), f"{where}: manufactured", problems),
            installed=_date(raw.get("installed"), f"{where}: installed", problems),
            firmware=None if raw.get("firmware") is None else str(raw["firmware"]),
            host=raw.get("host"),
            manages=raw.get("manages"),
            controller=raw.get("controller"),
            record=bool(raw.get("record", True)),
            details=dict(raw.get("details") or {}),
        )
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}; check the numbers in cpu, memory, disks and listens")
        return None


def _link(text: Any, problems: list[str]) -> Link | None:
    parts = str(text).split()
    ends = [p.split(":", 1) for p in parts]
    if len(parts) != 2 or any(len(e) != 2 for e in ends):
        problems.append(f"link {text!r}: write 'device:port device:port'")
        return None
    return Link(ends[0][0], ends[0][1], ends[1][0], ends[1][1])


def _check_references(estate: Estate, problems: list[str]) -> None:
    names = [d.name for d in estate.devices]
    by_name = {d.name: d for d in estate.devices}
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"device {name}: defined more than once")
    seen: dict[str, str] = {}
    for dev in estate.devices:
        where = f"device {dev.name}"
        if dev.site not in estate.sites:
            problems.append(f"{where}: site {dev.site!r} is not in `sites`")
        if dev.image is not None and dev.image not in estate.images:
            problems.append(f"{where}: image {dev.image!r} is not in `images`")
        if dev.kind in ("windows", "linux") and dev.image is None:
            problems.append(f"{where}: a {dev.kind} server needs an `image`")
        if dev.record and not dev.addresses:
            problems.append(f"{where}: needs at least one address")
        for addr in dev.addresses:
            ip = addr.split("/")[0]
            if ip in seen and seen[ip] != dev.name:
                problems.append(f"{where}: address {ip} is also {seen[ip]}'s")
            seen[ip] = dev.name
        for ref, kind in ((dev.host, "esxi"), (dev.manages, None), (dev.controller, None)):
            if ref is not None and ref not in by_name:
                problems.append(f"{where}: refers to {ref!r}, which is not a device")
            elif ref is not None and kind and by_name[ref].kind != kind:
                problems.append(f"{where}: host {ref!r} is not an ESXi host")
        for conn in dev.connects:
            peer = by_name.get(conn.peer)
            if peer is None:
                problems.append(f"{where}: connects to {conn.peer!r}, which is not a device")
            elif conn.port not in {p.port for p in peer.listens}:
                problems.append(
                    f"{where}: connects to {conn.peer}:{conn.port} but {conn.peer} "
                    f"does not list {conn.port} in `listens`"
                )
    for link in estate.links:
        for end in (link.a, link.b):
            if end not in by_name:
                problems.append(
                    f"link {link.a}:{link.a_port} {link.b}:{link.b_port}: {end!r} is not a device"
                )


def parse_estate(data: Any, source: str = "estate.yaml") -> Estate:
    """Build an :class:`Estate` from the parsed YAML document, checking every reference."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise EstateFileError(
            ["the file must be a mapping with estate, sites, images, devices, links"], source
        )
    head = data.get("estate") or {}
    sites = {}
    for key, site in (data.get("sites") or {}).items():
        if not isinstance(site, dict) or "name" not in site or "location" not in site:
            problems.append(f"site {key}: give a name and a location")
            continue
        sites[str(key)] = Site(str(key), str(site["name"]), str(site["location"]))
    images = {str(k): dict(v) for k, v in (data.get("images") or {}).items()}
    devices = [_device(raw, n, problems) for n, raw in enumerate(data.get("devices") or ())]
    links = [_link(text, problems) for text in data.get("links") or ()]
    epoch = head.get("epoch")
    if not isinstance(epoch, datetime):
        problems.append(
            "estate.epoch: give the moment the recordings describe (YYYY-MM-DDTHH:MM:SS)"
        )
        epoch = datetime(2026, 1, 1)
    estate = Estate(
        organisation=str(head.get("organisation", "")),
        domain=str(head.get("domain", "")),
        contact=str(head.get("contact", "")),
        epoch=epoch,
        sites=sites,
        images=images,
        devices=tuple(d for d in devices if d is not None),
        links=tuple(link for link in links if link is not None),
    )
    _check_references(estate, problems)
    if problems:
        raise EstateFileError(problems, source)
    return estate


def load_estate_file(path: Path) -> Estate:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EstateFileError([f"cannot read the estate file: {exc.strerror}"], str(path)) from exc
    except yaml.YAMLError as exc:
        raise EstateFileError([f"not valid YAML: {exc}"], str(path)) from exc
    return parse_estate(data, str(path))
