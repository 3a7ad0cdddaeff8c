"""Serve the ``api`` benchmark's store: ``python -m bench.api_server ours|floor URL SCHEMA PORT``.

``ours`` is the daemon's API as it runs in ``cloudward run``: the real app from
:func:`agent.api.server.create_app`, started by :func:`agent.api.server.serve_api` (uvicorn in
the process's asyncio loop, the daemon's options) on a store opened with
:meth:`agent.store.Store.open`. ``floor`` is :mod:`bench.api_floor` under the same uvicorn
options. ``SCHEMA`` is the PostgreSQL schema to use ("" for SQLite).
"""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace
from typing import Any

UVICORN_OPTIONS: dict[str, Any] = {  # as agent.api.server.serve_api configures uvicorn
    "log_level": "warning",
    "lifespan": "off",
    "access_log": False,
    "server_header": False,
    "proxy_headers": False,
    "limit_concurrency": 256,
    "timeout_keep_alive": 5,
}


async def serve_ours(url: str, schema: str, port: int) -> None:
    from agent.api.server import serve_api
    from agent.configuration.config_file import Settings
    from agent.store import Store
    from agent.telemetry.metrics import new_registry

    extra = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    store = Store.open(url, pooled=True, **extra)  # as the daemon opens it
    registry, _live, _estate = new_registry()
    daemon = SimpleNamespace(settings=Settings(), store=store, registry=registry)
    _server, task = await serve_api(daemon, "127.0.0.1", port)  # type: ignore[arg-type]
    await task


async def serve_floor(url: str, schema: str, port: int) -> None:
    import uvicorn

    from bench.api_floor import make_app

    config = uvicorn.Config(make_app(url, schema), host="127.0.0.1", port=port, **UVICORN_OPTIONS)
    await uvicorn.Server(config).serve()


def main(argv: list[str]) -> None:
    kind, url, schema, port = argv
    serve = serve_ours if kind == "ours" else serve_floor
    asyncio.run(serve(url, schema, int(port)))


if __name__ == "__main__":
    main(sys.argv[1:])
