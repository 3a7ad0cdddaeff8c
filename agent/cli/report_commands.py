"""Reporting commands: ``report`` and ``export`` (registered on the main group when imported)."""

from __future__ import annotations

from pathlib import Path

import click

from agent.cli.base import cli, fail, load_config_or_exit, open_store

# The export's formats and tables, as agent.reports.exports defines them (a test holds the two
# equal): that module needs the store and the planner, which ``--help`` should not load.
FORMATS = ("csv", "json", "xlsx", "graphml")
TABLES = ("assets", "waves", "dependencies")


class _ExportCommand(click.Command):
    """``export``: its epilog lists every column, read from the exports only for its --help."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = _columns_epilog()
        super().format_epilog(ctx, formatter)


def _columns_epilog() -> str:
    from agent.reports.exports import COLUMNS

    parts = ["Columns (every format but GraphML; lists are ';'-separated in CSV and XLSX):"]
    for table, cols in COLUMNS.items():
        parts.append("\b\n" + f"{table}:\n" + "\n".join(f"  {n:<15} {d}" for n, d in cols))
    parts.append(
        "GraphML holds the asset graph (assets, services, external peers; depends-on, "
        "runs-on and linked-to edges) whatever --what says. Spreadsheet formulas in device "
        "text are neutralised: a leading = + - @ gets a ' in CSV, and XLSX cells are typed "
        "as text. Nothing secret is kept in the store, so nothing secret is exported."
    )
    return "\n\n".join(parts)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--plan", "plan_id", type=int, help="A stored plan id (default: the newest).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to this HTML file.",
)
@click.option(
    "--top",
    type=click.IntRange(1, 500),
    default=15,
    show_default=True,
    help="How many assets the debt ranking shows.",
)
@click.option(
    "--title",
    default="Estate and cloud migration plan",
    show_default=True,
    help="Report title (e.g. with the council's name).",
)
@click.option("--pdf", is_flag=True, help="Also print it to PDF (beside the HTML) with Chromium.")
@click.option("--chromium", metavar="PATH", help="Chromium to print with (default: from PATH).")
def report(
    config_path: str | None,
    database: str | None,
    plan_id: int | None,
    out: str,
    top: int,
    title: str,
    pdf: bool,
    chromium: str | None,
) -> None:
    """Write the board report: one self-contained HTML file (no scripts, nothing fetched).

    Estate summary, support and end-of-life timeline, technical debt top N with reasons, waves
    with dates, capital and revenue per UK financial year, energy and carbon, and the sources
    of every figure.
    """
    from agent.reports.board_report import (
        ReportError,
        build_report,
        find_chromium,
        print_pdf,
        render_report,
    )

    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        context = build_report(store, plan_id, top=top, title=title)
    except ReportError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    path = Path(out)
    try:
        path.write_text(render_report(context), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}; choose another --out", 1)
    click.echo(
        f"wrote {path} ({path.stat().st_size // 1024} KiB): plan {context['plan']['id']} as of "
        f"{context['plan']['as_of']}, {context['total']} assets, {len(context['waves'])} waves"
    )
    if not pdf:
        return
    binary = find_chromium(chromium)
    if binary is None:
        looked = chromium or "chromium, chromium-browser or google-chrome on PATH"
        fail(
            f"no PDF: Chromium not found ({looked}); install it (Debian: apt-get install "
            f"chromium) or print {path} to PDF from any browser",
            1,
        )
    target = path.with_suffix(".pdf")
    try:
        print_pdf(path, target, binary)
    except ReportError as exc:
        fail(str(exc), 1)
    click.echo(f"wrote {target} ({target.stat().st_size // 1024} KiB)")


@cli.command("export", cls=_ExportCommand)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--database", help="Database URL (overrides the configuration).")
@click.option("--plan", "plan_id", type=int, help="A stored plan id (default: the newest).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="File format.")
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="File to write; for CSV of several tables a folder (one CSV each) or a .zip.",
)
@click.option(
    "--what",
    type=click.Choice([*TABLES, "all"]),
    default="all",
    show_default=True,
    help="Which table to export.",
)
def export_command(
    config_path: str | None,
    database: str | None,
    plan_id: int | None,
    fmt: str,
    out: str,
    what: str,
) -> None:
    """Export assets, waves and dependencies (CSV, JSON, XLSX) or the asset graph (GraphML)."""
    from agent.inventory.dependencies import rebuild_dependencies
    from agent.reports.exports import ExportError, export

    tables = list(TABLES) if what == "all" else [what]
    settings = load_config_or_exit(config_path)
    store = open_store(settings, database)
    try:
        rebuild_dependencies(store)
        written = export(store, fmt, tables, Path(out), plan_id)
    except ExportError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}; choose another --out", 1)
    finally:
        store.close()
    what_text = "the asset graph" if fmt == "graphml" else ", ".join(tables)
    click.echo(f"exported {what_text} as {fmt}: " + ", ".join(str(p) for p in written))
