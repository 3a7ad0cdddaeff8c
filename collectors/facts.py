"""Typed, pure records of what a collector learnt about one target.

Every collector (SNMP, SSH, import) returns a :class:`Facts`. The agent turns Facts into store
rows; the planner never sees them. Records are frozen so that a parse result can be shared
between threads and compared in golden tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNKNOWN = "unknown"
ENDPOINT = "endpoint"  # a user device (PC, phone, printer) seen on a switch port

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
    ENDPOINT,
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
class Guest:
    """A virtual machine that a hypervisor says it holds (VMWARE-VMINFO-MIB vmwVmTable, virsh,
    Hyper-V ``Get-VM``).

    ``uuid`` is the VM's BIOS (SMBIOS) UUID, the system UUID its guest OS reads, when the
    hypervisor gives it (VMware's vmwVmUUID, libvirt's domain UUID; Hyper-V's VM id is not
    it); ``state`` is worded as the hypervisor words it (poweredOn, running, shut off, Off).
    """

    name: str
    platform: str  # vmware | libvirt | hyperv
    uuid: str | None = None
    guest_os: str | None = None
    state: str | None = None


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
    # What the neighbour says it is (LLDP system capabilities enabled, CDP capabilities), as
    # comma-separated names: bridge, router, telephone, wlan-ap, station, repeater, host...
    remote_caps: str | None = None


@dataclass(frozen=True, slots=True)
class ArpEntry:
    """One row of a router's or layer-3 switch's ARP (IPv4) or neighbour (IPv6) table."""

    mac: str
    address: str
    if_name: str | None = None
    family: str = "ipv4"
    static: bool = False


@dataclass(frozen=True, slots=True)
class Sighting:
    """An endpoint's MAC learnt on an edge port (not an uplink) of the switch polled.

    ``switch`` is the label of the switch's poll; ``address`` the endpoint's IP when an
    ARP/ND table (this device's, or a router's through :func:`collectors.snmp.edge.attach`)
    knows the MAC; ``vendor`` the IEEE registrant of the MAC's OUI.
    """

    mac: str
    switch: str
    port: str
    if_index: int | None = None
    vlan: int | None = None
    address: str | None = None
    vendor: str | None = None


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
    system_uuid: str | None = None  # the SMBIOS system UUID (a VM's is its hypervisor's VM UUID)
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
    arp: tuple[ArpEntry, ...] = ()
    sightings: tuple[Sighting, ...] = ()
    guests: tuple[Guest, ...] = ()
    values_read: int = 0
    warnings: tuple[str, ...] = ()

    # Convenience accessors so callers need not reach into identity.
    @property
    def vendor(self) -> str:
        return self.identity.vendor

    @property
    def device_class(self) -> str:
        return self.identity.device_class

    @property
    def disk_bytes(self) -> int | None:
        """Total size of the fixed disks seen; None when no disk size was seen."""
        disks = [s.size_bytes for s in self.storage if s.kind in ("fixed", "disk") and s.size_bytes]
        return sum(disks) if disks else None

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


@dataclass(frozen=True, slots=True)
class AssetField:
    """A value of Facts that describes the box as a whole. The agent keeps each one as the field
    of the same name on the box's stored asset.

    ``source`` is where Facts holds it: an attribute (``kernel``), an attribute of its identity
    (``identity.vendor``) or of its utilisation (``utilisation.cpu_pct``). A change of a
    ``tracked`` field is news worth keeping as the asset's history; readings that move from poll
    to poll (uptime, utilisation) and text restating the others (sysDescr) are not tracked.
    """

    name: str
    source: str
    tracked: bool = True

    def read(self, facts: Facts) -> Any:
        """Its value in ``facts``; None when the record holding it (utilisation) is absent."""
        value: Any = facts
        for attr in self.source.split("."):
            if value is None:
                return None
            value = getattr(value, attr)
        return value


# Every asset field that Facts provides, declared once: the store copies these (in this order)
# onto the asset, and tests/agent/test_asset_fields.py checks the Asset model, the migrated
# schema and the asset listings against them. A new box-level value of Facts goes here, as a
# column of Asset (agent/store/tables.py) and in a new migration.
ASSET_FIELDS: tuple[AssetField, ...] = (
    AssetField("sys_name", "sys_name"),
    AssetField("device_class", "identity.device_class"),
    AssetField("vendor", "identity.vendor"),
    AssetField("model", "identity.model"),
    AssetField("os_name", "identity.os_name"),
    AssetField("os_version", "identity.os_version"),
    AssetField("serial", "identity.serial"),
    AssetField("firmware", "identity.firmware"),
    AssetField("kernel", "kernel"),
    AssetField("sys_object_id", "sys_object_id"),
    AssetField("sys_location", "sys_location"),
    AssetField("sys_contact", "sys_contact"),
    AssetField("engine_id", "engine_id"),
    AssetField("chassis_id", "chassis_id"),
    AssetField("cpu_count", "cpu_count"),
    AssetField("cpu_model", "cpu_model"),
    AssetField("memory_bytes", "memory_bytes"),
    AssetField("bios_date", "bios_date"),
    AssetField("manufacture_date", "manufacture_date"),
    AssetField("system_uuid", "system_uuid"),
    AssetField("uptime_s", "uptime_s", tracked=False),
    AssetField("cpu_pct", "utilisation.cpu_pct", tracked=False),
    AssetField("mem_pct", "utilisation.mem_pct", tracked=False),
    AssetField("disk_bytes", "disk_bytes", tracked=False),
    AssetField("snmp_version", "snmp_version", tracked=False),
    AssetField("sys_descr", "sys_descr", tracked=False),
)


_CHILDREN: dict[str, type[Any]] = {
    "interfaces": Interface,
    "addresses": Address,
    "software": Software,
    "hardware": HardwareComponent,
    "storage": Storage,
    "neighbors": Neighbor,
    "listening": Listening,
    "connections": Connection,
    "arp": ArpEntry,
    "sightings": Sighting,
    "guests": Guest,
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
