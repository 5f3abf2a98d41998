"""What the snapshot endpoints send and receive."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.instants import Instant
from app.core.numbers import json_number
from app.core.text import Multiline
from app.reporting.models import SnapshotRevision
from app.reporting.snapshots import etag_of
from app.reporting.validation import MAX_ABS_VALUE
from app.review.schemas import SnapshotReviewOut

MAX_VALUES = 200

SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "values": {
        "publicity_materials": 12000,
        "fairs_total": 35,
        "fairs_online": 20,
        "fairs_offline": 15,
        "postings_total": 8200,
        "recruitment_funds": 12.5,
    },
    "note": "含溧水区补报数据",
}


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SNAPSHOT_EXAMPLE]})

    # Left untyped here so every bad value is reported by the campaign's own rules at once.
    values: dict[str, Any] = Field(
        max_length=MAX_VALUES,
        description="Cumulative value per indicator key (see the table catalogue). A missing "
        "key means 'not reported', never 0.",
        json_schema_extra={
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": int(MAX_ABS_VALUE)}
        },
    )
    note: Annotated[str, Field(max_length=2000), Multiline] | None = None
    received_at: Instant | None = Field(
        default=None,
        description="Administrators loading a past season only: the original receipt time. "
        "The revision is marked backdated.",
    )


class ViolationOut(BaseModel):
    rule: str
    severity: Literal["error", "warning"]
    keys: list[str]
    values: dict[str, str | None]
    message_zh: str
    message_en: str


class SnapshotWriteResult(BaseModel):
    status: Literal["accepted", "accepted_with_warnings", "unchanged"]
    dry_run: bool
    campaign: str
    city: str
    table: str
    period: str
    revision: int = Field(
        description="The current revision after this write (or the one a dry run would create)"
    )
    received_at: datetime | None
    values: dict[str, int | float]
    warnings: list[ViolationOut]


class SnapshotFields(BaseModel):
    campaign: str
    city: str
    table: str
    period: str
    revision: int
    values: dict[str, int | float]
    note: str | None
    submitted_by: str
    source: str
    received_at: datetime
    backdated: bool
    warnings: list[ViolationOut]
    etag: str


class SnapshotOut(SnapshotFields):
    review: SnapshotReviewOut = Field(
        description="The review state now (also with `as_of`) and the last decision on it: "
        "a returned snapshot carries the reviewer's reason and comments per indicator"
    )


class ValueChange(BaseModel):
    key: str
    previous: int | float | None
    current: int | float | None


class SnapshotRevisionOut(SnapshotFields):
    changes: list[ValueChange] = Field(description="What changed against the previous revision")


class ImportSource(BaseModel):
    format: Literal["xlsx", "csv"]
    filename: str | None
    unit_name: str | None = Field(description="填报单位 as written in the file")
    report_date: str | None = Field(description="填报日期 as written in the file")
    values_read: int


class ImportResult(SnapshotWriteResult):
    source: ImportSource


def json_values(values: dict[str, str] | dict[str, Decimal]) -> dict[str, int | float]:
    return {key: json_number(Decimal(value)) for key, value in values.items()}


def snapshot_out(revision: SnapshotRevision) -> dict[str, Any]:
    return {
        "campaign": revision.campaign_id,
        "city": revision.city_code,
        "table": revision.table_id,
        "period": revision.period_id,
        "revision": revision.revision,
        "values": json_values(revision.values),
        "note": revision.note,
        "submitted_by": revision.submitted_by,
        "source": revision.source,
        "received_at": revision.received_at,
        "backdated": revision.backdated,
        "warnings": revision.warnings,
        "etag": etag_of(revision),
    }
