"""Errors of the demo-estate simulator: one root; messages name the thing and the fix."""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of every error the simulator raises on purpose."""


class EstateFileError(SimulatorError, ValueError):
    """The estate file is invalid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        head = (
            f"{where}{len(problems)} problem{'s' if len(problems) != 1 else ''} in the estate file"
        )
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))
