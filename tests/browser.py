"""Debian's Chromium for the browser tests (`apt-get install chromium`, done by .ci/run):
without it a browser test is skipped, unless REQUIRE_BROWSER=1 (CI) makes that a failure."""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What the probe of this workplace found necessary: without the background-networking
# switches Chromium itself calls Google's hosts at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
