"""Fixtures for the deploy/ files: the dashboard, the alert rules, and the series a real
cloudward registry exports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.exposition import Exported, exported, sample_agent

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "cloudward-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "cloudward-alerts.yml"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def alert_rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def exposition() -> Exported:
    """Series names and labels from a scrape of the agent's own registry."""
    return exported(sample_agent(time.time()).scrape().decode())
