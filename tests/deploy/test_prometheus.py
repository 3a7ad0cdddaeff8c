"""The Prometheus scrape configuration and alert rules: promtool checks, promtool unit tests of
every alert, and a real Prometheus server scraping a token-protected exposition of the agent's
registry with the shipped configuration, evaluating every dashboard expression and the rules."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ALERTS, SCRAPE_CONFIG
from tests.deploy.exposition import STALE_TARGET, Exported, SampleAgent, sample_agent
from tests.deploy.promql import dashboard_queries, problems, rule_queries
from tests.peers import free_port, need_binary, stop, tcp_open, wait_for

pytestmark = pytest.mark.peer

DATA = Path(__file__).parent / "data"
TOKEN = "scrape-token-4f1b2c3d5e6a7b8c9d0e"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def scrape_config_dir(tmp: Path, token: str | None = TOKEN) -> Path:
    """The shipped scrape configuration and rules in a directory of their own, with a token
    file where its relative credentials_file points."""
    shutil.copy(SCRAPE_CONFIG, tmp / "prometheus.yml")
    shutil.copy(ALERTS, tmp / ALERTS.name)
    if token is not None:
        (tmp / "cloudward-api-token").write_text(token + "\n")
    return tmp / "prometheus.yml"


def test_scrape_config_passes_promtool(tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    cfg = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert cfg["global"]["scrape_interval"] == "60s"
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "cloudward")
    assert job["authorization"]["type"] == "Bearer"
    assert not Path(job["authorization"]["credentials_file"]).is_absolute()
    assert cfg["rule_files"] == [ALERTS.name]

    r = run(promtool, "check", "config", str(scrape_config_dir(tmp_path)))
    assert r.returncode == 0, r.stdout + r.stderr
    shipped = yaml.safe_load(ALERTS.read_text())
    count = sum(len(g["rules"]) for g in shipped["groups"])
    assert count >= 6 and f"SUCCESS: {count} rules found" in r.stdout

    # Without the token file the check fails, naming it: the file really is read.
    (tmp_path / "cloudward-api-token").unlink()
    r = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert r.returncode != 0 and "cloudward-api-token" in r.stdout + r.stderr


def test_alert_rules_pass_promtool_and_are_complete(
    alert_rules: dict[str, Any], exposition: Exported
) -> None:
    promtool = need_binary("promtool")
    r = run(promtool, "check", "rules", str(ALERTS))
    assert r.returncode == 0, r.stdout + r.stderr
    rules = [rule for g in alert_rules["groups"] for rule in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "CloudwardDown",
        "CloudwardTargetNotPolled",
        "CloudwardNewAssetPastEndOfSupport",
        "CloudwardPollErrorRatioHigh",
        "CloudwardPlanStale",
        "CloudwardPollTargetsOverdue",
    }
    for rule in rules:
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        for key in ("summary", "description", "runbook"):
            assert len(rule["annotations"][key]) > 20, (rule["alert"], key)
    assert problems(rule_queries(alert_rules), exposition, frozenset()) == []


def unit_test_dir(tmp: Path, rules: dict[str, Any]) -> Path:
    """The rules without annotations (the unit tests name labels only) beside the tests."""
    stripped = json.loads(json.dumps(rules))
    for group in stripped["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp / "rules.yml").write_text(yaml.safe_dump(stripped, sort_keys=False))
    shutil.copy(DATA / "alerts.test.yml", tmp / "alerts.test.yml")
    return tmp / "alerts.test.yml"


def test_alert_rules_unit_tests(alert_rules: dict[str, Any], tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    r = run(promtool, "test", "rules", str(unit_test_dir(tmp_path, alert_rules)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_alert_unit_tests_catch_a_wrong_rule(alert_rules: dict[str, Any], tmp_path: Path) -> None:
    """increase() on the past-end-of-support gauge would read a retired asset as a new one:
    the unit tests must say so."""
    promtool = need_binary("promtool")
    wrong = json.loads(json.dumps(alert_rules))
    for rule in wrong["groups"][0]["rules"]:
        if rule["alert"] == "CloudwardNewAssetPastEndOfSupport":
            rule["expr"] = "increase(cloudward_lifecycle_assets_past_end_of_support[1h]) > 0"
    r = run(promtool, "test", "rules", str(unit_test_dir(tmp_path, wrong)))
    assert r.returncode != 0
    assert 'site="town-hall"' in r.stdout + r.stderr


# --- a real Prometheus server --------------------------------------------------------------


class Exposition(http.server.ThreadingHTTPServer):
    """Serves the agent registry on /metrics behind a bearer token, like the agent's API; each
    scrape records another failed and successful poll so that counters move."""

    daemon_threads = True

    def __init__(self, port: int, agent: SampleAgent, token: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.agent = agent
        self.token = token
        self.scrapes = 0
        self.refused = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Exposition

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self.server.refused += 1
            self.send_response(401)
            self.end_headers()
            return
        now = time.time()
        live = self.server.agent.live
        live.observe("snmp", "snmp://10.20.0.9:161", False, 1.5, 0, "timeout", now)
        live.observe("snmp", "snmp://10.10.0.1:161", True, 0.4, 800, None, now)
        body = self.server.agent.scrape()
        self.server.scrapes += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def exposition_server() -> Iterator[Exposition]:
    server = Exposition(free_port(), sample_agent(time.time()), TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class PromAPI:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def query(self, expr: str) -> Any:
        return self.get("/api/v1/query", query=expr)

    def ready(self) -> bool:
        """Prometheus answers 503 until its storage is open, though its port is already open."""
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False


@pytest.fixture()
def prometheus(tmp_path: Path, exposition_server: Exposition) -> Iterator[PromAPI]:
    binary = need_binary("prometheus")
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    path = scrape_config_dir(conf_dir)
    cfg = yaml.safe_load(path.read_text())
    cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "cloudward")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{exposition_server.server_port}"]}]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: tcp_open(port), 30, "prometheus")
        api = PromAPI(port)
        wait_for(api.ready, 60, "prometheus ready (/-/ready)")

        def scraped_thrice() -> bool:
            res = api.query('count_over_time(up{job="cloudward"}[1m])')["data"]["result"]
            return bool(res) and float(res[0]["value"][1]) >= 3

        try:
            wait_for(scraped_thrice, 60, "three scrapes of the exposition")
        except TimeoutError:
            targets = api.get("/api/v1/targets")
            raise AssertionError(f"prometheus did not scrape: {targets}") from None
        yield api
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
def test_prometheus_scrapes_with_the_token_and_evaluates_everything(
    prometheus: PromAPI, exposition_server: Exposition, dashboard: dict[str, Any]
) -> None:
    up = prometheus.query('up{job="cloudward"}')["data"]["result"]
    assert [float(s["value"][1]) for s in up] == [1.0], "the bearer token was not accepted"
    assert exposition_server.refused == 0

    failures = []
    for q in dashboard_queries(dashboard):
        answer = prometheus.query(q.expr)
        if answer.get("status") != "success":
            failures.append(f"{q.where}: {answer.get('error')}")
        elif not answer["data"]["result"]:
            failures.append(f"{q.where}: no data for {q.expr}")
    assert failures == []

    # Every rule loads and evaluates cleanly on real series.
    def rules_evaluated() -> bool:
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return bool(rules) and all(
            not r.get("lastEvaluation", "0001").startswith("0001") for r in rules
        )

    wait_for(rules_evaluated, 30, "a rule evaluation")
    groups = prometheus.get("/api/v1/rules")["data"]["groups"]
    health = {r["name"]: (r["health"], r.get("lastError", "")) for g in groups for r in g["rules"]}
    assert all(h == "ok" for h, _ in health.values()), health

    # The one target whose last success is ten days old is the one alert about stale targets.
    def stale_alert() -> list[dict[str, Any]]:
        alerts = prometheus.get("/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "CloudwardTargetNotPolled"]

    wait_for(lambda: bool(stale_alert()), 30, "the stale-target alert")
    assert [a["labels"]["target"] for a in stale_alert()] == [STALE_TARGET]
    assert stale_alert()[0]["state"] == "pending"  # for: 10m
