"""Typed, pure records of what a collector learnt about one target.

Every collector (SNMP, SSH, import) returns a :class:`Facts`. The agent turns Facts into store
rows; the planner never sees them. Records are frozen so that a parse result can be shared
between threads and compared in golden tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNKNOWN = "unknown"

DEVICE_CLASSES = (
    "switch",
    "router",
    "firewall",
    "server",
    "hypervisor",
    "bmc",
    "storage",
    "ups",
    "pdu",
    "printer",
    "wireless",
    "camera",
    "appliance",
    "endpoint",
    UNKNOWN,
)


@dataclass(frozen=True, slots=True)
class Interface:
    index: int | None
    name: str
    descr: str | None = None
    alias: str | None = None
    type: int | None = None
    mac: str | None = None
    speed: int | None = None  # bits per second
    mtu: int | None = None
    admin_status: str | None = None
    oper_status: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    address: str
    prefix_len: int | None = None
    if_index: int | None = None
    family: str = "ipv4"


@dataclass(frozen=True, slots=True)
class Software:
    name: str
    version: str | None = None
    kind: str = "package"  # package | application | os | firmware
    install_date: str | None = None
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class HardwareComponent:
    index: int | None
    klass: str | None = None  # chassis | module | powerSupply | fan | sensor | cpu | port ...
    name: str | None = None
    descr: str | None = None
    model: str | None = None
    serial: str | None = None
    hw_rev: str | None = None
    fw_rev: str | None = None
    sw_rev: str | None = None
    manufacturer: str | None = None
    parent_index: int | None = None
    mfg_date: str | None = None


@dataclass(frozen=True, slots=True)
class Storage:
    descr: str
    kind: str | None = None  # ram | virtual | disk | fixed | removable | flash | network | other
    size_bytes: int | None = None
    used_bytes: int | None = None
    mount: str | None = None


@dataclass(frozen=True, slots=True)
class Neighbor:
    protocol: str  # lldp | cdp
    local_port: str | None = None
    remote_chassis_id: str | None = None
    remote_port: str | None = None
    remote_sys_name: str | None = None
    remote_descr: str | None = None
    remote_address: str | None = None
    remote_platform: str | None = None


@dataclass(frozen=True, slots=True)
class Listening:
    proto: str  # tcp | udp
    address: str
    port: int
    process: str | None = None
    pid: int | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    proto: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    process: str | None = None
    pid: int | None = None
    state: str = "established"


@dataclass(frozen=True, slots=True)
class Utilisation:
    cpu_pct: float | None = None
    mem_pct: float | None = None
    load1: float | None = None
    disk_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """What the box is, with the evidence for each field (explainability)."""

    vendor: str = UNKNOWN
    device_class: str = UNKNOWN
    model: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    serial: str | None = None
    firmware: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Facts:
    target: str
    protocol: str  # snmp | ssh | import
    address: str | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_location: str | None = None
    sys_contact: str | None = None
    uptime_s: float | None = None
    identity: Identity = field(default_factory=Identity)
    kernel: str | None = None
    engine_id: str | None = None
    chassis_id: str | None = None
    cpu_count: int | None = None
    cpu_model: str | None = None
    memory_bytes: int | None = None
    bios_date: str | None = None
    manufacture_date: str | None = None
    snmp_version: str | None = None
    interfaces: tuple[Interface, ...] = ()
    addresses: tuple[Address, ...] = ()
    software: tuple[Software, ...] = ()
    hardware: tuple[HardwareComponent, ...] = ()
    storage: tuple[Storage, ...] = ()
    neighbors: tuple[Neighbor, ...] = ()
    listening: tuple[Listening, ...] = ()
    connections: tuple[Connection, ...] = ()
    utilisation: Utilisation | None = None
    values_read: int = 0
    warnings: tuple[str, ...] = ()

    # Convenience accessors so callers need not reach into identity.
    @property
    def vendor(self) -> str:
        return self.identity.vendor

    @property
    def device_class(self) -> str:
        return self.identity.device_class

    def to_dict(self) -> dict[str, Any]:
        """The probe's JSON shape: identity fields flattened to the top level."""
        data = asdict(self)
        ident = data.pop("identity")
        evidence = ident.pop("evidence")
        out: dict[str, Any] = {"target": data.pop("target"), "protocol": data.pop("protocol")}
        out["sys_name"] = data.pop("sys_name")
        out.update(ident)
        out.update(data)
        out["evidence"] = evidence
        return out


_CHILDREN: dict[str, type[Any]] = {
    "interfaces": Interface,
    "addresses": Address,
    "software": Software,
    "hardware": HardwareComponent,
    "storage": Storage,
    "neighbors": Neighbor,
    "listening": Listening,
    "connections": Connection,
}


def facts_from_dict(data: dict[str, Any]) -> Facts:
    """Rebuild Facts from ``dataclasses.asdict(facts)`` (used to spool unsaved results)."""
    kw = dict(data)
    ident = dict(kw.pop("identity", None) or {})
    kw["identity"] = Identity(**ident)
    for key, cls in _CHILDREN.items():
        kw[key] = tuple(cls(**item) for item in kw.get(key) or ())
    util = kw.get("utilisation")
    kw["utilisation"] = Utilisation(**util) if util else None
    kw["warnings"] = tuple(kw.get("warnings") or ())
    return Facts(**kw)
