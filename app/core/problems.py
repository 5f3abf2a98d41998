"""RFC 9457 problem documents: the one place that renders errors."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware
from app.core.errors import FieldError, ServiceError, ServiceUnavailable
from app.core.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://spring-breeze.invalid/problems/"

logger = logging.getLogger("app.errors")


class ProblemFieldError(BaseModel):
    field: str = Field(description="JSON path of the offending input, e.g. `values.fairs_online`")
    code: str = Field(description="Stable machine-readable code, e.g. `missing`, `not_integer`")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemFieldError] = Field(default_factory=list)

    model_config = {
        "extra": "allow",
        "json_schema_extra": {
            "examples": [
                {
                    "type": PROBLEM_TYPE_BASE + "forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "client 'nanjing-stats' reports for 320100 and may not touch 320200",
                    "instance": "/api/v1/campaigns/js-2024/cities/320200",
                    "request_id": "5f0c6f0e6a7d4c1b9f4f2b8f0d1e2a3b",
                    "errors": [],
                }
            ]
        },
    }


_STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request timeout",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    423: "Locked",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


# A problem names the offending input, but never echoes a large one back: a 1 MB unknown
# key would otherwise come back in a 5 MB error.
MAX_FIELD_CHARS = 200
MAX_MESSAGE_CHARS = 500
MAX_DETAIL_CHARS = 2000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_response(
    request: Request,
    *,
    status: int,
    detail: str,
    type_slug: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    title = title or _STATUS_TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (type_slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": clip(detail, MAX_DETAIL_CHARS),
        "instance": clip(request.url.path, MAX_FIELD_CHARS),
        "request_id": current_request_id(),
        "errors": [
            {
                "field": clip(e.field, MAX_FIELD_CHARS),
                "code": clip(e.code, MAX_FIELD_CHARS),
                "message": clip(e.message, MAX_MESSAGE_CHARS),
                **e.extra,
            }
            for e in errors or []
        ],
    }
    body.update(extra or {})
    request_id = current_request_id()
    all_headers = {**(headers or {}), **({"X-Request-ID": request_id} if request_id else {})}
    return JSONResponse(
        body, status_code=status, headers=all_headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        source, rest = parts[0], parts[1:]
        return ".".join(rest) if source == "body" and rest else ".".join([source, *rest])
    return ".".join(parts)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return _render(request, exc)


def _render(request: Request, exc: ServiceError) -> JSONResponse:
    return problem_response(
        request,
        status=exc.status,
        detail=exc.detail,
        type_slug=exc.type_slug,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_location(tuple(e.get("loc", ()))), code=e["type"], message=e["msg"])
        for e in exc.errors()
    ]
    return problem_response(
        request,
        status=422,
        detail=f"the request has {len(errors)} invalid field(s)",
        type_slug="invalid-input",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem_response(
        request, status=exc.status_code, detail=detail, headers=dict(exc.headers or {})
    )


def busy_problem(request: Request, detail: str) -> JSONResponse:
    """503 with Retry-After: the client should come back in a moment."""
    return _render(request, ServiceUnavailable(detail))


# What SQLite says when it is busy for now; any other "operational" error of SQLite (no
# such table or column: a database not migrated to this code) will not pass with a retry.
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open database file", "disk i/o error")


def is_transient(exc: Exception) -> bool:
    """A failure that a retry may not meet: a pool timeout, a lock, a connection refused or
    lost. PostgreSQL's operational errors are all such (its schema errors are of another
    class); SQLite files its schema errors under the same class, and says which by text."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    # A pool timeout (every connection busy; on SQLite: the writer queue) or the database
    # refusing for now (locked by another process, unreachable, too many connections):
    # the request was rolled back and may be retried.
    if not is_transient(exc):
        return await _unexpected_error(request, exc)
    return database_busy(request, exc)


def database_busy(request: Request, exc: Exception) -> JSONResponse:
    """503 for a transient database failure (see `is_transient`)."""
    logger.warning("database busy", extra={"path": request.url.path, "error": type(exc).__name__})
    return busy_problem(
        request, "the database is busy; the request was not carried out, retry shortly"
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled error",
        extra={"path": request.url.path, "request_id": current_request_id()},
        exc_info=exc,
    )
    return problem_response(
        request,
        status=500,
        detail="an unexpected error occurred; quote the request id when reporting it",
    )


class UnexpectedErrors(HttpMiddleware):
    """Renders an error no handler took as a 500 problem, inside the request's context (so
    it carries the request id, in the body, the header and the log line) and logs its
    traceback once; the server's own last-resort handler then never sees it."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:  # too late for an answer of our own
                raise
            response = await _unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(Exception, _unexpected_error)


_EXAMPLES: dict[int, tuple[str, list[dict[str, str]]]] = {
    400: ("the request cannot be processed", []),
    401: ("a bearer access token is required", []),
    403: ("client 'reporter-320100-1a2b3c4d' reports for 320100 and may not touch 320200", []),
    404: ("320200 has not submitted t1 for W03", []),
    409: ("this case already has 20 attachments, the most allowed", []),
    412: ('If-Match does not match the current revision (current ETag: "r3-9f2c…")', []),
    413: (
        "the file is larger than 2097152 bytes",
        [{"field": "file", "code": "too_large", "message": "at most 2097152 bytes"}],
    ),
    415: (
        "the file is neither an .xlsx workbook nor a UTF-8 CSV",
        [
            {
                "field": "file",
                "code": "unsupported_type",
                "message": "upload the official .xlsx or a CSV",
            }
        ],
    ),
    422: (
        "2 rule violation(s); nothing was stored",
        [
            {
                "field": "values.fairs_online",
                "code": "part_exceeds_total",
                "message": "fairs_online (12) exceeds its total fairs_total (10)",
            },
            {
                "field": "values.publicity_materials",
                "code": "negative",
                "message": "publicity_materials must not be negative (-1)",
            },
        ],
    ),
    423: (
        "W03 is locked for every city since 2024-02-10T09:00:00+00:00 (已汇总上报); "
        "ask the province to unlock it",
        [],
    ),
    503: ("the database is not reachable", []),
}


def _example(status: int) -> dict[str, Any]:
    title = _STATUS_TITLES.get(status, "Error")
    detail, errors = _EXAMPLES.get(status, (title.lower(), []))
    return {
        "type": PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/api/v1/campaigns/js-2024/cities/320100/tables/t1/periods/W03",
        "request_id": "5f0c6f0e6a7d4c1b9f4f2b8f0d1e2a3b",
        "errors": errors,
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, all problem+json."""
    return {
        status: {
            "description": _STATUS_TITLES.get(status, "Error"),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": _example(status),
                }
            },
        }
        for status in statuses
    }
