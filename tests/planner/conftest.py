"""Shared fixtures: the shipped default settings and lifecycle catalogue, read from config/."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner import CATALOGUE_FILE, SETTINGS_FILES, Lifecycle, Settings, catalogue_from_mapping

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
DATA = ROOT / "tests" / "data"
SNAPSHOT = ROOT.parent / "shared" / "lifecycle" / "endoflife-date"
TODAY = date(2026, 9, 1)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def load_yaml(*parts: str) -> Any:
    return yaml.safe_load((CONFIG.joinpath(*parts)).read_text(encoding="utf-8"))


def default_mappings() -> dict[str, Any]:
    return {name: load_yaml(*parts) for name, parts in SETTINGS_FILES.items()}


@pytest.fixture(scope="session")
def mappings() -> dict[str, Any]:
    return default_mappings()


@pytest.fixture(scope="session")
def settings(mappings: dict[str, Any]) -> Settings:
    return Settings.from_mapping(mappings)


@pytest.fixture(scope="session")
def catalogue() -> Lifecycle:
    return catalogue_from_mapping(load_yaml(*CATALOGUE_FILE))


@pytest.fixture(scope="session")
def snapshot_dir() -> Path:
    if not SNAPSHOT.is_dir():
        if IN_CI:
            pytest.fail(f"lifecycle snapshot missing under CI=true: {SNAPSHOT}")
        pytest.skip(f"lifecycle snapshot not found at {SNAPSHOT}")
    return SNAPSHOT
