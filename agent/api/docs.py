"""The API docs page: Swagger UI from the files of the ``swagger-ui-bundle`` package, served by
this server (no CDN, works offline) under the same Content-Security-Policy as every page: no
inline script, the start-up code is a file of its own."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

router = APIRouter(include_in_schema=False)

DIST = Path(str(swagger_ui_path))
# The files the page loads, and their media types (nothing else in the folder is served).
FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>cloudward API</title>
<link rel="icon" type="image/png" href="/api/docs/files/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/files/swagger-ui.css">
</head>
<body>
<p style="margin:12px 20px;font-family:sans-serif"><a href="/">&larr; cloudward</a></p>
<div id="swagger-ui"></div>
<script src="/api/docs/files/swagger-ui-bundle.js"></script>
<script src="/api/docs/files/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/start.js"></script>
</body>
</html>
"""
# validatorUrl null: Swagger UI would otherwise send the schema to an outside validator.
START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""
CACHE = {"Cache-Control": "max-age=3600"}


@router.get("/api/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/api/docs/start.js")
def start() -> Response:
    return Response(START, media_type="text/javascript", headers=CACHE)


@router.get("/api/docs/files/{name}")
def files(name: str) -> Response:
    media = FILES.get(name)
    if media is None:
        raise HTTPException(404, f"no docs file {name}")
    return Response(_read(name), media_type=media, headers=CACHE)


@cache
def _read(name: str) -> bytes:
    return (DIST / name).read_bytes()
