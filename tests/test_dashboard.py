"""The dashboard's pages and files over plain HTTP (issue 14): content types, caching,
compression, the Content-Security-Policy, and that everything the page loads is the
package's own (the browser test, tests/test_dashboard_browser.py, shows it at work)."""

import gzip
import hashlib
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.headers import API_POLICY, DASHBOARD_POLICY
from app.dashboard import assets
from app.main import create_app
from tests.conftest import make_settings

PAGES = ["/dashboard/", "/dashboard/city/320100"]
ECHARTS = "vendor/echarts-5.5.1/echarts.min.js"
ECHARTS_SHA256 = "e84270bd0cd5bdf60fefc26d00c2a391cb2e81f4d26a7a9ee16185a54773a3cf"
YEAR = "public, max-age=31536000, immutable"
REFERENCED = re.compile(r'(?:src|href)="(/dashboard/static/[^"?]+)\?v=([0-9a-f]{12})"')


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app without its lifespan: these pages and files never touch the database."""
    folder = tmp_path_factory.mktemp("dashboard")
    settings = make_settings(f"sqlite:///{folder / 'unused.db'}").model_copy(
        update={"storage_dir": folder / "storage"}
    )
    yield TestClient(create_app(settings))


def referenced_files(page: str) -> dict[str, str]:
    """The static files the page names, with the version each reference carries."""
    return dict(REFERENCED.findall(page))


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_under_the_dashboard_policy(web: TestClient, path: str) -> None:
    page = web.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == DASHBOARD_POLICY
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-encoding"] == "gzip"  # TestClient accepts gzip
    assert '<html lang="zh-CN">' in page.text
    # revalidation: the same page is 304 with its ETag, in either representation
    again = web.get(path, headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    plain = web.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == page.text
    assert web.get(path, headers={"If-None-Match": plain.headers["etag"]}).status_code == 304


def test_the_policy_allows_only_the_service_itself() -> None:
    directives = dict(part.strip().split(" ", 1) for part in DASHBOARD_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    for kind in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[kind] == "'self'", kind
    assert "unsafe" not in DASHBOARD_POLICY and "data:" not in DASHBOARD_POLICY
    assert directives["frame-ancestors"] == "'none'"


def test_the_api_keeps_its_strict_policy(web: TestClient) -> None:
    answer = web.get("/api/v1/campaigns/js-2024/periods")
    assert answer.headers["content-security-policy"] == API_POLICY
    # a path that merely starts like the dashboard's is not a dashboard page
    assert web.get("/dashboardx").headers["content-security-policy"] == API_POLICY


def test_every_file_the_page_names_is_served_for_a_year(web: TestClient) -> None:
    page = web.get("/dashboard/").text
    files = referenced_files(page)
    assert set(files) >= {
        "/dashboard/static/dashboard.css",
        "/dashboard/static/js/api.js",
        "/dashboard/static/js/render.js",
        "/dashboard/static/js/app.js",
        f"/dashboard/static/{ECHARTS}",
        "/dashboard/static/vendor/echarts-5.5.1/LICENSE",
    }
    types = {
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".svg": "image/svg+xml",
        "": "text/plain; charset=utf-8",
    }
    for path, version in files.items():
        answer = web.get(f"{path}?v={version}")
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == types[Path(path).suffix], path
        assert answer.headers["cache-control"] == YEAR, path
        assert answer.headers["content-security-policy"] == DASHBOARD_POLICY, path
        assert answer.headers["vary"] == "Accept-Encoding", path
        # the version in the address is the content's: a new release is a new address
        on_disk = (assets.STATIC / path.removeprefix("/dashboard/static/")).read_bytes()
        assert answer.content == on_disk, path
        assert hashlib.sha256(on_disk).hexdigest().startswith(version), path
        etag = answer.headers["etag"]
        assert web.get(path, headers={"If-None-Match": etag}).status_code == 304, path


def test_scripts_and_styles_are_sent_compressed_once(web: TestClient) -> None:
    for path in (f"/dashboard/static/{ECHARTS}", "/dashboard/static/js/app.js"):
        with web.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as answer:
            compressed = b"".join(answer.iter_raw())
            assert answer.headers["content-encoding"] == "gzip"
            assert answer.headers["etag"].endswith('-gzip"')
        plain = web.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert gzip.decompress(compressed) == plain.content
        assert len(compressed) < len(plain.content) / 2
    echarts = web.get(f"/dashboard/static/{ECHARTS}", headers={"Accept-Encoding": "identity"})
    assert hashlib.sha256(echarts.content).hexdigest() == ECHARTS_SHA256


def test_the_chart_library_is_pinned_with_its_licence() -> None:
    folder = assets.STATIC / "vendor" / "echarts-5.5.1"
    bundle = (folder / "echarts.min.js").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == ECHARTS_SHA256
    assert b'version="5.5.1"' in bundle
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "Apache ECharts" in (folder / "NOTICE").read_text()
    assert "BSD" in (folder / "licenses" / "LICENSE-zrender").read_text()
    assert ECHARTS_SHA256 in (folder / "SOURCE.txt").read_text()


def test_no_inline_code_no_outside_address_and_a_chinese_font_list() -> None:
    page = (assets.STATIC / "index.html").read_text()
    assert "<style" not in page and " style=" not in page
    for script in re.findall(r"<script[^>]*>", page):
        assert " src=" in script, script  # every script is a file: the policy forbids inline
    assert not re.search(r"\son[a-z]+\s*=", page)  # no onclick=…: handlers live in the files
    own = [page] + [
        path.read_text()
        for path in assets.STATIC.rglob("*")
        if path.suffix in (".js", ".css") and "vendor" not in path.parts
    ]
    for text in own:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE)
        assert "@import" not in text and "innerHTML" not in text and "eval(" not in text
    css = (assets.STATIC / "dashboard.css").read_text()
    assert (
        '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",\n'
        "    sans-serif" in css
    )
    assert re.search(r"@page\s*\{\s*size:\s*A4 landscape;", css)
    assert "@font-face" not in css and "url(" not in css


def test_unknown_files_and_pages_are_not_found(web: TestClient) -> None:
    assert web.get("/dashboard/static/nothing.js").status_code == 404
    assert web.get("/dashboard/static/index.html").status_code == 404  # only as the page
    assert web.get("/dashboard/static/%2e%2e/router.py").status_code == 404
    assert web.get("/dashboard/city/nanjing").status_code == 404
    moved = web.get("/dashboard", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/dashboard/"


def test_the_dashboard_is_not_part_of_the_api_contract(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/dashboard")]


def test_the_package_ships_every_dashboard_file(project_root: Path) -> None:
    """The Dockerfile installs the package: its data patterns must take every file."""
    configuration = tomllib.loads((project_root / "pyproject.toml").read_text())
    patterns = configuration["tool"]["setuptools"]["package-data"]["app.dashboard"]
    package = project_root / "app" / "dashboard"
    shipped = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    present = {path for path in (package / "static").rglob("*") if path.is_file()}
    assert present and shipped == present


def test_the_page_names_only_files_that_exist(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text('<script src="{{ static:missing.js }}"></script>')
    with pytest.raises(LookupError, match=r"missing\.js"):
        assets.load(tmp_path)
