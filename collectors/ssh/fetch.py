"""Fetching: pick the platform, run its allow-listed commands, return raw output.

Detection looks at the SSH banner, then at what a fixed probe command printed, and maps it to a
platform *name* by the rules in ``config/ssh/commands.yaml``; the name selects a list. Device
output is matched against rules but never put into a command.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from collectors.errors import ConnectError, ProtocolError
from collectors.ssh.commands import AllowList, Command, Platform, Rule
from collectors.ssh.output import CommandOutput

log = logging.getLogger(__name__)


class Session(Protocol):
    """What fetching needs from a connection (the client's SshSession, or a fake in tests)."""

    @property
    def banner(self) -> str: ...

    def run_exec(
        self, commands: Sequence[Command], timeout: float, parallel: int = 1
    ) -> dict[str, CommandOutput]: ...

    def run_shell(
        self,
        commands: Sequence[Command],
        *,
        setup: Sequence[Command],
        prompt_rule: re.Pattern[str],
        more_rule: re.Pattern[str],
        timeout: float,
    ) -> dict[str, CommandOutput]: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    platform: Platform
    raw: dict[str, CommandOutput]  # command name -> output
    evidence: str  # how the platform was chosen
    used_shell: bool = False


@dataclass
class _Runner:
    session: Session
    allow: AllowList
    timeout: float
    target: str
    shell: bool = False
    setup: tuple[Command, ...] = field(default_factory=tuple)

    def run(
        self, commands: Sequence[Command], mode: str, parallel: int
    ) -> dict[str, CommandOutput]:
        if not commands:
            return {}
        if self.shell:
            return self._shell(commands)
        if mode == "exec":
            return self.session.run_exec(commands, self.timeout, parallel)
        # auto: exec first; an interactive shell when the device refuses exec channels
        try:
            first = self.session.run_exec(commands[:1], self.timeout)
        except ConnectError as exc:
            log.info("%s: exec channel failed (%s); using an interactive shell", self.target, exc)
            return self._shell(commands)
        if first[commands[0].name].refused:
            log.info("%s: exec refused; using an interactive shell", self.target)
            return self._shell(commands)
        try:
            rest = self.session.run_exec(commands[1:], self.timeout, parallel)
        except ConnectError:
            return {**first, **self._shell(commands[1:])}
        refused = [c for c in commands[1:] if rest[c.name].refused]
        return {**first, **rest, **(self._shell(refused) if refused else {})}

    def _shell(self, commands: Sequence[Command]) -> dict[str, CommandOutput]:
        self.shell = True
        return self.session.run_shell(
            commands,
            setup=self.setup,
            prompt_rule=self.allow.prompt,
            more_rule=self.allow.more,
            timeout=self.timeout,
        )


def fetch_outputs(
    session: Session, allow: AllowList, platform: str | None, timeout: float, target: str
) -> Fetched:
    """Run the platform's allow-listed commands; detect the platform first when not given."""
    runner = _Runner(session, allow, timeout, target)
    seen: dict[str, CommandOutput] = {}
    if platform is not None:
        plat, how = allow.platform(platform), "platform configured for the target"
    else:
        plat, how = _detect(runner, seen)
    if not runner.shell:
        runner.setup = plat.shell_setup
    reused = {c.name: seen[c.run] for c in plat.commands if c.run in seen}
    todo = [c for c in plat.commands if c.name not in reused]
    raw = {**reused, **runner.run(todo, plat.mode, plat.parallel)}
    return Fetched(plat, raw, how, runner.shell)


def _detect(runner: _Runner, seen: dict[str, CommandOutput]) -> tuple[Platform, str]:
    allow = runner.allow
    banner = runner.session.banner
    rule = _first(allow.banner_rules, banner)
    if rule is not None and rule.platform is not None:
        return allow.platform(rule.platform), f"SSH banner {banner!r}"
    if rule is None:  # the banner does not say: ask as if it were a Unix shell
        found = _probe_unix(runner, seen)
        if found is not None:
            return found
    return _probe_network_device(runner, seen)


def _probe_unix(runner: _Runner, seen: dict[str, CommandOutput]) -> tuple[Platform, str] | None:
    """The platform from the fixed probe command; None when the answer is a network CLI's."""
    allow, label = runner.allow, runner.target
    probe = runner.run([allow.probe], "exec", 1)[allow.probe.name]
    seen[allow.probe.run] = probe
    if probe.refused:  # no exec channels: a network device's CLI
        return None
    answer = f"{probe.text}\n{probe.stderr}"
    rule = _first(allow.probe_rules, answer)
    if rule is None:
        raise ProtocolError(
            f"{label}: cannot tell the platform from {allow.probe.run!r} (it answered "
            f"{_snippet(answer)}); set the target's platform to one of "
            f"{', '.join(sorted(allow.platforms))}",
            target=label,
        )
    if rule.platform is None:
        return None
    return allow.platform(rule.platform), f"{allow.probe.run!r} answered {_snippet(answer)}"


def _probe_network_device(runner: _Runner, seen: dict[str, CommandOutput]) -> tuple[Platform, str]:
    """`show version` tells which OS (over exec, or in a shell when exec is refused)."""
    allow, label = runner.allow, runner.target
    runner.setup = allow.cisco_setup
    version = runner.run([allow.cisco_probe], "auto", 1)[allow.cisco_probe.name]
    seen[allow.cisco_probe.run] = version
    rule = _first(allow.cisco_rules, version.text)
    if rule is None or rule.platform is None:
        raise ProtocolError(
            f"{label}: looks like a network device but {allow.cisco_probe.run!r} answered "
            f"{_snippet(version.text)}; set the target's platform to one of "
            f"{', '.join(sorted(allow.platforms))}",
            target=label,
        )
    why = f"{allow.cisco_probe.run!r} mentions {rule.pattern.pattern!r}"
    return allow.platform(rule.platform), why


def _first(rules: Sequence[Rule], text: str) -> Rule | None:
    for rule in rules:
        if rule.pattern.search(text):
            return rule
    return None


def _snippet(text: str) -> str:
    """A short, printable excerpt of device output for messages."""
    flat = " ".join(text.split())
    return repr(flat[:60] + ("..." if len(flat) > 60 else "")) if flat else "nothing"
