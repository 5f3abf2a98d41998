"""The container image's runtime layout, simulated (Docker cannot run here): the code in a
read-only directory of its own, imported through PYTHONPATH from another working
directory, APP_ENV=production, and one writable data directory for the SQLite database,
attachments and export files. Upload and export must work, and nothing may be written
beside the code (issue 11: the image could not write its uploads)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.core.settings import Settings
from tests.conftest import make_settings
from tests.live import PROJECT_ROOT, serve_in_processes
from tests.records_helpers import case_body
from tests.samples import png

KEY = "p" * 48


def snapshot(directory: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in directory.rglob("*")}


def make_read_only(directory: Path) -> None:
    for path in [directory, *directory.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_the_image_layout_serves_uploads_and_exports(tmp_path: Path) -> None:
    code, data, elsewhere = tmp_path / "srv", tmp_path / "data", tmp_path / "somewhere"
    for part in ("app", "migrations"):
        shutil.copytree(
            PROJECT_ROOT / part, code / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "alembic.ini", code / "alembic.ini")
    (data / "storage").mkdir(parents=True)
    elsewhere.mkdir()
    make_read_only(code)
    before = snapshot(code)

    settings: Settings = make_settings(f"sqlite:///{data}/spring-breeze.db").model_copy(
        update={"storage_dir": data / "storage"}
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PYTHON")
    } | {
        "PYTHONPATH": str(code),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_ENV": "production",
        "DATABASE_URL": settings.database_url,
        "STORAGE_DIR": str(data / "storage"),
        "JWT_SIGNING_KEYS": json.dumps({"prod-1": KEY}),
        "JWT_ACTIVE_KEY_ID": "prod-1",
        "LOG_LEVEL": "WARNING",
    }
    try:
        with serve_in_processes(settings, cwd=elsewhere, environment=environment) as base:
            created = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "clients",
                    "create",
                    "--name",
                    "南京",
                    "--role",
                    "reporter",
                    "--city",
                    "320100",
                ],
                cwd=elsewhere,
                env=environment,
                check=True,
                capture_output=True,
                text=True,
            )
            credentials = json.loads(created.stdout)
            with httpx.Client(base_url=base, timeout=30) as http:
                token = http.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "client_credentials", **credentials},
                ).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                city = "/api/v1/campaigns/js-2024/cities/320100"
                case = http.post(f"{city}/cases", json=case_body())
                assert case.status_code == 201, case.text
                upload = http.post(
                    f"{city}/cases/{case.json()['id']}/attachments",
                    files={"file": ("现场.png", png())},
                )
                assert upload.status_code == 201, upload.text
                job = http.post(
                    "/api/v1/campaigns/js-2024/exports/jobs",
                    json={"kind": "cases.docx", "city": "320100"},
                )
                assert job.status_code == 202, job.text
                deadline = time.monotonic() + 30
                while (state := http.get(job.json()["status_url"]).json())["state"] in (
                    "queued",
                    "running",
                ):
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
                assert state["state"] == "done", state
                assert http.get(state["file_url"]).content.startswith(b"PK")
    finally:
        for path in [code, *code.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert snapshot(code) == before  # nothing written beside the code
    assert list((data / "storage").rglob("*"))  # the upload and the export live in /data
