from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.attachments.schemas import AttachmentOut
from app.campaigns.vocabularies import TERM_PATTERN
from app.core.text import Multiline, Title
from app.records.fields import ReceivedAt, term_description

MAX_DOCUMENT_TEXT = 100_000
KIND_DESCRIPTION = term_description("document_kinds")
KindId = Annotated[
    str, Field(pattern=TERM_PATTERN, description=KIND_DESCRIPTION, examples=["stage_report"])
]


class DocumentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "stage_report",
                    "title": "南京市2024年春风行动阶段性进展情况",
                    "text": "一、总体进展\n截至2月28日，全市累计举办招聘活动412场……",
                }
            ]
        },
    )

    kind: KindId
    title: Title
    text: Annotated[str, Field(min_length=1, max_length=MAX_DOCUMENT_TEXT), Multiline] = Field(
        description=f"Plain text, at most {MAX_DOCUMENT_TEXT} characters; attach files "
        "afterwards at `…/documents/{document_id}/attachments`"
    )
    received_at: ReceivedAt = None


class DocumentOut(BaseModel):
    id: int
    campaign: str
    city: str
    kind: str = Field(description="An id of the campaign's `document_kinds`")
    title: str
    text: str
    submitted_by: str
    received_at: datetime = Field(description="The server's receipt time: the submission time")
    backdated: bool
    attachments: list[AttachmentOut]
