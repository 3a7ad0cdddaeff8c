"""Routes for the HTML pages (same server as the API; same auth rules and headers), and the
sign-in and sign-out pages that give a browser its session cookie."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent import __version__
from agent.api.routes import MAX_ID
from agent.api.security import SESSION_COOKIE, Sessions, safe_next
from agent.web import ENV, STATIC, views

CSS = (STATIC / "cloudward.css").read_text(encoding="utf-8")

router = APIRouter(include_in_schema=False)


def render(
    name: str,
    active: str,
    request: Request | None = None,
    *,
    http_status: int = 200,
    **context: Any,
) -> HTMLResponse:
    signed_in = request is not None and getattr(request.state, "role", None) is not None
    page = ENV.get_template(name).render(
        active=active, version=__version__, signed_in=signed_in, **context
    )
    return HTMLResponse(page, status_code=http_status)


def _store(request: Request) -> Any:
    return request.app.state.daemon.store


@router.get("/static/cloudward.css")
def css() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (the pages name none either, as ``data:``): an empty answer, kept a day, where a
    browser asks anyway (for a JSON response it shows, say), rather than a logged 404."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return render(
        "overview.html", "estate", request, title="Estate", **views.overview(_store(request))
    )


@router.get("/debt", response_class=HTMLResponse)
def debt(request: Request) -> HTMLResponse:
    return render(
        "debt.html", "debt", request, title="Technical debt", **views.debt(_store(request))
    )


@router.get("/waves", response_class=HTMLResponse)
def waves(request: Request) -> HTMLResponse:
    from agent.api.routes import newest_waves_view
    from agent.web.figures import CURRENCY_SIGNS

    store = _store(request)
    data = views.waves(store)
    view = newest_waves_view(request.app.state, store) if data["has_plan"] else None
    money = None
    if view is not None and data["plan"] and view["plan_id"] == data["plan"]["id"]:
        money = {
            "sign": CURRENCY_SIGNS.get(view["currency"], view["currency"] + " "),
            "years": view["years"],
            "waves": {int(w["wave"]["number"]): w["money"] for w in view["waves"]},
        }
    return render("waves.html", "waves", request, title="Migration waves", money=money, **data)


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset(request: Request, asset_id: int) -> HTMLResponse:
    data = views.asset(_store(request), asset_id) if 1 <= asset_id <= MAX_ID else None
    if data is None:
        raise HTTPException(404, f"no asset {asset_id}")
    return render("asset.html", "estate", request, title=data["a"]["name"], **data)


# --- sign-in -------------------------------------------------------------------------------

SIGNIN_FORM_BYTES = 4096
PLAIN_HTTP = (
    "Signed in, but the browser did not keep the session cookie: it is marked Secure and "
    "this page came over plain HTTP. Serve cloudward behind HTTPS (recommended), or set "
    "api.cookie_secure: false on a trusted network."
)


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def _signin_page(
    request: Request, target: str, problem: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        "signin.html",
        "",
        None,
        http_status=status,
        title="Sign in",
        plan=None,
        next=target,
        problem=problem,
        viewer=bool(_sessions(request).viewer_token),
    )


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str | None = None, done: int = 0) -> Response:
    sessions = _sessions(request)
    target = safe_next(next)
    if not sessions.enabled or sessions.role_of_cookie(request.cookies.get(SESSION_COOKIE)):
        return RedirectResponse(target, 303)  # nothing to sign in to, or signed in already
    return _signin_page(request, target, PLAIN_HTTP if done else None)


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    sessions = _sessions(request)
    body = await request.body()
    form = parse_qs(body[:SIGNIN_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=4)
    target = safe_next((form.get("next") or ["/"])[0])
    if not sessions.enabled:
        return RedirectResponse(target, 303)
    role = sessions.role_of_token((form.get("token") or [""])[0])
    if role is None:
        await asyncio.sleep(0.5)  # slows guessing; the token is long anyway
        return _signin_page(request, target, "That token is not right.", 401)
    secure = bool(request.app.state.cookie_secure)
    # Back to sign-in, which forwards to the page if the browser kept the cookie, and says why
    # not otherwise (a Secure cookie over plain HTTP to another machine is dropped).
    response = RedirectResponse(f"/signin?next={quote(target, safe='/')}&done=1", 303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.issue(role),
        max_age=int(sessions.seconds),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    _sessions(request).revoke(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/signin", 303)
    secure = bool(request.app.state.cookie_secure)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
    return response
