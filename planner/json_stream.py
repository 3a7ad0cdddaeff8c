"""A JSON document's top-level object read piece by piece (for imports of millions of rows).

Each element of its lists is decoded on its own with ``json``, so a file of a million
dependencies never becomes one Python object; errors carry the line and column in the whole
file, as ``json.loads`` would give them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from planner.errors import ImportFormatError

_CHUNK = 1 << 20


class TextSource(Protocol):
    """An open text file (or ``io.StringIO``): read in pieces, or line by line."""

    def read(self, size: int = -1, /) -> str: ...

    def __iter__(self) -> Iterator[str]: ...


class JsonStreamReader:
    """The top-level object of a JSON file read piece by piece: each element of its lists is
    decoded on its own, so a file of a million dependencies never becomes one Python object.
    Errors carry the line and column in the whole file, as ``json.loads`` would give them."""

    _WS = " \t\n\r"

    def __init__(self, source: TextSource) -> None:
        self.source = source
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line_base = 0  # newlines in the text already dropped from ``buf``
        self.col_base = 0  # characters after the last of them
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self.eof:
            return False
        piece = self.source.read(_CHUNK)
        if not piece:
            self.eof = True
            return False
        done = self.buf[: self.pos]
        newlines = done.count("\n")
        if newlines:
            self.line_base += newlines
            self.col_base = len(done) - done.rfind("\n") - 1
        else:
            self.col_base += len(done)
        self.buf = self.buf[self.pos :] + piece
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), left unread."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in self._WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(what, self.pos)
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut_short = exc.pos >= len(self.buf) - 10 or exc.msg.startswith("Unterminated")
                if cut_short and self._fill():
                    continue
                raise self.error(exc.msg, exc.pos) from None
            if end == len(self.buf) and self._fill():
                continue  # a number (or a literal) may go on in the next piece
            self.pos = end
            return value

    def error(self, msg: str, pos: int) -> ImportFormatError:
        before = self.buf[:pos]
        newlines = before.count("\n")
        column = pos - before.rfind("\n") if newlines else self.col_base + pos + 1
        return ImportFormatError(
            f"not valid JSON: {msg} at line {self.line_base + newlines + 1} column {column}"
        )

    def items(self) -> Iterator[Any]:
        """The elements of the list that starts here."""
        self.take("[", "Expecting '['")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return
            if nxt != ",":
                raise self.error("Expecting ',' delimiter", self.pos - 1)
