"""Container files, checked structurally (no container engine runs here): the Containerfile's
instructions and COPY sources, its build-context ignore file, and the compose example's
services, mounts and their agreement with the Prometheus and Grafana files they mount."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO

CONTAINERFILE = DEPLOY / "container" / "Containerfile"
IGNORE = DEPLOY / "container" / "Containerfile.dockerignore"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, args = line.partition(" ")
        out.append((word.upper(), args.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            out.append([])
        out[-1].append(ins)
    return out


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's ignore-file rule: the last matching pattern wins; "!" re-includes."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        parts = PurePosixPath(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatchcase(p, pat)
            or (pat == "**")
            or fnmatch.fnmatchcase(p, pat.replace("**/", "*/"))
            for p in prefixes
        ):
            result = not negate
    return result


def test_containerfile() -> None:
    text = CONTAINERFILE.read_text()
    build, final = stages(text)
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    assert final[0][1].split()[0] == "python:3.11-slim"

    user = [a for i, a in final if i == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8470") in final
    health = next(a for i, a in final if i == "HEALTHCHECK")
    assert "/healthz" in health and "8470" in health
    entry = json.loads(next(a for i, a in final if i == "ENTRYPOINT"))
    assert entry == ["cloudward", "run"]
    cmd = json.loads(next(a for i, a in final if i == "CMD"))
    assert cmd[cmd.index("--config") + 1] == "/etc/cloudward/cloudward.yaml"
    assert "--listen" in cmd and cmd[cmd.index("--listen") + 1].endswith(":8470")
    # The project is installed (pip install .) in the build stage and the venv copied over.
    assert any(i == "RUN" and "pip install ." in a for i, a in build)
    assert any(i == "COPY" and a.startswith("--from=build /opt/cloudward/venv") for i, a in final)


def build_inputs() -> set[str]:
    """What ``pip install .`` reads from the build context, from pyproject.toml: the file
    itself, its readme and licence files, and the top-level folder of every package (config/
    installs as cloudward_data through package-dir)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    setuptools_cfg = project["tool"]["setuptools"]
    package_dir = setuptools_cfg.get("package-dir", {})
    folders = set()
    for package in setuptools_cfg["packages"]:
        top = package.split(".")[0]
        folders.add(package_dir.get(top, top))
    meta = project["project"]
    return {"pyproject.toml", meta["readme"], *meta.get("license-files", []), *folders}


def test_containerfile_copy_sources_exist_and_are_not_ignored() -> None:
    patterns = [
        line.strip()
        for line in IGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    build, final = stages(CONTAINERFILE.read_text())
    sources = []
    for ins, args in build:
        if ins != "COPY":
            continue
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources.extend(words[:-1])
    needed = build_inputs()
    assert {"agent", "collectors", "planner", "simulator", "config"} <= needed
    missing = needed - set(sources)
    assert not missing, f"the build stage does not COPY {sorted(missing)}, which pip install needs"
    # The final stage takes the installed venv only: the data files are inside it (the package
    # cloudward_data), not copied beside it by hand.
    final_copies = [a for i, a in final if i in ("COPY", "ADD")]
    assert final_copies and all(a.startswith("--from=build ") for a in final_copies)
    assert "share/cloudward" not in CONTAINERFILE.read_text()
    for src in sources:
        assert (REPO / src).exists(), f"COPY source {src} does not exist in the build context"
        assert not ignored(src, patterns), f"COPY source {src} is excluded by {IGNORE.name}"
        for child in (REPO / src).rglob("*.py") if (REPO / src).is_dir() else ():
            rel = child.relative_to(REPO).as_posix()
            assert not ignored(rel, patterns), f"{rel} is excluded by {IGNORE.name}"
    # Caches and local databases stay out of the image.
    assert ignored("agent/__pycache__/x.pyc", patterns)
    assert ignored("tests/test_x.py", patterns)
    assert ignored(".venv/bin/python", patterns)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host source, container target) of the service's bind mounts (named volumes left out)."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            if v.get("type") == "bind":
                out.append((v["source"], v["target"]))
            continue
        source, target = v.split(":")[:2]
        if source.startswith((".", "/")):
            out.append((source, target))
    return out


def test_compose_services_and_mounted_files(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"cloudward", "prometheus", "grafana"} <= set(services)
    build = services["cloudward"]["build"]
    context = (COMPOSE_DIR / build["context"]).resolve()
    assert context == REPO.resolve()
    assert (context / build["dockerfile"]).resolve() == CONTAINERFILE.resolve()

    readme = (COMPOSE_DIR / "README.md").read_text()
    for name, service in services.items():
        for source, _ in bind_mounts(service):
            path = COMPOSE_DIR / source
            if source.startswith("./secrets/"):
                # Created per host, never shipped: the README must say how.
                assert path.name in readme, f"{name}: README does not explain {source}"
                continue
            assert path.exists(), f"service {name} mounts {source}, which does not exist"
    for name, volume in compose.get("volumes", {}).items():
        assert volume is None or isinstance(volume, dict), name


def test_compose_prometheus_paths_agree_with_its_configuration(compose: dict[str, Any]) -> None:
    prom = compose["services"]["prometheus"]
    config_flag = next(a for a in prom["command"] if a.startswith("--config.file="))
    config_in_container = PurePosixPath(config_flag.split("=", 1)[1])
    mounts = {PurePosixPath(t): (COMPOSE_DIR / s).resolve() for s, t in bind_mounts(prom)}
    assert mounts[config_in_container] == (DEPLOY / "prometheus" / "prometheus.yml").resolve()
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    # Relative paths in the configuration resolve beside it in the container.
    for rule_file in cfg["rule_files"]:
        target = config_in_container.parent / rule_file
        assert target in mounts, f"rule file {rule_file} is not mounted at {target}"
        assert mounts[target].exists()
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "cloudward")
    token = config_in_container.parent / job["authorization"]["credentials_file"]
    assert token in mounts, f"the token file is not mounted at {token}"
    # The scrape target is the cloudward service on the port it exposes.
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert "cloudward:8470" in targets
    env = compose["services"]["cloudward"]["environment"]
    cloudward_cfg = yaml.safe_load((COMPOSE_DIR / "cloudward.yaml").read_text())
    assert cloudward_cfg["api"]["token"]["env"] in env
    assert cloudward_cfg["api"]["listen"].endswith(":8470")


def test_compose_grafana_provisioning(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {PurePosixPath(t): (COMPOSE_DIR / s).resolve() for s, t in bind_mounts(grafana)}
    prov = PurePosixPath("/etc/grafana/provisioning")
    assert mounts[prov / "datasources"] == (DEPLOY / "grafana/provisioning/datasources").resolve()
    assert mounts[prov / "dashboards"] == (DEPLOY / "grafana/provisioning/dashboards").resolve()

    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/cloudward.yaml").read_text())
    source = ds["datasources"][0]
    assert source["type"] == "prometheus"
    m = re.fullmatch(r"http://([\w-]+):(\d+)", source["url"])
    assert m and m.group(1) in compose["services"] and m.group(1) == "prometheus"

    dash = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/cloudward.yaml").read_text())
    folder = PurePosixPath(dash["providers"][0]["options"]["path"])
    dashboards = [t for t, s in mounts.items() if s.suffix == ".json"]
    assert dashboards and all(folder in t.parents for t in dashboards)
    assert mounts[dashboards[0]] == (DEPLOY / "grafana" / "cloudward-dashboard.json").resolve()


def test_ignore_matcher_is_not_vacuous() -> None:
    assert ignored("a/b.py", ["**"]) and not ignored("a/b.py", ["**", "!a/"])
    assert ignored("a/__pycache__/x.pyc", ["**", "!a/", "**/__pycache__"])
    assert not ignored("x.py", ["y/"])


def test_compose_file_has_no_absolute_host_paths(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for source, _ in bind_mounts(service):
            assert not Path(source).is_absolute(), f"{name}: {source}"
