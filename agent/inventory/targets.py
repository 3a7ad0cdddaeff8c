"""Expand configured targets (hosts, CIDR ranges, groups) into poll jobs, and turn credential
references into the resolved credentials the collectors take."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.configuration.config_file import (
    Settings,
    SnmpCommunityCred,
    SnmpV3Cred,
    SshCred,
    TargetSpec,
)
from agent.configuration.secrets import resolve
from collectors.snmp.client import SnmpAuth, SnmpEndpoint


@dataclass(frozen=True)
class PollJob:
    """One (host, protocol) pair to poll on a schedule."""

    host: str
    protocol: str  # snmp | ssh
    port: int
    credentials: tuple[str, ...]
    site: str | None
    tags: tuple[str, ...]
    interval: float
    name: str | None = None
    from_range: str | None = None

    @property
    def key(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol}://{host}:{self.port}"


def _protocols(settings: Settings, spec: TargetSpec, creds: list[str]) -> list[str]:
    group = settings.groups.get(spec.group) if spec.group else None
    explicit = spec.protocols or (group.protocols if group else None)
    if explicit:
        return list(explicit)
    found: list[str] = []
    for name in creds:
        cred = settings.credentials.get(name)
        proto = "ssh" if isinstance(cred, SshCred) else "snmp"
        if proto not in found:
            found.append(proto)
    return found


def _hosts(spec: TargetSpec) -> Iterator[str]:
    if spec.host is not None:
        yield spec.host.strip("[]")
        return
    assert spec.range is not None
    net = ipaddress.ip_network(spec.range, strict=False)
    excluded = {str(ipaddress.ip_address(e)) for e in spec.exclude if _is_ip(e)}
    hosts = net.hosts() if net.num_addresses > 2 else iter(net)
    for addr in hosts:
        if str(addr) not in excluded:
            yield str(addr)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def expand_targets(settings: Settings) -> list[PollJob]:
    jobs: dict[str, PollJob] = {}
    for spec in settings.targets:
        group = settings.groups.get(spec.group) if spec.group else None
        creds = spec.credentials or (group.credentials if group else [])
        interval = (
            spec.poll_interval
            or (group.poll_interval if group else None)
            or settings.defaults.poll_interval
        )
        site = spec.site or (group.site if group else None)
        tags = tuple(sorted(set(spec.tags) | set(group.tags if group else [])))
        for proto in _protocols(settings, spec, creds):
            wanted = tuple(c for c in creds if _cred_protocol(settings, c) == proto)
            if not wanted:
                continue
            if proto == "snmp":
                port = spec.snmp_port or settings.defaults.snmp.port
            else:
                port = spec.ssh_port or settings.defaults.ssh.port
            for host in _hosts(spec):
                job = PollJob(
                    host=host,
                    protocol=proto,
                    port=port,
                    credentials=wanted,
                    site=site,
                    tags=tags,
                    interval=float(interval),
                    name=spec.name if spec.host else None,
                    from_range=spec.range,
                )
                jobs.setdefault(job.key, job)
    return list(jobs.values())


def _cred_protocol(settings: Settings, name: str) -> str:
    cred = settings.credentials.get(name)
    return "ssh" if isinstance(cred, SshCred) else "snmp"


def snmp_auth(settings: Settings, name: str) -> SnmpAuth:
    """Resolve a named SNMP credential (reads env vars / files now)."""
    cred = settings.credentials[name]
    if isinstance(cred, SnmpCommunityCred):
        return SnmpAuth(version=cred.version, community=resolve(cred.community))
    if isinstance(cred, SnmpV3Cred):
        return SnmpAuth(
            version="3",
            user=cred.user,
            auth_key=resolve(cred.auth_key),
            priv_key=resolve(cred.priv_key),
            auth_proto=cred.auth_protocol,
            priv_proto=cred.priv_protocol,
            context=cred.context,
        )
    raise TypeError(f"credential {name!r} is an ssh credential, not SNMP")


def snmp_endpoint(settings: Settings, host: str, port: int) -> SnmpEndpoint:
    d = settings.defaults.snmp
    return SnmpEndpoint(
        host=host,
        port=port,
        timeout=d.timeout,
        retries=d.retries,
        max_repetitions=d.max_repetitions,
        value_cap=d.value_cap,
    )


@dataclass(frozen=True)
class SshCredRef:
    user: str
    key_file: Path | None
    passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


def ssh_credentials(settings: Settings, name: str) -> SshCredRef:
    cred = settings.credentials[name]
    if not isinstance(cred, SshCred):
        raise TypeError(f"credential {name!r} is not an ssh credential")
    return SshCredRef(
        user=cred.user,
        key_file=cred.key_file,
        passphrase=resolve(cred.passphrase) if cred.passphrase else None,
        password=resolve(cred.password) if cred.password else None,
    )
