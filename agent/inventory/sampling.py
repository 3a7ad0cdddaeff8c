"""The sampling job: a light utilisation poll between full inventories, stored as rollups.

Every ``sampling.interval`` the daemon samples the targets it polls whose newest inventory
succeeded (an SNMP target with :func:`collectors.snmp.fetch.collect_snmp_sample`, an SSH one
with :func:`collectors.ssh.sampler.collect_ssh_sample`), one target per asset (SNMP first: it is
the lighter), and folds each sample into the asset's hourly and daily rollups
(:mod:`agent.store.usage_history`). A target that fails is left for the next round; a
failure is logged, never recorded as a poll run: the full inventory says whether a box answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import col, func, select

from agent.configuration.config_file import Settings
from agent.errors import SecretError, StoreError
from agent.inventory.targets import PollJob, snmp_auth, snmp_endpoint, ssh_credentials
from agent.store import Store, utcnow
from agent.store import tables as m
from agent.store.usage_history import Retention, prune_usage, record_sample
from collectors.errors import CollectorError
from collectors.sample import Sample
from collectors.snmp.client import SnmpClient
from collectors.snmp.fetch import SnmpTarget, collect_snmp_sample
from collectors.ssh import SshCredentials, SshTarget
from collectors.ssh.sampler import collect_ssh_sample

log = logging.getLogger(__name__)


@dataclass
class SampleRound:
    """What one round did: assets sampled, targets that failed, targets skipped."""

    stored: list[int] = field(default_factory=list)  # asset ids
    failed: list[str] = field(default_factory=list)  # target keys
    skipped: int = 0  # no good newest inventory, a second protocol, or a network OS over SSH


def inventoried(store: Store, jobs: Sequence[PollJob]) -> list[tuple[PollJob, int]]:
    """The jobs whose newest poll run succeeded, with the asset it saved to; one job per asset
    (SNMP before SSH)."""
    keys = {j.key: j for j in jobs}
    if not keys:
        return []
    with store.session() as s:
        newest = (
            select(func.max(m.PollRun.id))
            .where(col(m.PollRun.target).in_(list(keys)))
            .group_by(col(m.PollRun.target))
        )
        runs = s.exec(select(m.PollRun).where(col(m.PollRun.id).in_(newest))).all()
    by_asset: dict[int, PollJob] = {}
    for run in sorted(runs, key=lambda r: (r.protocol != "snmp", r.target)):
        if run.status == "ok" and run.asset_id is not None and run.asset_id not in by_asset:
            by_asset[run.asset_id] = keys[run.target]
    return sorted(((j, a) for a, j in by_asset.items()), key=lambda x: x[0].key)


# OS names the SSH collector gives network devices (collectors/ssh/cisco.py): no sample command.
_NETWORK_OS = re.compile(r"(?i)^(?:ios|nx-os|asa|junos|eos)\b")


def ssh_sample_platform(os_name: str | None) -> str | None:
    """The allow-list platform whose ``sample`` command suits a box with this stored OS name:
    ``windows``, ``linux`` (any other server OS) or None (a network OS: not sampled over SSH)."""
    if os_name and os_name.strip().lower().startswith("windows"):
        return "windows"
    if os_name and _NETWORK_OS.match(os_name.strip()):
        return None
    return "linux"


def os_names(store: Store, asset_ids: Sequence[int]) -> dict[int, str | None]:
    """The stored OS name of each asset."""
    if not asset_ids:
        return {}
    with store.session() as s:
        rows = s.exec(
            select(m.Asset.id, m.Asset.os_name).where(col(m.Asset.id).in_(list(asset_ids)))
        ).all()
    return {int(i): name for i, name in rows if i is not None}


class Sampler:
    """Samples targets; remembers which credential worked for each."""

    def __init__(self, settings: Settings, store: Store, client: SnmpClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self._working: dict[str, str] = {}

    @property
    def retention(self) -> Retention:
        s = self.settings.sampling
        return Retention(s.hourly_retention_days, s.daily_retention_days)

    def _ordered(self, job: PollJob) -> list[str]:
        order = list(job.credentials)
        known = self._working.get(job.key)
        if known in order:
            order.remove(known)
            order.insert(0, known)
        return order

    async def sample(self, job: PollJob, platform: str = "linux") -> Sample:
        """One sample of ``job``'s target (``platform``: the SSH allow-list platform); raises
        the last CollectorError or SecretError."""
        last: Exception | None = None
        for name in self._ordered(job):
            try:
                if job.protocol == "snmp":
                    endpoint = snmp_endpoint(self.settings, job.host, job.port)
                    target = SnmpTarget(endpoint, snmp_auth(self.settings, name), name=job.key)
                    found = await collect_snmp_sample(self.client, target)
                else:
                    found = await asyncio.to_thread(self._ssh, job, name, platform)
            except (CollectorError, SecretError) as exc:
                last = exc
                continue
            self._working[job.key] = name
            return found
        raise last or CollectorError(f"{job.key}: no credential to sample with")

    def _ssh(self, job: PollJob, name: str, platform: str) -> Sample:
        d = self.settings.defaults.ssh
        ref = ssh_credentials(self.settings, name)
        target = SshTarget(
            job.host,
            port=job.port,
            username=ref.user,
            platform=platform,
            known_hosts=d.known_hosts,
            tofu=False,  # a sample never trusts a new host key: the inventory does that
            connect_timeout=d.connect_timeout,
            command_timeout=d.command_timeout,
        )
        creds = SshCredentials(
            key_file=ref.key_file, key_passphrase=ref.passphrase, password=ref.password
        )
        return collect_ssh_sample(target, creds)

    async def run_once(self, jobs: Sequence[PollJob]) -> SampleRound:
        """Sample every inventoried job once (bounded per protocol) and store the samples."""
        out = SampleRound()
        chosen = await asyncio.to_thread(inventoried, self.store, jobs)
        ssh_ids = [a for j, a in chosen if j.protocol == "ssh"]
        names = await asyncio.to_thread(os_names, self.store, ssh_ids) if ssh_ids else {}
        platforms = {a: ssh_sample_platform(names.get(a)) for a in ssh_ids}
        chosen = [(j, a) for j, a in chosen if j.protocol != "ssh" or platforms[a] is not None]
        out.skipped = len(jobs) - len(chosen)
        d = self.settings.defaults
        limits = {
            "snmp": asyncio.Semaphore(d.snmp.concurrency),
            "ssh": asyncio.Semaphore(max(1, d.ssh.concurrency)),
        }
        retention = self.retention

        async def one(job: PollJob, asset_id: int) -> None:
            async with limits[job.protocol]:
                try:
                    sample = await self.sample(job, platforms.get(asset_id) or "linux")
                except (CollectorError, SecretError) as exc:
                    log.debug("sample of %s failed: %s", job.key, exc)
                    out.failed.append(job.key)
                    return
            try:
                stored = await asyncio.to_thread(
                    record_sample, self.store, asset_id, sample, utcnow(), job.protocol, retention
                )
            except StoreError as exc:
                log.warning("sample of %s not stored: %s", job.key, exc)
                out.failed.append(job.key)
                return
            if stored:
                out.stored.append(asset_id)

        await asyncio.gather(*(one(j, a) for j, a in chosen if j.protocol in limits))
        await asyncio.to_thread(prune_usage, self.store, utcnow(), retention)
        if out.failed:
            log.info(
                "sampled %d assets; %d targets did not answer", len(out.stored), len(out.failed)
            )
        return out
