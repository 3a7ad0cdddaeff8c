"""Plan records as JSON-ready values: :func:`plain` turns the planner's frozen dataclasses,
tuples, mappings, dates and numbers into dicts, lists and scalars with keys sorted (the stored
plan's body and ``cloudward plan --json``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np

from planner.debt import DebtFactor
from planner.verdicts import ComponentSupport

_SKIP = {"kinds", "group_of"}
# Value objects the planner gives many assets at once (assets with equal facts share them:
# about 30,000 distinct debt factors among 900,000 and a handful of support components among
# 100,000 at 100,000 assets); plain() converts each once. Frozen, so the one result holds.
_SHARED: frozenset[type] = frozenset({DebtFactor, ComponentSupport})
# a dataclass's fields as plain() gives them, and whether it is one of the shared kinds
_FIELDS: dict[type, tuple[tuple[str, ...], bool]] = {}


def plain(obj: Any) -> Any:
    """Dataclasses, tuples, mappings, dates and numbers as JSON-ready values, keys sorted.

    One type test first for what a plan is made of (strings, numbers, tuples, dicts, dates and
    the planner's dataclasses, whose field names are looked up once per class); anything else
    by the general tests after them. A dataclass's plain fields (text, whole numbers, floats)
    are converted in :func:`_record`'s own loop, without a call each: a plan of 100,000 assets
    holds some ten million of them. A shared value object (:data:`_SHARED`) met again is given
    the dict made the first time, so the values returned may share dicts: they are to be read,
    not changed."""
    return _plain(obj, {})


def _plain(obj: Any, memo: dict[int, tuple[Any, dict[str, Any]]]) -> Any:
    """:func:`plain` with the dicts made so far for shared value objects, by identity (the
    object kept beside its dict: an identity is only unique while the object lives)."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is float:
        return None if obj != obj or obj == _INF or obj == -_INF else round(obj, 4)
    spec = _FIELDS.get(kind)
    if spec is not None:
        if not spec[1]:
            return _record(obj, spec[0], memo)
        found = memo.get(id(obj))
        if found is None or found[0] is not obj:
            found = memo[id(obj)] = (obj, _record(obj, spec[0], memo))
        return found[1]
    if kind is tuple or kind is list:
        return _items(obj, memo)
    if kind is dict:
        return {str(k): _plain(obj[k], memo) for k in sorted(obj, key=str)}
    if kind is date:
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = sorted(dataclasses.fields(obj), key=lambda f: f.name)
        _FIELDS[kind] = (tuple(f.name for f in fields if f.name not in _SKIP), kind in _SHARED)
        return _plain(obj, memo)
    if isinstance(obj, Mapping):
        return {str(k): _plain(obj[k], memo) for k in sorted(obj, key=str)}
    if isinstance(obj, tuple | list):
        return [_plain(x, memo) for x in obj]
    if isinstance(obj, frozenset | set):
        return sorted(_plain(x, memo) for x in obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.generic):
        return _plain(obj.item(), memo)
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else round(obj, 4)
    return obj


_INF = math.inf


def _items(
    obj: tuple[Any, ...] | list[Any], memo: dict[int, tuple[Any, dict[str, Any]]]
) -> list[Any]:
    """:func:`plain` of a tuple or list: text, whole numbers and the planner's dataclasses
    (the items of most of a plan's lists: reasons, evidence, factors, links) converted in this
    loop, without a call of :func:`_plain` each; anything else by it."""
    out: list[Any] = []
    add = out.append
    for x in obj:
        kind = type(x)
        if kind is str or kind is int or kind is bool or x is None:
            add(x)
            continue
        spec = _FIELDS.get(kind)
        if spec is None:
            add(_plain(x, memo))
        elif not spec[1]:
            add(_record(x, spec[0], memo))
        else:
            found = memo.get(id(x))
            if found is None or found[0] is not x:
                found = memo[id(x)] = (x, _record(x, spec[0], memo))
            add(found[1])
    return out


def _record(
    obj: Any, names: tuple[str, ...], memo: dict[int, tuple[Any, dict[str, Any]]]
) -> dict[str, Any]:
    """:func:`plain` of a dataclass whose sorted field names are ``names``."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            out[name] = value
        elif kind is float:
            # most are whole (weights, zero points): round() of one costs ten times the test
            out[name] = (
                value
                if value.is_integer()
                else None
                if value != value or value == _INF or value == -_INF
                else round(value, 4)
            )
        elif kind is tuple:
            out[name] = _items(value, memo)
        else:
            out[name] = _plain(value, memo)
    return out
