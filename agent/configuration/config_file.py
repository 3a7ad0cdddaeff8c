"""The YAML configuration, validated whole at start with pydantic.

Every problem is reported at once, each naming its key (``targets[2].range``) and what is wrong.
Secrets are never values in the file: only references (``{env: NAME}`` or ``{file: PATH}``,
or the short forms ``env:NAME`` / ``file:PATH``), resolved by :mod:`agent.configuration.secrets`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.configuration.secrets import resolve
from agent.errors import ConfigError, SecretError
from collectors.snmp.usm import check_pass_phrase

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError("must be a duration like 30s, 15m, 1h or a number of seconds")
        return float(m.group(1)) * _UNITS[m.group(2)]
    return value


YEAR = 365 * 86400.0
# Finite and at most a year: larger values are mistakes and overflow date arithmetic.
Seconds = Annotated[float, BeforeValidator(_duration), Field(gt=0, le=YEAR, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """Where a secret lives. Exactly one of ``env`` or ``file``."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            kind, sep, ref = value.partition(":")
            if sep and kind in ("env", "file") and ref:
                return {kind: ref}
            raise ValueError(
                "secrets are never written in the configuration: give a reference, "
                "{env: VAR_NAME} or {file: /path/to/secret} (or env:VAR / file:PATH)"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def describe(self) -> str:
        return f"env var {self.env}" if self.env else f"file {self.file}"


class SnmpCommunityCred(Strict):
    type: Literal["snmp-community"]
    version: Literal["1", "2c"] = "2c"
    community: SecretRef

    @field_validator("version", mode="before")
    @classmethod
    def _v(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v


class SnmpV3Cred(Strict):
    type: Literal["snmpv3"]
    user: str = Field(min_length=1)
    auth_protocol: Literal["SHA", "SHA256"] = "SHA"
    auth_key: SecretRef
    priv_protocol: Literal["AES"] = "AES"
    priv_key: SecretRef
    context: str = ""

    @field_validator("auth_key", "priv_key")
    @classmethod
    def _long_enough(cls, ref: SecretRef) -> SecretRef:
        """SNMPv3 pass phrases have at least 8 characters (RFC 3414 section 11.2). Checked where
        the reference resolves now; one that does not is reported when it is used."""
        try:
            value = resolve(ref)
        except SecretError:
            return ref
        check_pass_phrase(value, f"the pass phrase in {ref.describe()}")
        return ref


class SshCred(Strict):
    type: Literal["ssh"]
    user: str = Field(min_length=1)
    key_file: Path | None = None
    passphrase: SecretRef | None = None
    password: SecretRef | None = None

    @model_validator(mode="after")
    def _some_auth(self) -> SshCred:
        if self.key_file is None and self.password is None:
            raise ValueError("an ssh credential needs key_file (recommended) or password")
        return self


Credential = Annotated[SnmpCommunityCred | SnmpV3Cred | SshCred, Field(discriminator="type")]

Protocol = Literal["snmp", "ssh"]


SnmpEngine = Literal["fast", "pysnmp"]


class SnmpSettings(Strict):
    """How this agent speaks SNMP, for every target.

    ``engine``: ``fast`` (the default: cloudward's own codec and one shared socket) or
    ``pysnmp`` (the reference implementation: many times slower per value; what it does not
    do is listed in :mod:`collectors.snmp.client`).
    """

    engine: SnmpEngine = "fast"

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, v: Any) -> Any:
        if v not in get_args(SnmpEngine):
            raise ValueError(
                f"{v!r} is not an SNMP engine: use fast (the default) or pysnmp "
                "(the slower reference implementation)"
            )
        return v


class SnmpDefaults(Strict):
    port: int = Field(161, ge=1, le=65535)
    timeout: Seconds = 2.0
    retries: int = Field(1, ge=0, le=10)
    max_repetitions: int = Field(25, ge=1, le=200)
    value_cap: int = Field(100_000, ge=100)
    concurrency: int = Field(64, ge=1, le=4096)


class SshDefaults(Strict):
    port: int = Field(22, ge=1, le=65535)
    connect_timeout: Seconds = 10.0
    command_timeout: Seconds = 30.0
    known_hosts: Path = Path("var/known_hosts")
    trust_on_first_use: bool = False
    concurrency: int = Field(8, ge=1, le=256)


class Defaults(Strict):
    poll_interval: Seconds = 900.0
    max_range_hosts: int = Field(4096, ge=1, le=1 << 20)
    snmp: SnmpDefaults = SnmpDefaults()
    ssh: SshDefaults = SshDefaults()


class Group(Strict):
    credentials: list[str] = []
    protocols: list[Protocol] | None = None
    site: str | None = None
    tags: list[str] = []
    poll_interval: Seconds | None = None


class TargetSpec(Strict):
    host: str | None = None
    range: str | None = None
    exclude: list[str] = []
    name: str | None = None
    group: str | None = None
    credentials: list[str] = []
    protocols: list[Protocol] | None = None
    site: str | None = None
    tags: list[str] = []
    poll_interval: Seconds | None = None
    snmp_port: int | None = Field(None, ge=1, le=65535)
    ssh_port: int | None = Field(None, ge=1, le=65535)

    @model_validator(mode="after")
    def _host_or_range(self) -> TargetSpec:
        if (self.host is None) == (self.range is None):
            raise ValueError("give exactly one of host (one address or name) or range (a CIDR)")
        if self.range is not None:
            try:
                ipaddress.ip_network(self.range, strict=False)
            except ValueError as exc:
                raise ValueError(f"range {self.range!r} is not a CIDR network: {exc}") from None
        if self.host is not None and not re.fullmatch(r"[A-Za-z0-9_.:\-\[\]]{1,253}", self.host):
            raise ValueError(f"host {self.host!r} is not an address or host name")
        return self


class ApiSettings(Strict):
    """The API and pages. ``token``: needed beyond localhost (Bearer, or sign in at /signin);
    ``viewer_token``: a second token that only reads; ``hosts``: the names people use to reach
    this server (the Host header must be one of them, or a loopback name); ``cookie_secure``:
    the sign-in cookie is only sent over HTTPS (set false only for plain HTTP on a trusted
    network); ``session_hours``: how long a sign-in lasts."""

    listen: str = "127.0.0.1:8470"
    token: SecretRef | None = None
    viewer_token: SecretRef | None = None
    hosts: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,253}$")]] = []
    cookie_secure: bool = True
    session_hours: float = Field(12.0, gt=0, le=24 * 30, allow_inf_nan=False)
    allow_writes: bool = False
    max_request_bytes: int = Field(65536, ge=1024)

    @model_validator(mode="after")
    def _viewer_needs_token(self) -> ApiSettings:
        if self.viewer_token is not None and self.token is None:
            raise ValueError("viewer_token needs token as well (the token that may do anything)")
        return self


class AgentSettings(Strict):
    """This agent among several sharing one PostgreSQL store (``cloudward run --role``).

    ``name`` tells the agents apart in leases and poll runs: give each its own (default: the
    host name). ``sites``: the sites whose targets this agent polls as a collector (empty: every
    configured target; a target without a site is polled only by agents with no ``sites``).
    ``lease_seconds``: how long a claimed target stays held without renewal; a running agent
    renews its leases every third of it, so it only bounds how soon a stopped agent's targets
    are taken over by the others.
    """

    name: str | None = Field(None, max_length=128)
    sites: list[str] = []
    lease_seconds: Seconds = 60.0

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.@:\-]+", v):
            raise ValueError(
                f"{v!r}: use letters, digits and . _ - @ : only (e.g. collector-depot-1)"
            )
        return v


class DiscoverySettings(Strict):
    """Following LLDP/CDP neighbours from the configured targets (``cloudward discover``).

    A neighbour's management address becomes a target only inside one of ``ranges`` (CIDRs),
    polled with ``credentials`` (SNMP credential names, tried in order); ``depth``: how many
    hops from a configured target; ``max_new``: at most this many new targets per run.
    ``endpoint_max_age_days``: an endpoint (a MAC learnt on a switch's edge port) that no poll
    has seen for this many days is marked gone (kept, with an event).
    """

    ranges: list[str] = []
    credentials: list[str] = []
    depth: int = Field(3, ge=1, le=32)
    max_new: int = Field(256, ge=1, le=65536)
    endpoint_max_age_days: int = Field(30, ge=1, le=3650)

    @field_validator("ranges")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for r in v:
            try:
                ipaddress.ip_network(r, strict=False)
            except ValueError as exc:
                raise ValueError(f"{r!r} is not a CIDR network: {exc}") from None
        return v


class SamplingSettings(Strict):
    """Light utilisation samples between full inventories, kept as rollups for right-sizing.

    ``interval``: how often each target whose last inventory succeeded is sampled (0: never).
    Hourly rollups are kept for ``hourly_retention_days``, daily ones for
    ``daily_retention_days`` (the window right-sizing reads its p95 from).
    """

    interval: Annotated[
        float, BeforeValidator(_duration), Field(ge=0, le=YEAR, allow_inf_nan=False)
    ] = 300.0
    hourly_retention_days: int = Field(14, ge=1, le=3650)
    daily_retention_days: int = Field(90, ge=1, le=3650)


class Settings(Strict):
    """The whole configuration file."""

    database: str = "sqlite:///var/cloudward.db"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    defaults: Defaults = Defaults()
    credentials: dict[str, Credential] = {}
    groups: dict[str, Group] = {}
    targets: list[TargetSpec] = []
    api: ApiSettings = ApiSettings()
    state_dir: Path = Path("var")
    planner_settings: Path | None = None
    plans_kept: int = Field(20, ge=1, le=10_000)
    replan_interval: Seconds = 300.0
    lifecycle_overrides: Path | None = None
    history_retention_days: int = Field(730, ge=1)
    poll_run_retention_days: int = Field(90, ge=1)
    agent: AgentSettings = AgentSettings()
    snmp: SnmpSettings = SnmpSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    sampling: SamplingSettings = SamplingSettings()


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("snmp-community", "snmpv3", "ssh") or part.startswith("function-"):
            continue  # discriminator tags say nothing to a user
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _valid_parts(
    data: dict[str, Any],
) -> tuple[set[str], dict[str, Group], list[tuple[int, TargetSpec]], Defaults]:
    """The parts of a document that validate on their own, so that cross-reference checks can
    run (and report) even when other parts have structural errors."""
    raw_creds = data.get("credentials")
    cred_names = set(raw_creds) if isinstance(raw_creds, dict) else set()
    groups: dict[str, Group] = {}
    raw_groups = data.get("groups")
    if isinstance(raw_groups, dict):
        for name, g in raw_groups.items():
            try:
                groups[str(name)] = Group.model_validate(g)
            except ValidationError:
                groups[str(name)] = Group()
    targets: list[tuple[int, TargetSpec]] = []
    raw_targets = data.get("targets")
    if isinstance(raw_targets, list):
        for i, t in enumerate(raw_targets):
            try:
                targets.append((i, TargetSpec.model_validate(t)))
            except ValidationError:
                continue
    try:
        defaults = Defaults.model_validate(data.get("defaults") or {})
    except ValidationError:
        defaults = Defaults()
    return cred_names, groups, targets, defaults


def _semantic_problems(data: dict[str, Any]) -> list[str]:
    cred_names, groups, targets, defaults = _valid_parts(data)
    defined = ", ".join(sorted(cred_names)) or "none"
    problems: list[str] = []
    for gname, group in groups.items():
        for c in group.credentials:
            if c not in cred_names:
                problems.append(
                    f"groups.{gname}.credentials: no credential named {c!r} (defined: {defined})"
                )
    seen: dict[tuple[str, int | None, int | None], str] = {}
    excluded: dict[str, set[str]] = {}  # range key -> addresses excluded from it
    networks: list[
        tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, tuple[int | None, int | None]]
    ] = []
    for i, t in targets:
        key = f"targets[{i}]"
        if t.group is not None and t.group not in groups:
            problems.append(
                f"{key}.group: no group named {t.group!r} "
                f"(defined: {', '.join(sorted(groups)) or 'none'})"
            )
        for c in t.credentials:
            if c not in cred_names:
                problems.append(
                    f"{key}.credentials: no credential named {c!r} (defined: {defined})"
                )
        creds = t.credentials or (groups[t.group].credentials if t.group in groups else [])
        if not creds:
            problems.append(
                f"{key}: no credentials: set credentials: [NAME] on the target or on its group"
            )
        if t.range is not None:
            net = ipaddress.ip_network(t.range, strict=False)
            hosts = net.num_addresses - (2 if net.version == 4 and net.prefixlen < 31 else 0)
            if hosts > defaults.max_range_hosts:
                problems.append(
                    f"{key}.range: {t.range} has {hosts:,} addresses, more than "
                    f"defaults.max_range_hosts ({defaults.max_range_hosts:,}); split it into "
                    "the subnets really in use, or raise defaults.max_range_hosts on purpose"
                )
            ports = (t.snmp_port, t.ssh_port)
            for other, where, other_ports in networks:
                if net.version == other.version and net.overlaps(other) and ports == other_ports:
                    problems.append(
                        f"{key}.range: {t.range} overlaps {where} ({other}); "
                        "each address must be configured once"
                    )
            networks.append((net, key, ports))
            excluded[key] = set()
            for e in t.exclude:
                with contextlib.suppress(ValueError):
                    excluded[key].add(str(ipaddress.ip_address(e.strip("[]"))))
        else:
            # The same address on other ports is another agent (port-forwarded or simulated).
            host = (t.host or "").strip("[]").lower()
            hkey = (host, t.snmp_port, t.ssh_port)
            if hkey in seen:
                problems.append(f"{key}.host: {t.host} is already configured at {seen[hkey]}")
            seen[hkey] = key
    for (host, snmp_port, ssh_port), where in seen.items():
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            continue
        for net, nwhere, ports in networks:
            if (
                addr.version == net.version
                and addr in net
                and ports == (snmp_port, ssh_port)
                and str(addr) not in excluded.get(nwhere, set())
            ):
                problems.append(
                    f"{where}.host: {host} is also inside {nwhere} ({net}); "
                    "list it once, or exclude it from the range"
                )
    return problems


def _target_sites(groups: dict[str, Group], targets: Iterable[TargetSpec]) -> tuple[set[str], str]:
    """The sites the targets carry (their own or their group's), and them listed for a message."""
    known = {t.site or (groups[t.group].site if t.group in groups else None) for t in targets}
    sites = {s for s in known if s}
    return sites, ", ".join(sorted(sites)) or "none"


def _agent_problems(data: dict[str, Any]) -> list[str]:
    """An ``agent.sites`` entry that no target carries is a typo that would leave sites unpolled."""
    raw = data.get("agent")
    sites = raw.get("sites") if isinstance(raw, dict) else None
    _creds, groups, targets, _defaults = _valid_parts(data)
    if not isinstance(sites, list) or not targets:
        return []
    known, listed = _target_sites(groups, (t for _, t in targets))
    return [
        f"agent.sites[{i}]: no target has site {site!r} (sites of the targets: {listed})"
        for i, site in enumerate(sites)
        if isinstance(site, str) and site not in known
    ]


def _discovery_problems(data: dict[str, Any]) -> list[str]:
    """Discovery credentials must name SNMP credentials (neighbours are read over SNMP)."""
    raw = data.get("discovery")
    names = raw.get("credentials") if isinstance(raw, dict) else None
    creds = data.get("credentials")
    creds = creds if isinstance(creds, dict) else {}
    if not isinstance(names, list):
        return []
    snmp = sorted(n for n, c in creds.items() if isinstance(c, dict) and c.get("type") != "ssh")
    listed = ", ".join(snmp) or "none"
    return [
        f"discovery.credentials[{i}]: no SNMP credential named {name!r} (SNMP credentials: "
        f"{listed})"
        for i, name in enumerate(names)
        if name not in snmp
    ]


def parse_settings(data: Any, source: str | None = None) -> Settings:
    """Validate a parsed YAML document; raise ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"(top level): expected a mapping of keys, got {type(data).__name__}"], source
        )
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling and indentation)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(f"{_loc(tuple(err['loc']))}: {msg}")
    problems = list(
        dict.fromkeys(
            problems + _semantic_problems(data) + _agent_problems(data) + _discovery_problems(data)
        )
    )
    if problems or settings is None:
        raise ConfigError(problems, source)
    return settings


MAX_CONFIG_BYTES = 8 * 1024 * 1024


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (the last would win
    silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def with_agent(settings: Settings, name: str | None = None, sites: Sequence[str] = ()) -> Settings:
    """``settings`` with ``agent.name`` and ``agent.sites`` replaced where given (``cloudward
    run --name/--site``), so that several agents can share one configuration file."""
    if name is None and not sites:
        return settings
    values = settings.agent.model_dump()
    if name is not None:
        values["name"] = name
    if sites:
        values["sites"] = list(sites)
    try:
        agent = AgentSettings.model_validate(values)
    except ValidationError as exc:
        flag = {"name": "--name", "sites": "--site"}
        raise ConfigError(
            [f"{flag.get(str(e['loc'][0]), _loc(e['loc']))}: {e['msg']}" for e in exc.errors()]
        ) from None
    if sites and settings.targets:
        known, listed = _target_sites(settings.groups, settings.targets)
        unknown = [s for s in sites if s not in known]
        if unknown:
            raise ConfigError(
                [
                    f"--site {s}: no target has this site (sites of the targets: {listed})"
                    for s in unknown
                ]
            )
    return settings.model_copy(update={"agent": agent})


def load_settings(path: Path | str) -> Settings:
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(["(file): is a folder, not a configuration file"], str(path))
        # Read at most one byte past the limit: a device or a pipe has no size to check first.
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(
                [
                    f"(file): more than {MAX_CONFIG_BYTES:,} bytes, more than a configuration "
                    "should be; is this the right file?"
                ],
                str(path),
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            ["(file): not found; copy config/cloudward.example.yaml to start"], str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"(file): cannot be read: {exc}"], str(path)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:
        raise ConfigError(["(yaml): nested too deeply to be a configuration"], str(path)) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        reason = str(exc).split(";")[0]
        raise ConfigError([f"(yaml): a value cannot be read: {reason}"], str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"(yaml): {where}{problem}"], str(path)) from None
    return parse_settings(data, str(path))
