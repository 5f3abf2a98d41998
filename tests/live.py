"""Live servers for the tests that need real sockets and real concurrency: uvicorn in a
thread of the test process, or `python -m app serve` in processes of their own."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from app.auth.models import Role
from app.auth.service import create_client
from app.auth.tokens import issue_access_token
from app.core.db import session_scope
from app.core.settings import Settings
from app.core.types import utc_now
from tests.conftest import secret_unused

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: FastAPI, **config: object) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment in which `python -m app …` runs with these settings."""
    return os.environ | {
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "JWT_SIGNING_KEYS": json.dumps(settings.jwt_signing_keys),
        "JWT_ACTIVE_KEY_ID": settings.jwt_active_key_id,
        "STORAGE_DIR": str(settings.storage_dir),
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def serve_in_processes(
    settings: Settings,
    *args: str,
    cwd: Path = PROJECT_ROOT,
    environment: dict[str, str] | None = None,
) -> Iterator[str]:
    """`python -m app serve` with the given settings as its environment."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "app", "serve", "--port", str(port), *args],
        cwd=cwd,
        env=environment or environment_of(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, errors = process.communicate(timeout=5)
                raise RuntimeError(f"server did not start: {errors.decode()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def committed_client(
    settings: Settings, engine: Engine, role: Role, city: str | None
) -> tuple[str, str]:
    """A new client committed to the database (a live server in another thread or process
    sees it): its id and a bearer header value."""
    with secret_unused():
        for session in session_scope(engine):
            client, _ = create_client(session, name=f"live {role.value}", role=role, city=city)
            client_id = client.id
    token = issue_access_token(settings, client_id=client_id, role=role, city=city, now=utc_now())
    return client_id, f"Bearer {token}"


def committed_token(settings: Settings, engine: Engine, role: Role, city: str | None) -> str:
    return committed_client(settings, engine, role, city)[1]
