"""The background worker: fan-out and delivery of webhooks, reminders, e-mail.

`python -m app worker` runs it as a process of its own (several of them are safe on
PostgreSQL); `serve` runs one in a thread of its parent process. Each step of a round is
guarded on its own: a failing step is logged and the others still run.
"""

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

from sqlalchemy import Engine

from app.core.db import create_db_engine, session_scope
from app.core.settings import Settings
from app.core.types import utc_now
from app.reminders.email import send_pending_emails
from app.reminders.service import run_reminders
from app.webhooks.delivery import deliver_due, fan_out, new_http_client

logger = logging.getLogger("app.worker")

# The worker's own pool: the steps of a round run one after the other, the webhook sends
# in threads of their own without holding a connection.
WORKER_CONNECTIONS = 2


def new_worker_id() -> str:
    """hostname:pid:random, as kept on every delivery attempt (at most 64 characters)."""
    suffix = f":{os.getpid()}:{secrets.token_hex(3)}"
    return socket.gethostname()[: 64 - len(suffix)] + suffix


class Worker:
    def __init__(self, settings: Settings, engine: Engine, worker_id: str | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.worker_id = worker_id or new_worker_id()
        self.http = new_http_client(settings)
        self._next_reminders = 0.0  # time.monotonic(): run at the first round

    def close(self) -> None:
        self.http.close()

    def _step(self, name: str, run: Callable[[], int]) -> int:
        try:
            return run()
        except Exception:
            logger.exception("worker step failed", extra={"step": name, "worker": self.worker_id})
            return 0

    def _reminders(self, now: datetime) -> int:
        sent = 0
        for session in session_scope(self.engine):
            sent = len(run_reminders(session, now, settings=self.settings))
        return sent

    def run_once(self, now: datetime | None = None) -> int:
        """One round at `now` (default: the clock); returns how much was done (events fanned
        out, deliveries attempted, reminders and e-mails sent), 0 when there was nothing."""
        at = now or utc_now()
        began = time.monotonic()
        done = self._step("fan_out", lambda: fan_out(self.engine, self.settings, at))
        done += self._step(
            "deliver",
            lambda: deliver_due(self.engine, self.settings, self.worker_id, at, client=self.http),
        )
        if now is not None or time.monotonic() >= self._next_reminders:
            self._next_reminders = time.monotonic() + self.settings.reminder_interval_seconds
            done += self._step("reminders", lambda: self._reminders(at))
            # Reminders just recorded are fanned out in this round, not the next.
            done += self._step("fan_out", lambda: fan_out(self.engine, self.settings, at))
        # E-mails are leased from now, not from the round's start: deliveries may have
        # taken a while.
        elapsed = timedelta(seconds=time.monotonic() - began)
        done += self._step(
            "email",
            lambda: send_pending_emails(self.engine, self.settings, self.worker_id, at + elapsed),
        )
        return done

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set; without work, a pause of `worker_poll_seconds`."""
        logger.info("worker started", extra={"worker": self.worker_id})
        if self.settings.webhook_lease_seconds <= self.settings.webhook_timeout_seconds:
            logger.warning(
                "WEBHOOK_LEASE_SECONDS is not above WEBHOOK_TIMEOUT_SECONDS: a slow receiver "
                "may get a delivery twice (another worker takes it when the lease ends)",
                extra={"worker": self.worker_id},
            )
        try:
            while not stop.is_set():
                if self.run_once() == 0:
                    stop.wait(self.settings.worker_poll_seconds)
        finally:
            logger.info("worker stopped", extra={"worker": self.worker_id})


def _engine(settings: Settings) -> Engine:
    return create_db_engine(settings.sqlalchemy_url, connections=WORKER_CONNECTIONS)


def run_worker(settings: Settings) -> None:
    """`python -m app worker`: rounds until SIGTERM or SIGINT, then finishes the round."""
    from app.core.observability import configure_logging

    configure_logging(settings.log_level)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        # Only the flag: the round under way finishes, and nothing is logged from inside
        # a signal handler.
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    engine = _engine(settings)
    worker = Worker(settings, engine)
    try:
        worker.run(stop)
    finally:
        worker.close()
        engine.dispose()


@dataclass
class WorkerThread:
    """The handle of a worker running in a thread: `stop()` ends it after its round."""

    thread: threading.Thread
    stopping: threading.Event

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.thread.join(timeout)


def start_worker_thread(settings: Settings) -> WorkerThread:
    """A worker in a daemon thread with its own engine (`serve` on SQLite by default)."""
    stopping = threading.Event()

    def run() -> None:
        engine = _engine(settings)
        worker = Worker(settings, engine)
        try:
            worker.run(stopping)
        finally:
            worker.close()
            engine.dispose()

    thread = threading.Thread(target=run, name="worker", daemon=True)
    thread.start()
    return WorkerThread(thread, stopping)
