"""What the briefing answers: its five sections in order, each with its figures and its text."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.computed.schemas import CityName, CountyName, Number, PostingsPaceOut


class Section(BaseModel):
    title: str = Field(description="The section's heading as the document prints it")
    text: list[str] = Field(description="The section's paragraphs, worded from its figures")


class KeyIndicatorOut(BaseModel):
    table: str
    indicator: str
    name_zh: str
    unit_zh: str
    cumulative: Number | None = Field(
        description="Province total at the period, as `/totals?period=`; null: never reported"
    )
    previous: Number | None = Field(
        description="Province total at the period before (null: none, or never reported)"
    )
    increase: Number | None = Field(
        description="cumulative − previous (the week's increase; previous counts as 0 when "
        "null); equals the sum of the cities' `/deltas` for the period"
    )
    reporting: int = Field(description="Cities with a figure for this very period")
    stale: int = Field(description="Cities whose figure is carried from an earlier period")
    missing: int = Field(description="Cities that never reported it")


class TimeProgressOut(BaseModel):
    day: date = Field(description="The local day counted up to: the end of the period")
    elapsed_days: int
    total_days: int
    percent: float = Field(description="时序进度: elapsed_days ÷ total_days, in percent")


class PostingsProgressOut(PostingsPaceOut):
    """The province's postings against the target, as `/goals` answers at `progress_at`."""

    reporting: int = Field(description="Coverage: cities with figures for the basis period")
    stale: int
    missing: int
    caveat: str | None = Field(description="Said (zh, en) when the coverage is partial")


class OverallOut(Section):
    progress_at: datetime = Field(
        description="The instant the postings progress is judged at: the end of the period "
        "(its last local day), or `at` when that is earlier"
    )
    indicators: list[KeyIndicatorOut]
    postings: PostingsProgressOut
    time_progress: TimeProgressOut


class CityRowOut(BaseModel):
    city: str
    city_name: CityName = None
    postings: Number | None = Field(description="The city's figure in `/totals` for the period")
    reported_period: str | None = Field(description="The period that figure was reported for")
    stale: bool = Field(description="Carried forward: not reported for this period")
    rank: int | None = Field(description="By postings, 1 = most; equal figures share a rank")
    share_percent: float | None = Field(description="Percent of the province total")
    increase: Number | None = Field(
        description="The city's `/deltas` value for the period; null: not reported this week"
    )
    increase_since: str | None = Field(description="The previous period the increase is from")
    gap: bool = Field(description="The increase spans more than this week")
    increase_rank: int | None = Field(description="By increase, 1 = largest")
    due: int = Field(description="Items due so far (periods up to this one), judged at `at`")
    on_time: int
    late: int
    missing: int
    on_time_percent: float | None = Field(description="on_time ÷ due, in percent")


class CitiesOut(Section):
    indicator: str = Field(description="The ranking's indicator (the postings goal's)")
    name_zh: str
    unit_zh: str
    rows: list[CityRowOut] = Field(description="Every city, by rank (unranked last)")
    by_increase: list[str] = Field(description="City codes by the week's increase")


class CityRef(BaseModel):
    city: str
    city_name: CityName = None


class LateCityOut(CityRef):
    received_at: datetime
    late_by_seconds: int


class DeliverableStatusOut(BaseModel):
    deliverable: str
    name_zh: str
    period: str | None = Field(description="The period of a weekly item; null for a one-off")
    due: datetime
    on_time: list[CityRef]
    late: list[LateCityOut]
    missing: list[CityRef]
    not_due: list[CityRef] = Field(description="Nothing received and the due instant not passed")


class SubmissionsOut(Section):
    deliverables: list[DeliverableStatusOut] = Field(
        description="Each item due in the period (the period's tables and cases, and any "
        "one-off item due within its dates), as `/compliance` judges it at `at`"
    )


class CountyShortOut(BaseModel):
    county: str
    county_name: CountyName = None
    events: int
    required: int
    missing: int


class CityCountiesOut(CityRef):
    counties: list[CountyShortOut]


class CountyEventsOut(Section):
    per_week: int
    required: int = Field(description="Events each county needed in this period")
    in_progress: bool = Field(description="The week had not ended at `at`: nothing judged")
    counties: int = Field(description="County-weeks of the period")
    met: int
    share_met: float = Field(description="As `/goals?period=`: percent of the judged ones")
    short: list[CityCountiesOut] = Field(description="Counties below the requirement, by city")


class HighlightCaseOut(BaseModel):
    id: int
    city: str
    city_name: CityName = None
    county: str | None
    county_name: CountyName = None
    title: str
    activity: str
    activity_zh: str
    text: str
    received_at: datetime = Field(description="When the case first arrived")


class HighlightsOut(Section):
    selection: Literal["latest_per_city", "adopted_per_city"] = Field(
        description="How the cases were chosen (`cases=`): `latest_per_city`: each city's "
        "latest non-urgent cases of the period; `adopted_per_city`: of those, only the ones "
        "a reviewer adopted (采用) or recommended (推荐上报); at most `per_city` per city"
    )
    per_city: int
    cases: list[HighlightCaseOut]


class BriefingOut(BaseModel):
    campaign: str
    campaign_name: str
    title: str
    period: str
    period_label: str = Field(examples=["2月17日—2月23日"])
    period_start: date
    period_end: date
    at: datetime = Field(description="Deadlines and the county weeks judged as of this instant")
    as_of: datetime | None = Field(description="The data as it stood at this instant")
    dateline: str = Field(description="The line under the title: the instants, in words")
    overall: OverallOut = Field(description="一、总体进展")
    cities: CitiesOut = Field(description="二、各市情况")
    submissions: SubmissionsOut = Field(description="三、报送情况")
    county_events: CountyEventsOut = Field(description="四、县区招聘活动")
    highlights: HighlightsOut = Field(description="五、亮点案例")
