"""Running allow-listed commands in an interactive CLI shell (network devices without exec).

Learns the device prompt from the first screen (``router1#``), turns paging off with the
platform's setup commands, then sends each command and reads until the same prompt comes back.
Works on any channel-like object (``send``/``recv``/``settimeout``): the client passes a
paramiko channel, tests may pass a fake.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Sequence
from typing import Protocol

from collectors.errors import CollectTimeout, ConnectError
from collectors.ssh.commands import Command
from collectors.ssh.output import CommandOutput, decode

_ERASE = re.compile(r"\x08+ *\x08+")  # how a pager wipes its "--More--": back, blank, back
_LONE_BACKSPACE = re.compile(r"[^\n]?\x08")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_INVALID = re.compile(r"(?m)^\s*% ?(Invalid|Incomplete|Ambiguous|Unknown|Unrecognized)")


class ChannelLike(Protocol):
    def send(self, data: bytes, /) -> int: ...

    def recv(self, nbytes: int, /) -> bytes: ...

    def settimeout(self, timeout: float | None, /) -> None: ...


class _Screen:
    """Device bytes as text: UTF-8 decoded across chunk boundaries, CRLF folded even when a
    chunk ends between CR and LF, pager prompts and the erasing that follows them removed."""

    def __init__(self, more: re.Pattern[str]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._more_prompt = re.compile(rf"[ \t]*(?:{more.pattern})[ \t]*")
        self._carry_cr = False
        self.text = ""
        self.size = 0

    def feed(self, data: bytes) -> bool:
        """Add a chunk; True when it ended at a pager prompt (the caller presses space)."""
        self.size += len(data)
        chunk = ("\r" if self._carry_cr else "") + self._decoder.decode(data)
        self._carry_cr = chunk.endswith("\r")
        if self._carry_cr:
            chunk = chunk[:-1]
        self.text += decode(chunk.encode("utf-8")) if "\r" in chunk or "\x00" in chunk else chunk
        if "\x1b" in chunk:
            self.text = _ANSI.sub("", self.text)
        if "\x08" in chunk:
            self.text = _ERASE.sub("", self.text)
        if self._more_prompt.search(self.text[-60:]):
            self.text = self._more_prompt.sub("", self.text)
            return True
        return False

    def finish(self) -> str:
        return _LONE_BACKSPACE.sub("", self.text)


class PromptShell:
    """A CLI session driven line by line. Not thread-safe: one per connection."""

    def __init__(
        self,
        channel: ChannelLike,
        *,
        prompt: re.Pattern[str],
        more: re.Pattern[str],
        target: str,
        max_output: int,
    ) -> None:
        self._chan = channel
        self._prompt_rule = prompt
        self._more = more
        self._target = target
        self._max = max_output
        self.prompt: str | None = None

    def start(self, setup: Sequence[Command], timeout: float) -> None:
        """Wait for the first prompt (pressing Enter once if none comes), learn it, then send
        the setup commands (paging off)."""
        self._read_capped(
            timeout, "the first prompt", learn=True, nudge_after=min(2.0, timeout / 2)
        )
        for cmd in setup:
            self._send(cmd.run + "\n")
            self._read(timeout, cmd.label)

    def run(self, cmd: Command, timeout: float) -> CommandOutput:
        self._send(cmd.run + "\n")
        raw, truncated = self._read_capped(timeout, cmd.label)
        text = self._strip(raw, cmd.run)
        status = 1 if _INVALID.search(text) else None
        return CommandOutput(text=text, exit_status=status, truncated=truncated)

    # -- internals ---------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        try:
            self._chan.send(text.encode("utf-8"))
        except OSError as exc:
            raise ConnectError(
                f"{self._target}: the shell closed: {exc}", target=self._target
            ) from exc

    def _read(self, timeout: float, what: str, *, learn: bool = False) -> str:
        return self._read_capped(timeout, what, learn=learn)[0]

    def _read_capped(
        self, timeout: float, what: str, *, learn: bool = False, nudge_after: float | None = None
    ) -> tuple[str, bool]:
        start = time.monotonic()
        deadline = start + timeout
        screen = _Screen(self._more)
        while True:
            if nudge_after is not None and time.monotonic() - start >= nudge_after:
                self._send("\n")
                nudge_after = None
            left = deadline - time.monotonic()
            if left <= 0:
                raise CollectTimeout(
                    f"{self._target}: no prompt after {what!r} within {timeout:g}s "
                    f"(last output: {screen.text[-80:]!r}); the shell was closed",
                    target=self._target,
                )
            self._chan.settimeout(min(left, 0.5))
            try:
                data = self._chan.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise ConnectError(
                    f"{self._target}: shell read failed: {exc}", target=self._target
                ) from exc
            if not data:
                raise ConnectError(
                    f"{self._target}: the device closed the shell while running {what!r}",
                    target=self._target,
                )
            if screen.feed(data):
                self._send(" ")
                continue
            if screen.size > self._max:
                return screen.finish(), True
            if self._at_prompt(screen.text, learn):
                return screen.finish(), False

    def _at_prompt(self, buf: str, learn: bool) -> bool:
        last = buf.rsplit("\n", 1)[-1]
        if self.prompt is not None:
            return last.rstrip() == self.prompt
        match = self._prompt_rule.search(last)
        if match and learn:
            self.prompt = last.rstrip()
            return True
        return False

    def _strip(self, raw: str, command: str) -> str:
        lines = raw.split("\n")
        if lines and command.strip() in lines[0]:
            lines = lines[1:]
        if lines and self.prompt is not None and lines[-1].rstrip() == self.prompt:
            lines = lines[:-1]
        return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"
