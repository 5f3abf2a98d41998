"""Polled views answered again without running their route.

A dashboard asks for the same view every few seconds, and between two changes of the
campaign's data the answer is the one it got last time. When the caller is known (a valid
token of a client seen active moments ago: no I/O) and the campaign's change token, read in
a worker thread, is still the one the remembered answer was computed for, that answer (or
304) is sent from here: no dependency solving, no request validation, no session, one
primary-key read. When the data changed (or the minute a default was taken from, or the
memo let the answer go), the view is computed again here, in one worker thread, from the
parameters the route parsed the first time (the remembered recipe): a polled view's fresh
answer costs its computation and not the route's framework around it. Anything else (a
first request, a token or client the process has not checked lately, a refusal, an
unreadable change token) goes to the route, which answers or refuses as ever. Requests
polling at once share their token reads (app.computed.token_reads), each still seeing every
write committed before it asked.

This is safe because what is remembered is keyed by the exact path and query, was
answered with 200 or 304 by the route itself, and does not depend on who asks
(`cached_view` requires that of every view).
"""

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import known_principal
from app.computed import memo
from app.computed.token_reads import SharedReads
from app.core.asgi import HttpMiddleware
from app.core.changes import read_change_token
from app.core.errors import ServiceError
from app.core.problems import database_busy, is_transient
from app.core.settings import Settings
from app.core.types import utc_now

log = logging.getLogger(__name__)
# A campaign and the domains of its data a view follows.
TokenKey = tuple[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a remembered view's poll came to: an answer, or None when the route answers."""

    response: Response | None


class RememberedViews(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings
        self._reads: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, SharedReads[TokenKey, _Outcome]
        ] = weakref.WeakKeyDictionary()

    def _shared_reads(self, engine: Engine) -> SharedReads[TokenKey, _Outcome]:
        """This event loop's shared token reads (a test client runs its own loop)."""
        loop = asyncio.get_running_loop()
        reads = self._reads.get(loop)
        if reads is None:

            def read_then(
                key: TokenKey, then: Callable[[str], _Outcome] | None
            ) -> tuple[str, _Outcome | None]:
                token = read_change_token(engine, *key)
                if then is None:
                    return token, None
                try:
                    return token, then(token)
                except Exception:
                    # The token still reaches the requests sharing this read; the route
                    # meets this failure again and renders it for this request alone.
                    log.debug("answering again failed; the route answers", exc_info=True)
                    return token, _Outcome(None)

            async def read(
                key: TokenKey, then: Callable[[str], _Outcome] | None
            ) -> tuple[str, _Outcome | None]:
                return await anyio.to_thread.run_sync(read_then, key, then)

            reads = self._reads[loop] = SharedReads(read)
        return reads

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET" or not await self._answered(scope, receive, send):
            await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        request = Request(scope)
        entry = memo.remembered(request)
        if entry is None:
            return False
        principal = known_principal(self.settings, request.headers.get("authorization"))
        if principal is None:
            return False
        same_minute = not entry.clock or entry.clock == memo.clock_minute(utc_now())

        def held(change: str) -> Response | None:
            """The remembered answer (or 304) while it still holds; no I/O."""
            if same_minute and change == entry.change:
                return memo.memoized_response(request, entry.etag)
            return None

        def answer(change: str) -> _Outcome:
            """In a worker thread: the remembered answer if it still holds, else anew."""
            found = held(change)
            return _Outcome(found) if found is not None else _answer_again(request, entry)

        engine: Engine = request.app.state.probe_engine
        key = (entry.campaign_id, entry.reads)
        try:
            change, outcome = await self._shared_reads(engine).read_then(key, answer)
        except SQLAlchemyError:
            log.debug("change token unreadable; the route answers", exc_info=True)
            return False
        if outcome is None:  # it joined another request's read: its work is its own
            found = held(change)  # on the loop: a worker thread only to compute
            outcome = (
                _Outcome(found)
                if found is not None
                else await anyio.to_thread.run_sync(answer, change)
            )
        if outcome.response is None:
            return False
        request.state.client_id = principal.client_id
        scope["route"] = entry.route
        await outcome.response(scope, receive, send)
        return True


def _answer_again(request: Request, entry: memo.Remembered) -> _Outcome:
    """The view computed again as its route would (or found in the memo, computed by a
    request before this one). A refusal is left to the route, which renders it."""
    request.scope["route"] = entry.route  # the answer is remembered as the route's
    try:
        return _Outcome(memo.answer_view(request, entry.recipe))
    except ServiceError:
        return _Outcome(None)
    except SQLAlchemyError as exc:
        if is_transient(exc):  # the route would wait for the same database again
            return _Outcome(database_busy(request, exc))
        return _Outcome(None)
