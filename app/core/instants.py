"""Instants sent by clients: ISO 8601 text with a UTC offset, nothing else.

Pydantic would also take a number (`as_of=0.5`) as seconds since 1970; a city system that
sends one has a bug it must hear about, not an answer as of 1970-01-01T00:00:00.5Z.
"""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)"
)
EXAMPLE = "2024-02-23T17:30:00+08:00"


def _iso_text(value: object) -> object:
    if isinstance(value, datetime):  # from Python callers, already typed
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.fullmatch(value):
        raise ValueError(f"expected an ISO 8601 instant with its UTC offset, e.g. {EXAMPLE}")
    return value


def _representable(value: datetime) -> datetime:
    # 9999-12-31T23:00-12:00 and 0001-01-01T00:04+01:00 are valid ISO 8601 but outside the
    # instants Python (and the databases) can hold in UTC: refused here, with a code of its
    # own (a JSON Schema date-time cannot say so), rather than failing when stored.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "not_storable", "the instant falls outside years 0001-9999 once in UTC"
        ) from None
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_representable)]
