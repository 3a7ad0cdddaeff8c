"""The fixed, read-only allow-list of SSH commands per platform (``config/ssh/commands.yaml``).

Only :attr:`Command.run` strings from this list are ever sent. Detection rules map text a device
printed to a platform *name*; the name selects a list; nothing a device printed is ever put into
a command string.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from collectors.datadir import data_path, load_yaml

FAMILIES = ("linux", "cisco", "windows")
MODES = ("exec", "auto")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    run: str  # the exact string sent to the device

    @property
    def label(self) -> str:
        """A short name for messages: the command itself when it is one line, else its name."""
        first = self.run.strip()
        return first if "\n" not in first and len(first) <= 60 else f"{self.name} script"


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    family: str
    mode: str
    parallel: int
    textfsm: str | None
    shell_setup: tuple[Command, ...]
    commands: tuple[Command, ...]

    def command(self, name: str) -> Command:
        for cmd in self.commands:
            if cmd.name == name:
                return cmd
        raise KeyError(f"platform {self.name} has no command named {name!r}")


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    platform: str | None = None
    family: str | None = None


@dataclass(frozen=True, slots=True)
class AllowList:
    platforms: Mapping[str, Platform]
    banner_rules: tuple[Rule, ...]
    probe: Command
    probe_rules: tuple[Rule, ...]
    cisco_probe: Command
    cisco_setup: tuple[Command, ...]
    cisco_rules: tuple[Rule, ...]
    prompt: re.Pattern[str]
    more: re.Pattern[str]

    def platform(self, name: str) -> Platform:
        try:
            return self.platforms[name]
        except KeyError:
            known = ", ".join(sorted(self.platforms))
            raise ValueError(f"unknown SSH platform {name!r}; use one of: {known}") from None

    def all_commands(self) -> frozenset[str]:
        """Every string the collector may ever send."""
        sent = {self.probe.run, self.cisco_probe.run, *(c.run for c in self.cisco_setup)}
        for plat in self.platforms.values():
            sent.update(c.run for c in plat.commands)
            sent.update(c.run for c in plat.shell_setup)
        return frozenset(sent)


def encode_powershell(script: str) -> str:
    """The command line that runs ``script`` under PowerShell whatever the login shell is."""
    encoded = base64.b64encode(script.strip().encode("utf-16-le")).decode("ascii")
    return f"powershell -NoProfile -NonInteractive -EncodedCommand {encoded}"


@cache
def load_allow_list(path: Path | None = None) -> AllowList:
    """Load and check the allow-list; every problem is listed at once."""
    source = path or data_path("ssh", "commands.yaml")
    try:
        doc = load_yaml(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the SSH command allow-list {source}: {exc}") from exc
    problems: list[str] = []
    allow = _build(doc if isinstance(doc, dict) else {}, problems)
    if problems or allow is None:
        raise ValueError(f"{source} is not a valid SSH allow-list: " + "; ".join(problems))
    return allow


def _build(doc: Mapping[str, Any], problems: list[str]) -> AllowList | None:
    platforms: dict[str, Platform] = {}
    for name, spec in (doc.get("platforms") or {}).items():
        plat = _platform(str(name), spec if isinstance(spec, dict) else {}, problems)
        if plat is not None:
            platforms[plat.name] = plat
    if not platforms:
        problems.append("no platforms")
    detect = doc.get("detect") or {}
    shell = doc.get("shell") or {}
    banner = _rules("detect.banner", detect.get("banner") or [], platforms, problems)
    probe_spec = detect.get("probe") or {}
    cisco_spec = detect.get("cisco") or {}
    probe_rules = _rules("detect.probe", probe_spec.get("rules") or [], platforms, problems)
    cisco_rules = _rules("detect.cisco", cisco_spec.get("rules") or [], platforms, problems)
    probe_cmd = probe_spec.get("command")
    cisco_cmd = cisco_spec.get("command")
    if not isinstance(probe_cmd, str) or not isinstance(cisco_cmd, str):
        problems.append("detect.probe.command and detect.cisco.command must be strings")
        return None
    prompt = _regex("shell.prompt", shell.get("prompt"), problems)
    more = _regex("shell.more", shell.get("more"), problems)
    if prompt is None or more is None or problems:
        return None
    return AllowList(
        platforms=platforms,
        banner_rules=banner,
        probe=Command("probe", probe_cmd),
        probe_rules=probe_rules,
        cisco_probe=Command("version", cisco_cmd),
        cisco_setup=tuple(Command("setup", str(c)) for c in cisco_spec.get("shell_setup") or []),
        cisco_rules=cisco_rules,
        prompt=prompt,
        more=more,
    )


def _platform(name: str, spec: Mapping[str, Any], problems: list[str]) -> Platform | None:
    where = f"platforms.{name}"
    family = spec.get("family")
    mode = spec.get("mode", "exec")
    parallel = spec.get("parallel", 1)
    if family not in FAMILIES:
        problems.append(f"{where}.family must be one of {', '.join(FAMILIES)}")
    if mode not in MODES:
        problems.append(f"{where}.mode must be one of {', '.join(MODES)}")
    if not isinstance(parallel, int) or not 1 <= parallel <= 8:
        problems.append(f"{where}.parallel must be a whole number from 1 to 8")
    commands: list[Command] = []
    for cname, body in (spec.get("commands") or {}).items():
        if isinstance(body, str) and body.strip():
            commands.append(Command(str(cname), body.strip() if "\n" not in body.strip() else body))
        elif isinstance(body, dict) and isinstance(body.get("powershell"), str):
            commands.append(Command(str(cname), encode_powershell(body["powershell"])))
        else:
            problems.append(f"{where}.commands.{cname} must be a command string or powershell:")
    if not commands:
        problems.append(f"{where}.commands is empty")
    setup = tuple(Command("setup", str(s)) for s in spec.get("shell_setup") or [])
    textfsm = spec.get("textfsm")
    if family == "cisco" and not isinstance(textfsm, str):
        problems.append(f"{where}.textfsm must name an ntc-templates platform")
    if problems and any(p.startswith(where) for p in problems):
        return None
    return Platform(
        name=name,
        family=str(family),
        mode=str(mode),
        parallel=int(parallel),
        textfsm=str(textfsm) if textfsm else None,
        shell_setup=setup,
        commands=tuple(commands),
    )


def _rules(
    where: str, specs: list[Any], platforms: Mapping[str, Platform], problems: list[str]
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            problems.append(f"{where}[{i}] must be a mapping")
            continue
        pattern = _regex(f"{where}[{i}].pattern", spec.get("pattern"), problems)
        plat, family = spec.get("platform"), spec.get("family")
        if plat is not None and plat not in platforms:
            problems.append(f"{where}[{i}].platform {plat!r} is not a listed platform")
        if family is not None and family not in FAMILIES:
            problems.append(f"{where}[{i}].family {family!r} is unknown")
        if (plat is None) == (family is None):
            problems.append(f"{where}[{i}] needs exactly one of platform or family")
        if pattern is not None:
            rules.append(Rule(pattern, plat, family))
    return tuple(rules)


def _regex(where: str, text: object, problems: list[str]) -> re.Pattern[str] | None:
    if not isinstance(text, str):
        problems.append(f"{where} must be a regular expression string")
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        problems.append(f"{where} is not a valid regular expression: {exc}")
        return None
