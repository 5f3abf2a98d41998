"""Idempotency keys: a replayed request gets the stored answer and changes nothing."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.errors import FieldError, InvalidInput
from app.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, query: dict[str, str], body: Any) -> str:
    canonical = json.dumps(
        {"method": method, "path": path, "query": query, "body": body},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable characters",
            errors=[FieldError("header.Idempotency-Key", "invalid", "1-255 printable characters")],
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


def remember(
    session: Session,
    client_id: str,
    key: str,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    session.add(
        IdempotencyRecord(
            client_id=client_id,
            key=key,
            request_sha256=fingerprint,
            status_code=status_code,
            body=body,
            headers=headers,
        )
    )
    session.flush()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]
    replayed: bool = False


def run_once(
    session: Session,
    client_id: str,
    key: str | None,
    fingerprint: str,
    produce: Callable[[], StoredResponse],
    *,
    store: bool = True,
) -> StoredResponse:
    """Answer from the stored response for (client, key), or produce and remember it.

    Only successful answers are remembered, so a corrected request can reuse nothing by
    accident: its body differs and the key is refused.
    """
    if key is None:
        return produce()
    check_key(key)
    record = find_replay(session, client_id, key, fingerprint)
    if record is not None:
        return StoredResponse(record.status_code, record.body, record.headers, replayed=True)
    response = produce()
    if store and 200 <= response.status_code < 300:
        try:
            with session.begin_nested():
                remember(
                    session,
                    client_id,
                    key,
                    fingerprint,
                    response.status_code,
                    response.body,
                    response.headers,
                )
        except IntegrityError:
            # The same key arrived twice at once; the other request stored its answer first.
            record = find_replay(session, client_id, key, fingerprint)
            if record is not None:
                return StoredResponse(
                    record.status_code, record.body, record.headers, replayed=True
                )
            raise
    return response
