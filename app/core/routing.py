"""The route class of every API router: what each request gets before and after its handler.

- Its body is bounded: a declared length past the route's limit (1 MiB for JSON unless the
  route says otherwise) is refused with 413 before anything is read, and a body that
  streams past it is cut off with 413 too.
- Its JSON body is parsed strictly, and a large one in a worker thread: the text must be
  UTF-8 (JSON between systems is, RFC 8259), a key may not repeat (a city system sending
  `{"fairs_total": 3, "fairs_total": 5}` has a bug it must hear about, not have the last
  one win), and NaN or Infinity are not JSON. Parsing 2 MB of batch on the event loop would
  stall every other request for tens of milliseconds.
- A synchronous handler ends its own transactions, in the worker thread it runs in: that
  saves the request a second thread hop to commit later and hands its connection back at
  once (on SQLite: the write lock too). The session dependency still rolls back and closes
  whatever a failing handler leaves behind.
"""

import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, get_type_hints

from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from app.core.errors import FieldError, InvalidInput, PayloadTooLarge
from app.core.settings import MAX_JSON_BODY_BYTES

COMPONENTS = "#/components/schemas/"
# Smaller bodies are parsed on the event loop: a thread hop would cost more.
PARSE_IN_THREAD_BYTES = 64 * 1024


def _refuse(code: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"the body is not acceptable JSON: {message}", errors=[FieldError("body", code, message)]
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _refuse(
            "duplicate_key", f"the key {repeated[:100]!r} appears more than once in one object"
        )
    return document


def _no_constants(name: str) -> Any:
    raise _refuse("invalid_number", f"{name} is not a JSON number")


def parse_strict_json(body: bytes) -> Any:
    """The document in `body`, or InvalidInput (422) saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse("not_utf8", f"JSON must be UTF-8; byte {exc.start} is not") from exc
    try:
        return json.loads(
            text.removeprefix("\ufeff"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
        )
    except json.JSONDecodeError as exc:
        raise _refuse(
            "json_invalid", f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _ending_transactions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and value.in_transaction():
                value.commit()
        return result

    return run


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {limit} bytes, the most this operation takes",
        errors=[FieldError("body", "too_large", f"at most {limit} bytes")],
    )


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what Request.body() returns from now on
    return body


@dataclass(frozen=True)
class JsonBodyOf:
    """Marks a handler's parameter as its request body, unparsed, documented as `model`."""

    model: type[BaseModel]


def _raw_json_body_model(endpoint: Callable[..., Any]) -> type[BaseModel] | None:
    for hint in get_type_hints(endpoint, include_extras=True).values():
        for mark in getattr(hint, "__metadata__", ()):
            if isinstance(mark, JsonBodyOf):
                return mark.model
    return None


# The models of the raw bodies, by name: the OpenAPI document adds them to its components
# (FastAPI knows only the bodies it parses).
RAW_BODY_MODELS: dict[str, type[BaseModel]] = {}


class ServiceRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _ending_transactions(endpoint)
        # Our own bound instead of FastAPI's, whose 413 is plain text, not a problem.
        self.body_limit: int = kwargs.pop("max_body_size", None) or MAX_JSON_BODY_BYTES
        # A handler that parses its JSON body itself, elsewhere (an event batch in the
        # import process): the body is read, bounded, and documented as its model.
        self.raw_json_body = _raw_json_body_model(endpoint)
        if self.raw_json_body is not None:
            RAW_BODY_MODELS[self.raw_json_body.__name__] = self.raw_json_body
            reference = {"$ref": f"{COMPONENTS}{self.raw_json_body.__name__}"}
            kwargs["openapi_extra"] = {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": reference}},
                }
            }
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        limit = self.body_limit

        async def bounded_strict_json(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
            if self.raw_json_body is not None:
                # No Content-Type is taken as JSON, as FastAPI takes it for its bodies.
                if "content-type" in request.headers and not _is_json(request):
                    raise _refuse("not_json", "send it as Content-Type: application/json")
                await _read_body(request, limit)
            elif self.body_field is not None and _is_json(request):
                body = await _read_body(request, limit)
                if body:
                    parsed = (
                        await run_in_threadpool(parse_strict_json, body)
                        if len(body) > PARSE_IN_THREAD_BYTES
                        else parse_strict_json(body)
                    )
                    # What Starlette's Request.json() returns from now on.
                    request._json = parsed
            return await handle(request)

        return bounded_strict_json


async def raw_body(request: Request) -> bytes:
    """The body a `raw_json_body` route read (bounded)."""
    return await request.body()
