"""The Idempotency-Key request header as every idempotent write declares it."""

from typing import Annotated

from fastapi import Header

from app.idempotency.service import KEY_PATTERN

IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=KEY_PATTERN,
        description="Makes the write safe to retry: the same key and body answer the stored "
        "response (draft-ietf-httpapi-idempotency-key-header)",
    ),
]
