from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.attachments.schemas import AttachmentOut
from app.campaigns.vocabularies import TERM_PATTERN
from app.core.text import Multiline, Title
from app.records.fields import PeriodId, ReceivedAt, RegionCode, term_description
from app.review.schemas import CaseReviewOut

MAX_CASE_TEXT = 10_000
CaseText = Annotated[str, Field(min_length=1, max_length=MAX_CASE_TEXT), Multiline]
ACTIVITY_DESCRIPTION = term_description("case_activities")
CaseActivity = Annotated[
    str,
    Field(pattern=TERM_PATTERN, description=ACTIVITY_DESCRIPTION, examples=["jobs_nearby"]),
]

CASE_EXAMPLE: dict[str, Any] = {
    "period": "W03",
    "title": "溧水区“春风送岗”直播带岗专场",
    "text": "2月6日，溧水区人社局联合20家重点企业开展直播带岗，线上观看1.2万人次，"
    "达成就业意向316人。",
    "county": "320117",
    "activity": "jobs_nearby",
    "urgent": False,
}


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CASE_EXAMPLE]})

    period: PeriodId
    title: Title
    text: CaseText = Field(description=f"Plain text, at most {MAX_CASE_TEXT} characters")
    county: RegionCode | None = Field(default=None, description="A county of the city")
    activity: CaseActivity
    urgent: bool = Field(default=False, description="重要舆情或突发事件: listed province-wide")
    received_at: ReceivedAt = None


def _patch_schema(schema: dict[str, Any]) -> None:
    """Every field may be left out, but only `county` (and `received_at`, meaning "now") may
    be null: the document says so rather than a 422 finding it out."""
    schema["examples"] = [{"urgent": True, "title": "溧水区突发用工纠纷处置"}]
    for name, field in schema["properties"].items():
        if name not in ("county", "received_at") and "anyOf" in field:
            (kept,) = [s for s in field.pop("anyOf") if s.get("type") != "null"]
            field.update(kept)
            field.pop("default", None)


class CasePatch(BaseModel):
    """Only the fields sent change; `county: null` removes the county."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    period: PeriodId | None = None
    title: Title | None = None
    text: CaseText | None = None
    county: RegionCode | None = None
    activity: CaseActivity | None = None
    urgent: bool | None = None
    received_at: ReceivedAt = None


class CaseOut(BaseModel):
    id: int
    campaign: str
    city: str
    period: str
    title: str
    text: str
    county: str | None
    activity: str = Field(description="An id of the campaign's `case_activities`")
    urgent: bool
    revision: int
    etag: str
    created_by: str
    created_at: datetime = Field(description="When the first revision was received")
    submitted_by: str = Field(description="Who sent the current revision")
    received_at: datetime = Field(description="When the current revision was received")
    backdated: bool
    attachments: list[AttachmentOut]
    review: CaseReviewOut = Field(description="The review state and the last decision on it")
