"""Request-scoped dependencies shared by every router."""

from collections.abc import AsyncIterator, Callable, Generator
from contextlib import closing
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import finish
from app.core.limiters import per_event_loop
from app.core.settings import Settings

Read = TypeVar("Read")

# Requests with these methods never write: on SQLite they use the read engine, whose
# transactions do not take the write lock, so they never wait behind a writer.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_settings(request: Request) -> Settings:
    # async: no I/O, so no thread hop
    settings: Settings = request.app.state.settings
    return settings


# Ending a transaction runs in threads of its own: a request that holds a connection must
# never wait for a worker thread that is itself waiting for a connection.
FINISHING_THREADS = 8
_finishing_limiter = per_event_loop("finishers", FINISHING_THREADS)


def _finish_and_close(session: Session, success: bool) -> None:
    try:
        finish(session, success=success)
    finally:
        session.close()


async def _unit_of_work(engine: Engine) -> AsyncIterator[Session]:
    """Opening a Session does no I/O, so it happens on the event loop; the commit (or
    rollback) and close run together in one worker-thread hop. A route that already ended
    its transaction in its own worker thread (or never used the database) leaves nothing to
    commit, and closing then needs no hop."""
    session = Session(engine, expire_on_commit=False)
    success = False
    try:
        yield session
        success = True
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(
                _finish_and_close, session, success, limiter=_finishing_limiter()
            )
        else:
            session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: on the read engine for GET/HEAD/OPTIONS, else the writer."""
    state = request.app.state
    engine = state.read_engine if request.method in READ_METHODS else state.engine
    async for session in _unit_of_work(engine):
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """A session that only reads, whatever the request's method (who is calling, which
    campaign): a write request must not hold the writer while it waits for its handler."""
    async for session in _unit_of_work(request.app.state.read_engine):
        yield session


def _read_and_end(session: Session, read: Callable[[Session], Read]) -> Read:
    try:
        return read(session)
    finally:
        # Nothing was written: ending the transaction releases the connection at once.
        session.commit()


def in_unit_of_work(
    sessions: Callable[[], Generator[Session]], read: Callable[[Session], Read]
) -> Read:
    """`read` in a unit of work of its own from `sessions` (app.state.read_sessions), which
    ends (commits, or rolls back if `read` raises) before this returns."""
    # Closed here, in this thread: an exception leaving it would otherwise carry the open
    # unit of work to the event loop in its traceback, and it would roll back there.
    with closing(sessions()) as units:
        (found,) = [read(session) for session in units]
    return found


async def read_apart(request: Request, read: Callable[[Session], Read]) -> Read:
    """Run `read` in a worker thread in a unit of work of its own: for a dependency that
    reads only now and then, which would otherwise make every request open a session."""
    return await run_in_threadpool(in_unit_of_work, request.app.state.read_sessions, read)


async def short_read(session: Session, read: Callable[[Session], Read]) -> Read:
    """Run `read(session)` in a worker thread and end its transaction there: for `async`
    routes and dependencies, which must never touch the database on the event loop."""
    return await run_in_threadpool(_read_and_end, session, read)


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a failed commit is
# reported to the client instead of being lost after a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
