"""The Friday burst against live servers (issue 10): requests that need no database never
wait, readers never wait for a writer, a crowd of writers queues and hears 503 (never 500)
past a bound, and a server past its capacity sheds load with 503 at once."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from app.auth.models import Role
from app.core.db import create_db_engine
from app.core.settings import Settings
from app.main import create_app
from app.reporting.models import SnapshotRevision
from tests import loop_guard
from tests.live import committed_token, environment_of, serve_in_processes, serve_in_thread

CAMPAIGN = "/api/v1/campaigns/js-2024"
CITIES = ["320100", "320200", "320300", "320400", "320500", "320600", "320700"]


@contextmanager
def live(settings: Settings, engine: Engine, **changes: object) -> Iterator[str]:
    app = create_app(settings.model_copy(update=changes), engine if not changes else None)
    with serve_in_thread(app) as base:
        yield base


@pytest.fixture
def admin(live_settings: Settings, live_engine: Engine) -> dict[str, str]:
    return {"Authorization": committed_token(live_settings, live_engine, Role.admin, None)}


@contextmanager
def writer_holding_the_lock(settings: Settings, seconds: float) -> Iterator[None]:
    """A connection of its own (as another process would have) inside a write transaction
    that holds SQLite's write lock, or PostgreSQL's lock on the change counter."""
    release = threading.Event()
    started = threading.Event()
    other = create_db_engine(settings.sqlalchemy_url)

    def hold() -> None:
        with other.connect() as connection:
            if other.dialect.name == "postgresql":
                connection.execute(text("LOCK TABLE data_version IN EXCLUSIVE MODE"))
            connection.execute(
                text("UPDATE data_version SET version = version WHERE campaign_id = 'js-2024'")
            )
            started.set()
            release.wait(seconds)
            connection.rollback()

    thread = threading.Thread(target=hold)
    thread.start()
    assert started.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()
        other.dispose()


def timed_get(http: httpx.Client, url: str, **kwargs: object) -> tuple[int, float]:
    started = time.perf_counter()
    response = http.get(url, **kwargs)  # type: ignore[arg-type]
    return response.status_code, time.perf_counter() - started


def test_unknown_campaign_import_answers_at_once_while_a_writer_holds_the_lock(
    live_settings: Settings, live_engine: Engine, admin: dict[str, str]
) -> None:
    with live(live_settings, live_engine) as base, httpx.Client(timeout=30) as http:
        http.get(f"{base}{CAMPAIGN}/totals", headers=admin)  # the client is known now
        with writer_holding_the_lock(live_settings, seconds=6):
            started = time.perf_counter()
            response = http.post(
                f"{base}/api/v1/campaigns/nope/cities/320100/tables/t1/imports",
                params={"period": "W03"},
                files={"file": ("t1.csv", b"key,value\nfairs_total,3\n", "text/csv")},
                headers=admin,
            )
            elapsed = time.perf_counter() - started
            health = timed_get(http, f"{base}/healthz")
            totals = timed_get(http, f"{base}{CAMPAIGN}/totals", headers=admin)
    assert response.status_code == 404, response.text
    assert elapsed < 1.0
    assert health[0] == 200 and health[1] < 1.0
    assert totals[0] == 200 and totals[1] < 1.0


def test_readers_do_not_wait_for_a_writer(
    live_settings: Settings, live_engine: Engine, admin: dict[str, str]
) -> None:
    city = f"{CAMPAIGN}/cities/320100"
    with live(live_settings, live_engine) as base, httpx.Client(timeout=30) as http:
        put = http.put(
            f"{base}{city}/tables/t1/periods/W02",
            json={"values": {"postings_total": 1200}},
            headers=admin,
        )
        assert put.status_code == 200, put.text
        with writer_holding_the_lock(live_settings, seconds=6):
            reads = [
                timed_get(http, f"{base}{CAMPAIGN}/{view}", headers=admin)
                for view in ("totals", "goals", "compliance", "deltas")
            ]
            reads.append(timed_get(http, f"{base}{city}/tables/t1/periods/W02", headers=admin))
    assert [status for status, _ in reads] == [200] * 5
    assert max(seconds for _, seconds in reads) < 1.0, reads


def put_many(base: str, headers: dict[str, str], writers: int, rounds: int) -> list[httpx.Response]:
    barrier = threading.Barrier(writers)

    def writer(n: int) -> list[httpx.Response]:
        city = CITIES[n % len(CITIES)]
        answers = []
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            for r in range(rounds):
                answers.append(
                    http.put(
                        f"{base}{CAMPAIGN}/cities/{city}/tables/t2/periods/W0{1 + r}",
                        json={"values": {"ew_fairs": n + 1}, "note": f"writer {n}"},
                        headers=headers,
                    )
                )
        return answers

    with ThreadPoolExecutor(max_workers=writers) as pool:
        return [answer for answers in pool.map(writer, range(writers)) for answer in answers]


def stored_revisions(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(SnapshotRevision)
            .where(SnapshotRevision.table_id == "t2")
        ).one()


def test_fifty_concurrent_writers_all_succeed(
    live_settings: Settings, live_engine: Engine, admin: dict[str, str]
) -> None:
    before = stored_revisions(live_engine)
    with live(live_settings, live_engine) as base:
        answers = put_many(base, admin, writers=50, rounds=4)
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == len(answers), {s: statuses.count(s) for s in set(statuses)}
    accepted = [a for a in answers if a.json()["status"] != "unchanged"]
    assert stored_revisions(live_engine) - before == len(accepted)


def test_writers_past_the_queue_bound_get_503_with_retry_after_never_500(
    live_settings: Settings, live_engine: Engine, admin: dict[str, str]
) -> None:
    before = stored_revisions(live_engine)
    # A queue bound far below the time 50 writers need: many must be told to come back.
    with live(live_settings, live_engine, pool_wait_seconds=0.005) as base:
        answers = put_many(base, admin, writers=50, rounds=2)
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 503}, [a.text for a in answers if a.status_code not in (200, 503)]
    refused = [a for a in answers if a.status_code == 503]
    assert refused, "the bound was never reached"
    assert all(a.headers["Retry-After"] == "1" for a in refused)
    assert all(a.headers["Content-Type"] == "application/problem+json" for a in refused)
    accepted = [a for a in answers if a.status_code == 200 and a.json()["status"] != "unchanged"]
    assert stored_revisions(live_engine) - before == len(accepted)


def test_overload_is_shed_with_503_at_once_and_healthz_still_answers(
    live_settings: Settings, live_engine: Engine, admin: dict[str, str]
) -> None:
    clients = 40
    barrier = threading.Barrier(clients)

    def dashboard(n: int) -> tuple[int, float, str | None]:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            started = time.perf_counter()
            # A distinct as_of each: nothing is served from the memo.
            response = http.get(
                f"{base}{CAMPAIGN}/goals",
                params={"as_of": f"2024-03-01T10:00:{n:02d}+08:00"},
                headers=admin,
            )
            return (
                response.status_code,
                time.perf_counter() - started,
                response.headers.get("Retry-After"),
            )

    # The server in a process of its own, as in production: in this process its event loop
    # would share the interpreter lock with the forty client threads.
    environment = environment_of(live_settings) | {"WORKER_THREADS": "2", "MAX_IN_FLIGHT": "4"}
    with serve_in_processes(live_settings, environment=environment) as base:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(dashboard, range(clients)))
        with httpx.Client(timeout=30) as http:
            health = timed_get(http, f"{base}/healthz")
    statuses = [status for status, _, _ in results]
    assert set(statuses) == {200, 503}, statuses
    shed = [(seconds, retry) for status, seconds, retry in results if status == 503]
    assert all(retry == "1" for _, retry in shed)
    # Refused at once: before, the server queued everything and answered after up to 30 s.
    assert max(seconds for seconds, _ in shed) < 1.0
    assert health[0] == 200


def test_the_loop_guard_catches_sql_on_the_event_loop(engine: Engine) -> None:
    """The guard every test runs under, broken once on purpose."""
    app = FastAPI()

    @app.get("/bad")
    async def bad() -> int:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(SnapshotRevision)).one())

    with TestClient(app) as client:
        assert client.get("/bad").status_code == 200
    assert any("SQL on the event loop" in v for v in loop_guard.violations)
    loop_guard.violations.clear()
