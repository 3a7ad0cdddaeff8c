"""``cloudward discover --dry-run``: follow LLDP/CDP neighbours from the configured targets and
list the targets that discovery would add (inside ``discovery.ranges`` only), and the
neighbours it would not add, with the reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agent.cli.base import DEFAULT_CONFIG, cli, fail, load_config_or_exit
from agent.errors import SecretError

if TYPE_CHECKING:  # imported when a command runs, so that ``--help`` stays quick
    from agent.configuration.config_file import Settings
    from agent.inventory.discovery import Discovery, PollResult


def run_discovery(settings: Settings) -> Discovery:
    """Crawl from the configured SNMP targets; reads the network, writes nothing."""
    import asyncio

    from agent.inventory.discovery import crawl, ranges_from, seed_credentials
    from agent.inventory.targets import expand_targets, snmp_auth, snmp_endpoint
    from collectors.errors import CollectorError
    from collectors.snmp.client import SnmpClient
    from collectors.snmp.fetch import SnmpTarget, collect_neighbours

    seeds = seed_credentials(settings)
    ports = {j.host: j.port for j in expand_targets(settings) if j.protocol == "snmp"}
    default_port = settings.defaults.snmp.port
    d = settings.discovery

    async def go() -> Discovery:
        client = SnmpClient(settings.snmp.engine)

        async def poll(address: str, credentials: Sequence[str]) -> PollResult:
            errors = []
            ep = snmp_endpoint(settings, address, ports.get(address, default_port))
            for name in credentials:
                try:
                    auth = snmp_auth(settings, name)
                    facts = await collect_neighbours(client, SnmpTarget(ep, auth))
                except (CollectorError, SecretError) as exc:
                    errors.append(f"{name}: {exc}")
                    continue
                return name, facts.neighbors
            return "; ".join(errors) or "no SNMP credential to poll it with"

        try:
            return await crawl(
                sorted(seeds),
                seeds,
                ranges_from(settings),
                poll,
                max_depth=d.depth,
                max_new=d.max_new,
            )
        finally:
            client.close()

    return asyncio.run(go())


def as_dict(result: Discovery) -> dict[str, Any]:
    return {
        "would_add": [
            {
                "address": f.address,
                "name": f.name,
                "via": f.via,
                "via_port": f.via_port,
                "protocol": f.protocol,
                "depth": f.depth,
                "range": f.range,
                "credentials": list(f.credentials),
            }
            for f in result.found
        ],
        "not_added": [
            {"address": s.address, "name": s.name, "via": s.via, "reason": s.reason}
            for s in result.skipped
        ],
        "polled": list(result.polled),
        "failed": dict(result.failed or {}),
    }


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Configuration file (default: ./{DEFAULT_CONFIG}).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would be added (and what would not, and why); change nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def discover(config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Follow LLDP/CDP neighbours from the configured targets, inside discovery.ranges."""
    from agent.inventory.targets import expand_targets

    if not dry_run:
        fail(
            "discover only lists for now: run it with --dry-run, and add the targets it lists "
            "to the configuration (targets: - host: ADDRESS)",
            2,
        )
    settings = load_config_or_exit(
        config_path or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    )
    if not settings.discovery.ranges or not settings.discovery.credentials:
        fail(
            "discovery needs discovery.ranges (CIDRs that new targets must lie in) and "
            "discovery.credentials (SNMP credential names) in the configuration",
            2,
        )
    if not any(j.protocol == "snmp" for j in expand_targets(settings)):
        fail("no SNMP targets configured to start from: add a seed switch under targets", 2)
    result = run_discovery(settings)
    if as_json:
        click.echo(json.dumps(as_dict(result), indent=2))
        return
    click.echo(
        f"discovery (dry run): {len(result.found)} targets would be added, "
        f"{len(result.polled)} devices read, {len(result.skipped)} neighbours not added"
    )
    for f in result.found:
        click.echo(
            f"  + {f.address:<15} {f.name or '?':<20} depth {f.depth}, {f.protocol} via "
            f"{f.via} {f.via_port or ''} (range {f.range})"
        )
    for s in result.skipped:
        click.echo(f"  - {s.address or '?':<15} {s.name or '?':<20} via {s.via}: {s.reason}")
    for address, why in sorted((result.failed or {}).items()):
        click.echo(f"  ! {address}: {why}")
