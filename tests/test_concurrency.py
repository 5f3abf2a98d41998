"""Many simultaneous writers against a real uvicorn server: no lost or duplicated revision,
no 5xx, on SQLite and on PostgreSQL."""

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.auth.models import ApiClient, Role
from app.auth.service import create_client
from app.auth.tokens import issue_access_token
from app.core.db import session_scope
from app.core.settings import Settings
from app.core.types import utc_now
from app.idempotency.models import IdempotencyRecord
from app.main import create_app
from app.reporting.models import SnapshotHead, SnapshotRevision

CITY = "321300"
WRITERS = 24


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(settings: Settings, engine: Engine) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def committed_reporter(settings: Settings, engine: Engine) -> Iterator[dict[str, str]]:
    """A reporter the live server can see (committed), removed with its data afterwards."""
    for session in session_scope(engine):
        client, _ = create_client(session, name="concurrency", role=Role.reporter, city=CITY)
        client_id = client.id
    token = issue_access_token(
        settings, client_id=client_id, role=Role.reporter, city=CITY, now=utc_now()
    )
    yield {"Authorization": f"Bearer {token}"}
    for session in session_scope(engine):
        for model in (SnapshotRevision, SnapshotHead):
            session.execute(delete(model).where(col(model.city_code) == CITY))
        session.execute(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.client_id) == client_id)
        )
        session.execute(delete(ApiClient).where(col(ApiClient.id) == client_id))


def fire(
    base: str,
    headers: dict[str, str],
    bodies: list[tuple[dict[str, Any], dict[str, str]]],
    period: str,
) -> list[httpx.Response]:
    url = f"{base}/api/v1/campaigns/js-2024/cities/{CITY}/tables/t2/periods/{period}"
    barrier = threading.Barrier(len(bodies))

    def one(item: tuple[dict[str, Any], dict[str, str]]) -> httpx.Response:
        body, extra = item
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return http.put(url, json=body, headers=headers | extra)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def revisions(engine: Engine, period: str) -> list[int]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(SnapshotRevision.revision)
                .where(SnapshotRevision.city_code == CITY, SnapshotRevision.period_id == period)
                .order_by(col(SnapshotRevision.revision))
            ).all()
        )


def test_concurrent_distinct_writes_each_get_their_own_revision(
    live_server: str, committed_reporter: dict[str, str], engine: Engine
) -> None:
    bodies: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"values": {"ew_fairs": n + 1}, "note": f"writer {n}"}, {}) for n in range(WRITERS)
    ]
    responses = fire(live_server, committed_reporter, bodies, "W10")
    assert [r.status_code for r in responses] == [200] * WRITERS, [
        r.text for r in responses if r.status_code != 200
    ]
    numbers = sorted(r.json()["revision"] for r in responses)
    assert numbers == list(range(1, WRITERS + 1))
    assert revisions(engine, "W10") == list(range(1, WRITERS + 1))


def test_concurrent_replays_of_one_key_create_one_revision(
    live_server: str, committed_reporter: dict[str, str], engine: Engine
) -> None:
    key = {"Idempotency-Key": "yancheng-t2-W11-once"}
    body = {"values": {"ew_fairs": 5, "ew_fairs_sx_qh": 2}}
    responses = fire(live_server, committed_reporter, [(body, key)] * WRITERS, "W11")
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["revision"] for r in responses} == {1}
    assert revisions(engine, "W11") == [1]

    same_body_no_key = fire(live_server, committed_reporter, [(body, {})] * 8, "W11")
    assert {r.json()["status"] for r in same_body_no_key} == {"unchanged"}
    assert revisions(engine, "W11") == [1]
