"""Request ids, structured access logs and Prometheus metrics."""

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template and method",
    ["method", "route"],
    registry=REGISTRY,
)

access_logger = logging.getLogger("app.access")


def current_request_id() -> str | None:
    return _request_id.get()


def metrics_payload() -> tuple[bytes, str]:
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class _RequestContextFilter(logging.Filter):
    """Every line carries the request id of the request it was logged in; uvicorn's
    `color_message` (the message again, with ANSI colour codes) is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        record.__dict__.pop("color_message", None)
        return True


def configure_logging(level: str) -> None:
    """JSON lines on stdout; uvicorn's own access log is replaced by ours."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestContextFilter())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True


class RequestContextMiddleware(HttpMiddleware):
    """Assigns a request id, times the request, logs it and counts it by route template."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            access_logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client_id": scope.get("state", {}).get("client_id"),
                },
            )
            _request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    # Unmatched paths share one label so scanners cannot blow up the metric cardinality.
    return str(getattr(route, "path", "<unmatched>"))
