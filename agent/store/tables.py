"""SQLModel tables: the estate as stored. The planner never sees these rows.

Times are timezone-aware UTC. Child rows (interfaces, software, ...) carry the ``source``
protocol that saw them, so an SNMP poll replaces only what SNMP reported and keeps what SSH found.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


# The fields an asset takes from Facts are declared once, in collectors.facts.ASSET_FIELDS; the
# others belong to the agent. A new field also needs a migration: tests/agent/test_asset_fields.py
# checks this class against that declaration and against the migrated schema.
class Asset(SQLModel, table=True):
    __tablename__ = "cw_asset"
    __table_args__ = (
        Index("ix_asset_class_site", "device_class", "site"),
        Index("ix_asset_site", "site"),
        Index("ix_asset_status", "status", "device_class", "site", "id"),  # the list's counts
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    sys_name: str | None = Field(default=None, max_length=255)
    device_class: str = Field(default="unknown", max_length=32)
    vendor: str = Field(default="unknown", max_length=128)
    model: str | None = Field(default=None, max_length=255)
    os_name: str | None = Field(default=None, max_length=128)
    os_version: str | None = Field(default=None, max_length=255)
    serial: str | None = Field(default=None, max_length=255)
    firmware: str | None = Field(default=None, max_length=255)
    kernel: str | None = Field(default=None, max_length=255)
    sys_object_id: str | None = Field(default=None, max_length=255)
    sys_descr: str | None = Field(default=None, sa_column=Column(Text))
    sys_location: str | None = Field(default=None, max_length=255)
    sys_contact: str | None = Field(default=None, max_length=255)
    mgmt_address: str | None = Field(default=None, max_length=64)
    engine_id: str | None = Field(default=None, max_length=128)
    chassis_id: str | None = Field(default=None, max_length=128)
    cpu_count: int | None = None
    cpu_model: str | None = Field(default=None, max_length=255)
    memory_bytes: int | None = Field(default=None, sa_column=Column(BigInteger))
    disk_bytes: int | None = Field(default=None, sa_column=Column(BigInteger))
    cpu_pct: float | None = None
    mem_pct: float | None = None
    uptime_s: float | None = None
    bios_date: str | None = Field(default=None, max_length=32)
    manufacture_date: str | None = Field(default=None, max_length=32)
    system_uuid: str | None = Field(default=None, max_length=64, index=True)
    snmp_version: str | None = Field(default=None, max_length=8)
    site: str | None = Field(default=None, max_length=128)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Planning hints that no protocol observes (from an import or a user): environment,
    # application, criticality, idle_days, hub, redundant, external, host, power_watts, ...
    planning: dict[str, object] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    exposures: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    field_sources: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    first_seen: datetime
    last_seen: datetime
    # active, or replaced: another box answers where this one did (``replaced_by`` is its asset),
    # or gone: an endpoint no switch has seen for discovery.endpoint_max_age_days; either keeps
    # its history and becomes active again when it answers or is seen again.
    status: str = Field(default="active", max_length=16)
    replaced_by: int | None = None


class AssetKey(SQLModel, table=True):
    """Identity keys (serial, MAC, engine ID, name+address, poll target), each naming the one
    asset that last showed it; ``strength`` is its weight in agent.store.identity."""

    __tablename__ = "cw_asset_key"
    key: str = Field(primary_key=True, max_length=400)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    strength: int = 1
    source: str = Field(max_length=16)
    last_seen: datetime


class AssetLink(SQLModel, table=True):
    """A relation between two assets: ``manages`` (a management controller -> the server it
    sits in, from the serial both report), ``hosts`` (a hypervisor -> a virtual machine it runs,
    from its guest list or an import's ``host`` column; ``evidence`` says which), ``connects``
    (a switch -> an endpoint on one of its edge ports; ``evidence`` names the port and VLAN)."""

    __tablename__ = "cw_asset_link"
    __table_args__ = (
        UniqueConstraint("src_asset_id", "dst_asset_id", "kind", name="uq_asset_link"),
    )
    id: int | None = Field(default=None, primary_key=True)
    src_asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    dst_asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    kind: str = Field(max_length=16)
    evidence: str = Field(default="", max_length=255)
    first_seen: datetime
    last_seen: datetime


class EndpointPort(SQLModel, table=True):
    """Where an endpoint (``asset_id``) was seen: a MAC learnt on an edge port of a switch
    (``switch_asset_id``), with its VLAN and the address an ARP/ND table gave it; one row per
    switch, port and VLAN, kept as history (``last_seen`` says when it was there last)."""

    __tablename__ = "cw_endpoint_port"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    switch_asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    mac: str = Field(max_length=32, index=True)
    port: str = Field(max_length=255)
    if_index: int | None = None
    vlan: int | None = None
    address: str | None = Field(default=None, max_length=64)
    first_seen: datetime
    last_seen: datetime


class ArpRow(SQLModel, table=True):
    """One ARP (IPv4) or neighbour (IPv6) entry of a router or layer-3 switch (``asset_id``):
    which MAC holds which address, for the endpoints that switches see."""

    __tablename__ = "cw_arp"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    mac: str = Field(max_length=32, index=True)
    address: str = Field(max_length=64)
    family: str = Field(default="ipv4", max_length=8)
    if_name: str | None = Field(default=None, max_length=255)
    static: bool = False


class AssetHistory(SQLModel, table=True):
    __tablename__ = "cw_asset_history"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    at: datetime = Field(index=True)
    field_name: str = Field(max_length=64)
    old: str | None = Field(default=None, sa_column=Column(Text))
    new: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(max_length=16)


class Interface(SQLModel, table=True):
    __tablename__ = "cw_interface"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    if_index: int | None = None
    name: str = Field(max_length=255)
    descr: str | None = Field(default=None, sa_column=Column(Text))
    alias: str | None = Field(default=None, max_length=255)
    if_type: int | None = None
    mac: str | None = Field(default=None, max_length=32, index=True)
    speed: int | None = Field(default=None, sa_column=Column(BigInteger))
    mtu: int | None = None
    admin_status: str | None = Field(default=None, max_length=16)
    oper_status: str | None = Field(default=None, max_length=16)


class AddressRow(SQLModel, table=True):
    __tablename__ = "cw_address"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    address: str = Field(max_length=64, index=True)
    prefix_len: int | None = None
    if_index: int | None = None
    family: str = Field(default="ipv4", max_length=8)


class SoftwareRow(SQLModel, table=True):
    __tablename__ = "cw_software"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    name: str = Field(max_length=512)
    version: str | None = Field(default=None, max_length=255)
    kind: str = Field(default="package", max_length=32)
    install_date: str | None = Field(default=None, max_length=32)


class HardwareRow(SQLModel, table=True):
    __tablename__ = "cw_hardware"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    ent_index: int | None = None
    klass: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=255)
    descr: str | None = Field(default=None, sa_column=Column(Text))
    model: str | None = Field(default=None, max_length=255)
    serial: str | None = Field(default=None, max_length=255)
    hw_rev: str | None = Field(default=None, max_length=255)
    fw_rev: str | None = Field(default=None, max_length=255)
    sw_rev: str | None = Field(default=None, max_length=255)
    manufacturer: str | None = Field(default=None, max_length=255)
    parent_index: int | None = None
    mfg_date: str | None = Field(default=None, max_length=32)


class GuestRow(SQLModel, table=True):
    """A virtual machine that a hypervisor (``asset_id``) reported, inventoried or not."""

    __tablename__ = "cw_guest"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    platform: str = Field(max_length=16)
    name: str = Field(max_length=255)
    uuid: str | None = Field(default=None, max_length=64, index=True)
    guest_os: str | None = Field(default=None, max_length=128)
    state: str | None = Field(default=None, max_length=32)


class StorageRow(SQLModel, table=True):
    __tablename__ = "cw_storage"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    descr: str = Field(max_length=512)
    kind: str | None = Field(default=None, max_length=32)
    size_bytes: int | None = Field(default=None, sa_column=Column(BigInteger))
    used_bytes: int | None = Field(default=None, sa_column=Column(BigInteger))
    mount: str | None = Field(default=None, max_length=512)


class NeighborRow(SQLModel, table=True):
    __tablename__ = "cw_neighbor"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    protocol: str = Field(max_length=8)
    local_port: str | None = Field(default=None, max_length=255)
    remote_chassis_id: str | None = Field(default=None, max_length=255)
    remote_port: str | None = Field(default=None, max_length=255)
    remote_sys_name: str | None = Field(default=None, max_length=255)
    remote_descr: str | None = Field(default=None, sa_column=Column(Text))
    remote_address: str | None = Field(default=None, max_length=64)
    remote_platform: str | None = Field(default=None, max_length=255)


class ListeningRow(SQLModel, table=True):
    __tablename__ = "cw_listening"
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    source: str = Field(max_length=16)
    proto: str = Field(max_length=8)
    address: str = Field(max_length=64)
    port: int = Field(index=True)
    process: str | None = Field(default=None, max_length=255)


class ConnectionRow(SQLModel, table=True):
    """An established connection seen on an asset, aggregated over polls."""

    __tablename__ = "cw_connection"
    __table_args__ = (
        UniqueConstraint(
            "asset_id",
            "proto",
            "local_address",
            "local_port",
            "remote_address",
            "remote_port",
            "process",
            name="uq_connection",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id", index=True)
    proto: str = Field(max_length=8)
    local_address: str = Field(max_length=64)
    local_port: int
    remote_address: str = Field(max_length=64, index=True)
    remote_port: int
    process: str = Field(default="", max_length=255)
    count: int = 1
    first_seen: datetime
    last_seen: datetime


class PollRun(SQLModel, table=True):
    __tablename__ = "cw_poll_run"
    __table_args__ = (Index("ix_poll_target_started", "target", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=255)
    protocol: str = Field(max_length=8)
    site: str | None = Field(default=None, max_length=128)
    agent: str | None = Field(default=None, max_length=128)
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    status: str = Field(default="running", max_length=16)  # running | ok | failed | cancelled
    error_kind: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, sa_column=Column(Text))
    values_read: int = 0
    asset_id: int | None = Field(default=None, foreign_key="cw_asset.id", index=True)


class Event(SQLModel, table=True):
    """Things worth telling a human: host key changed, engine ID changed, asset replaced."""

    __tablename__ = "cw_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=32)
    target: str | None = Field(default=None, max_length=255)
    asset_id: int | None = Field(default=None, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))


class DependencyRow(SQLModel, table=True):
    """Client -> server:port, aggregated from connections seen on either end.

    ``dst_asset_id`` is None when the server is not inventoried (an external node, known by
    ``dst_address``); ``src_asset_id`` is None for an external client seen only by the server.
    """

    __tablename__ = "cw_dependency"
    __table_args__ = (
        UniqueConstraint("src_key", "dst_key", "port", "origin", name="uq_dependency"),
    )
    id: int | None = Field(default=None, primary_key=True)
    src_key: str = Field(max_length=96)  # "asset:12" or "ext:10.0.0.9"
    origin: str = Field(default="observed", max_length=16)  # observed | import
    dst_key: str = Field(max_length=96)
    src_asset_id: int | None = Field(default=None, index=True)
    dst_asset_id: int | None = Field(default=None, index=True)
    src_address: str | None = Field(default=None, max_length=64)
    dst_address: str | None = Field(default=None, max_length=64)
    port: int
    service: str | None = Field(default=None, max_length=64)
    process: str | None = Field(default=None, max_length=255)
    client_process: str | None = Field(default=None, max_length=255)
    count: int = 0
    seen_by_client: bool = False
    seen_by_server: bool = False
    first_seen: datetime
    last_seen: datetime


class PlanRow(SQLModel, table=True):
    """One computed migration plan: its summary and the full JSON (for diffs and reports)."""

    __tablename__ = "cw_plan"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(index=True)
    as_of: str = Field(max_length=10)
    assets: int = 0
    waves: int = 0
    digest: str = Field(default="", max_length=64)
    summary: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # the full JSON: empty for a plan stored compressed in ``body_zlib`` (every plan since
    # revision 0009; read them with agent.store.jsontext.plan_text)
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_zlib: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # the API's views of the plan (summary, waves) as JSON text, written with it; None for a
    # plan stored before they were (built from the body on first use)
    views: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PlanDetail(SQLModel, table=True):
    """The detail of assets' plan rows (debt factors, support components, strategy reasons,
    hub, debt retired) as JSON text, stored once for every plan row that has the same: a
    re-plan of an estate that changed little adds few (revision 0010). ``digest`` is the
    first 128 bits of the text's SHA-256, in hex. Since revision 0012 the text is kept packed
    in ``detail_zlib`` (``agent.store.jsontext.pack_detail``) and ``detail`` is empty; a
    detail stored before keeps its text in ``detail`` (``jsontext.detail_text`` reads both)."""

    __tablename__ = "cw_plan_detail"
    __table_args__ = (Index("ix_plan_detail_digest", "digest", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=32)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    detail_zlib: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class AssetPlan(SQLModel, table=True):
    """Per-asset results of a plan, kept as columns so the API can filter on them; the rest
    of the asset's result is its :class:`PlanDetail` (``detail_id``)."""

    __tablename__ = "cw_asset_plan"
    __table_args__ = (
        Index("ix_asset_plan_status", "plan_id", "support_status", "asset_id"),
        Index("ix_asset_plan_debt", "plan_id", "debt"),
        Index("ix_asset_plan_asset", "plan_id", "asset_id", unique=True),  # one row per asset
        Index("ix_asset_plan_detail", "detail_id"),  # which details plans still use
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="cw_plan.id")
    asset_id: int = Field(foreign_key="cw_asset.id")
    support_status: str = Field(default="unknown", max_length=16)
    days_to_eos: int | None = None
    debt: float | None = None
    strategy: str | None = Field(default=None, max_length=16)
    wave: int | None = None
    move_group: str | None = Field(default=None, max_length=128)
    detail_id: int = Field(foreign_key="cw_plan_detail.id")


class WaveRow(SQLModel, table=True):
    __tablename__ = "cw_wave"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="cw_plan.id", index=True)
    number: int
    name: str = Field(max_length=128)
    start: str | None = Field(default=None, max_length=10)
    end: str | None = Field(default=None, max_length=10)
    assets: int = 0
    groups: int = 0
    debt_retired: float = 0.0
    detail: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class LifecycleProduct(SQLModel, table=True):
    """One endoflife.date product as fetched (API v1 JSON), cached for offline planning."""

    __tablename__ = "cw_lifecycle_product"
    name: str = Field(primary_key=True, max_length=128)
    fetched_at: datetime
    source: str = Field(max_length=512)
    body: str = Field(sa_column=Column(Text, nullable=False))


class PollLease(SQLModel, table=True):
    """One poll job on the schedule of every polling agent: when it is due and who holds it.

    Agents upsert the rows for the jobs they are configured with; a poller claims due rows
    (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, shared by several agents; SQLite: one process),
    polls, and releases them with ``next_due`` moved as ``agent.runtime.cadence`` says. A lease
    not renewed by ``lease_expires`` (its agent died) is taken over. ``lease_mark`` is the
    highest poll-run id when the lease was taken: a run of this target by the holder with a
    higher id was made under this lease. Times come from the database clock (PostgreSQL).
    """

    __tablename__ = "cw_poll_lease"
    __table_args__ = (Index("ix_poll_lease_due", "next_due"),)
    target: str = Field(primary_key=True, max_length=255)
    protocol: str = Field(max_length=8)
    site: str | None = Field(default=None, max_length=128)
    interval_s: float
    next_due: datetime
    failures: int = 0
    leased_by: str | None = Field(default=None, max_length=128)
    leased_at: datetime | None = None
    lease_expires: datetime | None = None
    lease_mark: int = 0
    last_polled_at: datetime | None = None
    last_status: str | None = Field(default=None, max_length=16)  # ok | failed | recovered
    last_agent: str | None = Field(default=None, max_length=128)
    configured_at: datetime


class UsageSample(SQLModel, table=True):
    """A raw utilisation sample, kept only until its hour is rolled up: the rows of the hour
    being filled and nothing older (the newest also gives the next sample its network rate and
    the current figures on /metrics). Counters wider than a signed 64-bit column are dropped."""

    __tablename__ = "cw_usage_sample"
    __table_args__ = (Index("ix_usage_sample_asset_at", "asset_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id")
    at: datetime
    source: str = Field(max_length=16)
    cpu_pct: float | None = None
    mem_pct: float | None = None
    disk_pct: float | None = None
    net_in_bps: float | None = None
    net_out_bps: float | None = None
    net_in_octets: int | None = Field(default=None, sa_column=Column(BigInteger))
    net_out_octets: int | None = Field(default=None, sa_column=Column(BigInteger))
    counter_bits: int = 64
    interfaces: int = 0
    cpu_busy_ticks: int | None = Field(default=None, sa_column=Column(BigInteger))
    cpu_total_ticks: int | None = Field(default=None, sa_column=Column(BigInteger))


class UsageRollup(SQLModel, table=True):
    """Utilisation of one metric of an asset over an hour or a day (``period``): how many
    samples, their p50, p95 and max (planner.usage says how a day is rolled up from hours)."""

    __tablename__ = "cw_usage_rollup"
    __table_args__ = (
        UniqueConstraint("asset_id", "metric", "period", "start", name="uq_usage_rollup"),
        Index("ix_usage_rollup_period_start", "period", "start"),
    )
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="cw_asset.id")
    metric: str = Field(max_length=16)  # cpu_pct | mem_pct | disk_pct | net_in_bps | net_out_bps
    period: str = Field(max_length=8)  # hour | day
    start: datetime
    count: int
    p50: float
    p95: float
    max: float
