"""The state of a multi-column walk: where each column has got to, and its rows' names.

This is the fast engine's per-value loop. Names stay encoded (``bytes``): a row belongs to its
column if it starts with the column's encoded OID, rows are ordered by comparing the encodings
(:func:`~collectors.snmp.ber.oid_after`), and the text key of
a row is the column's text, the text of the row's index without its last arc (decoded once per
walk: consecutive rows, and the columns of one table, share it) and the last arc.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.snmp import ber
from collectors.snmp.values import RawValue


class WalkLoop(Exception):
    """A column answered with a name that is not after the one it was asked about."""

    def __init__(self, oid: str, after: str) -> None:
        super().__init__(f"{oid} after {after}")
        self.oid = oid
        self.after = after


class BudgetSpent(Exception):
    """More values than the per-device cap allows."""


class ColumnWalk:
    """Cursors and row names of the columns being walked (roots as dotted text)."""

    def __init__(self, roots: Iterable[tuple[str, bytes]]) -> None:
        self.base = dict(roots)
        self.head = {r: ber.oid_text(b) + "." for r, b in self.base.items()}
        self.cursor = dict(self.base)
        self._parents: dict[bytes, str] = {b"": ""}

    def live(self, most: int) -> list[str]:
        """The first ``most`` columns not yet finished (in a stable order)."""
        return sorted(self.cursor)[: max(1, most)]

    def finish(self, root: str) -> None:
        self.cursor.pop(root, None)

    def take(
        self,
        live: list[str],
        varbinds: list[ber.Varbind],
        out: dict[str, RawValue],
        budget: list[int],
    ) -> None:
        """Add the rows of one response (``live`` columns, row after row) to ``out``; finish
        the columns that left their subtree or the MIB view."""
        width = len(live)
        bases = [self.base[r] for r in live]
        texts = [self.head[r] for r in live]
        cursors = [self.cursor[r] for r in live]
        done = [False] * width
        parents = self._parents
        subids, after, end = ber.subidentifiers, ber.oid_after, ber.END_OF_MIB_VIEW
        arc = ber.ARC_TEXT
        left = budget[0]
        try:
            for i, (name, tag, value) in enumerate(varbinds):
                c = i % width
                if done[c]:
                    continue
                base = bases[c]
                if tag == end or not name.startswith(base):
                    done[c] = True
                    continue
                prev = cursors[c]
                if name <= prev if name.isascii() and prev.isascii() else not after(name, prev):
                    raise WalkLoop(ber.oid_text(name), ber.oid_text(prev))
                cursors[c] = name
                if value is None:
                    continue
                cut = len(name) - 1
                if name[cut - 1] < 0x80:  # the last arc is one octet
                    last = arc[name[cut]]
                else:
                    cut -= 1
                    while name[cut - 1] > 0x7F:
                        cut -= 1
                    number = 0
                    for octet in name[cut:]:
                        number = (number << 7) | (octet & 0x7F)
                    last = arc[number] if number < 4096 else str(number)
                parent = name[len(base) : cut]
                text = parents.get(parent)
                if text is None:
                    text = parents[parent] = ber.suffix_text(subids(parent)) + "."
                out[texts[c] + text + last] = value
                left -= 1
                if left < 0:
                    raise BudgetSpent
        finally:
            budget[0] = left
            for c, root in enumerate(live):
                if done[c]:
                    del self.cursor[root]
                else:
                    self.cursor[root] = cursors[c]
        # A column that got fewer rows than asked in this response has not necessarily
        # ended (agents truncate); it stays live until it leaves its subtree.
