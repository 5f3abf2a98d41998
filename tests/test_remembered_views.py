"""Polled views answered again without running their route (app.computed.remembered): the
same bytes and headers as the route's answer, never a stale one, and nothing for a caller
or a moment the process cannot vouch for without the route."""

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from app.auth import service as auth_service
from app.auth.models import Role
from app.computed import answers, memo, remembered, views
from app.computed import router as computed_router
from app.core.db import create_db_engine, session_scope
from app.core.errors import NotFound
from app.core.settings import Settings
from app.core.types import utc_now
from app.main import create_app
from tests.live import committed_client, committed_token, serve_in_thread
from tests.records_helpers import event_body

CAMPAIGN = "/api/v1/campaigns/js-2024"
GOALS = f"{CAMPAIGN}/goals"
CITY = "320100"
# What a response says of its body besides the body itself.
DESCRIBING = ("etag", "cache-control", "vary", "content-type", "content-encoding")


@pytest.fixture
def client(live_settings: Settings, live_engine: Engine) -> Iterator[TestClient]:
    """The app as it serves: its own sessions on a database whose writes commit."""
    memo.clear()
    with TestClient(create_app(live_settings, live_engine)) as test_client:
        yield test_client


@pytest.fixture
def admin(live_settings: Settings, live_engine: Engine) -> dict[str, str]:
    return {"Authorization": committed_token(live_settings, live_engine, Role.admin, None)}


@pytest.fixture
def route_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every run of the goals and totals routes' answers, by view."""
    runs: list[str] = []
    for name in ("goals", "totals"):
        real: Callable[..., Any] = getattr(answers, name)

        def counted(
            *args: Any, _real: Callable[..., Any] = real, _name: str = name, **kwargs: Any
        ) -> Any:
            runs.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(answers, name, counted)
    return runs


def described(response: Any) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in DESCRIBING}


def city_values(totals: Any) -> list[object]:
    """Every city's value in a /totals answer."""
    return [city["value"] for item in totals.json()["items"] for city in item["cities"]]


def put_postings(client: TestClient, headers: dict[str, str], postings: int) -> None:
    client.put(
        f"{CAMPAIGN}/cities/{CITY}/tables/t1/periods/W02",
        json={"values": {"postings_total": postings, "fairs_total": 3}},
        headers=headers,
    ).raise_for_status()


def test_a_repeated_poll_gets_the_routes_answer_without_the_route(
    client: TestClient, admin: dict[str, str], route_runs: list[str]
) -> None:
    first = client.get(GOALS, headers=admin)
    again = client.get(GOALS, headers=admin)
    assert first.status_code == again.status_code == 200
    assert route_runs == ["goals"]
    assert again.content == first.content and described(again) == described(first)

    zipped = {"Accept-Encoding": "gzip"}
    compressed = client.get(GOALS, headers=admin | zipped)
    compressed_again = client.get(GOALS, headers=admin | zipped)
    assert described(compressed_again) == described(compressed)
    assert compressed_again.headers["content-encoding"] == "gzip"
    assert compressed_again.content == first.content  # httpx decompressed it

    unchanged = client.get(GOALS, headers=admin | {"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == first.headers["ETag"]
    assert route_runs == ["goals"]  # the gzip form is the same answer, compressed once


def test_every_write_is_seen_by_the_next_poll(
    client: TestClient,
    admin: dict[str, str],
    live_settings: Settings,
    live_engine: Engine,
    route_runs: list[str],
) -> None:
    totals = f"{CAMPAIGN}/totals?table=t1&period=W02"
    before = client.get(totals, headers=admin)
    etag = before.headers["ETag"]
    put_postings(client, admin, 41_000)
    after = client.get(totals, headers=admin | {"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert 41_000 in city_values(after)

    # A write through another server (its own engine and pools, as another worker
    # process's) counts as much.
    other_engine = create_db_engine(live_settings.sqlalchemy_url)
    try:
        with TestClient(create_app(live_settings, other_engine)) as other:
            put_postings(other, admin, 42_000)
    finally:
        other_engine.dispose()
    latest = client.get(totals, headers=admin | {"If-None-Match": after.headers["ETag"]})
    assert latest.status_code == 200
    assert 42_000 in city_values(latest)
    assert route_runs == ["totals", "totals", "totals"]


@pytest.fixture
def route_entries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time a computed view's route handler runs (not just its answer)."""
    entered: list[str] = []
    real = memo.answer_view

    def counted(request: Any, *args: Any) -> Any:
        entered.append(request.url.path)
        return real(request, *args)

    monkeypatch.setattr(computed_router, "answer_view", counted)
    return entered


def test_a_poll_after_a_write_is_computed_again_without_the_route(
    client: TestClient,
    admin: dict[str, str],
    route_runs: list[str],
    route_entries: list[str],
) -> None:
    """The route parsed and checked the query the first time; a later poll whose data
    changed gets its new answer from the same parameters, without the route's framework."""
    totals = f"{CAMPAIGN}/totals?table=t1&period=W02"
    before = client.get(totals, headers=admin)
    put_postings(client, admin, 43_000)
    after = client.get(totals, headers=admin | {"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and 43_000 in city_values(after)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert route_runs == ["totals", "totals"] and len(route_entries) == 1
    again = client.get(totals, headers=admin | {"If-None-Match": after.headers["ETag"]})
    assert again.status_code == 304 and route_runs == ["totals", "totals"]

    memo.clear()  # the same answer from the route itself
    assert client.get(totals, headers=admin).content == after.content
    assert len(route_entries) == 2


def polled_then_changed(client: TestClient, admin: dict[str, str], postings: int) -> str:
    """The path of a totals view polled once whose data then changed: the next poll of it
    is computed again by the remembered-views middleware."""
    totals = f"{CAMPAIGN}/totals?table=t1&period=W02"
    client.get(totals, headers=admin).raise_for_status()
    put_postings(client, admin, postings)
    return totals


def test_a_poll_computed_again_leaves_refusals_to_the_route_and_answers_busy_itself(
    client: TestClient,
    admin: dict[str, str],
    route_entries: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    totals = polled_then_changed(client, admin, 44_000)

    def locked(*_: object) -> Any:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(memo, "answer_view", locked)
    busy = client.get(totals, headers=admin)
    assert busy.status_code == 503 and busy.headers["Retry-After"]
    assert busy.headers["content-type"] == "application/problem+json"
    assert len(route_entries) == 1  # the route would wait for the same database again

    def refused(*_: object, **__: object) -> Any:
        raise NotFound("no such campaign")

    monkeypatch.setattr(memo, "answer_view", refused)
    monkeypatch.setattr(views, "totals_view", refused)
    gone = client.get(totals, headers=admin)
    assert gone.status_code == 404 and gone.json()["detail"] == "no such campaign"
    assert len(route_entries) == 2  # rendered by the route, as every refusal


def test_a_failure_computing_again_is_left_to_the_route(
    client: TestClient,
    admin: dict[str, str],
    route_entries: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    totals = polled_then_changed(client, admin, 45_000)

    def broken(*_: object) -> Any:
        raise RuntimeError("a defect met only outside the route")

    monkeypatch.setattr(memo, "answer_view", broken)
    answered = client.get(totals, headers=admin)
    assert answered.status_code == 200 and 45_000 in city_values(answered)
    assert len(route_entries) == 2


def test_callers_the_process_has_not_vouched_for_go_to_the_route(
    client: TestClient,
    admin: dict[str, str],
    live_settings: Settings,
    live_engine: Engine,
    route_runs: list[str],
) -> None:
    assert client.get(GOALS, headers=admin).status_code == 200
    assert client.get(GOALS).status_code == 401
    assert client.get(GOALS, headers={"Authorization": "Bearer not.a.token"}).status_code == 401
    assert route_runs == ["goals"]  # refused before the route's answer is asked for

    reporter_id, reporter = committed_client(live_settings, live_engine, Role.reporter, CITY)
    assert client.get(GOALS, headers={"Authorization": reporter}).status_code == 200
    assert client.get(GOALS, headers={"Authorization": reporter}).status_code == 200
    assert route_runs == ["goals", "goals"]  # the route vouched for the reporter once
    auth_service.forget_client(reporter_id)  # not seen active lately: the route asks
    assert client.get(GOALS, headers={"Authorization": reporter}).status_code == 200
    assert route_runs == ["goals", "goals", "goals"]

    for session in session_scope(live_engine):
        auth_service.disable_client(session, reporter_id)
    assert client.get(GOALS, headers={"Authorization": reporter}).status_code == 401


def test_a_default_taken_from_the_clock_is_taken_again_the_next_minute(
    client: TestClient,
    admin: dict[str, str],
    route_runs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged_at = f"{GOALS}?at=2024-03-01T12:00:00%2B08:00"
    for path in (GOALS, judged_at):
        client.get(path, headers=admin).raise_for_status()
    assert route_runs == ["goals", "goals"]
    later = utc_now() + timedelta(minutes=1)
    monkeypatch.setattr(remembered, "utc_now", lambda: later)
    for path in (GOALS, judged_at):
        client.get(path, headers=admin).raise_for_status()
    assert route_runs == ["goals", "goals", "goals"]  # `at` given: the clock does not matter


def test_an_unreadable_change_token_leaves_the_answer_to_the_route(
    client: TestClient,
    admin: dict[str, str],
    route_runs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = client.get(GOALS, headers=admin)

    def unreachable(*_: object) -> str:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(remembered, "read_change_token", unreachable)
    again = client.get(GOALS, headers=admin)
    assert again.status_code == 200 and again.content == first.content
    assert route_runs == ["goals", "goals"]


def test_dashboards_asking_at_once_after_a_write_wait_for_one_computation(
    live_settings: Settings,
    live_engine: Engine,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a write every polling dashboard asks for the same new answer at the same
    moment: one computes it, the others wait for it, instead of each computing it on the
    same two cores."""
    memo.clear()
    computed: list[float] = []
    real = views.goals_view

    def slow_goals(*args: Any, **kwargs: Any) -> Any:
        computed.append(time.monotonic())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "goals_view", slow_goals)
    path = f"{GOALS}?at=2024-03-01T12:00:00%2B08:00"
    with (
        serve_in_thread(create_app(live_settings, live_engine)) as base,
        ThreadPoolExecutor(8) as pool,
    ):
        answers_given = list(
            pool.map(lambda _: httpx.get(base + path, headers=admin, timeout=30), range(8))
        )
    assert [a.status_code for a in answers_given] == [200] * 8
    assert len({a.content for a in answers_given}) == 1
    assert len(computed) == 1


def test_an_events_import_precomputes_the_views_being_polled(
    client: TestClient,
    admin: dict[str, str],
    live_settings: Settings,
    live_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/goals counts the events: after each batch of an import the first poll would compute
    it while the next batch shares the machine. The batch computes it before it commits,
    keyed by the change token it commits, so that poll finds it ready."""
    computed: list[str] = []
    real = views.goals_view

    def counted(*args: Any, **kwargs: Any) -> Any:
        computed.append("goals")
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "goals_view", counted)
    reporter = {"Authorization": committed_token(live_settings, live_engine, Role.reporter, CITY)}
    batch = f"{CAMPAIGN}/cities/{CITY}/events/batch"
    events = [{"external_id": f"{uuid.uuid4().hex[:12]}-{n}", **event_body()} for n in range(3)]

    goals = f"{GOALS}?at=2024-03-29T12:00:00%2B08:00"
    before = client.get(goals, headers=admin)
    assert computed == ["goals"]
    imported = client.post(batch, json={"items": events}, headers=reporter)
    assert imported.json()["stats"]["created"] == 3
    assert computed == ["goals", "goals"]  # in the batch's transaction
    after = client.get(goals, headers=admin)
    assert computed == ["goals", "goals"]  # the poll found it ready
    assert after.headers["etag"] != before.headers["etag"]
    client.post(batch, json={"items": events}, headers=reporter).raise_for_status()
    assert computed == ["goals", "goals"]  # a replay changes nothing: nothing to compute

    memo.clear()  # the same answer computed afresh
    again = client.get(goals, headers=admin)
    assert again.json() == after.json() and again.headers["etag"] == after.headers["etag"]
    assert again.json() != before.json()
