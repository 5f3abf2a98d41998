"""The background worker (issue 13 section 3): its rounds, the thread `serve` runs, and
`python -m app worker` processes, one of them killed with SIGKILL in the middle of a
delivery: the delivery it held is sent again, with the same webhook-id, by the next one."""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import session_scope
from app.core.settings import Settings
from app.outbox.models import EventType
from app.webhooks.models import WebhookSubscription
from app.webhooks.service import new_secret
from app.worker import loop
from app.worker.loop import Worker, new_worker_id, start_worker_thread
from tests.live import PROJECT_ROOT, environment_of
from tests.test_webhooks import Received, Receiver, add_events, deliveries_of, set_aside

CAMPAIGN_ID = "js-2024"


@pytest.fixture
def engine_at_rest(live_engine: Engine) -> Engine:
    set_aside(live_engine)
    return live_engine


def subscribe(engine: Engine, url: str, events: list[str]) -> WebhookSubscription:
    """A campaign-wide subscription written straight to the database."""
    for session in session_scope(engine):
        subscription = WebhookSubscription(
            id=f"whk_{os.urandom(12).hex()}",
            campaign_id=CAMPAIGN_ID,
            url=url,
            event_types=events,
            secret=new_secret(),
            created_by="test",
        )
        session.add(subscription)
    return subscription


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_worker_ids_name_the_host_and_process() -> None:
    first, second = new_worker_id(), new_worker_id()
    assert first != second and len(first) <= 64
    assert first.split(":")[1] == str(os.getpid())


def test_a_failing_step_does_not_stop_the_round(
    live_settings: Settings,
    engine_at_rest: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("receiver table on fire")

    def reminders(
        _session: Session,
        at: datetime,
        campaign_id: str | None = None,
        *,
        settings: Settings | None = None,
    ) -> list[object]:
        calls.append(f"reminders {at.isoformat()}")
        return []

    def emails(_engine: Engine, _settings: Settings, worker_id: str, _now: datetime) -> int:
        calls.append(f"email {worker_id}")
        return 0

    monkeypatch.setattr(loop, "deliver_due", broken)
    monkeypatch.setattr(loop, "run_reminders", reminders)
    monkeypatch.setattr(loop, "send_pending_emails", emails)
    settings = live_settings.model_copy(update={"reminder_interval_seconds": 3600.0})
    worker = Worker(settings, engine_at_rest, worker_id="w-test")
    try:
        with caplog.at_level(logging.ERROR, logger="app.worker"):
            assert worker.run_once() == 0
            # within the interval the reminders wait; the other steps run every round
            assert worker.run_once() == 0
        at = datetime.fromisoformat("2024-02-23T15:00+08:00")
        worker.run_once(at)  # an instant given: what the scheduler would do then
    finally:
        worker.close()
    assert calls[0].startswith("reminders ") and calls[1:3] == ["email w-test"] * 2
    assert calls[3:] == [f"reminders {at.isoformat()}", "email w-test"]
    failures = [r for r in caplog.records if r.getMessage() == "worker step failed"]
    assert [r.__dict__["step"] for r in failures] == ["deliver"] * 3


def test_the_worker_thread_delivers_and_stops(
    live_settings: Settings, engine_at_rest: Engine
) -> None:
    settings = live_settings.model_copy(update={"worker_poll_seconds": 0.05})
    with Receiver() as receiver:
        subscription = subscribe(engine_at_rest, receiver.url(), ["case.created"])
        handle = start_worker_thread(settings)
        try:
            (webhook_id,) = add_events(engine_at_rest, 1, event_type=EventType.case_created)
            (received,) = receiver.wait_for(1)
        finally:
            handle.stop(timeout=10)
        assert not handle.thread.is_alive()
    assert received.webhook_id == webhook_id
    assert received.verified(subscription.secret)["type"] == "case.created"


def start_worker(settings: Settings, log: IO[bytes], **overrides: str) -> subprocess.Popen[bytes]:
    environment = environment_of(settings) | {"WORKER_POLL_SECONDS": "0.1"} | overrides
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_worker_killed_mid_delivery_loses_nothing(
    live_settings: Settings,
    engine_at_rest: Engine,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    engine = engine_at_rest
    release = threading.Event()

    def hang_on_the_first(_received: Received, before: int) -> int:
        if before == 0:
            release.wait(30)
        return 200

    with Receiver(hang_on_the_first) as receiver:
        subscription = subscribe(engine, receiver.url(), ["snapshot.accepted"])
        webhook_ids = add_events(engine, 5)

        def delivered() -> int:
            rows = deliveries_of(engine, subscription.id)
            return sum(row.status == "delivered" for row in rows)

        with (tmp_path / "first.log").open("wb") as log:
            first = start_worker(
                live_settings, log, WEBHOOK_LEASE_SECONDS="2", WEBHOOK_TIMEOUT_SECONDS="30"
            )
            processes.append(first)
            wait_until(lambda: len(receiver.received) >= 5 and delivered() == 4, 30, "4 of 5")
            hung = receiver.received[0].webhook_id
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        (held,) = [r for r in deliveries_of(engine, subscription.id) if r.status == "pending"]
        assert held.lease_until is not None and held.attempts == 0

        log_path = tmp_path / "second.log"
        with log_path.open("wb") as log:
            second = start_worker(live_settings, log, WEBHOOK_LEASE_SECONDS="1", LOG_LEVEL="INFO")
            processes.append(second)
            wait_until(lambda: delivered() == 5, 30, "the held delivery")
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
        release.set()
        received = list(receiver.received)

    assert sorted({r.webhook_id for r in received}) == sorted(webhook_ids)
    assert [r.webhook_id for r in received].count(hung) == 2
    for request in received:
        request.verified(subscription.secret)
    (row,) = [r for r in deliveries_of(engine, subscription.id) if r.id == held.id]
    assert (row.status, row.attempts, row.lease_until) == ("delivered", 1, None)
    messages = [json.loads(line)["message"] for line in log_path.read_text().splitlines()]
    assert messages[0] == "worker started" and messages[-1] == "worker stopped"
