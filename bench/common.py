"""Shared set-up for the benchmarks: throw-away databases, a seeded app, a live server."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from app.auth.models import Role
from app.auth.service import create_client
from app.auth.tokens import issue_access_token
from app.cli import prepare_database
from app.core.db import create_db_engine, session_scope
from app.core.settings import Settings
from app.core.types import utc_now

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database URL of the given kind, dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    name = f"sb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def bench_settings(url: str) -> Settings:
    # Not "test": the app is measured as it serves, start-up steps included.
    return Settings(_env_file=None, app_env="development", database_url=url, log_level="WARNING")


def prepared(url: str) -> Settings:
    settings = bench_settings(url)
    prepare_database(settings).dispose()
    return settings


def token_for(settings: Settings, role: Role, city: str | None) -> str:
    engine = create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        client, _ = create_client(session, name=f"bench {role.value}", role=role, city=city)
        client_id = client.id
    engine.dispose()
    return issue_access_token(settings, client_id=client_id, role=role, city=city, now=utc_now())


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def live_server(settings: Settings, **environment: str) -> Iterator[str]:
    """`python -m app serve` in a child process, on a free loopback port; `environment`
    adds settings (e.g. MAX_IN_FLIGHT="8")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = (
        os.environ
        | {
            "DATABASE_URL": settings.database_url,
            "LOG_LEVEL": "WARNING",
            "JWT_SIGNING_KEYS": json.dumps(settings.jwt_signing_keys),
            "JWT_ACTIVE_KEY_ID": settings.jwt_active_key_id,
        }
        | environment
    )
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
