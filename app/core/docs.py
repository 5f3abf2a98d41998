"""Swagger UI and ReDoc served from the package's own assets: city intranets have no CDN."""

import functools
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/docs-assets"
REDOC_JS = "/docs-redoc.standalone.js"
# The bundled ReDoc shows Redocly's logo in its menu, fetched from their CDN: the one request
# the docs would make outside the server. It becomes our own favicon.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _offline_redoc() -> bytes:
    bundle = (ASSETS / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_CDN_LOGO, f"{ASSET_PREFIX}/favicon.png".encode())


def install_docs(app: FastAPI) -> None:
    # Read once per process, when the first app is built: never on the event loop.
    redoc_bundle = _offline_redoc()
    app.mount(ASSET_PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(REDOC_JS, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(
            redoc_bundle,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_PREFIX}/favicon.png",
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — ReDoc",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=f"{ASSET_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
