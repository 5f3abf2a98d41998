"""What the computed endpoints answer."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.computed.goals import PostingsProgress
from app.core.numbers import json_number

Number = int | float
CityName = Annotated[
    str | None,
    Field(description="The city's official name (regions table)", examples=["南京市"]),
]
CountyName = Annotated[
    str | None,
    Field(description="The county's official name (regions table)", examples=["玄武区"]),
]
Names = Annotated[
    list[str | None],
    Field(description="The names of the codes of the list before it, in the same order"),
]


class DeltaOut(BaseModel):
    city: str
    city_name: CityName = None
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
    city_name: CityName = None
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
    stale_names: Names = []
    missing: list[str] = Field(description="Cities that never reported it by this period")
    missing_names: Names = []


class TotalsOut(BaseModel):
    campaign: str
    period: str
    as_of: datetime | None
    items: list[IndicatorTotalOut]


class CoverageOut(BaseModel):
    """Which cities the province figure stands on."""

    cities: int = Field(description="Reporting cities of the campaign")
    reporting: list[str] = Field(description="Cities with figures for the basis period")
    reporting_names: Names = []
    stale: list[str] = Field(description="Cities whose figures are carried from earlier")
    stale_names: Names = []
    missing: list[str] = Field(description="Cities that never reported")
    missing_names: Names = []
    complete: bool
    caveat: str | None = Field(description="Said (zh, en) when the picture is partial")


class PostingsPaceOut(BaseModel):
    """The province's postings against the target, at an instant: what `/goals` and the
    briefing both say of it."""

    target: int
    actual: Number = Field(description="Province total of the latest reported period")
    percent: float = Field(description="actual ÷ target, in percent")
    expected_by_at: Number = Field(
        description="Linear pace (时序进度): target × share of days elapsed, rounded"
    )
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

    @classmethod
    def fields_of(cls, progress: PostingsProgress) -> dict[str, Any]:
        """This model's fields, from the calculation's result."""
        p = progress
        return {
            "target": p.target,
            "actual": json_number(p.actual),
            "percent": float(p.percent),
            "expected_by_at": json_number(p.expected_by_at),
            "on_track": p.on_track,
            "basis_period": p.basis_period,
            "weekly_rate": None if p.weekly_rate is None else json_number(p.weekly_rate),
            "projected_final": None
            if p.projected_final is None
            else json_number(p.projected_final),
            "reached_on": p.reached_on,
            "projected_reach_date": p.projected_reach_date,
        }


class PostingsGoalOut(PostingsPaceOut):
    coverage: CoverageOut | None = Field(
        description="The cities behind `actual`, the rate and the projection"
    )


class PostingsIncreaseOut(BaseModel):
    period: str
    cumulative: Number
    increase: Number = Field(description="cumulative − cumulative of `since` (as in /deltas)")
    since: str | None = Field(description="The previous period the city reported")
    gap: bool = Field(description="The increase spans more than one period")


class CityPostingsOut(BaseModel):
    city: str
    city_name: CityName = None
    basis_period: str | None = Field(description="The province's latest reported period")
    actual: Number | None = Field(
        description="The city's latest figure up to the basis period (null: never reported)"
    )
    reported_period: str | None = Field(
        description="The period `actual` was reported for; before `basis_period` means "
        "carried forward"
    )
    share_percent: float | None = Field(
        description="Percent of the province's carried-forward total at the basis period"
    )
    rank: int | None = Field(description="1 = most postings; equal figures share a rank")
    ranked_cities: int = Field(description="Cities with a figure (the ones ranked)")
    increases: list[PostingsIncreaseOut] = Field(
        description="Each reported period's increase up to the basis period"
    )


class CountyWeekOut(BaseModel):
    county: str
    county_name: CountyName = None
    city: str
    city_name: CityName = None
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
    per_week: int = Field(
        description="Events each county needs in a period of full length (a week, or the "
        "campaign's own cycle)"
    )
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
    postings: PostingsGoalOut | None = Field(
        description="Province-wide progress against the target; null with `city` (the notice "
        "sets no per-city target: see `city_postings`)"
    )
    city_postings: CityPostingsOut | None = Field(
        default=None, description="With `city`: that city's figure, share and rank"
    )
    county_events: CountyEventsGoalOut


class JudgementOut(BaseModel):
    city: str
    city_name: CityName = None
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
    review_state: Literal["submitted", "approved", "returned"] | None = Field(
        description="Tables once received: the review state at `at` (`submitted` until a "
        "reviewer decides); null otherwise"
    )
    late_reason: str | None = Field(
        description="Why a late item is late: its first receipt came after the due instant, "
        "and/or it was returned and not resubmitted by the reviewer's `resubmit_by` (which "
        "makes an item received on time late; `late_by_seconds` then counts from that date)"
    )


class StatusCounts(BaseModel):
    on_time: int
    late: int
    missing: int
    not_due: int


class CityStatusCountsOut(StatusCounts):
    city_name: CityName = None


class ComplianceOut(BaseModel):
    campaign: str
    at: datetime
    as_of: datetime | None
    items: list[JudgementOut]
    by_city: dict[str, CityStatusCountsOut] = Field(description="Keyed by city code")
    by_deliverable: dict[str, StatusCounts]


class FairsCheckOut(BaseModel):
    city: str
    city_name: CityName = None
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
    city_name: CityName = None
    table: str
    period: str
    revision: int
    rule: str
    keys: list[str] = Field(
        description="The indicators involved; `<table>.<key>` for a cross-table rule (x_…)"
    )
    values: dict[str, str | None] = Field(
        description="Their values as exact decimal text, by the names in `keys` (a decrease "
        "also gives `previous.<key>`)"
    )
    message_zh: str
    message_en: str
    revisions_url: str


class QualityOut(BaseModel):
    campaign: str
    as_of: datetime | None
    fairs_vs_registry: list[FairsCheckOut]
    open_warnings: list[OpenWarningOut]
