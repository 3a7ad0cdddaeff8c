"""Raw command output as fetched over SSH, and splitting compound-script output into sections.

``fetch`` returns ``{command name: CommandOutput}``; parsers read it and never do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SECTION_MARKER = "@@cw:"
_MARKER = re.compile(r"^@@cw:([a-z0-9][a-z0-9-]*)\s*$")


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What one command printed. ``refused`` means the device would not run it at all."""

    text: str
    exit_status: int | None = 0
    stderr: str = ""
    truncated: bool = False
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.refused and self.exit_status == 0


RawOutput = Mapping[str, CommandOutput]


def decode(data: bytes) -> str:
    """Device bytes to text: UTF-8 with replacement, NULs dropped, CRLF folded."""
    text = data.decode("utf-8", errors="replace").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_sections(text: str) -> dict[str, str]:
    """``@@cw:name`` marker lines to ``{name: body}``; text before the first marker is dropped.

    A section seen twice keeps its first body (a retried tool must not double the data).
    """
    sections: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            if name is not None and name not in sections:
                sections[name] = "\n".join(lines)
            name, lines = match.group(1), []
        elif name is not None:
            lines.append(line)
    if name is not None and name not in sections:
        sections[name] = "\n".join(lines)
    return sections
