"""What the computed endpoints answer."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Number = int | float


class DeltaOut(BaseModel):
    city: str
    table: str
    indicator: str
    period: str
    cumulative: Number
    delta: Number = Field(description="cumulative − cumulative of previous_period (0 before it)")
    previous_period: str | None = Field(
        description="The previous period this indicator was reported in, if any"
    )
    gap: bool = Field(description="The previous reported period is not the one just before")
    negative: bool
    revision: int = Field(description="The snapshot revision the cumulative value comes from")


class DeltasOut(BaseModel):
    campaign: str
    as_of: datetime | None
    count: int
    items: list[DeltaOut]


class CityValueOut(BaseModel):
    city: str
    value: Number
    period: str = Field(description="The period this value was reported for")
    revision: int
    stale: bool = Field(description="Carried forward from an earlier period")


class IndicatorTotalOut(BaseModel):
    table: str
    indicator: str
    name_zh: str
    name_en: str
    unit_zh: str
    total: Number | None = Field(description="None when no city has reported this indicator")
    cities: list[CityValueOut]
    stale: list[str]
    missing: list[str] = Field(description="Cities that never reported it by this period")


class TotalsOut(BaseModel):
    campaign: str
    period: str
    as_of: datetime | None
    items: list[IndicatorTotalOut]


class CoverageOut(BaseModel):
    """Which cities the province figure stands on."""

    cities: int = Field(description="Reporting cities of the campaign")
    reporting: list[str] = Field(description="Cities with figures for the basis period")
    stale: list[str] = Field(description="Cities whose figures are carried from earlier")
    missing: list[str] = Field(description="Cities that never reported")
    complete: bool
    caveat: str | None = Field(description="Said (zh, en) when the picture is partial")


class PostingsGoalOut(BaseModel):
    target: int
    actual: Number = Field(description="Province total of the latest reported period")
    percent: float
    expected_by_at: Number = Field(description="Linear pace: target × share of days elapsed")
    on_track: bool
    basis_period: str | None
    weekly_rate: Number | None = Field(
        description="Province increase per 7 days over the last three periods up to the "
        "latest reported one (carried-forward series, per elapsed day)"
    )
    projected_final: Number | None
    reached_on: date | None = Field(
        description="End of the first period whose total met the target"
    )
    projected_reach_date: date | None
    coverage: CoverageOut | None = Field(
        description="The cities behind `actual`, the rate and the projection"
    )


class CountyWeekOut(BaseModel):
    county: str
    city: str
    period: str
    events: int
    required: int
    met: bool = Field(description="events ≥ required (so far, for a week in progress)")
    in_progress: bool = Field(
        description="The week has not ended at `at`: not judged, left out of `met`, "
        "`share_met` and `shortfalls`"
    )


class ShortfallOut(CountyWeekOut):
    missing: int


class CountyEventsGoalOut(BaseModel):
    per_week: int
    county_weeks: int
    in_progress: int = Field(description="County-weeks of weeks that have not ended at `at`")
    met: int = Field(description="County-weeks of ended weeks that met the requirement")
    share_met: float = Field(
        description="Percent of the county-weeks of ended weeks that met the requirement"
    )
    matrix: list[CountyWeekOut]
    shortfalls: list[ShortfallOut]


class GoalsOut(BaseModel):
    campaign: str
    at: datetime
    as_of: datetime | None
    postings: PostingsGoalOut
    county_events: CountyEventsGoalOut


class JudgementOut(BaseModel):
    city: str
    deliverable: str = Field(examples=["t1"])
    period: str | None
    due: datetime
    received_at: datetime | None
    status: Literal["on_time", "late", "missing", "not_due"]
    late_by_seconds: int | None
    indicators_reported: int | None = Field(
        description="Tables: how many indicators the received snapshot holds (as of `as_of`)"
    )
    indicators_expected: int | None = Field(description="Tables: the table's indicators")


class StatusCounts(BaseModel):
    on_time: int
    late: int
    missing: int
    not_due: int


class ComplianceOut(BaseModel):
    campaign: str
    at: datetime
    as_of: datetime | None
    items: list[JudgementOut]
    by_city: dict[str, StatusCounts]
    by_deliverable: dict[str, StatusCounts]


class FairsCheckOut(BaseModel):
    city: str
    period: str
    fairs_delta: Number | None = Field(description="T1 fairs_total delta for the period")
    covers: list[str] = Field(
        description="The periods that delta covers (several when the city skipped a week's "
        "T1: the delta is then the gain since its previous report); the events are counted "
        "over the same periods"
    )
    events_registered: int
    difference: Number | None = Field(description="fairs_delta − events_registered")


class OpenWarningOut(BaseModel):
    city: str
    table: str
    period: str
    revision: int
    rule: str
    keys: list[str]
    message_zh: str
    message_en: str
    revisions_url: str


class QualityOut(BaseModel):
    campaign: str
    as_of: datetime | None
    fairs_vs_registry: list[FairsCheckOut]
    open_warnings: list[OpenWarningOut]
