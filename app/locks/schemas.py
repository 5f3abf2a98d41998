"""What the period-lock endpoints send and receive."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import SingleLine


class LockIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "city": None,
                    "reason": "W03 数据已汇总上报部里 / W03 figures sent to the ministry",
                }
            ]
        }
    )

    city: str | None = Field(
        default=None, pattern=r"^\d{6}$", description="Lock one city only; omit to lock every city"
    )
    reason: Annotated[str, Field(min_length=1, max_length=500), SingleLine]


class LockOut(BaseModel):
    campaign: str
    period: str
    city: str | None
    locked: bool
    reason: str
    set_by: str
    set_at: datetime
