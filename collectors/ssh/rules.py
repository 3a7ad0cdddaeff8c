"""Naming rules for SSH facts, loaded from ``config/ssh/identity.yaml`` (data, not code)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from collectors.datadir import data_path, load_yaml


@dataclass(frozen=True, slots=True)
class IdentityRules:
    os_names: Mapping[str, str]
    placeholders: frozenset[str]
    vendors: tuple[tuple[re.Pattern[str], str], ...]
    hypervisor_kernels: frozenset[str]
    hypervisor_packages: frozenset[str]
    pseudo_filesystems: frozenset[str]
    network_filesystems: frozenset[str]
    cisco_models: tuple[tuple[re.Pattern[str], str], ...]
    cisco_fallback: tuple[tuple[re.Pattern[str], str], ...]

    def os_name(self, os_id: str | None, name: str | None) -> str | None:
        if os_id and os_id.lower() in self.os_names:
            return self.os_names[os_id.lower()]
        return name or None

    def clean(self, value: str | None) -> str | None:
        """A DMI/inventory string, or None when it is empty or a placeholder."""
        if value is None:
            return None
        value = value.strip()
        if value.startswith("!") or value in self.placeholders:
            return None
        return value

    def vendor(self, raw: str | None) -> str | None:
        raw = self.clean(raw)
        if raw is None:
            return None
        for pattern, vendor in self.vendors:
            if pattern.search(raw):
                return vendor
        return raw

    def is_hypervisor(self, kernel_name: str | None, packages: Iterable[str]) -> str | None:
        """Evidence that this host runs VMs for others, or None."""
        if kernel_name in self.hypervisor_kernels:
            return f"kernel {kernel_name}"
        found = sorted(self.hypervisor_packages.intersection(packages))
        return f"package {found[0]} installed" if found else None

    def cisco_class(self, model: str | None, version_text: str) -> tuple[str, str]:
        """(device class, evidence) for a Cisco box."""
        if model:
            for pattern, klass in self.cisco_models:
                if pattern.search(model):
                    return klass, f"model {model} matches {pattern.pattern!r}"
        for pattern, klass in self.cisco_fallback:
            if pattern.search(version_text):
                return klass, f"show version matches {pattern.pattern!r}"
        return "router", "default for Cisco IOS"


@cache
def load_identity_rules(path: Path | None = None) -> IdentityRules:
    source = path or data_path("ssh", "identity.yaml")
    try:
        doc: dict[str, Any] = load_yaml(source.read_text(encoding="utf-8")) or {}
        return IdentityRules(
            os_names={str(k).lower(): str(v) for k, v in (doc.get("os_names") or {}).items()},
            placeholders=frozenset(str(p) for p in doc.get("placeholders") or []),
            vendors=_pairs(doc.get("vendors"), "vendor", re.IGNORECASE),
            hypervisor_kernels=frozenset((doc.get("hypervisor") or {}).get("kernels") or []),
            hypervisor_packages=frozenset((doc.get("hypervisor") or {}).get("packages") or []),
            pseudo_filesystems=frozenset(doc.get("pseudo_filesystems") or []),
            network_filesystems=frozenset(doc.get("network_filesystems") or []),
            cisco_models=_pairs(doc.get("cisco_models"), "class", 0),
            cisco_fallback=_pairs(doc.get("cisco_fallback"), "class", 0),
        )
    except (OSError, yaml.YAMLError, re.error, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{source} is not a valid SSH identity rule file: {exc}") from exc


def _pairs(rows: Any, key: str, flags: int) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(str(row["pattern"]), flags), str(row[key])) for row in rows or [])
