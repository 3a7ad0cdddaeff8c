"""Planner errors: one root, two levels, each also a matching built-in.

Messages name the thing that is wrong (a settings key, an asset, a row and column) and the fix.
"""

from __future__ import annotations


class PlanningError(Exception):
    """Root of every error the planner raises on purpose."""


class SettingsError(PlanningError, ValueError):
    """Planner settings are invalid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        count = len(self.problems)
        head = f"{where}{count} problem{'s' if count != 1 else ''} in planner settings"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class EstateError(PlanningError, ValueError):
    """The estate handed to the planner is inconsistent (duplicate ids, dangling edges)."""


class LifecycleDataError(PlanningError, ValueError):
    """Lifecycle data (an endoflife.date product or the built-in catalogue) is malformed."""


class ImportFormatError(PlanningError, ValueError):
    """An import file does not follow the documented format. Names the row and column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class ScheduleError(PlanningError, RuntimeError):
    """Waves cannot be scheduled with the given limits (e.g. freeze windows leave no gap)."""
