"""Admission control: a bounded number of requests in flight per worker process.

Past the bound a request is answered at once with 503 and Retry-After instead of joining a
queue whose wait only grows: under a Friday burst, clients hear "come back in a second"
within milliseconds rather than timing out after thirty.

A live change stream counts only until its response starts: it then stays open for up to
an hour, and a handful of dashboards would otherwise hold every slot. Open streams are
bounded apart (`max_streams`, app.stream).
"""

import re

from prometheus_client import Counter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware
from app.core.observability import REGISTRY
from app.core.problems import busy_problem

# Answered without touching the database or a worker thread: never shed.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
LONG_LIVED = re.compile(r"/api/v1/campaigns/[^/]+/stream")
RETRY_AFTER_SECONDS = 1

SHED = Counter(
    "http_requests_shed_total", "Requests refused with 503 at admission", registry=REGISTRY
)


class AdmissionControl(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, max_in_flight: int) -> None:
        super().__init__(app)
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # only touched on the event loop: no lock needed

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            SHED.inc()
            response = busy_problem(
                Request(scope),
                f"the service is at capacity ({self.max_in_flight} requests in progress); "
                f"retry in {RETRY_AFTER_SECONDS} s",
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        counted = True

        def leave() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.in_flight -= 1

        async def leaving_when_streaming(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        long_lived = LONG_LIVED.fullmatch(scope["path"]) is not None
        try:
            await self.app(scope, receive, leaving_when_streaming if long_lived else send)
        finally:
            leave()
