"""Planning commands: plan, plan list, plan diff, waves, debt, lifecycle sync and gaps, import."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import click

from agent.cli.base import cli, fail, load_config_or_exit, open_store


def _today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--today"
        ) from None


def _require_plan(store: Any, plan_id: int | None = None) -> dict[str, Any]:
    body = store.plan_body(plan_id)  # plain SQL: printing a stored plan needs no ORM
    if body is None:
        if plan_id is not None:
            fail(f"no plan {plan_id} in the store (see `cloudward plan list`)", 1)
        fail("no plan in the store yet: run `cloudward plan` first", 1)
    return dict(body)


EMPTY_PLAN = (
    "plan {plan_id} holds no assets: store some first with `cloudward scan` (or "
    "`cloudward import FILE`), then run `cloudward plan` again"
)


@cli.group(invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--today", help="Plan as of this date (YYYY-MM-DD; default: today).")
@click.option(
    "--settings",
    "overrides",
    type=click.Path(dir_okay=False, exists=True),
    help="YAML with planner settings to merge over the shipped defaults.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as JSON.")
@click.option(
    "--fresh",
    is_flag=True,
    help="Plan from scratch instead of keeping the groups and waves of the newest stored plan.",
)
@click.pass_context
def plan(
    ctx: click.Context,
    config_path: str | None,
    database: str | None,
    today: str | None,
    overrides: str | None,
    as_json: bool,
    fresh: bool,
) -> None:
    """Compute a migration plan from the store and keep it (see also: plan diff, plan list).

    A plan starts from the newest stored one: groups and waves stay where they were unless the
    estate or a rule forces a change, and waves already under way are kept as they were;
    `cloudward plan diff` says why each asset moved."""
    ctx.ensure_object(dict)
    ctx.obj.update(config_path=config_path, database=database)
    if ctx.invoked_subcommand is not None:
        return
    from agent.bridge.plan_runs import compute_plan, save_plan
    from agent.errors import ConfigError
    from agent.store.bulk import paused_collector

    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    told: list[str] = []  # the steps of a large estate's planning, as they are told

    def progress(step: str) -> None:
        told.append(step)
        click.echo(f"cloudward plan: {step}", err=True)

    # Loading, planning and saving a large estate make millions of objects that live until
    # the command ends, and a few thousand cycles: the cyclic collector would mostly scan the
    # same live objects again and again (a fifth of the run at 10,000 assets), so it is
    # paused for this one-shot command.
    try:
        with paused_collector():
            try:
                result = compute_plan(
                    store,
                    _today(today),
                    Path(overrides) if overrides else None,
                    fresh=fresh,
                    usage_window_days=settings.sampling.daily_retention_days,
                    progress=progress,
                )
            except ConfigError as exc:
                click.echo(str(exc), err=True)
                sys.exit(2)
            body = result.to_dict() if as_json else None  # made once: stored and printed
            saving = time.perf_counter()
            plan_id = save_plan(store, result, body)
            if told:
                progress(f"stored plan {plan_id} in {time.perf_counter() - saving:.1f} s")
    finally:
        store.close()
    if body is not None:
        body["plan_id"] = plan_id
        click.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    s = result.summary()
    click.echo(
        f"plan {plan_id} as of {result.today}: {s['assets']} assets, {s['groups']} move "
        f"groups, {s['waves']} waves, {s['hubs']} shared-infrastructure hubs"
    )
    if not s["assets"]:
        click.echo(EMPTY_PLAN.format(plan_id=plan_id))
        return
    click.echo(
        "  support: " + ", ".join(f"{k} {v}" for k, v in sorted(s["support_status"].items()))
    )
    click.echo("  strategy: " + ", ".join(f"{k} {v}" for k, v in sorted(s["strategies"].items())))
    click.echo(f"  debt total {s['debt_total']}, retired by the waves {s['debt_retired']}")
    refresh = result.ranking("refresh")
    if refresh:
        top = ", ".join(a.name for a in refresh[:5])
        click.echo(
            f"  refresh in place: {len(refresh)} assets stay on premise, most debt first: {top}"
            " (`cloudward debt --ranking refresh`)"
        )
    if result.replan is not None:
        r = result.replan
        kept = f"; waves {_spans(r.kept_waves)} already started, kept" if r.kept_waves else ""
        click.echo(
            f"  started from the plan as of {r.previous}: {len(r.moved)} groups moved wave, "
            f"{len(r.new_groups)} new groups{kept} (`cloudward plan diff` says why)"
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    click.echo("see `cloudward waves` and `cloudward debt`")


def _spans(numbers: tuple[int, ...] | list[int]) -> str:
    """``0-3, 5`` for 0, 1, 2, 3, 5."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


@plan.command("list")
@click.pass_context
def plan_list(ctx: click.Context) -> None:
    """List stored plans, newest first."""
    from sqlmodel import col, select

    from agent.store import tables as m

    settings = load_config_or_exit(ctx.obj.get("config_path"))
    store = open_store(settings, ctx.obj.get("database"))
    try:
        with store.session() as s:
            rows = s.exec(select(m.PlanRow).order_by(col(m.PlanRow.id).desc()).limit(50)).all()
    finally:
        store.close()
    if not rows:
        click.echo("no plans yet: run `cloudward plan`")
    for r in rows:
        click.echo(
            f"{r.id:5d}  {r.created_at:%Y-%m-%d %H:%M}  as of {r.as_of}  "
            f"{r.assets} assets  {r.waves} waves  {r.digest[:12]}"
        )


@plan.command("diff")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plan_diff(ctx: click.Context, a: int, b: int, as_json: bool) -> None:
    """What changed between stored plans A and B (assets that moved wave, strategy, status)."""
    from planner import diff_plan_dicts

    settings = load_config_or_exit(ctx.obj.get("config_path"))
    store = open_store(settings, ctx.obj.get("database"))
    try:
        first, second = _require_plan(store, a), _require_plan(store, b)
    finally:
        store.close()
    diff = diff_plan_dicts(first, second).to_dict()
    if as_json:
        click.echo(json.dumps(diff, indent=2, sort_keys=True))
    else:
        click.echo(diff_text(diff, first, second))


def diff_text(diff: dict[str, Any], first: dict[str, Any], second: dict[str, Any]) -> str:
    names = {a["asset_id"]: a["name"] for a in (*first["assets"], *second["assets"])}
    lines = [
        f"plan {first['plan_id']} ({first['today']}) -> plan {second['plan_id']} "
        f"({second['today']}): {_own_assets(first)} -> {_own_assets(second)} assets, "
        f"{diff['waves_before']} -> {diff['waves_after']} waves"
    ]
    if not any(
        diff[k]
        for k in (
            "added",
            "removed",
            "changes",
            "groups_added",
            "groups_removed",
            "groups_renamed",
            "waves",
        )
    ):
        lines.append("  no differences")
        return "\n".join(lines)
    for key in ("added", "removed"):
        if diff[key]:
            shown = ", ".join(names.get(x, x) for x in diff[key][:20])
            lines.append(f"  {key}: {len(diff[key])} assets ({shown})")
    counts = {k: v for k, v in diff["counts"].items() if k not in ("added", "removed") and v}
    if counts:
        lines.append("  changed: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for c in diff["changes"][:50]:
        why = f" ({c['reason']})" if c.get("reason") else ""
        lines.append(
            f"    {names.get(c['asset_id'], c['asset_id'])}: {c['field']} "
            f"{c['before']} -> {c['after']}{why}"
        )
    if len(diff["changes"]) > 50:
        lines.append(f"    ... and {len(diff['changes']) - 50} more (use --json)")
    for old, new in diff["groups_renamed"]:
        lines.append(f"  group {old} is now {new}")
    for key in ("groups_added", "groups_removed"):
        if diff[key]:
            lines.append(f"  {key.replace('_', ' ')}: {', '.join(diff[key][:20])}")
    for w in diff["waves"]:
        lines.append(f"  wave {w['number']}: {w['field']} {w['before']} -> {w['after']}")
    return "\n".join(lines)


def _own_assets(body: dict[str, Any]) -> int:
    """How many of a plan's assets are the estate's own (external peers are not counted)."""
    return sum(1 for a in body["assets"] if a.get("debt_ranking") != "outside")


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--plan", "plan_id", type=int, help="A stored plan id (default: the newest).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the waves and groups as JSON; each lists its assets' ids and, in the same "
    "order, their names (asset_names).",
)
def waves(
    config_path: str | None, database: str | None, plan_id: int | None, as_json: bool
) -> None:
    """Show the planned waves: dates, groups, assets, debt retired, cost and carbon."""
    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        body = _require_plan(store, plan_id)
    finally:
        store.close()
    names = {a["asset_id"]: a["name"] for a in body["assets"]}
    groups = {g["id"]: g for g in body["groups"]}

    def named(ids: list[str]) -> list[str]:
        return [names.get(x, x) for x in ids]

    if as_json:
        click.echo(
            json.dumps(
                {
                    "plan_id": body["plan_id"],
                    "today": body["today"],
                    "waves": [
                        {**w, "wave": {**w["wave"], "asset_names": named(w["wave"]["assets"])}}
                        for w in body["waves"]
                    ],
                    "groups": [
                        {**g, "asset_names": named(g.get("assets", []))} for g in body["groups"]
                    ],
                    "warnings": body.get("warnings", []),
                },
                indent=2,
                sort_keys=True,
            )
        )
        return
    if not body["assets"]:
        click.echo(EMPTY_PLAN.format(plan_id=body["plan_id"]))
        return
    if not body["waves"]:
        click.echo(f"plan {body['plan_id']} has no waves: every asset is retained or a hub")
    for warning in body.get("warnings", []):
        click.echo(f"warning: {warning}")
    cur = body.get("currency", "GBP")
    for w in body["waves"]:
        wave = w["wave"]
        click.echo(
            f"Wave {wave['number']} ({wave['kind']}): {wave['start']} to {wave['end']}, "
            f"{len(wave['assets'])} assets in {len(wave['groups'])} groups; debt retired "
            f"{w['debt_retired']}; run cost {cur} {w['cost_delta']:+,.0f}/yr; "
            f"{w['kgco2e_delta']:+,.0f} kgCO2e/yr"
        )
        for reason in wave.get("reasons", [])[:3]:
            click.echo(f"    why: {reason}")
        for gid in wave["groups"]:
            g = groups.get(gid, {})
            members = ", ".join(names.get(x, x) for x in g.get("assets", []))
            click.echo(f"  - {gid} [{g.get('strategy', '')}] {members}")
            if g.get("reason"):
                click.echo(f"      {g['reason']}")


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--plan", "plan_id", type=int, help="A stored plan id (default: the newest).")
@click.option("--top", type=int, default=25, show_default=True, help="How many to show.")
@click.option(
    "--ranking",
    type=click.Choice(["migration", "refresh"]),
    default=None,
    help="Only what moves or retires (migration), or only kit that stays on premise and is "
    "replaced in place (refresh); default: both.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print an object: items (the ranked assets, as many as --top), total (how many the "
    "ranking holds), shown, and truncated (true when --top left some out).",
)
def debt(
    config_path: str | None,
    database: str | None,
    plan_id: int | None,
    top: int,
    ranking: str | None,
    as_json: bool,
) -> None:
    """Rank assets by technical debt, with every factor explained."""
    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        body = _require_plan(store, plan_id)
    finally:
        store.close()
    every = sorted(
        (
            a
            for a in body["assets"]
            if not str(a["asset_id"]).startswith("ext:")
            and a.get("debt_ranking") != "outside"
            and ranking in (None, a.get("debt_ranking", "migration"))
        ),
        key=lambda a: (-a["debt"]["score"], a["asset_id"]),
    )
    ranked = every[: max(top, 0)]
    if as_json:
        items = [
            {
                "asset_id": a["asset_id"],
                "name": a["name"],
                "score": a["debt"]["score"],
                "factors": a["debt"]["factors"],
                "support": a["support"]["status"],
                "strategy": a["strategy"]["strategy"],
            }
            for a in ranked
        ]
        doc = {
            "plan_id": body["plan_id"],
            "ranking": ranking or "all",
            "items": items,
            "total": len(every),
            "shown": len(items),
            "truncated": len(items) < len(every),
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    if not ranked:
        click.echo(EMPTY_PLAN.format(plan_id=body["plan_id"]))
        return
    for i, a in enumerate(ranked, 1):
        click.echo(
            f"{i:3d}. {a['name']:<28} {a['debt']['score']:5.1f}  "
            f"support={a['support']['status']}  strategy={a['strategy']['strategy']}"
        )
        for f in a["debt"]["factors"]:
            if f["points"]:
                click.echo(
                    f"       {f['points']:5.1f}  {f['name']} (weight {f['weight']}, "
                    f"value {f['value']}): {f['evidence']}"
                )
    if len(every) > len(ranked):
        click.echo(f"... and {len(every) - len(ranked)} more (--top {len(every)} shows them all)")


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option(
    "--settings",
    "overrides",
    type=click.Path(dir_okay=False, exists=True),
    help="YAML with planner settings to merge over the shipped defaults (its hubs section is "
    "read here; `cloudward plan` checks every section).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the hubs and candidates as JSON.")
def hubs(
    config_path: str | None, database: str | None, overrides: str | None, as_json: bool
) -> None:
    """Shared-infrastructure hubs the planner finds in the stored estate now (DNS, directory,
    monitoring, backup, ...: wave 0), and busy servers offered for review; no plan is stored.
    Override with the planner settings' hubs.include and hubs.exclude, or an asset's hub hint."""
    import planner
    from agent.bridge.estate_reader import estate_from_store, load_planner_sections
    from agent.errors import ConfigError
    from agent.inventory.dependencies import rebuild_dependencies

    settings = load_config_or_exit(config_path)
    try:  # the hubs section alone: nothing else of the settings is used here
        hub_rules = load_planner_sections(["hubs"], Path(overrides) if overrides else None)["hubs"]
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    store = open_store(settings, database)
    try:
        rebuild_dependencies(store)  # what a plan made now would see
        estate = estate_from_store(store)
    finally:
        store.close()
    found = planner.detect_hubs(planner.index_estate(estate), hub_rules)
    names = {a.id: a.name or a.id for a in estate.assets}
    ours = sum(1 for a in estate.assets if not a.external)
    if as_json:
        doc = {
            "assets": ours,
            "hubs": [
                {
                    "asset_id": h.asset_id,
                    "name": names.get(h.asset_id, h.asset_id),
                    "roles": list(h.roles),
                    "peers": h.peers,
                    "reasons": list(h.reasons),
                }
                for h in found.hubs
            ],
            "candidates": [
                {
                    "asset_id": c.asset_id,
                    "name": names.get(c.asset_id, c.asset_id),
                    "peers": c.peers,
                    "threshold": c.threshold,
                    "reason": c.reason,
                }
                for c in found.candidates
            ],
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    if not ours:
        click.echo(
            "no assets in the store yet: store some first with `cloudward scan` (or "
            "`cloudward import FILE`), then run `cloudward hubs` again"
        )
        return
    click.echo(
        f"{len(found.hubs)} shared-infrastructure hub{'' if len(found.hubs) == 1 else 's'} "
        f"among {ours} assets (set aside into wave 0; no plan stored):"
    )
    for h in sorted(found.hubs, key=lambda h: (-h.peers, names.get(h.asset_id, ""))):
        click.echo(
            f"  {names.get(h.asset_id, h.asset_id):<28} {', '.join(h.roles):<24} {h.peers} peers"
        )
        for reason in h.reasons:
            click.echo(f"      {reason}")
    if found.candidates:
        click.echo(f"{len(found.candidates)} busy servers to review (not set aside):")
        for c in found.candidates:
            click.echo(f"  {names.get(c.asset_id, c.asset_id):<28} {c.reason}")
    click.echo(
        "change what counts: hubs.include / hubs.exclude in the planner settings (--settings), "
        "or a hub: true|false hint on an imported asset"
    )


@cli.group()
def lifecycle() -> None:
    """Lifecycle facts (end of support dates) from endoflife.date."""


@lifecycle.command("sync")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option(
    "--product",
    "products",
    multiple=True,
    help="Fetch only this product (repeatable; default: every product the matching rules use).",
)
@click.option(
    "--from-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Read saved API responses (PRODUCT.json) from this folder instead of the network.",
)
@click.option(
    "--url",
    default="https://endoflife.date/api/v1/products/{product}",
    show_default=True,
    help="API URL of a product ({product} is replaced; a URL without it gets /PRODUCT added).",
)
def lifecycle_sync(
    config_path: str | None,
    database: str | None,
    products: tuple[str, ...],
    from_dir: str | None,
    url: str,
) -> None:
    """Fetch end-of-support data and cache it in the store (works offline with --from-dir)."""
    from agent.bridge.lifecycle_sync import sync, wanted_products
    from agent.bridge.plan_runs import load_planner_settings
    from agent.errors import ConfigError

    settings = load_config_or_exit(config_path)
    try:
        names = list(products) or wanted_products(load_planner_settings())
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    store = open_store(settings, database)
    try:
        report = sync(store, names, url=url, from_dir=Path(from_dir) if from_dir else None)
    finally:
        store.close()
    click.echo(
        f"lifecycle sync: {len(report.fetched)} product{'' if len(report.fetched) == 1 else 's'} "
        "cached "
        f"({', '.join(report.fetched) or 'none'})"
    )
    if report.offline:
        click.echo(
            "the network is not reachable: planning goes on with the built-in catalogue "
            "and what was cached before; use --from-dir with saved API responses",
            err=True,
        )
    for name, why in sorted(report.failed.items()):
        click.echo(f"  not updated: {name}: {why}", err=True)
    if not report.fetched and report.failed:
        sys.exit(1)


@lifecycle.command("gaps")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--today", help="Judge support as of this date (YYYY-MM-DD; default: today).")
@click.option("--top", type=int, default=30, show_default=True, help="How many gaps to show.")
@click.option("--json", "as_json", is_flag=True, help="Print every gap as JSON.")
def lifecycle_gaps(
    config_path: str | None, database: str | None, today: str | None, top: int, as_json: bool
) -> None:
    """List what has no lifecycle data, by how many assets it touches: OS and firmware texts,
    products without a readable release, notable packages no rule names, hardware models."""
    import planner
    from agent.bridge.estate_reader import estate_from_store, load_lifecycle, load_planner_sections
    from agent.errors import ConfigError

    day = _today(today)
    settings = load_config_or_exit(config_path)
    try:  # what lifecycle verdicts read of the settings, and nothing else
        rules = load_planner_sections(["matching", "hardware"])
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    store = open_store(settings, database)
    try:
        estate = estate_from_store(store, dependencies=False)  # its assets' own facts
        facts = load_lifecycle(store)
    finally:
        store.close()
    matching = rules["matching"]
    support = planner.assess_support(estate, facts, matching, day, rules["hardware"])
    gaps = planner.lifecycle_gaps(estate, support, matching)
    ours = {a.id for a in estate.assets if not a.external}
    unknown = sum(1 for s in support if s.asset_id in ours and s.status == "unknown")
    if as_json:
        from planner.plaindata import plain

        body = {
            "today": day.isoformat(),
            "assets": len(ours),
            "without_lifecycle_data": unknown,
            "gaps": [plain(g) for g in gaps],
        }
        click.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    if not ours:
        click.echo(
            "no assets in the store yet: store some first with `cloudward scan` (or "
            "`cloudward import FILE`), then run `cloudward lifecycle gaps` again"
        )
        return
    click.echo(
        f"lifecycle gaps as of {day}: {unknown} of {len(ours)} assets without lifecycle data; "
        f"{len(gaps)} gap{'' if len(gaps) == 1 else 's'}, most assets first"
    )
    if not gaps:
        click.echo("every OS, firmware, notable package and hardware model has lifecycle data")
    for g in gaps[:top]:
        click.echo(f"{g.assets:6d}  {g.kind:<9} {g.subject}")
        seen = f"; versions {', '.join(g.versions)}" if g.versions else ""
        click.echo(f"{'':17}{g.reason} (e.g. {', '.join(g.examples)}{seen})")
    if len(gaps) > top:
        click.echo(f"... and {len(gaps) - top} more (--top {len(gaps)} or --json shows them all)")


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="File format (default: from the file name).",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
def import_command(
    file: str, fmt: str | None, config_path: str | None, database: str | None
) -> None:
    """Import assets or dependencies from CSV or JSON (format: config/import-format.md)."""
    import planner
    from agent.inventory.estate_import import import_file, import_format
    from agent.store.bulk import paused_collector

    settings = load_config_or_exit(config_path)
    given = fmt
    try:
        fmt = import_format(Path(file), fmt)
        with Path(file).open(encoding="utf-8-sig", errors="replace") as f:
            head = f.read(1 << 16)  # enough to tell JSON from CSV; the rest is streamed
    except (OSError, ValueError) as exc:
        fail(str(exc), 2)
    mismatch = format_mismatch(head, fmt)
    if mismatch is not None:
        why = f"--format {fmt}" if given else f"its name ends .{fmt}"
        fail(f"{file}: read as {fmt.upper()} ({why}), but {mismatch}", 2)
    store = open_store(settings, database)
    try:
        with paused_collector():  # a million rows make millions of objects and no cycle
            report = import_file(
                store,
                Path(file),
                fmt,
                lambda msg: click.echo(f"cloudward import: {msg}", err=True),
            )
    except planner.ImportFormatError as exc:
        fail(f"{file}: {exc}", 2)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: {exc}", 2)
    finally:
        store.close()
    click.echo(
        f"imported {report.assets} assets and {report.dependencies} dependencies from {file}"
    )
    if report.external_peers:
        click.echo(
            f"  {len(report.external_peers)} dependency ends are not in the store and "
            f"are kept as external peers: {', '.join(report.external_peers[:10])}"
        )


def format_mismatch(text: str, fmt: str) -> str | None:
    """Why ``text`` is plainly not ``fmt`` (JSON read as CSV, or CSV read as JSON), naming the
    fix; None when it may be. Only the first character and line are looked at: the parser says
    what is wrong with a file that is merely broken."""
    start = text.lstrip()[:1]
    if fmt == "csv" and start in ("{", "["):
        return f"it is JSON (it starts with {start!r}): use --format json"
    if fmt == "json" and start not in ("{", "[", ""):
        first = text.lstrip().splitlines()[0]
        if any(sep in first for sep in (",", ";", "\t")):
            return "it is CSV (its first line is a header of columns): use --format csv"
        return "it is not JSON (a JSON import starts with '{'): use --format csv for CSV"
    return None
