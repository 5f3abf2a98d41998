"""Parallel retries with one Idempotency-Key against a live server: exactly one record is
stored, every client gets that record's answer (issue 10, defect 1)."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.auth.models import Role
from app.cases.models import HighlightCase
from app.core.settings import Settings
from app.documents.models import CityDocument
from app.main import create_app
from app.reporting.models import SnapshotRevision
from tests.live import committed_token, serve_in_thread
from tests.records_helpers import DOCUMENT, case_body

PARALLEL = 10
CITY = "320100"
CAMPAIGN = "/api/v1/campaigns/js-2024"


@pytest.fixture
def live_server(live_settings: Settings, live_engine: Engine) -> Iterator[str]:
    with serve_in_thread(create_app(live_settings, live_engine)) as base:
        yield base


@pytest.fixture
def reporter(live_settings: Settings, live_engine: Engine) -> dict[str, str]:
    return {"Authorization": committed_token(live_settings, live_engine, Role.reporter, CITY)}


def at_once(count: int, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return send(http)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def count_rows(engine: Engine, model: Any, *conditions: Any) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


@pytest.mark.parametrize(
    ("collection", "model", "body"),
    [
        ("cases", HighlightCase, case_body(title="同一请求并发重试")),
        ("documents", CityDocument, DOCUMENT | {"title": "同一请求并发重试"}),
    ],
)
def test_parallel_creates_with_one_key_store_one_record(
    live_server: str,
    reporter: dict[str, str],
    live_engine: Engine,
    collection: str,
    model: Any,
    body: dict[str, Any],
) -> None:
    url = f"{live_server}{CAMPAIGN}/cities/{CITY}/{collection}"
    headers = reporter | {"Idempotency-Key": f"race-{collection}"}
    responses = at_once(PARALLEL, lambda http: http.post(url, json=body, headers=headers))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in created) == 1
    assert count_rows(live_engine, model, model.title == body["title"]) == 1


def test_parallel_snapshot_puts_with_one_key_store_one_revision(
    live_server: str, reporter: dict[str, str], live_engine: Engine
) -> None:
    url = f"{live_server}{CAMPAIGN}/cities/{CITY}/tables/t1/periods/W07"
    headers = reporter | {"Idempotency-Key": "race-t1-W07"}
    body = {"values": {"postings_total": 7000}, "note": "并发重试"}
    responses = at_once(PARALLEL, lambda http: http.put(url, json=body, headers=headers))

    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    answered = [r.json() for r in responses if r.status_code == 200]
    assert {(a["status"], a["revision"]) for a in answered} == {("accepted", 1)}
    stored = count_rows(
        live_engine,
        SnapshotRevision,
        SnapshotRevision.city_code == CITY,
        SnapshotRevision.period_id == "W07",
    )
    assert stored == 1
