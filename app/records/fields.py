"""Field types the record bodies share."""

from typing import Annotated

from pydantic import Field

from app.core.instants import Instant
from app.core.params import PERIOD_PATTERN

PeriodId = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["W03"])]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["320102"])]

ReceivedAt = Annotated[
    Instant | None,
    Field(
        description="Administrators loading a past season only: the original receipt time. "
        "The write is marked backdated.",
    ),
]
