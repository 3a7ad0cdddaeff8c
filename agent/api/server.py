"""Build the FastAPI application and run it with uvicorn inside the daemon's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent import __version__
from agent.api import docs
from agent.api.routes import router
from agent.api.security import GuardMiddleware, Sessions, require_token_for
from agent.configuration.config_file import Settings
from agent.configuration.secrets import resolve
from agent.errors import AgentError
from agent.store import Store

log = logging.getLogger(__name__)


class ApiHost(Protocol):
    """What the API needs of the process that serves it (the daemon, or a test's stand-in).

    The API reads the store and the settings, exposes the registry on ``/metrics`` and hands
    its application state back (``api_state``) so that plan views can be built ahead.
    """

    api_state: Any

    @property
    def store(self) -> Store | None: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def registry(self) -> Any: ...


def create_app(
    daemon: ApiHost,
    *,
    token: str | None,
    viewer_token: str | None = None,
    check_host: bool = False,
) -> FastAPI:
    """The application. ``check_host``: refuse a Host header that names neither this machine
    nor one of ``api.hosts`` (the server does; an in-process test client does not need to)."""
    app = FastAPI(
        title="cloudward",
        version=__version__,
        description="Estate inventory, technical debt and migration plan (read-only).",
        docs_url=None,  # served from local files by agent.api.docs, under the pages' CSP
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.daemon = daemon
    daemon.api_state = app.state  # the daemon builds plan views ahead into it
    settings = daemon.settings.api
    sessions = Sessions(token, viewer_token, settings.session_hours * 3600)
    app.state.sessions = sessions
    app.state.cookie_secure = settings.cookie_secure
    app.add_middleware(
        GuardMiddleware,
        token=token,
        max_body=settings.max_request_bytes,
        sessions=sessions,
        allowed_hosts=list(settings.hosts) if check_host else None,
    )
    app.include_router(router)
    app.include_router(docs.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(daemon.registry), media_type=CONTENT_TYPE_LATEST)

    try:
        from agent.web import pages

        app.include_router(pages.router)
    except ImportError:  # pragma: no cover - pages are part of the package
        log.warning("web pages are not available")
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_api(daemon: ApiHost, host: str, port: int) -> tuple[Any, asyncio.Task[Any]]:
    api = daemon.settings.api
    token = resolve(api.token) if api.token else None
    viewer_token = resolve(api.viewer_token) if api.viewer_token else None
    require_token_for(host, token)
    app = create_app(daemon, token=token, viewer_token=viewer_token, check_host=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the daemon's handlers (text or JSON)
        lifespan="off",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=256,
        timeout_keep_alive=5,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise AgentError(
            f"the API cannot listen on {host}:{port}: {exc.strerror}; "
            "choose another --listen HOST:PORT"
        ) from None
    sock.set_inheritable(True)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if task.done():
        failure = task.exception()
        raise AgentError(f"the API could not start on {host}:{port}: {failure}")
    return server, task
