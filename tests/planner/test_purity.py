"""The planner is pure: no imports of the agent or collectors, no I/O, clock or logging."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = {
    "agent",
    "collectors",
    "logging",
    "os",
    "pathlib",
    "socket",
    "subprocess",
    "time",
    "requests",
    "httpx",
    "urllib",
    "shutil",
    "tempfile",
}
FORBIDDEN_CALLS = {"open", "print", "input"}
FORBIDDEN_ATTRS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("random", "random"),
    ("random", "seed"),
}


def test_planner_modules_stay_pure() -> None:
    problems = []
    for path in sorted((ROOT / "planner").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    if name.split(".")[0] in FORBIDDEN_MODULES:
                        problems.append(f"{path.name}:{node.lineno} imports {name}")
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                    problems.append(f"{path.name}:{node.lineno} calls {func.id}()")
                if (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and (func.value.id, func.attr) in FORBIDDEN_ATTRS
                ):
                    problems.append(
                        f"{path.name}:{node.lineno} calls {func.value.id}.{func.attr}()"
                    )
    assert not problems, "\n".join(problems)


def test_modules_stay_small() -> None:
    for path in sorted((ROOT / "planner").glob("*.py")):
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.name} has {lines} lines: split it"


def test_planner_and_collectors_name_the_same_device_classes() -> None:
    """The planner keeps its own copy (it imports nothing of the collectors): the two must
    not drift apart, or a class the collectors report would be refused by the planner."""
    from collectors.facts import DEVICE_CLASSES as COLLECTED
    from planner.model import DEVICE_CLASSES as PLANNED

    assert PLANNED == COLLECTED
