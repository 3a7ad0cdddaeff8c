"""The ``cloudward`` command line.

``base`` holds the group and what every command shares; ``app`` (inventory and the daemon),
``plan_commands``, ``report_commands`` and ``discover_command`` register their commands on it
when imported.
Exit codes: 0 success; 1 the operation failed; 2 bad usage or bad configuration.
"""

from __future__ import annotations

import sys

import click

from agent.cli import (  # noqa: F401 - registers commands
    app,
    discover_command,
    plan_commands,
    report_commands,
)
from agent.cli.base import cli, fail
from collectors.datadir import DataDirError

__all__ = ["cli", "main"]


def main() -> None:
    try:
        cli(obj={})
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except DataDirError as exc:
        fail(str(exc), 2)
