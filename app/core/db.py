"""Engine creation and the request-scoped session.

SQLite is the embedded default, PostgreSQL the production database. On SQLite writing
transactions start with BEGIN IMMEDIATE on a single pooled connection, so writers queue
instead of failing with "database is locked" when a read lock is upgraded; requests that
only read use a second engine whose transactions never take the write lock.
"""

from collections.abc import Generator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from app.core.dialects import per_dialect

__all__ = ["per_dialect"]  # where the write paths have always found it


# Within one process writers queue on the writer pool (one connection); the busy timeout
# only matters between processes (the CLI beside a server), and is kept short so that a
# blocked writer hears "busy" (503, retry) instead of hanging its client.
SQLITE_BUSY_TIMEOUT_MS = 5_000
DEFAULT_CONNECTIONS = 16
DEFAULT_POOL_WAIT_SECONDS = 10.0


def _configure_sqlite(engine: Engine, *, begin: str, checkpoints: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def create_db_engine(
    url: str,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    pool_wait_seconds: float = DEFAULT_POOL_WAIT_SECONDS,
    checkpoints_on_commit: bool = True,
) -> Engine:
    """The engine that writes (and reads, where no read engine is asked for).

    SQLite has one writer at a time: the pool holds a single connection whose transactions
    begin IMMEDIATE, so writers of this process queue in the pool (in order, without
    spinning on the busy timeout) and a write lock is held only while a transaction runs.
    A writer that waits longer than `pool_wait_seconds` gets a pool timeout, which the API
    answers with 503 and Retry-After. PostgreSQL: one connection per worker thread.

    `checkpoints_on_commit=False` (SQLite): a commit that fills the write-ahead log past its
    threshold does not copy it into the database before returning; call `checkpoint`.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=1,
            max_overflow=0,
            pool_timeout=pool_wait_seconds,
        )
        _configure_sqlite(engine, begin="BEGIN IMMEDIATE", checkpoints=checkpoints_on_commit)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=connections,
        # Background work (export jobs) and brief bursts beyond the worker threads.
        max_overflow=4,
        pool_timeout=pool_wait_seconds,
        # Instants then arrive already in UTC, whatever the server's default time zone. A
        # writer waits for a row lock (its turn on the change counter, a snapshot's head) as
        # long as a SQLite writer waits for its turn; then it hears 503 and retries.
        connect_args={
            "options": f"-c timezone=UTC -c lock_timeout={round(pool_wait_seconds * 1000)}"
        },
    )


def checkpoint(engine: Engine) -> None:
    """Copy SQLite's write-ahead log into the database as far as no reader needs it
    (PASSIVE: waits for nobody); nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()
    try:
        sqlite: Any = connection.driver_connection  # outside any transaction
        sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        connection.close()


def create_read_engine(
    writer: Engine,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    pool_wait_seconds: float = DEFAULT_POOL_WAIT_SECONDS,
) -> Engine:
    """The engine for requests that only read. On SQLite its transactions begin DEFERRED:
    in WAL mode a reader sees the last committed state and never waits for the writer.
    PostgreSQL readers never wait for writers anyway, so they share the writer's pool."""
    if writer.dialect.name != "sqlite":
        return writer
    engine = create_engine(
        writer.url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=connections,
        max_overflow=0,
        pool_timeout=pool_wait_seconds,
    )
    _configure_sqlite(engine, begin="BEGIN")
    return engine


# Token reads are one primary-key lookup each: a few connections serve many threads.
PROBE_CONNECTIONS = 4
PROBE_WAIT_SECONDS = 1.0


def create_probe_engine(reader: Engine) -> Engine:
    """The engine for single-statement reads polled on every request (a campaign's change
    token): on PostgreSQL a small pool of connections in autocommit, not pinged, so that a
    read is one round trip instead of four (ping, BEGIN, SELECT, ROLLBACK). Its callers
    fall back to the ordinary path on any database error (a connection that went stale is
    then thrown away by the pool). On SQLite the reader's connections cost no round trip."""
    if reader.dialect.name == "sqlite":
        return reader
    return create_engine(
        reader.url,
        isolation_level="AUTOCOMMIT",
        pool_size=PROBE_CONNECTIONS,
        max_overflow=0,
        pool_timeout=PROBE_WAIT_SECONDS,
        connect_args={"options": "-c timezone=UTC"},
    )


def finish(session: Session, *, success: bool) -> None:
    """End a unit of work: commit when the caller finished cleanly, roll back otherwise.

    Services never commit; the boundary (a request, a CLI command) does.
    """
    if success:
        session.commit()
    else:
        session.rollback()


def unit_of_work(session: Session) -> Generator[Session]:
    try:
        yield session
    except BaseException:
        finish(session, success=False)
        raise
    finish(session, success=True)


def session_scope(engine: Engine) -> Generator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield from unit_of_work(session)
