"""The export jobs' request and answer."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.instants import Instant
from app.core.params import PERIOD_PATTERN
from app.exports.jobs import ExportJob, JobKind
from app.exports.service import ExportValues
from app.review.schemas import CASE_SELECTION_HELP, CaseSelection


class ExportJobIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "cases.docx", "period": "W05"}]},
    )

    kind: JobKind
    period: Annotated[str, Field(pattern=PERIOD_PATTERN)] | None = None
    city: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    as_of: Instant | None = Field(default=None, description="xlsx only")
    values: ExportValues | None = Field(
        default=None, description="xlsx only: `cumulative` (default) or `increase` (本周新增)"
    )
    cases: CaseSelection | None = Field(
        default=None, description="cases.docx only: " + CASE_SELECTION_HELP
    )

    def params(self) -> dict[str, Any]:
        """The job's parameters as it keeps them: those given, as JSON values."""
        return self.model_dump(mode="json", exclude={"kind"}, exclude_none=True)


class ExportJobOut(BaseModel):
    id: str
    kind: str
    params: dict[str, Any]
    state: Literal["queued", "running", "done", "failed"]
    percent: int
    error: str | None
    filename: str | None
    created_at: datetime
    finished_at: datetime | None
    status_url: str
    file_url: str

    @classmethod
    def of(cls, job: ExportJob) -> "ExportJobOut":
        base = f"/api/v1/campaigns/{job.campaign_id}/exports/jobs/{job.id}"
        return cls(
            id=job.id,
            kind=job.kind,
            params=job.params,
            state=job.state,
            percent=job.percent,
            error=job.error,
            filename=job.filename,
            created_at=job.created_at,
            finished_at=job.finished_at,
            status_url=base,
            file_url=base + "/file",
        )
