"""The HTTP API (FastAPI, OpenAPI at /openapi.json), the web pages and /metrics, in one server.

Read-only by default. Bound to localhost by default; bound anywhere else, every request needs
``Authorization: Bearer <token>`` (the token from env or file, compared in constant time).
"""

from agent.api.server import create_app, serve_api

__all__ = ["create_app", "serve_api"]
