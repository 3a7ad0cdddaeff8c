"""Validation of the planner's settings with pydantic, collecting every problem at once.

Each settings file has a model of its shape (``*File``: extra keys forbidden, numbers strict, a
key left empty counts as absent) that builds the planner's frozen settings. Problems name the
full key path (``waves.freeze_windows[2].from``) and what is expected; :func:`validated` raises
one :class:`~planner.errors.SettingsError` listing them all. A check that finds several problems
at once reports each at its own key with :func:`raise_problems`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from planner.errors import SettingsError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A settings mapping: unknown keys are refused and values are not coerced ("3" is not 3,
    true is not 1). A key whose value is empty (YAML ``key:``) takes its default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data


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


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be text, got {value!r}")
    return str(value) if isinstance(value, int | float) else value


def _optional_text(value: Any) -> Any:
    return _text(value) or None


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        return tuple(str(v) for v in value)
    raise ValueError("must be a list of text")


def _day(value: Any) -> date:
    found = parse_day(value)
    if found is None:
        raise ValueError(f"must be a date like 2026-04-01, got {value!r}")
    return found


def _pattern(value: Any) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be a regular expression, got {value!r}")
    try:
        return re.compile(str(value), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None


Number = float  # in a Strict model: an int or a float, never a bool or a string
Text = Annotated[str, BeforeValidator(_text)]  # numbers are read as their text
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]  # empty text is none
Texts = Annotated[tuple[str, ...], BeforeValidator(_texts)]  # one text or a list of them
Day = Annotated[date, BeforeValidator(_day)]
Pattern = Annotated[re.Pattern[str], PlainValidator(_pattern)]  # case-insensitive
Note = Any  # free text for people (``notes``, ``source``): kept, never read


def one_of(values: Sequence[str], what: str = "") -> Callable[[Any], Any]:
    """A check that a text (or each of a list of texts) is one of ``values``."""

    def check(value: Any) -> Any:
        for item in (value,) if isinstance(value, str) else value:
            if item not in values:
                raise ValueError(f"{item!r} is not {what or 'one of ' + ', '.join(values)}")
        return value

    return check


def known(values: Sequence[str], what: str) -> AfterValidator:
    """For the keys of a mapping: each must be one of ``values`` (a ``what``)."""

    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} (known: {', '.join(values)})")
        return value

    return AfterValidator(check)


def raise_problems(problems: Iterable[tuple[Loc, str]]) -> None:
    """Report several problems found by one check, each at its key (relative to the value
    being checked); nothing happens when there are none."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError("settings", "{message}", {"message": message}),
            loc=loc,
            input=None,
        )
        for loc, message in problems
    ]
    if details:
        raise ValidationError.from_exception_data("settings", details)


def every_key(value: Mapping[str, Any], names: Sequence[str], what: str, why: str) -> None:
    """Check that ``value`` has each of ``names`` as a key (``why`` it must) and no other."""
    raise_problems(
        [((name,), f"missing ({why})") for name in names if name not in value]
        + [
            ((key,), f"unknown {what} (known: {', '.join(names)})")
            for key in sorted(set(value) - set(names))
        ]
    )


def validated(model: type[M], data: Any, path: Loc = ()) -> M:
    """``data`` checked against ``model``, or one SettingsError naming each key under ``path``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{key_path(path + loc)}: {msg}" for loc, msg in describe(exc, model)]
        raise SettingsError(problems) from None


def describe(exc: ValidationError, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """Each error as (key path, message in plain words), in order, without repeats."""
    out: dict[tuple[Loc, str], None] = {}
    for err in exc.errors():
        loc = clean(err["loc"])
        out[(loc, _message(err, loc, model))] = None
    return list(out)


def clean(loc: Iterable[str | int]) -> Loc:
    """Drop the parts of a pydantic location that are no key (``[key]``, validator names)."""
    return tuple(
        p for p in loc if isinstance(p, int) or not (p == "[key]" or p.startswith("function-"))
    )


def key_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "settings"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


_TYPES = {
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "date_type": "must be a date like 2026-04-01",
}
_LIMITS = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}


def _message(err: Any, loc: Loc, model: type[BaseModel]) -> str:
    kind, given, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "settings":
        return str(ctx["message"])
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        found = model_at(model, loc[:-1])
        keys = [f.alias or name for name, f in found.model_fields.items()] if found else []
        return "unknown key" + (f" (expected one of {', '.join(keys)})" if keys else "")
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping, got {type(given).__name__}"
    if kind in _TYPES:
        return f"{_TYPES[kind]}, got {given!r}"
    if kind in _LIMITS:
        name, words = _LIMITS[kind]
        return f"{words} {_shown(ctx[name])}, got {_shown(given)}"
    return str(err["msg"])


def model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The settings model that validates the mapping at ``loc`` (None if it is no model)."""
    tp: Any = model
    for part in loc:
        tp = _bare(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or name: f for name, f in tp.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return None
            tp = fields[part].annotation
        elif get_origin(tp) in (list, tuple) and isinstance(part, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _bare(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _bare(tp: Any) -> Any:
    """``tp`` without Annotated and without None in a union."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType):
            kept = [a for a in get_args(tp) if a is not type(None)]
            if len(kept) != 1:
                return tp
            tp = kept[0]
        else:
            return tp
