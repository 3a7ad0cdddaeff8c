"""Device-supplied text that must stay inert wherever cloudward shows or stores it, and the
checks that prove it did."""

from __future__ import annotations

import re
from typing import Any

# Shell metacharacters, HTML/JS injection, terminal control sequences and a NUL, in one name.
SCRIPT = "<script>alert('cw')</script>"
HOSTILE = f"sw-1;$(touch /tmp/cw-pwned)`id`|{SCRIPT}\x1b[2J\x1b]0;owned\x07&&reboot"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def routes_of(app: Any) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, including those of included routers."""
    out: list[tuple[str, set[str]]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:  # FastAPI's included router
                walk(inner.routes)
            elif getattr(route, "routes", None):
                walk(route.routes)
            elif getattr(route, "path", None):
                out.append((route.path, set(getattr(route, "methods", None) or ())))

    walk(app.routes)
    return out


_NOT_PAGES = ("/metrics", "/healthz", "/openapi.json", "/docs/oauth2-redirect", "/favicon.ico")


def html_pages(app: Any) -> list[str]:
    """Every HTML page of the app that takes no path parameter (the overview, debt, waves...)."""
    pages = []
    for path, methods in routes_of(app):
        if "GET" not in methods or "{" in path or path.startswith(("/api", "/static/")):
            continue
        if path in _NOT_PAGES:
            continue
        pages.append(path)
    assert "/" in pages, pages
    return sorted(pages)


def assert_inert_html(body: str) -> None:
    """No markup a device sent survives unescaped; no terminal control sequence either."""
    assert SCRIPT not in body, "device text reached the page unescaped"
    assert "<script>alert" not in body
    assert "onerror=" not in body.lower().replace("onerror=&", "")
    assert "\x1b" not in body and "\x00" not in body
