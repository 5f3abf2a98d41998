"""The README quickstart, run verbatim against a live `python -m app serve`."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_concurrency import free_port

ROOT = Path(__file__).resolve().parents[1]


def block(kind: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- quickstart:{kind} -->\n```\w+\n(.*?)```", readme, re.DOTALL)
    assert found, f"README has no quickstart:{kind} block"
    return found.group(1)


def test_the_readme_quickstart_works(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/quickstart.db",
        "BASE": base,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        script = tmp_path / "quickstart.py"
        script.write_text(block("python"), encoding="utf-8")
        shell = "set -euo pipefail\n" + block("sh") + f'\n"{sys.executable}" "{script}"\n'
        result = subprocess.run(  # noqa: S603
            ["/bin/bash", "-c", shell],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr + result.stdout
    assert '"status":"accepted"' in result.stdout
    assert "'target': 1000000" in result.stdout
    assert "accepted revision 2 []" in result.stdout
    assert "postings 4500 of 1000000" in result.stdout
