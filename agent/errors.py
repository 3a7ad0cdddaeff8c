"""Agent errors: one root, two levels; messages name the thing and the fix."""

from __future__ import annotations


class AgentError(Exception):
    """Root of every error the agent raises on purpose."""


class ConfigError(AgentError, ValueError):
    """The configuration is invalid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        head = f"{where}{len(problems)} problem{'s' if len(problems) != 1 else ''} in configuration"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


class SecretError(AgentError, LookupError):
    """A secret reference (env var or file) cannot be resolved."""


class StoreError(AgentError, RuntimeError):
    """The store cannot be opened or written. ``transient``: the database went away (connection
    refused or dropped) and the same write may succeed later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
