"""What the review endpoints send and receive."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from app.campaigns.definition import KEY_PATTERN
from app.core.instants import Instant
from app.core.text import Multiline
from app.review.models import (
    CaseDecision,
    CaseReviewState,
    SnapshotDecision,
    SnapshotReviewState,
)

# Which highlight cases a briefing or a cases export takes.
CaseSelection = Literal["latest", "adopted"]
CASE_SELECTION_HELP = (
    "`latest`: the period's latest non-urgent cases; `adopted`: only those a reviewer adopted "
    "(采用) or recommended (推荐上报) in their current revision"
)
CasesQuery = Annotated[CaseSelection, Query(description=CASE_SELECTION_HELP)]

MAX_COMMENTS = 200

Reason = Annotated[str, Field(min_length=1, max_length=2000), Multiline]
IndicatorKey = Annotated[str, Field(pattern=KEY_PATTERN)]


def _keyed_by_indicator(schema: dict[str, Any]) -> None:
    """Pydantic publishes the key rule as `patternProperties`, which lets any other key
    through; `propertyNames` states the rule the service applies."""
    (value,) = schema.pop("patternProperties").values()
    schema["propertyNames"] = {"pattern": KEY_PATTERN}
    schema["additionalProperties"] = value


Revision = Annotated[
    int,
    Field(
        ge=1,
        le=2_147_483_647,
        description="The revision judged: it must be the current one (409 otherwise)",
        examples=[1],
    ),
]


APPROVE_EXAMPLE: dict[str, Any] = {"decision": "approve", "revision": 3}
RETURN_EXAMPLE: dict[str, Any] = {
    "decision": "return",
    "revision": 3,
    "reason": "招聘会场次与上周相比减少，请核实 / fairs fell since last week",
    "comments": {"fairs_total": "少于上周累计数，请核实"},
    "resubmit_by": "2024-02-26T12:00:00+08:00",
}
REOPEN_EXAMPLE: dict[str, Any] = {"decision": "reopen", "revision": 3, "reason": "市局申请更正"}
ADOPT_EXAMPLE: dict[str, Any] = {"decision": "adopt", "reason": "典型做法，编入简报"}
CASE_RETURN_EXAMPLE: dict[str, Any] = {
    "decision": "return",
    "reason": "请补充具体成效数据和现场图片",
}
SNAPSHOT_REVIEW_EXAMPLES = [RETURN_EXAMPLE, APPROVE_EXAMPLE, REOPEN_EXAMPLE]
CASE_REVIEW_EXAMPLES = [ADOPT_EXAMPLE, {"decision": "recommend"}, CASE_RETURN_EXAMPLE]


class SnapshotApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [APPROVE_EXAMPLE]})

    decision: Literal["approve"]
    revision: Revision
    reason: Reason | None = None


class SnapshotReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RETURN_EXAMPLE]})

    decision: Literal["return"]
    revision: Revision
    reason: Reason = Field(description="Why it is returned (退回原因): required")
    comments: dict[IndicatorKey, Reason] = Field(
        default_factory=dict,
        max_length=MAX_COMMENTS,
        description="What to correct, per indicator key of the table",
        json_schema_extra=_keyed_by_indicator,
    )
    resubmit_by: Instant | None = Field(
        default=None,
        description="Resubmit by this instant: compliance shows the item `late` after it",
    )


class SnapshotReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REOPEN_EXAMPLE]})

    decision: Literal["reopen"]
    revision: Revision
    reason: Reason = Field(description="Why an approved snapshot opens again: required")


SnapshotReviewIn = Annotated[
    SnapshotApproveIn | SnapshotReturnIn | SnapshotReopenIn, Field(discriminator="decision")
]


class CaseAdoptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ADOPT_EXAMPLE]})

    decision: Literal["adopt", "recommend"] = Field(
        description="`adopt` (采用) or `recommend` (推荐上报)"
    )
    revision: Revision | None = Field(
        default=None, description="The case revision judged; if given, it must be the current one"
    )
    reason: Reason | None = None


class CaseReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CASE_RETURN_EXAMPLE]})

    decision: Literal["return"]
    revision: Revision | None = Field(
        default=None, description="The case revision judged; if given, it must be the current one"
    )
    reason: Reason = Field(description="Why it is returned (退回原因): required")


CaseReviewIn = Annotated[CaseAdoptIn | CaseReturnIn, Field(discriminator="decision")]


class SnapshotReviewOut(BaseModel):
    """The review state of a city's table for a period, and the last decision on it."""

    state: SnapshotReviewState = Field(
        description="`submitted` (an accepted revision awaits a decision), `approved` (frozen: "
        "writes get 423 until a reviewer reopens it) or `returned` (until the city resubmits)"
    )
    revision: int | None = Field(description="The revision the last decision judged")
    decision: SnapshotDecision | None = Field(description="The last decision; null: none yet")
    reason: str | None
    comments: dict[str, str] = Field(description="Per indicator key: what to correct")
    resubmit_by: datetime | None
    by: str | None = Field(description="Who decided")
    at: datetime | None = Field(description="When")


class SnapshotDecisionOut(BaseModel):
    """One decision, as kept."""

    revision: int
    decision: SnapshotDecision
    reason: str | None
    comments: dict[str, str]
    resubmit_by: datetime | None
    by: str
    at: datetime


class CaseReviewOut(BaseModel):
    """The review state of a highlight case, and the last decision on it."""

    state: CaseReviewState = Field(
        description="`submitted` (no decision on its current revision), `adopted` (采用), "
        "`recommended` (推荐上报) or `returned` (退回, until the city revises it)"
    )
    revision: int | None = Field(description="The case revision the last decision judged")
    decision: CaseDecision | None
    reason: str | None
    by: str | None
    at: datetime | None


class CaseDecisionOut(BaseModel):
    revision: int
    decision: CaseDecision
    reason: str | None
    by: str
    at: datetime


class ReturnedTableOut(BaseModel):
    table: str
    period: str
    review: SnapshotReviewOut


class ReturnedCaseOut(BaseModel):
    case_id: int
    period: str
    title: str
    review: CaseReviewOut


class ReturnedOut(BaseModel):
    """What a city must correct: its tables and cases returned and not yet resubmitted."""

    campaign: str
    city: str
    tables: list[ReturnedTableOut]
    cases: list[ReturnedCaseOut]
