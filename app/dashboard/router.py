"""The dashboard's pages and files: pages, not API, so none of it is in the OpenAPI document.

`/dashboard/` (全省总览) and `/dashboard/city/{code}` (城市) are the same small page; its
scripts read the address and ask the public API for everything they show. Files under
`/dashboard/static/` are cached for a year (their URLs carry a content hash); the page is
revalidated with its ETag. Both are served gzip-compressed when the client accepts it.
"""

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.core.errors import NotFound
from app.dashboard.assets import Asset, bundle

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_CACHE = "no-cache"  # revalidate: a release changes the asset URLs it names
ASSET_CACHE = "public, max-age=31536000, immutable"
GZIP_SUFFIX = '-gzip"'
CITY_CODE = re.compile(r"\d{6}")


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {
        tag.strip().removeprefix("W/").replace(GZIP_SUFFIX, '"') for tag in if_none_match.split(",")
    }
    return "*" in tags or etag in tags


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    """The asset, gzip-compressed when accepted, or 304 when the client has it."""
    compressed = asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "")
    headers = {
        "ETag": asset.etag[:-1] + GZIP_SUFFIX if compressed else asset.etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if _matches(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=headers)
    if compressed:
        assert asset.gzipped is not None
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("")
def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=308)


@router.get("/")
def dashboard_overview(request: Request) -> Response:
    """全省总览."""
    return _respond(request, bundle().page, PAGE_CACHE)


@router.get("/city/{code}")
def dashboard_city(request: Request, code: str) -> Response:
    """城市: one city's page (the same page; its script reads the code from the address)."""
    if not CITY_CODE.fullmatch(code):
        raise NotFound(f"no dashboard page for {code[:20]!r}: a city is a 6-digit code")
    return _respond(request, bundle().page, PAGE_CACHE)


@router.get("/static/{path:path}")
def dashboard_static(request: Request, path: str) -> Response:
    asset = bundle().files.get(path)
    if asset is None:
        raise NotFound(f"the dashboard has no file {path[:200]!r}")
    return _respond(request, asset, ASSET_CACHE)
