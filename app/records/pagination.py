"""Keyset (cursor) pagination: the cursor is the sort key of the last row of the page.

Cursors are opaque to clients (URL-safe base64 of a small JSON array) and checked on the
way back in, so a tampered cursor is a 422 naming `query.cursor`, never a 500.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.core.errors import FieldError, InvalidInput

T = TypeVar("T")
RowT = TypeVar("RowT")
CursorKey = tuple[str | int, ...]

MAX_CURSOR_LENGTH = 200
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to read the next page; null on the last page"
    )


def encode_cursor(key: CursorKey) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> CursorKey:
    """The key in `cursor`, whose items must have the types in `shape`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(type(item) is kind for item, kind in zip(key, shape, strict=True))
    ):
        raise InvalidInput(
            "the cursor is not one this service handed out",
            errors=[FieldError("query.cursor", "invalid_cursor", "use next_cursor from a page")],
        )
    return tuple(key)


def next_cursor(keys: Sequence[CursorKey], limit: int) -> str | None:
    """Fetch `limit + 1` rows; when the extra one came back there is a next page."""
    return encode_cursor(keys[limit - 1]) if len(keys) > limit else None


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
]


def page_by_id(
    session: Session,
    query: SelectOfScalar[RowT],
    id_column: Any,
    key: Callable[[RowT], int],
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> tuple[list[RowT], str | None]:
    """One page of `query` in id order (or reversed), after the row the cursor names."""
    column = col(id_column)
    if cursor is not None:
        (last,) = decode_cursor(cursor, (int,))
        query = query.where(column < last if newest_first else column > last)
    order = column.desc() if newest_first else column
    rows = list(session.exec(query.order_by(order).limit(limit + 1)))
    return rows[:limit], next_cursor([(key(row),) for row in rows], limit)
