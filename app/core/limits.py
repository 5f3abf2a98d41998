"""Slow clients: a request body that stops arriving is answered 408 instead of holding a
connection (and whatever the request holds) open for ever."""

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware
from app.core.errors import RequestTimeout


class BodyIdleTimeout(HttpMiddleware):
    """Each part of a request body must arrive within `seconds` of the previous one. Once
    the body is complete, `receive` (which then only waits for a disconnect) is left alone."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        super().__init__(app)
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                with anyio.fail_after(self.seconds):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"no part of the request body arrived for {self.seconds:g} s; "
                    "nothing was stored"
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)
