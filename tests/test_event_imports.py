"""Event batches in an import process of their own (issue 10, reads during a batch): the
server forwards the body and answers what the import process answers, errors included,
and a dead import process is replaced."""

import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text
from starlette.middleware.gzip import GZipResponder

from app.auth.models import Role
from app.computed import memo
from app.core.db import checkpoint, create_db_engine
from app.core.errors import (
    FieldError,
    InvalidInput,
    ServiceError,
    ServiceUnavailable,
    Unauthorized,
)
from app.core.settings import Settings
from app.events.import_process import EventImports
from app.main import create_app
from tests.live import PROJECT_ROOT, committed_token, environment_of, free_port, serve_in_thread
from tests.records_helpers import GUSU, NANJING, city_url, event_body

BATCH = city_url(NANJING, "events") + "/batch"
Server = tuple[FastAPI, httpx.Client]


@pytest.fixture
def server(live_settings: Settings, live_engine: Engine) -> Iterator[Server]:
    app = create_app(live_settings.model_copy(update={"event_import_processes": 1}))
    token = committed_token(live_settings, live_engine, Role.reporter, NANJING)
    with (
        serve_in_thread(app) as base,
        httpx.Client(base_url=base, headers={"Authorization": token}, timeout=60) as http,
    ):
        yield app, http


def items(*external_ids: str, **changes: Any) -> list[dict[str, Any]]:
    """Events with these ids, of this test alone (the live database outlives a test)."""
    run = uuid.uuid4().hex[:8]
    return [{"external_id": f"{run}-{n}", **event_body(**changes)} for n in external_ids]


def import_pids(app: FastAPI) -> set[int]:
    imports: EventImports = app.state.event_imports
    pool: Any = imports._pool
    return set(pool._processes) if pool is not None else set()


def test_a_batch_is_stored_by_a_process_of_its_own(server: Server) -> None:
    app, http = server
    batch = {"items": items("NJ-1", "NJ-2", "NJ-3")}
    first = http.post(BATCH, json=batch)
    assert first.status_code == 200, first.text
    assert first.json()["stats"]["created"] == 3
    pids = import_pids(app)
    assert len(pids) == 1 and os.getpid() not in pids
    replay = http.post(BATCH, json=batch).json()
    assert replay["stats"]["unchanged"] == 3
    for event in batch["items"]:
        stored = http.get(city_url(NANJING, "events") + "/" + event["external_id"])
        assert stored.status_code == 200 and stored.json()["revision"] == 1


def test_the_summary_is_compressed_by_the_import_process(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5,000-item summary is ~400 KB: compressed at the import process's lower priority,
    not by the server's compression middleware, in the time the server serves reads."""
    _, http = server
    compressed_by_server: list[int] = []
    real = GZipResponder.apply_compression

    async def counted(self: GZipResponder, body: bytes, *, more_body: bool) -> bytes:
        compressed_by_server.append(len(body))
        return await real(self, body, more_body=more_body)

    monkeypatch.setattr(GZipResponder, "apply_compression", counted)
    batch = {"items": items(*[f"NJ-{n}" for n in range(60)])}
    zipped = http.post(BATCH, json=batch, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json()["stats"]["created"] == 60  # httpx decompressed it
    plain = http.post(BATCH, json=batch, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json()["stats"]["unchanged"] == 60
    assert compressed_by_server == []


def test_refusals_come_back_whole(server: Server) -> None:
    _, http = server

    def refused(url: str, **request: Any) -> tuple[int, list[tuple[str, str]], dict[str, Any]]:
        answer = http.post(url, **request)
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        problem = answer.json()
        return answer.status_code, [(e["field"], e["code"]) for e in problem["errors"]], problem

    unknown = BATCH.replace("js-2024", "nope")
    assert refused(unknown, json={"items": items("NJ-1")})[0] == 404
    assert refused(BATCH, content=b'{"items": [')[:2] == (422, [("body", "json_invalid")])
    repeated = b'{"items": [], "items": []}'
    assert refused(BATCH, content=repeated)[:2] == (422, [("body", "duplicate_key")])
    not_json = {"content": b"items=1", "headers": {"Content-Type": "text/plain"}}
    assert refused(BATCH, **not_json)[:2] == (422, [("body", "not_json")])
    too_many = {"items": items(*(f"NJ-{n}" for n in range(5001)))}
    assert refused(BATCH, json=too_many)[:2] == (422, [("items", "too_long")])
    status, errors, _ = refused(BATCH, json={"items": [*items("NJ-1"), "x"]})
    assert (status, errors) == (422, [("items.1", "dict_type")])
    atomic = items("NJ-1") + items("NJ-2", county=GUSU)
    status, errors, problem = refused(BATCH + "?atomic=true", json={"items": atomic})
    assert (status, errors) == (422, [("items.1.county", "not_in_city")])
    assert problem["summary"]["stats"] == {
        "total": 2, "created": 0, "updated": 0, "unchanged": 0, "rejected": 1, "ignored": 1
    }  # fmt: skip


def test_a_dead_import_process_is_replaced(server: Server) -> None:
    app, http = server
    assert http.post(BATCH, json={"items": items("NJ-1")}).status_code == 200
    (pid,) = import_pids(app)
    os.kill(pid, signal.SIGKILL)
    second = {"items": items("NJ-2")}
    lost = http.post(BATCH, json=second)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
    again = http.post(BATCH, json=second)
    assert again.status_code == 200 and again.json()["stats"]["created"] == 1
    assert pid not in import_pids(app)


@pytest.mark.parametrize(
    "error",
    [
        InvalidInput("bad", errors=[FieldError("items.1.county", "not_in_city", "no")]),
        ServiceUnavailable("busy", retry_after_seconds=3),
        Unauthorized("expired"),
    ],
)
def test_a_service_error_crosses_processes_whole(error: ServiceError) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is type(error)
    fields = ("detail", "errors", "headers", "extra", "status", "type_slug")
    assert [getattr(copy, name) for name in fields] == [getattr(error, name) for name in fields]


def test_the_polled_views_come_back_with_the_batch(server: Server) -> None:
    """The import process computes the polled views before it commits; the server has them
    in its memo before it answers the batch, so the next poll computes nothing."""
    _, http = server
    admin = {"Authorization": http.headers["Authorization"]}  # any known caller may poll
    goals = "/api/v1/campaigns/js-2024/goals?at=2024-03-29T12:00:00%2B08:00"
    before = http.get(goals, headers=admin | {"Accept-Encoding": "identity"})
    http.post(BATCH, json={"items": items("NJ-1", "NJ-2")}).raise_for_status()
    ready = set(memo._memo)
    after = http.get(goals, headers={"Accept-Encoding": "identity"})
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["etag"] in ready


def test_an_import_process_copies_the_log_before_a_batch_not_at_commit(
    tmp_path: Path,
) -> None:
    """SQLite: the commit that ends a batch returns without copying the write-ahead log
    (readers see the batch before its answer is back otherwise); `checkpoint` copies it."""
    engine = create_db_engine(f"sqlite:///{tmp_path}/log.db", checkpoints_on_commit=False)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER, s TEXT)")
        many = [{"n": n, "s": "春风" * 500} for n in range(5000)]
        connection.execute(text("INSERT INTO t VALUES (:n, :s)"), many)
    log = tmp_path / "log.db-wal"
    pages = log.stat().st_size // 4096
    assert pages > 1000  # past the default threshold, and not copied at commit
    checkpoint(engine)
    raw = engine.raw_connection()
    try:
        busy, frames, copied = raw.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
    finally:
        raw.close()
    assert busy == 0 and frames == copied
    engine.dispose()


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def test_an_import_process_ends_with_its_server(
    live_settings: Settings, live_engine: Engine
) -> None:
    """A server killed outright (SIGKILL, the out-of-memory killer) cannot stop its import
    process: the import process notices and ends within seconds instead of lingering."""
    token = committed_token(live_settings, live_engine, Role.reporter, NANJING)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=environment_of(live_settings) | {"EVENT_IMPORT_PROCESSES": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not answers(base + "/healthz") and time.monotonic() < deadline:
            time.sleep(0.1)
        imported = httpx.post(
            base + BATCH,
            json={"items": items("NJ-1")},
            headers={"Authorization": token},
            timeout=60,
        )
        assert imported.status_code == 200, imported.text
        children = children_of(server.pid)
        (importer,) = {pid for pid in children if b"spawn_main" in command_line(pid)}
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, f"import process {importer} outlived its server"
        time.sleep(0.1)


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_an_import_process_runs_at_the_lower_priority_it_is_given(server: Server) -> None:
    app, http = server
    http.post(BATCH, json={"items": items("NJ-1")}).raise_for_status()
    (pid,) = import_pids(app)
    niceness = app.state.settings.event_import_niceness
    assert niceness > 0
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + niceness
