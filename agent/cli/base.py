"""The ``cloudward`` command group and what every command shares.

Exit codes: 0 success; 1 the operation failed (a target did not answer, ...); 2 bad usage or
bad configuration. Errors go to stderr; ``--json`` output goes to stdout only.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from agent import __version__
from agent.errors import ConfigError

if TYPE_CHECKING:  # a command imports what it uses when it runs: ``--help`` stays quick
    from agent.configuration.config_file import Settings

log = logging.getLogger("cloudward")

DEFAULT_CONFIG = "cloudward.yaml"
# Settings().database, the store without a configuration file (tests/agent/test_cli_start.py
# holds the two equal).
DEFAULT_DATABASE = "sqlite:///var/cloudward.db"
# Commands that read nothing of the configuration but its database: without a configuration
# file they start without importing its validation (pydantic models, secrets, SNMP checks).
DATABASE_ONLY_COMMANDS = frozenset({"assets", "debt", "waves", "hubs", "lifecycle gaps"})


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"cloudward: error: {message}", err=True)
    sys.exit(code)


def setup_logging(level: str = "info") -> None:
    """Logging for the one-shot commands: the daemon's text format and quieting (handlers
    already in place, e.g. an embedding program's, are kept)."""
    from agent.telemetry.logs import TEXT_FORMAT, quiet_libraries

    number = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(level=number, format=TEXT_FORMAT, stream=sys.stderr)
    quiet_libraries(number)


class DefaultSettings:
    """The defaults of the configuration, for a command that reads only ``database``: anything
    else is read from a real ``Settings()``, built on first use."""

    database = DEFAULT_DATABASE

    def __getattr__(self, name: str) -> Any:
        return getattr(_settings_defaults(), name)


@functools.cache
def _settings_defaults() -> Settings:
    from agent.configuration.config_file import Settings

    return Settings()


def _command_name() -> str:
    """The running command as typed after the program name, e.g. ``lifecycle gaps``."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(names)


def load_config_or_exit(path: str | None) -> Settings:
    if path is None:
        if Path(DEFAULT_CONFIG).exists():
            path = DEFAULT_CONFIG
        elif _command_name() in DATABASE_ONLY_COMMANDS:
            return cast("Settings", DefaultSettings())
        else:
            from agent.configuration.config_file import Settings

            return Settings()
    from agent.configuration.config_file import load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cloudward")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Log verbosity (default: from the config, else info).",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Inventory an on-premise estate over SNMP and SSH, rank technical debt and plan
    cloud migration waves."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level
    setup_logging(log_level or "warning")


# --- probe -------------------------------------------------------------------------------

_URL = re.compile(
    r"^(?P<scheme>snmp|ssh)://(?:(?P<user>[^@/]+)@)?"
    r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]+)(?::(?P<port>\d{1,5}))?/?$"
)


def open_store(settings: Settings, database: str | None = None) -> Any:
    """The store, its schema migrated if it needs to be (a store already at the current schema
    opens without SQLAlchemy or Alembic: see agent.store.database)."""
    from agent.errors import StoreError
    from agent.store import Store

    url = database or os.environ.get("CLOUDWARD_DATABASE") or settings.database
    try:
        return Store.open(url)
    except StoreError as exc:
        fail(str(exc), 1)
    except Exception as exc:
        if "sqlalchemy" not in sys.modules:  # raised before SQLAlchemy was even imported
            raise
        _database_problem(url, exc)
        raise


def _database_problem(url: str, exc: Exception) -> None:
    """Exit with what to do about a database SQLAlchemy could not open; return for anything
    else."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    if isinstance(exc, DBAPIError):  # e.g. a file that is not an SQLite database
        reason = str(exc.orig).strip() or type(exc.orig).__name__
        fail(
            f"database {_shown(url)} cannot be opened: {reason}; point --database (or "
            "CLOUDWARD_DATABASE, or database: in the configuration) at a cloudward database, "
            "or at a new file to start one",
            1,
        )
    if isinstance(exc, ArgumentError):
        fail(f"database {_shown(url)}: {exc}; use sqlite:///PATH or postgresql+psycopg://...", 2)


def _shown(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for a message
        return "(the given URL)"
