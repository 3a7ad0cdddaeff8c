"""Routes for the HTML pages (same server as the API; same auth rules and headers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from agent import __version__
from agent.web import ENV, STATIC, views

CSS = (STATIC / "cloudward.css").read_text(encoding="utf-8")

router = APIRouter(include_in_schema=False)


def render(name: str, active: str, **context: Any) -> HTMLResponse:
    page = ENV.get_template(name).render(active=active, version=__version__, **context)
    return HTMLResponse(page)


def _store(request: Request) -> Any:
    return request.app.state.daemon.store


@router.get("/static/cloudward.css")
def css() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return render("overview.html", "estate", title="Estate", **views.overview(_store(request)))


@router.get("/debt", response_class=HTMLResponse)
def debt(request: Request) -> HTMLResponse:
    return render("debt.html", "debt", title="Technical debt", **views.debt(_store(request)))


@router.get("/waves", response_class=HTMLResponse)
def waves(request: Request) -> HTMLResponse:
    return render("waves.html", "waves", title="Migration waves", **views.waves(_store(request)))


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset(request: Request, asset_id: int) -> HTMLResponse:
    data = views.asset(_store(request), asset_id)
    if data is None:
        raise HTTPException(404, f"no asset {asset_id}")
    return render("asset.html", "estate", title=data["a"]["name"], **data)
