"""Request guards: bearer token beyond localhost, request size limit, closed CORS, headers."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from agent.errors import ConfigError

OPEN_PATHS = frozenset({"/healthz"})


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_for(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ConfigError(
            [
                f"api.token: the API would listen on {host}, beyond localhost, without a token; "
                "set api.token: {env: CLOUDWARD_API_TOKEN} (or a file) or listen on 127.0.0.1"
            ]
        )


class GuardMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        super().__init__(app)
        self._token = token.encode() if token else None
        self._max_body = max_body

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return JSONResponse(
                {"detail": f"request body larger than {self._max_body} bytes"}, status_code=413
            )
        if request.headers.get(
            "transfer-encoding", ""
        ).lower() == "chunked" and request.method not in ("GET", "HEAD", "OPTIONS"):
            return JSONResponse(
                {"detail": "chunked request bodies are not accepted"}, status_code=411
            )
        if self._token is not None and request.url.path not in OPEN_PATHS:
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                return JSONResponse(
                    {"detail": "missing or wrong bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="cloudward"'},
                )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'",
        )
        return response
