"""Benchmark: first meaningful paint of the dashboard's 全省总览 on a season of full size.

Loads the province's real shape (13 cities, 95 counties, 12 weeks, ~1,000,000 events) with
bench/national_views.py into DATABASE (once; reused when it is there), serves it with
`python -m app serve`, signs a viewer in with Debian's Chromium and reads the page's own
mark `sb:first-data` (the headline figure drawn from the API's answer) from navigation
start, cached and uncached, over several reloads (issue 14: under 1.5 s on loopback).

    .venv/bin/python -m bench.dashboard_paint --url sqlite:////tmp/province.db [--reloads 7]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import httpx
from playwright.sync_api import Page, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live import free_port

READY = "html[data-ready='1']"


def first_paint_ms(page: Page) -> float:
    page.reload()
    page.wait_for_selector(READY, state="attached")
    value = page.evaluate("performance.getEntriesByName('sb:first-data')[0].startTime")
    return float(value)


def viewer(env: dict[str, str]) -> tuple[str, str]:
    created = subprocess.run(
        [sys.executable, "-m", "app", "clients", "create", "--name", "看板", "--role", "viewer"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    document = json.loads(created.stdout)
    return document["client_id"], document["client_secret"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the database (loaded once, then reused)")
    parser.add_argument("--reloads", type=int, default=7)
    args = parser.parse_args()
    subprocess.run(  # noqa: S603 (our own module, our arguments)
        [
            sys.executable,
            "-m",
            "bench.national_views",
            "--shape",
            "province",
            "--url",
            args.url,
            "--requests",
            "1",
            "--no-breakdown",
        ],
        check=True,
    )
    env = os.environ | {"DATABASE_URL": args.url, "WORKER_IN_SERVE": "false"}
    client_id, secret = viewer(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 (our own module, our arguments)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(base + "/dashboard/")
            page.get_by_label("客户端 ID").fill(client_id)
            page.get_by_label("客户端密钥").fill(secret)
            page.get_by_role("button", name="登录", exact=True).click()
            page.wait_for_selector(READY, state="attached", timeout=60_000)
            warm = [first_paint_ms(page) for _ in range(args.reloads)]
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cold = [first_paint_ms(page) for _ in range(args.reloads)]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, values in (("cached", warm), ("uncached", cold)):
        print(
            f"first meaningful paint, {name}: median {statistics.median(values):.0f} ms, "
            f"max {max(values):.0f} ms over {len(values)} reloads"
        )


if __name__ == "__main__":
    main()
