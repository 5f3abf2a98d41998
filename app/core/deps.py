"""Request-scoped dependencies shared by every router."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.core.db import finish
from app.core.settings import Settings


async def get_settings(request: Request) -> Settings:
    # async: no I/O, so no thread hop
    settings: Settings = request.app.state.settings
    return settings


def _finish_and_close(session: Session, success: bool) -> None:
    try:
        finish(session, success=success)
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work.

    Opening a Session does no I/O, so it happens on the event loop; the commit (or rollback)
    and close run together in one worker-thread hop. A route that already ended its
    transaction in its own worker thread (or never used the database) leaves nothing to
    commit, and closing then needs no hop.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    success = False
    try:
        yield session
        success = True
    finally:
        if session.in_transaction():
            await run_in_threadpool(_finish_and_close, session, success)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a failed commit is
# reported to the client instead of being lost after a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
