"""Poll jobs once (a sweep) and store what they return.

A failed target is a result (a poll run with its error), never a crash of the sweep. Addresses
of a range that stay silent are counted but not recorded, unless they were known assets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from agent.configuration.config_file import Settings
from agent.errors import SecretError, StoreError
from agent.inventory.pending_writes import PendingQueue, PendingWrite
from agent.inventory.targets import PollJob, snmp_auth, snmp_endpoint, ssh_credentials
from agent.store import Store, utcnow
from agent.telemetry.metrics import CollectorMetrics
from collectors.errors import AuthError, CollectorError, CollectTimeout, HostKeyError
from collectors.facts import Facts
from collectors.snmp.client import SnmpClient
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import IdentifyRules
from collectors.ssh import SshCredentials, SshTarget, collect_ssh

log = logging.getLogger(__name__)

WAITING = 0  # poll-run id of a poll whose start could not be recorded (database away)

# Communities that ship as defaults on most agents; answering to one is an exposure.
DEFAULT_COMMUNITIES = frozenset({"public", "private", "community", "snmp", "admin", "cisco"})


@dataclass
class JobResult:
    job: PollJob
    ok: bool
    asset_id: int | None = None
    error_kind: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    values_read: int = 0
    recorded: bool = True


@dataclass
class SweepSummary:
    results: list[JobResult] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.ok and r.recorded)

    @property
    def silent(self) -> int:
        return sum(1 for r in self.results if not r.recorded)

    def errors_by_kind(self) -> Counter[str]:
        return Counter(r.error_kind or "error" for r in self.results if not r.ok and r.recorded)


Progress = Callable[[JobResult], None]


class Poller:
    """Polls jobs with bounded concurrency per protocol and writes results to the store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        rules: IdentifyRules,
        *,
        agent_name: str | None = None,
        metrics: CollectorMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.rules = rules
        self.agent_name = agent_name
        self.metrics = metrics
        self.client = SnmpClient(settings.snmp.engine)
        self._snmp_sem = asyncio.Semaphore(settings.defaults.snmp.concurrency)
        self._ssh_sem = asyncio.Semaphore(settings.defaults.ssh.concurrency)
        self._ssh_pool = ThreadPoolExecutor(
            max_workers=settings.defaults.ssh.concurrency, thread_name_prefix="ssh"
        )
        self._working_cred: dict[str, str] = {}
        self.pending = PendingQueue()
        self.on_facts: list[Callable[[PollJob, Facts], None]] = []

    def close(self) -> None:
        self.client.close()
        self._ssh_pool.shutdown(wait=False, cancel_futures=True)

    async def _record_start(self, job: PollJob, protocol: str) -> int:
        """Open a poll run; ``WAITING`` when the database is away (the result will wait)."""
        try:
            return await asyncio.to_thread(
                self.store.start_poll, job.key, protocol, site=job.site, agent=self.agent_name
            )
        except StoreError as exc:
            if not exc.transient:
                raise
            log.warning("%s; %s will be recorded when it is back", exc, job.key)
            return WAITING

    def _queue(
        self,
        job: PollJob,
        run_id: int | None,
        started: datetime,
        facts: Facts | None,
        kind: str | None,
        error: str | None,
        exposures: list[dict[str, str]] | None,
    ) -> None:
        self.pending.add(
            PendingWrite(
                target=job.key,
                protocol=job.protocol,
                site=job.site,
                tags=job.tags,
                started_at=started,
                agent=self.agent_name,
                facts=facts,
                error_kind=kind,
                error=error,
                exposures=exposures,
                run_id=None if run_id in (None, WAITING) else run_id,
                name=job.name,
            )
        )

    async def _record_cancel(self, job: PollJob, run_id: int | None, started: float) -> None:
        """A poll cut off by shutdown is recorded as cancelled (or waits, if the database is
        away), never left 'running'."""
        if run_id is None:
            return
        message = f"{job.key}: cancelled because the agent is shutting down"
        try:
            if run_id == WAITING:
                raise StoreError("database unavailable", transient=True)
            await asyncio.to_thread(
                self.store.fail_poll, run_id, kind="cancelled", status="cancelled", error=message
            )
        except StoreError as exc:
            if not exc.transient:
                log.error("%s", exc)
                return
            at = utcnow() - timedelta(seconds=time.monotonic() - started)
            self._queue(job, run_id, at, None, "cancelled", message, None)

    async def flush_pending(self) -> int:
        if not self.pending:
            return 0
        return await asyncio.to_thread(self.pending.flush, self.store)

    async def _finish(
        self,
        job: PollJob,
        run_id: int | None,
        facts: Facts | None,
        last: BaseException | None,
        started: float,
        exposures: list[dict[str, str]] | None = None,
    ) -> JobResult:
        """Store the facts (closing the poll run as ok) or the error; return the result.

        When the database is away the result waits in :attr:`pending` and is written later.
        """
        duration = time.monotonic() - started
        started_at = utcnow() - timedelta(seconds=duration)
        if facts is None:
            kind = getattr(last, "kind", "credential") if last else "error"
            message = str(last) if last else f"{job.key}: no credential to try"
            if isinstance(last, SecretError):
                message = f"{job.key}: {last}"
            if run_id is None:  # a silent range address: counted, not recorded
                return JobResult(
                    job,
                    ok=False,
                    error_kind=kind,
                    error=message,
                    duration_s=duration,
                    recorded=False,
                )
            try:
                if run_id == WAITING:
                    raise StoreError("database unavailable", transient=True)
                await asyncio.to_thread(self.store.fail_poll, run_id, kind=kind, error=message)
            except StoreError as exc:
                if not exc.transient:
                    raise
                self._queue(job, run_id, started_at, None, kind, message, None)
            return JobResult(job, ok=False, error_kind=kind, error=message, duration_s=duration)
        if facts.address is None:
            facts = replace(facts, address=job.host)
        asset_id: int | None = None
        try:
            if run_id is None:  # a silent-until-now range address answered: record it now
                run_id = await self._record_start(job, job.protocol)
            if run_id == WAITING:
                raise StoreError("database unavailable", transient=True)
            asset_id = await asyncio.to_thread(
                self.store.save_facts,
                facts,
                run_id=run_id,
                site=job.site,
                tags=job.tags,
                exposures=exposures,
                name=job.name,
                endpoint_max_age_days=self.settings.discovery.endpoint_max_age_days,
            )
        except StoreError as exc:
            if not exc.transient:
                log.error("%s", exc)
                return JobResult(
                    job,
                    ok=False,
                    error_kind="store",
                    error=str(exc),
                    duration_s=duration,
                    values_read=facts.values_read,
                )
            self._queue(job, run_id, started_at, facts, None, None, exposures)
        for hook in self.on_facts:
            hook(job, facts)
        return JobResult(
            job, ok=True, asset_id=asset_id, duration_s=duration, values_read=facts.values_read
        )

    async def _poll_ssh(self, job: PollJob, *, known: bool) -> JobResult:
        started = time.monotonic()
        run_id = await self._record_start(job, "ssh") if known else None
        d = self.settings.defaults.ssh
        last: BaseException | None = None
        facts: Facts | None = None
        loop = asyncio.get_running_loop()
        for cred_name in self._ordered(job):
            try:
                ref = ssh_credentials(self.settings, cred_name)
                target = SshTarget(
                    job.host,
                    port=job.port,
                    username=ref.user,
                    known_hosts=d.known_hosts,
                    tofu=d.trust_on_first_use,
                    connect_timeout=d.connect_timeout,
                    command_timeout=d.command_timeout,
                )
            except (SecretError, ValueError) as exc:
                last = exc
                continue
            creds = SshCredentials(
                key_file=ref.key_file, key_passphrase=ref.passphrase, password=ref.password
            )
            try:
                facts = await loop.run_in_executor(self._ssh_pool, collect_ssh, target, creds)
            except asyncio.CancelledError:
                await asyncio.shield(self._record_cancel(job, run_id, started))
                raise
            except HostKeyError as exc:
                last = exc
                await asyncio.to_thread(self.store.add_event, "host_key", job.key, str(exc))
                break
            except AuthError as exc:
                last = exc
                continue
            except CollectorError as exc:
                last = exc
                break
            self._working_cred[job.key] = cred_name
            break
        return await self._finish(job, run_id, facts, last, started)

    def _ordered(self, job: PollJob) -> list[str]:
        order = list(job.credentials)
        remembered = self._working_cred.get(job.key)
        if remembered in order:
            order.remove(remembered)
            order.insert(0, remembered)
        return order

    async def poll(self, job: PollJob, *, known: bool = True) -> JobResult:
        if self.metrics is not None:
            self.metrics.in_flight.inc()
        try:
            result = await self._dispatch(job, known)
        except StoreError as exc:  # the store refused (disk full, read-only...): a result
            log.error("%s", exc)
            result = JobResult(job, ok=False, error_kind="store", error=str(exc))
        except asyncio.CancelledError:
            if self.metrics is not None:
                self.metrics.observe(job.protocol, job.key, False, 0.0, 0, "cancelled", time.time())
            raise
        finally:
            if self.metrics is not None:
                self.metrics.in_flight.dec()
        if self.metrics is not None and result.recorded:
            self.metrics.observe(
                job.protocol,
                job.key,
                result.ok,
                result.duration_s,
                result.values_read,
                result.error_kind,
                time.time(),
            )
        return result

    async def _dispatch(self, job: PollJob, known: bool) -> JobResult:
        if job.protocol == "snmp":
            async with self._snmp_sem:
                return await self._poll_snmp(job, known=known)
        if job.protocol == "ssh":
            async with self._ssh_sem:
                return await self._poll_ssh(job, known=known)
        return JobResult(
            job,
            ok=False,
            error_kind="unsupported",
            recorded=False,
            error=f"{job.key}: protocol {job.protocol} is not enabled in this build",
        )

    async def _poll_snmp(self, job: PollJob, *, known: bool) -> JobResult:
        started = time.monotonic()
        run_id = await self._record_start(job, "snmp") if known else None
        last: BaseException | None = None
        facts: Facts | None = None
        exposures: list[dict[str, str]] = []
        for cred_name in self._ordered(job):
            try:
                auth = snmp_auth(self.settings, cred_name)
            except SecretError as exc:
                last = exc
                continue
            target = SnmpTarget(
                snmp_endpoint(self.settings, job.host, job.port), auth, name=job.key
            )
            try:
                facts = await collect_snmp(self.client, target, self.rules)
            except asyncio.CancelledError:
                await asyncio.shield(self._record_cancel(job, run_id, started))
                raise
            except (CollectTimeout, AuthError) as exc:
                last = exc  # try the next credential: wrong v2c communities look like timeouts
                continue
            except CollectorError as exc:
                last = exc
                break
            self._working_cred[job.key] = cred_name
            if auth.version in ("1", "2c"):
                default = (auth.community or "").lower() in DEFAULT_COMMUNITIES
                exposures.append(
                    {
                        "kind": "snmp-default-community" if default else "snmp-cleartext",
                        "detail": f"SNMPv{auth.version} answers with "
                        f"{'a default' if default else 'a'} community (clear text)",
                    }
                )
            break
        return await self._finish(job, run_id, facts, last, started, exposures)


async def sweep(
    poller: Poller,
    jobs: Sequence[PollJob],
    progress: Progress | None = None,
    known_targets: set[str] | None = None,
) -> SweepSummary:
    """Poll every job once, concurrently; return a summary."""
    summary = SweepSummary()

    async def one(job: PollJob) -> None:
        known = job.from_range is None or (known_targets is not None and job.key in known_targets)
        try:
            result = await poller.poll(job, known=known)
        except Exception as exc:
            log.exception("poll of %s failed unexpectedly", job.key)
            result = JobResult(job, ok=False, error_kind="internal", error=f"{job.key}: {exc}")
        summary.results.append(result)
        if progress is not None:
            progress(result)

    await asyncio.gather(*(one(j) for j in jobs))
    return summary
