"""Typed reading of configuration mappings, collecting every problem instead of stopping at one.

Each settings class reads its section through a :class:`Reader`; problems name the full key path
(``waves.freeze_windows[2].start``) and what is expected. ``from_mapping`` constructors raise one
:class:`~planner.errors.SettingsError` listing them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from planner.errors import SettingsError

_MISSING: Any = object()


class Reader:
    """A view of one mapping at ``path``; problems go to the shared ``problems`` list."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.problem(f"{path or 'settings'}: must be a mapping, got {type(data).__name__}")
            data = {}
        self.data: Mapping[str, Any] = data

    def key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    def allow(self, *keys: str) -> None:
        """Report keys that are not in ``keys`` (typos should not pass silently)."""
        for key in sorted(str(k) for k in self.data):
            if key not in keys:
                self.problem(f"{self.key(key)}: unknown key (expected one of {', '.join(keys)})")

    def section(self, key: str) -> Reader:
        return Reader(self.data.get(key), self.key(key), self.problems)

    def items(self, key: str) -> list[Reader]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{self.key(key)}: must be a list")
            return []
        return [Reader(v, f"{self.key(key)}[{i}]", self.problems) for i, v in enumerate(value)]

    def number(
        self,
        key: str,
        default: float = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                self.problem(f"{self.key(key)}: required number is missing")
                return 0.0
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(f"{self.key(key)}: must be a number, got {value!r}")
            return 0.0 if default is _MISSING else default
        out = float(value)
        if minimum is not None and out < minimum:
            self.problem(f"{self.key(key)}: must be at least {minimum:g}, got {out:g}")
        if maximum is not None and out > maximum:
            self.problem(f"{self.key(key)}: must be at most {maximum:g}, got {out:g}")
        return out

    def integer(self, key: str, default: int = _MISSING, *, minimum: int | None = None) -> int:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                self.problem(f"{self.key(key)}: required whole number is missing")
                return 0
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{self.key(key)}: must be a whole number, got {value!r}")
            return 0 if default is _MISSING else default
        if minimum is not None and value < minimum:
            self.problem(f"{self.key(key)}: must be at least {minimum}, got {value}")
        return value

    def text(self, key: str, default: str = _MISSING, *, choices: tuple[str, ...] = ()) -> str:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                self.problem(f"{self.key(key)}: required text is missing")
                return ""
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(f"{self.key(key)}: must be text, got {value!r}")
            return "" if default is _MISSING else default
        out = str(value)
        if choices and out not in choices:
            self.problem(f"{self.key(key)}: {out!r} is not one of {', '.join(choices)}")
        return out

    def optional_text(self, key: str) -> str | None:
        return self.text(key, "") or None if self.has(key) else None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(f"{self.key(key)}: must be true or false, got {value!r}")
            return default
        return value

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.problem(f"{self.key(key)}: must be a list of text")
            return default
        return tuple(str(v) for v in value)

    def integers(self, key: str, default: tuple[int, ...] = ()) -> tuple[int, ...]:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            self.problem(f"{self.key(key)}: must be a list of whole numbers")
            return default
        return tuple(value)

    def numbers(self, key: str) -> dict[str, float]:
        """A mapping of name -> number (e.g. weights)."""
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(f"{self.key(key)}: must be a mapping of name to number")
            return {}
        out: dict[str, float] = {}
        for name, number in value.items():
            if isinstance(number, bool) or not isinstance(number, int | float):
                self.problem(f"{self.key(key)}.{name}: must be a number, got {number!r}")
                continue
            out[str(name)] = float(number)
        return out

    def day(self, key: str, default: date | None = None) -> date | None:
        value = self.data.get(key)
        if value is None:
            return default
        parsed = parse_day(value)
        if parsed is None:
            self.problem(f"{self.key(key)}: must be a date like 2026-04-01, got {value!r}")
        return parsed

    def pattern(self, key: str, default: str | None = None) -> re.Pattern[str] | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        try:
            return re.compile(str(value), re.IGNORECASE)
        except re.error as exc:
            self.problem(f"{self.key(key)}: not a valid regular expression ({exc})")
            return None

    def entries(self) -> Iterator[tuple[str, Any]]:
        for key in sorted(str(k) for k in self.data):
            yield key, self.data[key]


def parse_day(value: Any) -> date | None:
    """A date from a YAML date, a datetime or an ISO ``YYYY-MM-DD`` string; None if it is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def finish(problems: list[str], source: str | None = None) -> None:
    """Raise one :class:`SettingsError` when anything was wrong."""
    if problems:
        raise SettingsError(problems, source)
