"""Engine creation and the request-scoped session.

SQLite is the embedded default, PostgreSQL the production database. On SQLite every
transaction starts with BEGIN IMMEDIATE so concurrent writers queue on the busy timeout
instead of failing with "database is locked" when a read lock is upgraded.
"""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

Built = TypeVar("Built")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def per_dialect(build: Callable[[Any], Built]) -> dict[str, Built]:
    """An upsert statement built once for each database, from that database's `insert`
    (ON CONFLICT is dialect-specific); pick it with `connection.dialect.name`. Hot write
    paths run one per write, and building costs more than executing."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def create_db_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        # Instants then arrive already in UTC, whatever the server's default time zone.
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


def unit_of_work(session: Session) -> Iterator[Session]:
    try:
        yield session
    except BaseException:
        finish(session, success=False)
        raise
    finish(session, success=True)


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield from unit_of_work(session)
