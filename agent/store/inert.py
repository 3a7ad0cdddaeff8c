"""Device text made inert before it is stored: control characters (terminal escape sequences,
NUL, bell, carriage return, C1 controls) are dropped, so a host name or banner can never drive
a terminal, a log viewer or a page. Newlines and tabs stay (descriptions span lines)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from collectors.facts import Facts

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character :func:`inert_text` would drop."""
    return _CONTROL.search(value) is not None


def inert_text(value: str) -> str:
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


def _inert(obj: Any) -> Any:
    """``obj`` with every string inside made inert; the same object when nothing changed."""
    if isinstance(obj, str):
        return inert_text(obj)
    if isinstance(obj, tuple | list):
        items = [_inert(x) for x in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        return type(obj)(items)
    if isinstance(obj, dict):
        pairs = {_inert(k): _inert(v) for k, v in obj.items()}
        if all(k in obj and obj[k] is v for k, v in pairs.items()):
            return obj
        return pairs
    names = _field_names(type(obj))
    if names:
        changes: dict[str, Any] = {}
        for name in names:
            value = getattr(obj, name)
            clean = _inert(value)
            if clean is not value:
                changes[name] = clean
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass (none for other types): looked up once per class."""
    names = _FIELDS.get(cls)
    if names is None:
        is_dc = dataclasses.is_dataclass(cls)
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)) if is_dc else ()
    return names


def inert_value(obj: Any) -> Any:
    """``obj`` (text, lists, dicts, dataclasses of them) with every string inside made inert;
    ``obj`` itself when nothing changed."""
    return _inert(obj)


def inert_facts(facts: Facts) -> Facts:
    """The facts with every piece of device text made inert."""
    clean: Facts = _inert(facts)
    return clean
