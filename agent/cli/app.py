"""Inventory and daemon commands: probe, config check, scan, assets, run, graph export, demo."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from agent.cli.base import _URL, DEFAULT_CONFIG, cli, fail, load_config_or_exit, open_store
from agent.errors import AgentError, ConfigError, SecretError, StoreError
from collectors.errors import CollectorError

log = logging.getLogger("cloudward")


def parse_target_url(url: str) -> tuple[str, str | None, str, int | None]:
    m = _URL.match(url)
    if not m:
        raise click.BadParameter(
            f"{url!r} is not a target URL; use snmp://HOST[:PORT] or ssh://USER@HOST[:PORT]",
            param_hint="TARGET",
        )
    port = int(m.group("port")) if m.group("port") else None
    if port is not None and not 1 <= port <= 65535:
        raise click.BadParameter(f"port {port} is out of range 1-65535", param_hint="TARGET")
    return m.group("scheme"), m.group("user"), m.group("host").strip("[]"), port


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as one JSON object.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (for --credential and defaults).",
)
@click.option("--credential", help="Use this named credential from the configuration.")
@click.option(
    "--snmp-version",
    type=click.Choice(["1", "2c"]),
    default="2c",
    show_default=True,
    help="SNMP version for --community-env.",
)
@click.option("--community-env", metavar="VAR", help="Read the v1/v2c community from env VAR.")
@click.option("--v3-user", metavar="NAME", help="SNMPv3 user (authPriv).")
@click.option("--v3-auth-env", metavar="VAR", help="Read the SNMPv3 auth pass phrase from env VAR.")
@click.option("--v3-priv-env", metavar="VAR", help="Read the SNMPv3 priv pass phrase from env VAR.")
@click.option(
    "--v3-auth-proto", type=click.Choice(["SHA", "SHA256"]), default="SHA", show_default=True
)
@click.option("--v3-priv-proto", type=click.Choice(["AES"]), default="AES", show_default=True)
@click.option("--timeout", type=float, default=None, help="Seconds per request (SNMP) or connect.")
@click.option("--retries", type=int, default=None, help="SNMP retries per request.")
@click.option(
    "--snmp-engine",
    type=click.Choice(["fast", "pysnmp"]),
    default=None,
    help="SNMP engine: fast, or pysnmp (the slower reference implementation); "
    "default: snmp.engine of --config, else fast.",
)
@click.option("--ssh-key", type=click.Path(dir_okay=False), help="SSH private key file.")
@click.option(
    "--ssh-key-passphrase-env", metavar="VAR", help="Env VAR holding the key's passphrase."
)
@click.option("--ssh-password-env", metavar="VAR", help="Env VAR holding an SSH password.")
@click.option("--known-hosts", type=click.Path(dir_okay=False), help="known_hosts file to verify.")
@click.option(
    "--tofu",
    is_flag=True,
    help="Trust an unknown SSH host key on first use and record it in --known-hosts.",
)
@click.option(
    "--platform", help="SSH platform (linux, cisco_ios, cisco_nxos, ...); default: detect."
)
def probe(
    target: str, as_json: bool, config_path: str | None, credential: str | None, **opts: Any
) -> None:
    """Poll one TARGET now and print its facts (nothing is stored).

    TARGET is snmp://HOST[:PORT] or ssh://USER@HOST[:PORT]. Credentials are given by
    reference, never as values: an environment variable name, a key file, or --credential.
    """
    from agent.cli.probe_command import probe_snmp, probe_ssh

    scheme, user, host, port = parse_target_url(target)
    settings = load_config_or_exit(config_path)
    try:
        if scheme == "snmp":
            import asyncio

            facts = asyncio.run(probe_snmp(settings, host, port, credential, opts))
        else:
            facts = probe_ssh(settings, user, host, port, credential, opts)
    except click.UsageError:
        raise
    except (SecretError, ValueError) as exc:
        fail(str(exc), 2)
    except CollectorError as exc:
        fail(str(exc), 1)
    except AgentError as exc:
        fail(str(exc), 1)
    if as_json:
        click.echo(json.dumps(facts.to_dict(), indent=2, sort_keys=False, default=str))
    else:
        from agent.cli.text import facts_text
        from agent.store.inert import inert_facts

        click.echo(facts_text(inert_facts(facts)))  # no device control codes on the terminal


# --- config ------------------------------------------------------------------------------


@cli.group()
def config() -> None:
    """Configuration commands."""


@config.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--file-only",
    is_flag=True,
    help="Check the file alone, not this machine (secrets, key files): for checking a "
    "configuration where its secrets do not live, such as in CI.",
)
def config_check(file: str, file_only: bool) -> None:
    """Validate FILE: every problem is listed, each naming its key; exit 2 if any.

    Beyond the file itself, what `run` and `scan` would refuse on this machine is checked too:
    every secret reference resolves (variables set, files present and private), SSH key files
    exist and are private (unless --file-only), and an API listening beyond localhost has a
    token."""
    from agent.configuration.checks import listen_problems, reference_problems
    from agent.inventory.targets import expand_targets

    settings = load_config_or_exit(file)
    problems = listen_problems(settings) + ([] if file_only else reference_problems(settings))
    if problems:
        click.echo(str(ConfigError(problems, file)), err=True)
        sys.exit(2)
    jobs = expand_targets(settings)
    by_proto: dict[str, int] = {}
    for j in jobs:
        by_proto[j.protocol] = by_proto.get(j.protocol, 0) + 1
    parts = ", ".join(f"{n} {p}" for p, n in sorted(by_proto.items())) or "no"
    click.echo(
        f"{file}: ok ({len(settings.targets)} target entries -> {parts} poll jobs; "
        f"{len(settings.credentials)} credentials; database {settings.database})"
    )


# --- scan / assets -----------------------------------------------------------------------


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Configuration file (default: ./{DEFAULT_CONFIG}).",
)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of text.")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def scan(config_path: str | None, database: str | None, as_json: bool, no_progress: bool) -> None:
    """Poll every configured target once and store what is found."""
    from agent.cli.scan_command import run_scan

    settings = load_config_or_exit(
        config_path or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    )
    if not settings.targets:
        fail(
            "no targets configured: add targets to the configuration "
            "(see config/cloudward.example.yaml)",
            2,
        )
    store = open_store(settings, database)
    try:
        summary = run_scan(settings, store, progress=not (no_progress or as_json))
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": summary.ok,
                    "failed": summary.failed,
                    "silent": summary.silent,
                    "errors": dict(summary.errors_by_kind()),
                    "results": [
                        {
                            "target": r.job.key,
                            "ok": r.ok,
                            "asset_id": r.asset_id,
                            "error_kind": r.error_kind,
                            "error": r.error,
                            "values_read": r.values_read,
                        }
                        for r in summary.results
                        if r.recorded
                    ],
                },
                indent=2,
            )
        )
    else:
        click.echo(
            f"scan finished: {summary.ok} ok, {summary.failed} failed, "
            f"{summary.silent} silent range addresses"
        )
        for r in sorted(summary.results, key=lambda r: r.job.key):
            if not r.ok and r.recorded:
                click.echo(f"  {r.error_kind}: {r.error}")
    if summary.ok == 0 and summary.failed:
        sys.exit(1)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--json", "as_json", is_flag=True, help="Print the assets as a JSON array.")
@click.option(
    "--status",
    type=click.Choice(["active", "replaced", "gone", "all"]),
    default="active",
    show_default=True,
    help="Which assets: active ones, those replaced by another box, endpoints no longer seen "
    "on any switch (gone), or all.",
)
def assets(config_path: str | None, database: str | None, as_json: bool, status: str) -> None:
    """List the stored assets."""
    from agent.cli.text import ASSET_FIELDS, asset_dict, assets_table

    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        rows = store.read_assets(ASSET_FIELDS, status=None if status == "all" else status)
    except StoreError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([asset_dict(a) for a in rows], indent=2, default=str))
    else:
        click.echo(assets_table(rows))


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Configuration file (default: ./{DEFAULT_CONFIG}).",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default=None,
    help="Serve the API, pages and /metrics here (default: api.listen).",
)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log line format (json: one object per line).",
)
@click.option(
    "--role",
    type=click.Choice(["all", "collector", "planner"]),
    default="all",
    show_default=True,
    help="all: poll and plan alone. With several agents on one PostgreSQL store: collector "
    "(claim and poll the targets of agent.sites) or planner (plan, serve; no polling).",
)
@click.option(
    "--name",
    "agent_name",
    default=None,
    help="This agent's name among several (overrides agent.name; default: the host name).",
)
@click.option(
    "--site",
    "sites",
    multiple=True,
    metavar="SITE",
    help="Poll only this site's targets (repeatable; overrides agent.sites).",
)
@click.pass_context
def run(
    ctx: click.Context,
    config_path: str | None,
    listen: str | None,
    database: str | None,
    log_format: str,
    role: str,
    agent_name: str | None,
    sites: tuple[str, ...],
) -> None:
    """Run the daemon: poll on schedule, re-plan, serve the API and /metrics.

    Several agents can share one configuration file: `--role collector --name depot-1
    --site depot` on one host, `--role planner` on another."""
    from agent.runtime.daemon import run_daemon
    from agent.telemetry.logs import configure_logging

    path = config_path or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    if path is None:
        fail(
            f"no configuration: pass --config FILE or create ./{DEFAULT_CONFIG} "
            "(start from config/cloudward.example.yaml), or try `cloudward demo`",
            2,
        )
    settings = load_config_or_exit(path)
    from agent.configuration.config_file import with_agent

    try:
        settings = with_agent(settings, agent_name, sites)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if role != "all":
        from agent.runtime.leases import require_postgresql

        try:
            require_postgresql(database or settings.database, role, path)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    open_store(settings, database).close()  # a clear error now for a file that is no database
    configure_logging(ctx.obj.get("log_level") or settings.log_level, log_format)
    sys.exit(run_daemon(path, settings, listen, database, role, (agent_name, sites)))


@cli.group()
def graph() -> None:
    """The asset graph (assets, services, external peers; depends-on/runs-on/linked-to)."""


@graph.command("export")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "graphml"]),
    default="json",
    show_default=True,
    help="node-link JSON or GraphML.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to FILE (default: standard output).",
)
def graph_export(config_path: str | None, database: str | None, fmt: str, out: str | None) -> None:
    """Export the asset graph built from the store."""
    from agent.inventory.asset_graph import build_graph, export_graph
    from agent.inventory.dependencies import rebuild_dependencies

    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        rebuild_dependencies(store)
        g = build_graph(store)
    finally:
        store.close()
    text = export_graph(g, Path(out) if out else None, fmt)
    if text is not None:
        click.echo(text)
    else:
        click.echo(
            f"wrote {g.number_of_nodes()} nodes and {g.number_of_edges()} edges to {out}", err=True
        )


@cli.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default="127.0.0.1:8470",
    show_default=True,
    help="Serve the pages, API and /metrics here.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep the demo database and logs here (default: a temporary folder).",
)
@click.option(
    "--poll-interval",
    type=int,
    default=120,
    show_default=True,
    help="Seconds between polls of each simulated device.",
)
@click.option("--keep", is_flag=True, help="Keep the database from an earlier demo run.")
@click.pass_context
def demo(
    ctx: click.Context, listen: str, workdir: str | None, poll_interval: int, keep: bool
) -> None:
    """Run the demo: a simulated council estate and the daemon against it (Ctrl-C stops)."""
    from agent.runtime.demo_run import run_demo
    from agent.telemetry.logs import configure_logging

    configure_logging(ctx.obj.get("log_level") or "info")
    try:
        code = run_demo(listen, Path(workdir) if workdir else None, poll_interval, keep)
    except AgentError as exc:
        fail(str(exc), 2)
    sys.exit(code)
