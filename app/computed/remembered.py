"""Polled views answered again without running their route.

A dashboard asks for the same view every few seconds, and between two changes of the
campaign's data the answer is the one it got last time. When the caller is known (a valid
token of a client seen active moments ago: no I/O) and the campaign's change token, read in
a worker thread, is still the one the remembered answer was computed for, that answer (or
304) is sent from here: no dependency solving, no request validation, no session, one
primary-key read. Anything else (a first request, a change, a token or client the process
has not checked lately, an answer the memo has let go, a database error) goes to the route,
which answers or refuses as ever. Requests polling at once share their token reads
(app.computed.token_reads), each still seeing every write committed before it asked.

This is safe because what is remembered is keyed by the exact path and query, was
answered with 200 or 304 by the route itself, and does not depend on who asks
(`cached_view` requires that of every view).
"""

import asyncio
import logging
import weakref

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import known_principal
from app.computed import memo
from app.computed.token_reads import SharedReads
from app.core.asgi import HttpMiddleware
from app.core.changes import read_change_token
from app.core.settings import Settings
from app.core.types import utc_now

log = logging.getLogger(__name__)
# A campaign and the domains of its data a view follows.
TokenKey = tuple[str, frozenset[str]]


class RememberedViews(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings
        self._reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedReads[TokenKey]] = (
            weakref.WeakKeyDictionary()
        )

    def _shared_reads(self, engine: Engine) -> SharedReads[TokenKey]:
        """This event loop's shared token reads (a test client runs its own loop)."""
        loop = asyncio.get_running_loop()
        reads = self._reads.get(loop)
        if reads is None:

            async def read(key: TokenKey) -> str:
                return await anyio.to_thread.run_sync(read_change_token, engine, *key)

            reads = self._reads[loop] = SharedReads(read)
        return reads

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET" or not await self._answered(scope, receive, send):
            await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        request = Request(scope)
        entry = memo.remembered(request)
        if entry is None or (entry.clock and entry.clock != memo.clock_minute(utc_now())):
            return False
        principal = known_principal(self.settings, request.headers.get("authorization"))
        if principal is None:
            return False
        engine: Engine = request.app.state.probe_engine
        try:
            change = await self._shared_reads(engine).read((entry.campaign_id, entry.reads))
        except SQLAlchemyError:
            log.debug("change token unreadable; the route answers", exc_info=True)
            return False
        if change != entry.change:
            return False
        response = memo.memoized_response(request, entry.etag)
        if response is None:
            return False
        request.state.client_id = principal.client_id
        scope["route"] = entry.route
        await response(scope, receive, send)
        return True
