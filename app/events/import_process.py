"""Event batches run in a process of their own.

A 5,000-event batch is a few hundred milliseconds of Python: parsing, checking and
fingerprinting every item, writing, the summary. In the serving process that work takes
turns on the interpreter lock with every request the process answers meanwhile, and a
dashboard's read during a batch took 3-9 times as long as idle (bench/burst.py). Here the
server hands the request body over as bytes to an import process, which has an interpreter
(and database connections) of its own, and gets the summary back as bytes: the server's
part is the copy.

The import process is started with the server's settings (spawned: nothing inherited but
them) on the first batch, or at start-up outside tests, and replaced if it dies. Errors come
back whole (`ServiceError` pickles with its fields); a database that is busy for now is a
503 as in the server. With `EVENT_IMPORT_PROCESSES=0` (the tests' rolled-back transactions
need it) a batch runs in the request's thread instead: the same `run_batch`, on the
request's session.
"""

import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth.policy import Principal
from app.computed import memo
from app.computed.memo import Poll, Precomputed
from app.core.db import checkpoint, create_db_engine, session_scope
from app.core.errors import FieldError, InvalidInput, ServiceError, ServiceUnavailable
from app.core.problems import is_transient
from app.core.routing import parse_strict_json
from app.core.settings import Settings
from app.events import writes
from app.events.schemas import EventBatchIn
from app.records.receipt import receipt_of
from app.records.scope import resolve_scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchJob:
    campaign: str
    city: str
    principal: Principal
    atomic: bool
    body: bytes  # the request's JSON, unparsed
    polls: list[Poll]  # the campaign's polled views that count events
    # The client takes gzip: the summary (~400 KB for 5,000 items) is compressed here, not
    # by the server's compression middleware on its event loop, where reads would wait.
    gzip: bool = False


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    summary: bytes  # the import summary's JSON, gzip-compressed if the job asked for it
    # The polled views as of this batch, for the server's memo (none if nothing changed).
    views: list[Precomputed]


def run_batch(session: Session, job: BatchJob) -> BatchAnswer:
    """The batch's import summary and polled views (the caller commits)."""
    try:
        batch = EventBatchIn.model_validate(parse_strict_json(job.body))
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(part) for part in e["loc"]) or "body", e["type"], e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise InvalidInput(
            f"the request has {len(errors)} invalid field(s)", errors=errors
        ) from None
    scope = resolve_scope(session, job.campaign, job.city)
    receipt = receipt_of(job.principal, batch.received_at)
    outcome = writes.ingest(session, scope, batch.items, receipt, atomic=job.atomic)
    summary = writes.summary_document(outcome, atomic=job.atomic, receipt=receipt)
    changed = outcome.count("created") or outcome.count("updated")
    views = memo.precompute(session, job.polls) if changed else []
    body = orjson.dumps(summary)
    return BatchAnswer(memo.compress(body) if job.gzip else body, views)


# The import process's own engine, made by `_start`.
_engine: Engine | None = None


def _start(settings: Settings) -> None:
    global _engine
    from app.core.observability import configure_logging

    configure_logging(settings.log_level)
    # The server stops its import processes itself: Ctrl-C in a terminal reaches the whole
    # process group, and a batch cut off halfway would only be rolled back.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # ... unless the server dies (killed, out of memory): then nobody would.
    threading.Thread(
        target=_exit_when_orphaned, args=(os.getppid(),), name="orphan watch", daemon=True
    ).start()
    # Bulk work yields the processor to the server's requests when both want it (a read
    # during an import: p95 6.0-6.7 ms instead of 6.8-8.7 at equal priority, PostgreSQL).
    os.nice(settings.event_import_niceness)
    # A SQLite commit that fills the write-ahead log past its threshold copies it into the
    # database before it returns (10-15 ms after a 5,000-event batch): the data is visible
    # by then, but the batch's answer and its precomputed views reach the server only
    # after, and pollers in between compute the views again. So the import process copies
    # the log before each batch instead (`_run_in_import_process`).
    _engine = create_db_engine(
        settings.sqlalchemy_url,
        connections=2,
        pool_wait_seconds=settings.pool_wait_seconds,
        checkpoints_on_commit=False,
    )
    gc.freeze()  # what start-up loaded lives as long as the process


ORPHAN_CHECK_SECONDS = 1.0


def _exit_when_orphaned(server: int) -> None:
    while os.getppid() == server:
        time.sleep(ORPHAN_CHECK_SECONDS)
    logger.warning("the server process %d is gone; the import process ends", server)
    os._exit(1)


def _ready() -> bool:
    return _engine is not None


def _run_in_import_process(job: BatchJob) -> BatchAnswer:
    assert _engine is not None, "the import process was not started"
    try:
        checkpoint(_engine)
        for session in session_scope(_engine):
            answer = run_batch(session, job)
        return answer  # committed: session_scope's loop ran to its end
    except ServiceError:
        raise
    except Exception as exc:
        if is_transient(exc):  # a lock, a pool timeout, a lost connection: retry
            raise ServiceUnavailable(
                "the database is busy; the batch was not stored, retry shortly"
            ) from None
        # Logged here with its traceback; the server answers 500. Only the type crosses:
        # a driver's exception need not pickle.
        logger.exception("event import failed")
        raise RuntimeError(f"event import failed: {type(exc).__name__}") from None


class EventImports:
    """The import processes of one server process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._settings.event_import_processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self._settings,),
                )
            return self._pool

    def start(self) -> None:
        """Start the processes now rather than on the first batch (a second or so)."""
        self._current().submit(_ready)

    def run(self, job: BatchJob) -> BatchAnswer:
        """Blocks (call it from a worker thread)."""
        pool = self._current()
        timeout = self._settings.event_import_timeout_seconds
        try:
            return pool.submit(_run_in_import_process, job).result(timeout=timeout)
        except BrokenProcessPool:
            self._replace(pool)
            raise ServiceUnavailable(
                "the import process stopped; the batch was not stored, send it again"
            ) from None
        except FutureTimeout:
            raise ServiceUnavailable(
                f"the batch took longer than {timeout:.0f} s; it may still be stored: send "
                "it again later, items already stored come back as unchanged",
                retry_after_seconds=30,
            ) from None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)
        logger.error("the event import process stopped; a new one starts with the next batch")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=False)
