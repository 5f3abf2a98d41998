"""The offline docs in a real browser (issue 11): Swagger UI and ReDoc, loaded in Debian's
headless Chromium, make no request to any host but the server, and log no error.

Chromium comes from Debian (`apt-get install chromium`, done by .ci/run); without it the
test is skipped, unless REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Request, sync_playwright

from app.core.settings import Settings
from app.main import create_app
from tests.browser import CHROMIUM_ARGS
from tests.conftest import make_settings
from tests.live import serve_in_thread


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("docs") / "docs.db"
    settings: Settings = make_settings(f"sqlite:///{database}")
    with serve_in_thread(create_app(settings)) as base:
        yield base


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_nothing_from_outside_the_server(
    chromium: str, docs_server: str, page: str, tmp_path: Path
) -> None:
    server = urlsplit(docs_server).netloc
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            tab = context.new_page()
            tab.on("request", lambda request: requested.append(_url(request)))
            tab.on("console", lambda message: _collect_error(message, errors))
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(docs_server + page, wait_until="networkidle")
            # The operations are rendered: the page did its work, offline.
            tab.wait_for_selector(
                "text=Submit a city's cumulative figures", state="attached", timeout=15_000
            )
            tab.wait_for_load_state("networkidle")
            tab.screenshot(path=str(tmp_path / f"{page.strip('/')}.png"))
        finally:
            browser.close()
    outside = [
        url
        for url in requested
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != server
    ]
    assert not outside, f"{page} asked other hosts: {outside}"
    assert not errors, f"{page} logged errors: {errors}"


def _url(request: Request) -> str:
    return request.url


def _collect_error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(message.text)
