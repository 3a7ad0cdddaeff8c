"""Request guards: who may read (bearer token or sign-in cookie), the Host header, request size,
closed CORS, headers.

Bound beyond localhost the API needs a token. Machines send it as ``Authorization: Bearer``;
people sign in once at ``/signin`` with the token (or the read-only viewer token) and get a
session cookie (HttpOnly, SameSite=Strict, Secure unless ``api.cookie_secure`` is false). The
cookie holds no token: it is signed with a key derived from the tokens, so changing a token
signs everyone out. Without a token (loopback only) the Host header must name this machine
(or one of ``api.hosts``), so that a page elsewhere cannot reach the API by DNS rebinding.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.configuration.checks import is_loopback
from agent.errors import ConfigError

# Open to anyone: the health check, the sign-in page (with the stylesheet it uses) and sign-out.
OPEN_PATHS = frozenset({"/healthz", "/signin", "/signout", "/static/cloudward.css", "/favicon.ico"})
SESSION_COOKIE = "cloudward_session"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Role = Literal["admin", "viewer"]


def require_token_for(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ConfigError(
            [
                f"api.token: the API would listen on {host}, beyond localhost, without a token; "
                "set api.token: {env: CLOUDWARD_API_TOKEN} (or a file) or listen on 127.0.0.1"
            ]
        )


def host_of(header: str) -> str:
    """The name in a Host header, without its port, lower case (``[::1]:80`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        return header.partition(":")[0]
    return header


def host_allowed(header: str, names: Collection[str]) -> bool:
    """Whether a request's Host names this machine by a loopback name or one of ``names``."""
    host = host_of(header)
    return bool(host) and (is_loopback(host) or host in {n.lower() for n in names})


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\\") or target.startswith("/signin"):
        return "/"
    return target


@dataclass
class Sessions:
    """Signed session cookies: ``role.expiry.nonce.signature``; the key comes from the tokens.

    Signing out revokes the cookie's nonce (kept until it would have expired anyway)."""

    token: str | None
    viewer_token: str | None = None
    seconds: float = 12 * 3600.0
    _revoked: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.viewer_token)

    @property
    def _key(self) -> bytes:
        material = f"{self.token or ''}\0{self.viewer_token or ''}".encode()
        return hmac.new(material, b"cloudward session cookie v1", hashlib.sha256).digest()

    def role_of_token(self, given: str) -> Role | None:
        """The role a presented token grants (compared in constant time), or None."""
        raw = given.strip().encode()
        role: Role | None = None
        if self.token and hmac.compare_digest(raw, self.token.encode()):
            role = "admin"
        if self.viewer_token and hmac.compare_digest(raw, self.viewer_token.encode()):
            role = role or "viewer"
        return role

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, role: Role, now: float | None = None) -> str:
        expiry = int((now if now is not None else time.time()) + self.seconds)
        body = f"{role}.{expiry}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def role_of_cookie(self, cookie: str | None, now: float | None = None) -> Role | None:
        if not cookie or not self.enabled or len(cookie) > 256:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        role, expiry, nonce = [*body.split("."), "", "", ""][:3]
        if role not in ("admin", "viewer") or not expiry.isdigit():
            return None
        if int(expiry) < (now if now is not None else time.time()):
            return None
        with self._lock:
            if nonce in self._revoked:
                return None
        return "admin" if role == "admin" else "viewer"

    def revoke(self, cookie: str | None) -> None:
        if self.role_of_cookie(cookie) is None:
            return
        assert cookie is not None
        _, expiry, nonce = cookie.split(".")[:3]
        now = time.time()
        with self._lock:
            self._revoked[nonce] = float(expiry)
            while self._revoked and (
                len(self._revoked) > 100_000 or next(iter(self._revoked.values())) < now
            ):
                self._revoked.popitem(last=False)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not a program asking the API)."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or path.startswith(("/api/v1", "/metrics")):
        return False
    if path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")


class GuardMiddleware:
    """Every HTTP request's guard (size, Host, token or session, role) and every response's
    security headers, as plain ASGI: Starlette's ``BaseHTTPMiddleware`` would pass each
    response through an extra task and memory stream, a fixed cost on every request that is
    most of the time of one served from a kept view."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        max_body: int,
        sessions: Sessions | None = None,
        allowed_hosts: Collection[str] | None = None,
    ) -> None:
        self.app = app
        self._sessions = sessions if sessions is not None else Sessions(token)
        self._max_body = max_body
        self._hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._guard(Request(scope))
        if refused is not None:
            await _with_headers(refused)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _guard(self, request: Request) -> Response | None:
        """The answer to a request refused before it reaches a route; None lets it through."""
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
        return self._refuse(request)

    def _refuse(self, request: Request) -> Response | None:
        sessions = self._sessions
        # Host: checked whenever names are configured, and always without a token (where
        # nothing else stops a rebound name from reaching the loopback API).
        hosts = self._hosts
        checked = hosts is not None and (bool(hosts) or not sessions.enabled)
        if checked and not host_allowed(request.headers.get("host", ""), hosts or ()):
            return JSONResponse(
                {
                    "detail": "this server is not reached by that name (Host header); use "
                    "127.0.0.1 or localhost, or list the name in api.hosts"
                },
                status_code=421,
            )
        if not sessions.enabled or request.url.path in OPEN_PATHS:
            return None
        role: Role | None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            role = sessions.role_of_token(given)
        else:
            role = sessions.role_of_cookie(request.cookies.get(SESSION_COOKIE))
        if role is None:
            if _wants_page(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/signin?next={quote(target, safe='/')}", 303)
            return JSONResponse(
                {"detail": "missing or wrong bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="cloudward"'},
            )
        if role == "viewer" and request.method not in READ_METHODS:
            return JSONResponse(
                {"detail": "the viewer token only reads; use api.token to change anything"},
                status_code=403,
            )
        request.state.role = role
        return None


# Set on every response that does not set its own.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", CSP),
)


def _with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response
