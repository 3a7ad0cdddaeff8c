"""JSON text as the store writes and reads it: orjson, several times faster than the standard
library on the documents a plan of 100,000 assets makes, falling back to the standard library
for what orjson refuses (an integer beyond 64 bits; NaN written by an older version)."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from agent.store.detail_words import DETAIL_WORDS_1

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} as the standard library writes it: {"1": ...}


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as compact JSON text (keys sorted when asked)."""
    return dump_bytes(value, sort_keys=sort_keys).decode()


def dump_bytes(value: Any, *, sort_keys: bool = False, ascii_only: bool = False) -> bytes:
    """:func:`dumps` as UTF-8 bytes: for a document large enough that the caller wants to let
    go of the value before the text is made from them. ``ascii_only``: every character past
    ASCII written as a ``\\uXXXX`` escape, as the standard library writes it by default; the
    text made from such bytes takes one byte a character in memory, where a single "£" would
    make Python keep the whole of it at two (hundreds of MB for a large plan)."""
    try:
        option = _OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _OPTIONS
        data = orjson.dumps(value, option=option)
    except TypeError:  # orjson.JSONEncodeError is one
        data = json.dumps(value, sort_keys=sort_keys, separators=(",", ":")).encode()
    if ascii_only and not data.isascii():
        data = _BEYOND_ASCII.sub(_escaped, data)  # only inside strings: JSON has no other place
    return data


def dump_pieces(
    doc: Mapping[str, Any], split: str, *, per: int = 1_000, ascii_only: bool = False
) -> Iterator[bytes]:
    """``dump_bytes(doc, sort_keys=True, ascii_only=...)`` in pieces whose concatenation is
    that very text: ``doc[split]`` (a list) written ``per`` items at a time, the rest of the
    document around it. A plan's hundreds of MB of text can then be digested and packed as it
    is made, never held whole."""

    def text(value: Any) -> bytes:
        return dump_bytes(value, sort_keys=True, ascii_only=ascii_only)

    keys = sorted(doc, key=str)
    if (
        split not in doc
        or not isinstance(doc[split], list)
        or any(not isinstance(k, str) for k in keys)
    ):
        yield text(doc)
        return
    before = {k: doc[k] for k in keys if k < split}
    after = {k: doc[k] for k in keys if k > split}
    head = text(before)[:-1]  # without its closing brace
    yield head + (b"," if before else b"") + text(split) + b":["
    items = doc[split]
    for first in range(0, len(items), per):
        chunk = text(items[first : first + per])[1:-1]  # the items without their brackets
        yield (b"," if first else b"") + chunk
    yield b"]" + (b"," + text(after)[1:] if after else b"}")


_BEYOND_ASCII = re.compile(rb"[\x80-\xff]+")


def _escaped(found: re.Match[bytes]) -> bytes:
    """UTF-8 characters as JSON escapes (a pair of surrogates past the basic plane)."""
    out = []
    for char in found.group().decode():
        code = ord(char)
        if code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out).encode()


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def packed(data: bytes) -> bytes:
    """A plan's JSON body as ``cw_plan.body_zlib`` keeps it: zlib at its fastest level (a
    plan's body repeats the same evidence for every asset: 355 MB of text at 100,000 assets
    packs into about 26 MB in about a second)."""
    return zlib.compress(data, 1)


def plan_text(body: str | None, body_zlib: bytes | None) -> str | bytes:
    """The JSON text of a stored plan: ``body_zlib`` unpacked when it is set (plans stored
    since revision 0009), else ``body`` as it was stored; either is what :func:`loads` reads.
    A packed body that does not unpack is reported as a ValueError naming the column."""
    if body_zlib is None:
        return body or ""
    try:
        return zlib.decompress(body_zlib)
    except zlib.error as exc:
        raise ValueError(f"cw_plan.body_zlib does not unpack: {exc}") from None


def pack_detail(text: bytes) -> bytes:
    """A plan row's detail (its JSON text) as ``cw_plan_detail.detail_zlib`` keeps it: zlib at
    its fastest level with :data:`agent.store.detail_words.DETAIL_WORDS_1` as its preset
    dictionary (about 1.9 KB of text becomes about 300 bytes, in some 20 to 35 microseconds)."""
    packer = zlib.compressobj(1, zdict=DETAIL_WORDS_1)
    return packer.compress(text) + packer.flush()


def detail_text(detail: str | None, detail_zlib: bytes | None) -> str | bytes:
    """The JSON text of a stored plan detail: ``detail_zlib`` unpacked when it is set (details
    stored since revision 0012), else ``detail`` as it was stored; either is what
    :func:`loads` reads. A packed detail that does not unpack (or names another dictionary) is
    reported as a ValueError naming the column."""
    if detail_zlib is None:
        return detail or ""
    try:
        unpacker = zlib.decompressobj(zdict=DETAIL_WORDS_1)
        text = unpacker.decompress(bytes(detail_zlib)) + unpacker.flush()
    except zlib.error as exc:
        raise ValueError(f"cw_plan_detail.detail_zlib does not unpack: {exc}") from None
    if not unpacker.eof:
        raise ValueError("cw_plan_detail.detail_zlib does not unpack: it is cut short")
    return text
