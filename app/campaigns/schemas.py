"""What the campaign endpoints send and receive."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.campaigns.definition import Indicator, Rule
from app.campaigns.vocabularies import VocabularyTerm
from app.core.instants import Instant
from app.core.text import SingleLine
from app.regions.models import RegionPublic


class CampaignSummary(BaseModel):
    id: str
    name_zh: str
    name_en: str
    start: date
    end: date
    timezone: str
    reporting_units: int
    periods: int


class PeriodPublic(BaseModel):
    id: str = Field(examples=["W04"])
    start: date
    end: date
    days: int
    due: datetime = Field(description="Due instant with the campaign's UTC offset")
    due_day_shifted_from: date | None = Field(
        description="The nominal due day, when the working-day calendar moved it"
    )
    due_overridden: bool = Field(description="True when an administrator set this due instant")


class DeadlinePublic(BaseModel):
    deliverable: str = Field(examples=["t1"])
    period: str | None = Field(description="The period, for weekly deliverables")
    due: datetime
    due_overridden: bool


class TableCatalogue(BaseModel):
    campaign: str
    id: str
    attachment: str
    title_zh: str
    title_en: str
    indicators: list[Indicator]
    rules: list[Rule] = Field(description="Cross-indicator rules checked on every submission")


class DueOverrideIn(BaseModel):
    due: Instant = Field(description="The new due instant, with its UTC offset")
    reason: Annotated[str, Field(min_length=1, max_length=500), SingleLine]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "due": "2024-02-19T12:00:00+08:00",
                    "reason": "省厅同意因系统故障顺延 / extension after a system outage",
                }
            ]
        }
    }


class DueOverridePublic(BaseModel):
    campaign: str
    item: str
    due: datetime | None
    reason: str
    set_by: str
    set_at: datetime


class CityPublic(BaseModel):
    campaign: str
    city: RegionPublic
    counties: list[RegionPublic]


class VocabulariesPublic(BaseModel):
    """The ids a campaign's cities may write, each with its labels, in the definition's order."""

    campaign: str
    document_kinds: list[VocabularyTerm] = Field(description="The values of a document's `kind`")
    case_activities: list[VocabularyTerm] = Field(
        description="The values of a highlight case's `activity`"
    )
    event_categories: list[VocabularyTerm] = Field(
        description="The values of a recruitment event's `category`"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "campaign": "js-2024",
                    "document_kinds": [
                        {
                            "id": "stage_report",
                            "name_zh": "阶段性进展情况",
                            "name_en": "Stage report",
                        }
                    ],
                    "case_activities": [
                        {"id": "visit", "name_zh": "就业访民情", "name_en": "Visiting households"}
                    ],
                    "event_categories": [
                        {"id": "graduates", "name_zh": "高校毕业生专场", "name_en": "Graduates"}
                    ],
                }
            ]
        }
    }
