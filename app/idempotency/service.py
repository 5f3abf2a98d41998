"""Idempotency keys: a replayed request gets the stored answer and changes nothing."""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.errors import Conflict, FieldError, InvalidInput
from app.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
# Visible ASCII, inner spaces allowed: what HTTP carries unchanged in a header value.
KEY_PATTERN = rf"^[!-~][ -~]{{0,{MAX_KEY_LENGTH - 1}}}$"
_KEY_FORMAT = re.compile(KEY_PATTERN)


def request_fingerprint(method: str, path: str, query: dict[str, str], body: Any) -> str:
    canonical = json.dumps(
        {"method": method, "path": path, "query": query, "body": body},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not _KEY_FORMAT.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            errors=[FieldError("header.Idempotency-Key", "invalid", f"match {KEY_PATTERN}")],
        )


def find_replay(
    session: Session, client_id: str, key: str, fingerprint: str
) -> IdempotencyRecord | None:
    """The stored answer for this key, or None; a different request under the key is refused."""
    record = session.get(IdempotencyRecord, (client_id, key))
    if record is None:
        return None
    if record.request_sha256 != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used for a different request",
            errors=[
                FieldError(
                    "header.Idempotency-Key", "key_reused", "use a new key for a new request"
                )
            ],
        )
    return record


IN_FLIGHT_STATUS = 0  # a claimed key whose request has not finished


def _claim(session: Session, client_id: str, key: str, fingerprint: str) -> IdempotencyRecord:
    """Insert the key's row before doing any work. A concurrent request with the same key
    blocks on this insert (PostgreSQL) or on the write lock (SQLite) until the first one
    ends, then finds its answer; so exactly one of them does the work."""
    claim = IdempotencyRecord(
        client_id=client_id,
        key=key,
        request_sha256=fingerprint,
        status_code=IN_FLIGHT_STATUS,
        body={},
        headers={},
    )
    with session.begin_nested():
        session.add(claim)
        session.flush()
    return claim


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]
    replayed: bool = False


def _replay(record: IdempotencyRecord) -> StoredResponse:
    if record.status_code == IN_FLIGHT_STATUS:
        # Visible only if the first request committed part-way; per the Idempotency-Key
        # draft, a request whose twin is still running is told so.
        raise Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            errors=[FieldError("header.Idempotency-Key", "in_flight", "retry shortly")],
            headers={"Retry-After": "1"},
        )
    return StoredResponse(record.status_code, record.body, record.headers, replayed=True)


def run_once(
    session: Session,
    client_id: str,
    key: str | None,
    fingerprint: str,
    produce: Callable[[], StoredResponse],
    *,
    store: bool = True,
) -> StoredResponse:
    """Answer from the stored response for (client, key), or claim the key, produce the
    answer and remember it, all in the caller's transaction.

    Only successful answers are remembered, so a corrected request can reuse nothing by
    accident: its body differs and the key is refused. `store=False` (a dry run) replays a
    stored answer but neither claims nor stores.
    """
    if key is None:
        return produce()
    check_key(key)
    record = find_replay(session, client_id, key, fingerprint)
    if record is not None:
        return _replay(record)
    if not store:
        return produce()
    try:
        claim = _claim(session, client_id, key, fingerprint)
    except IntegrityError:
        # The same key arrived twice at once and the other request committed first; under
        # READ COMMITTED this statement sees its answer. Nothing of ours was written.
        record = find_replay(session, client_id, key, fingerprint)
        if record is None:
            raise
        return _replay(record)
    response = produce()
    if 200 <= response.status_code < 300:
        claim.status_code = response.status_code
        claim.body = response.body
        claim.headers = response.headers
        session.add(claim)
    else:
        session.delete(claim)
    session.flush()
    return response


def answer_once(
    request: Request,
    session: Session,
    client_id: str,
    key: str | None,
    body: Any,
    produce: Callable[[], StoredResponse],
    *,
    store: bool = True,
) -> JSONResponse:
    """The one idempotent write wrapper of the routes: the request (method, path, query and
    `body`) is fingerprinted, `produce` runs at most once per key (`run_once`), and a replay
    is marked `Idempotent-Replayed: true`."""
    fingerprint = request_fingerprint(
        request.method, request.url.path, dict(sorted(request.query_params.items())), body
    )
    stored = run_once(session, client_id, key, fingerprint, produce, store=store)
    headers = dict(stored.headers)
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
