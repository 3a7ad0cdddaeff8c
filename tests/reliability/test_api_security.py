"""The HTTP API under hostile or careless clients: schemathesis generates requests from the
OpenAPI schema (valid and invalid) against the app over a store with the council estate and a
plan: no server error, every answer as the schema says. The token guard refuses every route
without the token (compared in constant time), nothing writes, CORS stays closed and request
bodies are limited."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.errors import Unsatisfiable

from agent.api import security
from agent.api.server import create_app
from agent.bridge.plan_runs import compute_plan, save_plan
from agent.configuration.config_file import Settings
from agent.inventory.estate_import import import_estate
from agent.store import Store
from agent.store.tables import Asset, Event, PlanRow
from agent.telemetry.metrics import new_registry
from tests.reliability.untrusted import routes_of

ESTATE = Path(__file__).resolve().parents[1] / "data" / "estate" / "council.json"
TOKEN = "api-token-for-tests-0123456789"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
EXAMPLES = int(os.environ.get("CLOUDWARD_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def estate_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('apisec') / 'cw.db'}")
    import_estate(store, ESTATE.read_text(), "json", ESTATE.name)
    save_plan(store, compute_plan(store, date(2026, 11, 1)))
    save_plan(store, compute_plan(store, date(2027, 2, 1)))
    try:
        yield store
    finally:
        store.close()


def build_app(store: Store, token: str | None) -> FastAPI:
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    return create_app(daemon, token=token)  # type: ignore[arg-type]


def test_generated_requests_get_no_server_error_and_conforming_answers(
    estate_store: Store,
) -> None:
    """Every operation, with valid and with invalid inputs (schemathesis' Python API; its
    pytest plugin does not load under this pytest): no 5xx, the status, content type and body
    of every answer as the schema says."""
    from hypothesis import given
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(estate_store, None))
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate()

            try:
                run()
            except Unsatisfiable:  # no parameter to make invalid (e.g. /graph, negative)
                continue
            except BaseException as exc:  # every operation's failures, then report them all
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])
            tried += 1
    assert tried >= 10, tried
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/assets/{2**64}",
        f"/api/v1/plan?id={2**64}",
        f"/api/v1/plans/diff?a=1&b={2**64}",
    ],
)
def test_ids_beyond_64_bits_are_refused_not_server_errors(estate_store: Store, path: str) -> None:
    with TestClient(build_app(estate_store, None), raise_server_exceptions=False) as client:
        assert client.get(path).status_code in (404, 422)


# --- the guard --------------------------------------------------------------------------------


def every_path(app: FastAPI, asset_id: int = 1) -> list[str]:
    paths = []
    for path, _methods in routes_of(app):
        if "docs" in path:
            continue
        query = "?a=1&b=2" if path.endswith("diff") else ""
        paths.append(path.replace("{asset_id}", str(asset_id)) + query)
    return sorted(set(paths))


@pytest.fixture(scope="module")
def guarded(estate_store: Store) -> Iterator[tuple[FastAPI, TestClient]]:
    app = build_app(estate_store, TOKEN)
    with TestClient(app) as client:
        yield app, client


def test_every_route_but_health_needs_the_token(guarded: tuple[FastAPI, TestClient]) -> None:
    app, client = guarded
    paths = every_path(app)
    assert {"/", "/metrics", "/api/v1/assets", "/openapi.json"} <= {p.split("?")[0] for p in paths}
    # The open doors are few and named: health, the sign-in page and its stylesheet, and the
    # empty answer to a browser asking for an icon.
    assert {
        "/healthz",
        "/signin",
        "/signout",
        "/static/cloudward.css",
        "/favicon.ico",
    } == security.OPEN_PATHS
    answers = {"/signout": 405, "/favicon.ico": 204}
    for path in paths:
        ok = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == answers.get(path, 200), (path, ok.status_code)
        if path in security.OPEN_PATHS:
            continue
        for headers in (
            {},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            r = client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in r.text


def test_the_token_is_compared_in_constant_time(
    guarded: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    _app, client = guarded
    assert client.get("/api/v1/assets", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/assets", headers={"Authorization": f"Bearer {TOKEN}"}).is_success
    assert calls == [(b"nope", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


SESSION_DOORS = {"/signin", "/signout"}  # POST there sets or clears a cookie, nothing stored


def test_nothing_writes(estate_store: Store) -> None:
    app = build_app(estate_store, None)
    for path, methods in routes_of(app):
        allowed = {"GET", "HEAD"} | ({"POST"} if path in SESSION_DOORS else set())
        assert methods <= allowed, (path, methods)
    before = [estate_store.count(t) for t in (Asset, Event, PlanRow)]
    with TestClient(app) as client:
        for path in every_path(app):
            if path in SESSION_DOORS:
                r = client.post(path, data={"token": "x", "next": "/"}, follow_redirects=False)
                assert r.status_code in (303, 401), (path, r.status_code)
                continue
            for method in WRITE_METHODS:
                r = client.request(method, path, json={"name": "x"})
                assert r.status_code in (404, 405), (method, path, r.status_code)
    assert [estate_store.count(t) for t in (Asset, Event, PlanRow)] == before


def test_cors_stays_closed(estate_store: Store) -> None:
    with TestClient(build_app(estate_store, None)) as client:
        origin = {"Origin": "https://evil.example"}
        preflight = client.options(
            "/api/v1/assets", headers={**origin, "Access-Control-Request-Method": "GET"}
        )
        simple = client.get("/api/v1/assets", headers=origin)
        for r in (preflight, simple):
            assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers
        assert simple.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in simple.headers["content-security-policy"]


def test_request_bodies_are_limited(estate_store: Store) -> None:
    with TestClient(build_app(estate_store, None)) as client:
        limit = Settings().api.max_request_bytes
        big = client.post("/api/v1/assets", content=b"x" * (limit + 1))
        assert big.status_code == 413
        bogus = client.get("/api/v1/assets", headers={"Content-Length": "-1"})
        assert bogus.status_code == 413

        def chunks() -> Iterator[bytes]:
            yield b"x" * 1024

        chunked = client.post("/api/v1/assets", content=chunks())
        assert chunked.status_code == 411
