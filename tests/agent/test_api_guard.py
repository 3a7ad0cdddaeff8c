"""The HTTP surface against hostile and mistaken requests: paging values out of range,
wildcard characters in searches, wrong Host headers, and every page and endpoint without and
with credentials (bearer token, viewer token, sign-in cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.api.server import create_app
from agent.configuration.config_file import Settings
from agent.store import Store
from agent.telemetry.metrics import new_registry
from tests.web.estate import council_store

TOKEN = "guard-test-token-0123456789"
VIEWER = "guard-viewer-token-9876543210"
HUGE = ["9223372036854775808", "99999999999999999999", "-1", "10000001", "1e3", "abc"]
PAGED = ["/api/v1/assets", "/api/v1/poll-runs", "/api/v1/events", "/api/v1/plans", "/api/v1/debt"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s, _ = council_store(tmp_path_factory.mktemp("guard") / "cw.db")
    yield s
    s.close()


def app_for(store: Store, token: str | None, hosts: list[str] | None = None) -> Any:
    settings = Settings.model_validate({"api": {"hosts": hosts or []}})
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=settings, store=store, registry=registry)
    viewer = VIEWER if token else None
    return create_app(daemon, token=token, viewer_token=viewer, check_host=True)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def open_client(store: Store) -> TestClient:
    return TestClient(app_for(store, None), base_url="http://127.0.0.1:8470")


def get_paths(app: Any, asset_id: int) -> list[str]:
    """Every GET route of the application, with real values in its path parameters."""
    out = []
    for route, prefix in _routes(app.routes, ""):
        if "GET" not in getattr(route, "methods", set()):
            continue
        path = prefix + route.path.replace("{asset_id}", str(asset_id)).replace(
            "{name}", "swagger-ui.css"
        )
        assert "{" not in path, f"no test value for {route.path}"
        out.append(path)
    return sorted(set(out))


def _routes(routes: list[Any], prefix: str) -> Iterator[tuple[Any, str]]:
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:  # an included router (FastAPI keeps it whole)
            yield from _routes(router.routes, prefix + getattr(route, "prefix", ""))
        else:
            yield route, prefix


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("offset", HUGE)
def test_paging_out_of_range_is_422(open_client: TestClient, path: str, offset: str) -> None:
    r = open_client.get(f"{path}?offset={offset}")
    assert r.status_code == 422, r.text
    assert "offset" in r.text
    r = open_client.get(f"{path}?limit={offset}")
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "0", "-5"])
def test_asset_ids_out_of_range(open_client: TestClient, value: str) -> None:
    assert open_client.get(f"/api/v1/assets/{value}").status_code == 422
    page = open_client.get(f"/assets/{value}")
    assert page.status_code == 404 and "Traceback" not in page.text
    assert open_client.get("/assets/not-a-number").status_code == 422
    assert open_client.get(f"/api/v1/plan?id={value}").status_code == 422


def test_search_treats_wildcards_literally(open_client: TestClient, store: Store) -> None:
    every = open_client.get("/api/v1/assets?limit=1000").json()
    names = [a["name"] for a in every["items"]]
    for q in ("%", "_", "\\", "%_%", "fs_1", "f%1"):
        found = open_client.get("/api/v1/assets", params={"q": q, "limit": 1000}).json()
        expected = sorted(n for n in names if q.lower() in n.lower())
        assert sorted(a["name"] for a in found["items"]) == expected, q
        assert found["total"] == len(expected)
    assert open_client.get("/api/v1/assets", params={"q": "fs0"}).json()["total"] >= 1


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8470", "127.0.0.1.evil.example", "10.0.0.1", ""]
)
def test_wrong_host_is_refused_without_a_token(store: Store, host: str) -> None:
    client = TestClient(app_for(store, None), base_url="http://127.0.0.1:8470")
    for path in ("/", "/api/v1/assets", "/metrics", "/api/docs"):
        r = client.get(path, headers={"host": host})
        assert r.status_code == 421, (path, host)
        assert "api.hosts" in r.json()["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1:8470", "localhost", "[::1]:8470", "127.0.0.2"])
def test_loopback_hosts_are_accepted(open_client: TestClient, host: str) -> None:
    assert open_client.get("/api/v1/assets?limit=1", headers={"host": host}).status_code == 200


def test_configured_host_names_are_accepted(store: Store) -> None:
    client = TestClient(app_for(store, TOKEN, ["cloudward.council.example"]))
    auth = {"authorization": f"Bearer {TOKEN}"}
    named = {"host": "cloudward.council.example:8470", **auth}
    assert client.get("/api/v1/assets?limit=1", headers=named).status_code == 200
    other = {"host": "rebound.example", **auth}
    assert client.get("/api/v1/assets?limit=1", headers=other).status_code == 421


def test_every_page_and_endpoint_needs_credentials(store: Store) -> None:
    app = app_for(store, TOKEN)
    client = TestClient(app, base_url="https://127.0.0.1:8470")
    paths = get_paths(app, 1)
    assert {"/", "/debt", "/waves", "/assets/1", "/api/docs", "/api/v1/assets"} <= set(paths)
    open_paths = {"/healthz", "/signin", "/static/cloudward.css", "/favicon.ico"}
    assert open_paths <= set(paths)
    for path in paths:
        plain = client.get(path, follow_redirects=False)
        if path == "/favicon.ico":  # no icon, and no 404 or sign-in for a browser asking
            assert plain.status_code == 204 and not plain.content, plain.status_code
            continue
        if path in open_paths:
            assert plain.status_code in (200, 303), path
            continue
        if path.startswith(("/api/v1", "/metrics", "/openapi.json")):
            assert plain.status_code == 401, path
            assert plain.headers["www-authenticate"].startswith("Bearer")
        page = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        if path.startswith(("/api/v1", "/metrics", "/openapi.json")):
            assert page.status_code == 401, path
        else:
            assert page.status_code == 303, path
            assert page.headers["location"].startswith("/signin?next=")
        wrong = client.get(path, headers={"authorization": "Bearer nope"}, follow_redirects=False)
        assert wrong.status_code == 401, path
        for token in (TOKEN, VIEWER):
            query = "?a=1&b=1" if path == "/api/v1/plans/diff" else ""
            ok = client.get(path + query, headers={"authorization": f"Bearer {token}"})
            assert ok.status_code in (200, 404), (path, ok.status_code)
            assert "missing or wrong bearer token" not in ok.text
    assert (
        client.post("/api/v1/assets", headers={"authorization": f"Bearer {VIEWER}"}).status_code
        == 403
    )


def test_sign_in_cookie(store: Store) -> None:
    app = app_for(store, TOKEN)
    client = TestClient(app, base_url="https://127.0.0.1:8470")
    form = client.get("/signin?next=/waves")
    assert form.status_code == 200 and 'name="token"' in form.text and "<script" not in form.text
    wrong = client.post("/signin", data={"token": "nope", "next": "/waves"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    assert client.cookies.get("cloudward_session") is None
    done = client.post("/signin", data={"token": TOKEN, "next": "/waves"}, follow_redirects=False)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag in cookie, cookie
    assert TOKEN not in cookie
    landed = client.get(done.headers["location"], follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/waves"
    assert client.get("/waves").status_code == 200 and "Sign out" in client.get("/").text
    assert client.get("/api/v1/assets?limit=1").status_code == 200
    stolen = client.cookies.get("cloudward_session")
    client.post("/signout")
    assert client.get("/api/v1/assets?limit=1").status_code == 401
    replay = TestClient(app, base_url="https://127.0.0.1:8470")
    replay.cookies.set("cloudward_session", str(stolen))
    assert replay.get("/api/v1/assets?limit=1").status_code == 401  # revoked at sign-out
    forged = str(stolen).replace("admin.", "viewer.", 1)
    replay.cookies.set("cloudward_session", forged)
    assert replay.get("/api/v1/assets?limit=1").status_code == 401
    # only paths on this server are followed after signing in
    away = client.post(
        "/signin", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False
    )
    assert away.headers["location"].startswith("/signin?next=/&")


def test_plain_http_beyond_localhost_explains_the_secure_cookie(store: Store) -> None:
    client = TestClient(app_for(store, TOKEN), base_url="http://cloudward.example")
    done = client.post("/signin", data={"token": TOKEN, "next": "/"})
    assert done.status_code == 200 and "api.cookie_secure" in done.text


def test_api_docs_are_local(open_client: TestClient) -> None:
    page = open_client.get("/api/docs")
    assert page.status_code == 200 and "<script>" not in page.text.replace("<script src", "")
    assert "http" not in page.text.split("<body>")[1]
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        r = open_client.get(f"/api/docs/files/{name}")
        assert r.status_code == 200 and len(r.content) > 1000
    assert open_client.get("/api/docs/files/..%2F..%2F__init__.py").status_code == 404
    assert open_client.get("/api/docs/files/index.html").status_code == 404
    assert 'url: "/openapi.json"' in open_client.get("/api/docs/start.js").text


def test_config_check_refuses_what_run_would(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from agent.cli import cli

    shared = tmp_path / "community"
    shared.write_text("public")
    shared.chmod(0o644)
    key = tmp_path / "id_ed25519"
    key.write_text("key")
    key.chmod(0o640)
    config = tmp_path / "cw.yaml"
    config.write_text(
        "credentials:\n"
        f"  shared: {{type: snmp-community, community: {{file: {shared}}}}}\n"
        f"  gone: {{type: snmp-community, community: {{file: {tmp_path / 'missing'}}}}}\n"
        f"  ssh: {{type: ssh, user: ops, key_file: {key}}}\n"
        "api: {listen: '0.0.0.0:8470'}\n"
    )
    done = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert done.exit_code == 2, done.output
    assert "4 problems" in done.output
    assert "api.listen: the API would listen on 0.0.0.0, beyond localhost" in done.output
    assert f"credentials.shared.community: secret file {shared} is readable" in done.output
    assert f"credentials.gone.community: secret file {tmp_path / 'missing'} does not" in done.output
    assert f"credentials.ssh.key_file: key file {key} is readable by group" in done.output
    shared.chmod(0o600)
    key.chmod(0o600)
    (tmp_path / "missing").write_text("x")
    (tmp_path / "missing").chmod(0o600)
    config.write_text(config.read_text().replace("0.0.0.0", "127.0.0.1"))
    done = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert done.exit_code == 0 and ": ok (" in done.output, done.output


def test_config_check_reads_no_more_than_the_limit_from_a_device() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "more than a configuration should be" in done.stderr


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from agent.cli import cli

    junk = tmp_path / "notes.db"
    junk.write_text("these are notes, not a database\n" * 100)
    for args in (["assets"], ["waves"], ["debt"]):
        done = CliRunner().invoke(cli, [*args, "--database", f"sqlite:///{junk}"])
        assert done.exit_code == 1, done.output
        assert "cannot be opened: file is not a database" in done.output
        assert "Traceback" not in done.output
        assert done.exception is None or isinstance(done.exception, SystemExit)
