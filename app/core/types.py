"""Column types shared by the table models."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _sqlite_instant(value: str | None) -> datetime | None:
    # SQLite keeps the UTC instant as naive ISO text: one C call reads it back aware.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _aware_instant(value: datetime | None) -> datetime | None:
    # psycopg returns aware instants in the session's time zone, UTC (app/core/db.py).
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored in UTC, always returned timezone-aware.

    SQLite has no time zone support, so naive values read back are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: an instant needs a time zone")
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        # Plain functions instead of the decorator's generic per-value machinery: several
        # times faster, and views read thousands of instants per request.
        if dialect.name == "sqlite":
            return _sqlite_instant
        if dialect.name == "postgresql":
            return _aware_instant
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
