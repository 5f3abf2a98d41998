"""The weekly briefing (简报, SPEC 9): one period's computed views, ordered and put into words.

Every figure is read from the plain functions behind the computed endpoints
(app.computed.views), called with the same period and instants, so that each equals the
API's answer; this module only selects, orders and words them.

- 总体进展: `/totals?period=P&as_of=` and the same for the period before (the week's
  increase); `/goals?at=<progress_at>&as_of=` for the postings against the target, where
  `progress_at` is the end of the period's last day (or `at`, if earlier): a briefing for W05
  written in W07 still reports W05. 时序进度 counts the campaign days up to that day.
- 各市情况: the postings indicator's city figures of that `/totals`, ranked as
  `/goals?city=` ranks; the week's increases of `/deltas`; on-time counts of `/compliance`.
- 报送情况: the `/compliance?at=&as_of=` items due in the period.
- 县区招聘活动: the shortfalls of `/goals?period=P&at=&as_of=`.
- 亮点案例: each city's latest non-urgent cases of the period, or with `cases=adopted` only
  those a reviewer adopted or recommended (by `as_of`); `selection` says which.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlmodel import Session, col, select

from app.briefing.schemas import (
    BriefingOut,
    CitiesOut,
    CityCountiesOut,
    CityRef,
    CityRowOut,
    CountyEventsOut,
    CountyShortOut,
    DeliverableStatusOut,
    HighlightCaseOut,
    HighlightsOut,
    KeyIndicatorOut,
    LateCityOut,
    OverallOut,
    PostingsProgressOut,
    SubmissionsOut,
    TimeProgressOut,
)
from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition, IndicatorRef, Table
from app.campaigns.service import get_definition
from app.cases.models import HighlightCase
from app.computed import views
from app.computed.compliance import Judgement
from app.computed.deltas import Delta
from app.computed.goals import (
    PostingsProgress,
    city_postings,
    local_day,
    required_events,
    share_met,
    shortfall,
)
from app.computed.totals import IndicatorTotal
from app.core.numbers import json_number
from app.exports.official_docx import duration_label, instant_label, month_day, span_label
from app.regions.service import names_of
from app.reporting.spreadsheets import date_zh
from app.review.cases import adopted_case_ids
from app.review.schemas import CaseSelection

SECTION_TITLES = ("总体进展", "各市情况", "报送情况", "县区招聘活动", "亮点案例")
TOP = 3  # cities named in the text's rankings; the table has them all
JUDGED = ("on_time", "late", "missing")


@dataclass(frozen=True)
class Figures:
    """What the computed views answered for one period and instants."""

    definition: CampaignDefinition
    periods: Sequence[Period]
    period: Period
    at: datetime
    as_of: datetime | None
    progress_at: datetime
    totals: Mapping[tuple[str, str], tuple[Table, IndicatorTotal]]  # at the period
    previous: Mapping[tuple[str, str], IndicatorTotal]  # at the period before
    progress: PostingsProgress  # at progress_at
    county: views.GoalsResult  # the period's county weeks, at `at`
    increases: Sequence[Delta]  # the postings indicator's deltas of the period
    judgements: Sequence[Judgement]  # every item, at `at`
    cases: Sequence[HighlightCase]
    selection: CaseSelection
    names: Mapping[str, str]


def build_briefing(
    session: Session,
    campaign: str,
    *,
    period: str | None,
    at: datetime,
    as_of: datetime | None,
    cases: CaseSelection = "latest",
) -> BriefingOut:
    return assemble(read_figures(session, campaign, period=period, at=at, as_of=as_of, cases=cases))


def read_figures(
    session: Session,
    campaign: str,
    *,
    period: str | None,
    at: datetime,
    as_of: datetime | None,
    cases: CaseSelection = "latest",
) -> Figures:
    definition = get_definition(session, campaign)
    zone = definition.zone
    scope = views.scope_of(session, definition)
    chosen = views.chosen_period(scope, period, at)
    progress_at = min(at, datetime.combine(chosen.end, time(23, 59, 59), tzinfo=zone))
    before = [p for p in scope.periods if p.index < chosen.index]
    goal = definition.goals.postings
    county = views.goals_view(session, scope, at=at, as_of=as_of, city=None, period=chosen.id)
    adopted = (
        adopted_case_ids(session, definition.id, chosen.id, as_of) if cases == "adopted" else None
    )
    highlights = _latest_cases(session, definition, chosen, as_of, adopted)
    counties = {w["county"] for w in county.shortfalls}
    case_counties = {c.county_code for c in highlights if c.county_code}
    return Figures(
        definition=definition,
        periods=scope.periods,
        period=chosen,
        at=at,
        as_of=as_of,
        progress_at=progress_at,
        totals=_totals(session, scope, chosen, as_of),
        previous={k: t for k, (_, t) in _totals(session, scope, before[-1], as_of).items()}
        if before
        else {},
        progress=views.goals_view(
            session, scope, at=progress_at, as_of=as_of, city=None, period=chosen.id
        ).postings,
        county=county,
        increases=[
            d
            for d in views.deltas_view(
                session, scope, table=goal.table, city=None, indicator=goal.indicator, as_of=as_of
            )
            if d.period == chosen.id
        ],
        judgements=views.compliance_view(
            session, scope, at=at, as_of=as_of, city=None, period=None
        ),
        cases=highlights,
        selection=cases,
        names=names_of(session, {*definition.reporting_units, *counties, *case_counties}),
    )


def _totals(
    session: Session, scope: views.Scope, period: Period, as_of: datetime | None
) -> dict[tuple[str, str], tuple[Table, IndicatorTotal]]:
    return {
        (table.id, total.indicator): (table, total)
        for table, total in views.totals_view(
            session, scope, table=None, period=period.id, as_of=as_of
        )
    }


def _latest_cases(
    session: Session,
    definition: CampaignDefinition,
    period: Period,
    as_of: datetime | None,
    adopted: set[int] | None,
) -> list[HighlightCase]:
    """Each city's latest highlight cases of the period (of the `adopted` ones, if given),
    at most `cases_per_city`: urgent reports are a track of their own and never compiled as
    highlights (SPEC 5)."""
    query = (
        select(HighlightCase)
        .where(
            HighlightCase.campaign_id == definition.id,
            HighlightCase.period_id == period.id,
            col(HighlightCase.urgent).is_(False),
        )
        .order_by(col(HighlightCase.first_received_at).desc(), col(HighlightCase.id).desc())
    )
    if as_of is not None:
        query = query.where(col(HighlightCase.first_received_at) <= as_of)
    if adopted is not None:
        query = query.where(col(HighlightCase.id).in_(adopted))
    chosen: dict[str, list[HighlightCase]] = {}
    for case in session.exec(query).all():
        taken = chosen.setdefault(case.city_code, [])
        if len(taken) < definition.briefing.cases_per_city:
            taken.append(case)
    return [case for city in definition.reporting_units for case in chosen.get(city, [])]


# --- assembly: pure functions of the figures -----------------------------------------------
def assemble(figures: Figures) -> BriefingOut:
    definition, period = figures.definition, figures.period
    return BriefingOut(
        campaign=definition.id,
        campaign_name=definition.name_zh,
        title=f"{definition.name_zh}工作简报",
        period=period.id,
        period_label=span_label(period.start, period.end),
        period_start=period.start,
        period_end=period.end,
        at=figures.at,
        as_of=figures.as_of,
        dateline=_dateline(figures),
        overall=overall(figures),
        cities=cities(figures),
        submissions=submissions(figures),
        county_events=county_events(figures),
        highlights=highlights(figures),
    )


def _dateline(figures: Figures) -> str:
    zone = figures.definition.zone
    line = f"评价时点：{instant_label(figures.at, zone)}"
    if figures.as_of is not None:
        line += f"　数据截至：{instant_label(figures.as_of, zone)}"
    return line


def key_indicators(definition: CampaignDefinition) -> list[IndicatorRef]:
    """The briefing's key indicators; the postings goal's always among them."""
    goal = definition.goals.postings
    listed = list(definition.briefing.indicators)
    if not any(ref.table == goal.table and ref.key == goal.indicator for ref in listed):
        listed.insert(0, IndicatorRef(table=goal.table, key=goal.indicator))
    return listed


def _number(value: Decimal | None) -> int | float | None:
    return None if value is None else json_number(value)


def _name(figures: Figures, code: str) -> str:
    return figures.names.get(code, code)


def _names(figures: Figures, codes: Sequence[str]) -> str:
    return "、".join(_name(figures, code) for code in codes)


def time_progress(periods: Sequence[Period], day: date) -> TimeProgressOut:
    """时序进度: campaign days elapsed up to and including `day`, of all its days — the
    share `/goals` multiplies the target by for `expected_by_at`."""
    start, end = periods[0].start, periods[-1].end
    total = (end - start).days + 1
    elapsed = min(max((day - start).days + 1, 0), total)
    return TimeProgressOut(
        day=day,
        elapsed_days=elapsed,
        total_days=total,
        percent=float(share_met(elapsed, total)),
    )


def overall(figures: Figures) -> OverallOut:
    definition, period = figures.definition, figures.period
    indicators = []
    for ref in key_indicators(definition):
        table, total = figures.totals[(ref.table, ref.key)]
        indicator = table.indicator(ref.key)
        assert indicator is not None  # the definition checks its references
        before = figures.previous.get((ref.table, ref.key))
        previous = before.total if before is not None else None
        increase = None if total.total is None else total.total - (previous or Decimal(0))
        indicators.append(
            KeyIndicatorOut(
                table=ref.table,
                indicator=ref.key,
                name_zh=indicator.name_zh,
                unit_zh=indicator.unit_zh,
                cumulative=_number(total.total),
                previous=_number(previous),
                increase=_number(increase),
                reporting=sum(1 for c in total.cities if not c.stale),
                stale=len(total.stale),
                missing=len(total.missing),
            )
        )
    p = figures.progress
    coverage = p.coverage
    postings = PostingsProgressOut(
        **PostingsProgressOut.fields_of(p),
        reporting=len(coverage.reporting) if coverage else 0,
        stale=len(coverage.stale) if coverage else 0,
        missing=len(coverage.missing) if coverage else len(definition.reporting_units),
        caveat=coverage.caveat() if coverage else None,
    )
    elapsed = time_progress(figures.periods, local_day(figures.progress_at, definition.zone))
    target = definition.goals.postings
    goal = next(i for i in indicators if (i.table, i.indicator) == (target.table, target.indicator))
    text = [
        _totals_text(period, indicators),
        _goal_text(figures, goal, postings, elapsed),
    ]
    projection = _projection_text(figures, goal, postings)
    if projection:
        text.append(projection)
    return OverallOut(
        title=SECTION_TITLES[0],
        text=text,
        progress_at=figures.progress_at,
        indicators=indicators,
        postings=postings,
        time_progress=elapsed,
    )


def _increase_text(increase: int | float, unit: str) -> str:
    if increase < 0:  # a correction downwards
        return f"较上周减少{-increase}{unit}"
    return f"本周新增{increase}{unit}"


def _totals_text(period: Period, indicators: Sequence[KeyIndicatorOut]) -> str:
    parts = [
        f"{i.name_zh}暂无数据"
        if i.cumulative is None or i.increase is None
        else f"{i.name_zh}{i.cumulative}{i.unit_zh}，{_increase_text(i.increase, i.unit_zh)}"
        for i in indicators
    ]
    return f"截至{month_day(period.end)}，全省累计" + "；".join(parts) + "。"


def _goal_text(
    figures: Figures,
    goal: KeyIndicatorOut,
    postings: PostingsProgressOut,
    elapsed: TimeProgressOut,
) -> str:
    unit = goal.unit_zh
    text = (
        f"全省{goal.name_zh}{postings.actual}{unit}，完成{postings.target}{unit}目标任务的"
        f"{postings.percent:.2f}%；活动共{elapsed.total_days}天，截至{month_day(elapsed.day)}"
        f"已开展{elapsed.elapsed_days}天，时序进度{elapsed.percent:.2f}%，"
    )
    if postings.on_track:
        text += f"达到时序进度（按时序应完成{postings.expected_by_at}{unit}）。"
    else:
        gap = postings.expected_by_at - postings.actual
        text += f"落后于时序进度（按时序应完成{postings.expected_by_at}{unit}，差{gap}{unit}）。"
    basis = postings.basis_period
    if basis is not None and basis != figures.period.id:
        ended = next(p.end for p in figures.periods if p.id == basis)
        text += f"本周各市均未报送，以上为截至{month_day(ended)}的数据。"
    return text


def _projection_text(
    figures: Figures, goal: KeyIndicatorOut, postings: PostingsProgressOut
) -> str | None:
    unit = goal.unit_zh
    if postings.reached_on is not None:
        text = f"已于{month_day(postings.reached_on)}完成目标任务。"
    elif postings.weekly_rate is None or postings.projected_final is None:
        return None
    else:
        text = (
            f"按近期平均每周新增{postings.weekly_rate}{unit}测算，活动结束时全省累计可达"
            f"{postings.projected_final}{unit}"
        )
        reach = postings.projected_reach_date
        if reach is None:
            text += "，按此速度难以完成目标任务。"
        elif reach > figures.periods[-1].end:
            text += f"，预计{date_zh(reach)}完成目标任务，晚于活动结束时间。"
        else:
            text += f"，预计{month_day(reach)}完成目标任务。"
    if postings.stale or postings.missing:
        text += (
            f"（测算依据{postings.reporting}个市本期数据，{postings.stale}个市沿用前期数据，"
            f"{postings.missing}个市未报送。）"
        )
    return text


def _rank(value: Decimal, among: Sequence[Decimal]) -> int:
    """1 = the largest; equal values share a rank (as `/goals?city=` ranks)."""
    return 1 + sum(1 for other in among if other > value)


def _period_of(judgement: Judgement, figures: Figures) -> Period:
    """The period an item is due in: a weekly item's own, a one-off's by its due day (after
    the campaign: the last period, whose report is due with it)."""
    periods = figures.periods
    if judgement["period"] is not None:
        return next(p for p in periods if p.id == judgement["period"])
    day = local_day(judgement["due"], figures.definition.zone)
    return next((p for p in periods if day <= p.end), periods[-1])


def cities(figures: Figures) -> CitiesOut:
    definition, period = figures.definition, figures.period
    goal = definition.goals.postings
    table, total = figures.totals[(goal.table, goal.indicator)]
    indicator = table.indicator(goal.indicator)
    assert indicator is not None
    latest = {c.city: (c.period, c.value) for c in total.cities}
    increases = {d.city: d for d in figures.increases}
    counts = _compliance_counts(figures)
    rows = []
    for code in definition.reporting_units:
        place = city_postings(latest, code, period.id, total.total or Decimal(0))
        delta = increases.get(code)
        on_time, late, missing = (counts.get((code, status), 0) for status in JUDGED)
        due = on_time + late + missing
        rows.append(
            CityRowOut(
                city=code,
                city_name=figures.names.get(code),
                postings=_number(place.actual),
                reported_period=place.reported_period,
                stale=place.reported_period is not None and place.reported_period != period.id,
                rank=place.rank,
                share_percent=None if place.share_percent is None else float(place.share_percent),
                increase=None if delta is None else json_number(delta.delta),
                increase_since=None if delta is None else delta.previous_period,
                gap=delta is not None and delta.gap,
                increase_rank=None
                if delta is None
                else _rank(delta.delta, [d.delta for d in figures.increases]),
                due=due,
                on_time=on_time,
                late=late,
                missing=missing,
                on_time_percent=float(share_met(on_time, due)) if due else None,
            )
        )
    order = {code: i for i, code in enumerate(definition.reporting_units)}
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, order[r.city]))
    by_increase = sorted(
        (r for r in rows if r.increase_rank is not None),
        key=lambda r: (r.increase_rank or 0, order[r.city]),
    )
    return CitiesOut(
        title=SECTION_TITLES[1],
        text=_cities_text(figures, indicator.name_zh, indicator.unit_zh, rows, by_increase),
        indicator=goal.indicator,
        name_zh=indicator.name_zh,
        unit_zh=indicator.unit_zh,
        rows=rows,
        by_increase=[r.city for r in by_increase],
    )


def _compliance_counts(figures: Figures) -> dict[tuple[str, str], int]:
    """(city, status) -> items due in the periods up to the briefing's."""
    counts: dict[tuple[str, str], int] = {}
    for judgement in figures.judgements:
        if _period_of(judgement, figures).index <= figures.period.index:
            key = (judgement["city"], judgement["status"])
            counts[key] = counts.get(key, 0) + 1
    return counts


def _cities_text(
    figures: Figures,
    name: str,
    unit: str,
    rows: Sequence[CityRowOut],
    by_increase: Sequence[CityRowOut],
) -> list[str]:
    ranked = [r for r in rows if r.rank is not None]
    text = f"{name}累计居前{min(TOP, len(ranked))}位的是：" if ranked else f"各市{name}暂无数据"
    text += "、".join(f"{_name(figures, r.city)}（{r.postings}{unit}）" for r in ranked[:TOP])
    if by_increase:
        text += f"；本周新增居前{min(TOP, len(by_increase))}位的是：" + "、".join(
            f"{_name(figures, r.city)}（{r.increase}{unit}）" for r in by_increase[:TOP]
        )
    quiet = [r.city for r in rows if r.increase_rank is None]
    if quiet:
        text += f"；本周未报送：{_names(figures, quiet)}"
    behind = [r for r in rows if r.on_time_percent is not None and r.on_time < r.due]
    on_time = (
        "按时报送率未达100%的有："
        + "、".join(f"{_name(figures, r.city)}（{r.on_time_percent:.2f}%）" for r in behind)
        + "。"
        if behind
        else "各市已到期材料均按时报送。"
    )
    return [text + "。", f"截至{instant_label(figures.at, figures.definition.zone)}，{on_time}"]


def submissions(figures: Figures) -> SubmissionsOut:
    definition, period = figures.definition, figures.period
    names = {d.id: d.name_zh for d in definition.deliverables}
    grouped: dict[tuple[str, str | None], list[Judgement]] = {}
    for judgement in figures.judgements:
        if _period_of(judgement, figures).id == period.id:
            grouped.setdefault((judgement["deliverable"], judgement["period"]), []).append(
                judgement
            )
    order = {d.id: i for i, d in enumerate(definition.deliverables)}
    items = []
    for (deliverable, item_period), found in sorted(
        grouped.items(), key=lambda kv: order.get(kv[0][0], len(order))
    ):

        def of(status: str, found: list[Judgement] = found) -> list[Judgement]:
            return [j for j in found if j["status"] == status]

        items.append(
            DeliverableStatusOut(
                deliverable=deliverable,
                name_zh=names.get(deliverable, deliverable),
                period=item_period,
                due=found[0]["due"],
                on_time=[_ref(figures, j["city"]) for j in of("on_time")],
                late=[_late(figures, j) for j in of("late")],
                missing=[_ref(figures, j["city"]) for j in of("missing")],
                not_due=[_ref(figures, j["city"]) for j in of("not_due")],
            )
        )
    return SubmissionsOut(
        title=SECTION_TITLES[2],
        text=[_submission_text(figures, item) for item in items] or ["本周无到期报送事项。"],
        deliverables=items,
    )


def _ref(figures: Figures, city: str) -> CityRef:
    return CityRef(city=city, city_name=figures.names.get(city))


def _late(figures: Figures, judgement: Judgement) -> LateCityOut:
    received, late_by = judgement["received_at"], judgement["late_by_seconds"]
    assert received is not None and late_by is not None  # a late item was received
    return LateCityOut(
        city=judgement["city"],
        city_name=figures.names.get(judgement["city"]),
        received_at=received,
        late_by_seconds=late_by,
    )


def _submission_text(figures: Figures, item: DeliverableStatusOut) -> str:
    zone = figures.definition.zone
    parts = []
    if item.on_time:
        parts.append(f"按时报送{len(item.on_time)}个市")
    if item.late:
        parts.append(
            f"逾期报送{len(item.late)}个市（"
            + "、".join(
                f"{_name(figures, c.city)}逾期{duration_label(c.late_by_seconds)}"
                for c in item.late
            )
            + "）"
        )
    if item.missing:
        parts.append(
            f"未报送{len(item.missing)}个市（{_names(figures, [c.city for c in item.missing])}）"
        )
    if item.not_due:
        parts.append(f"尚未到期、暂未报送{len(item.not_due)}个市")
    return f"{item.name_zh}（{instant_label(item.due, zone)}截止）：" + "；".join(parts) + "。"


def county_events(figures: Figures) -> CountyEventsOut:
    definition, period = figures.definition, figures.period
    goal = definition.goals.county_events
    weeks = figures.county.weeks
    # A period not started at `at` has no county weeks yet: not judged either.
    in_progress = not weeks or any(w["in_progress"] for w in weeks)
    required = (
        weeks[0]["required"] if weeks else required_events(goal, period.days, period.nominal_days)
    )
    by_city: dict[str, list[CountyShortOut]] = {}
    for week in figures.county.shortfalls:
        by_city.setdefault(week["city"], []).append(
            CountyShortOut(
                county=week["county"],
                county_name=figures.names.get(week["county"]),
                events=week["events"],
                required=week["required"],
                missing=shortfall(week),
            )
        )
    short = [
        CityCountiesOut(city=code, city_name=figures.names.get(code), counties=by_city[code])
        for code in definition.reporting_units
        if code in by_city
    ]
    met = figures.county.judged - len(figures.county.shortfalls)
    label = definition.periods.label
    per = "每周" if goal.per_week is not None else f"每{label}"
    if in_progress:
        text = [f"本{label}（{span_label(period.start, period.end)}）尚未结束，暂不评价。"]
    else:
        partial = (
            f"（本{label}{period.days}天，应不少于{required}场次）"
            if required != goal.per_full_period
            else ""
        )
        text = [
            f"按照每个县（市、区）{per}举办线上线下招聘活动不少于{goal.per_full_period}场次的要求"
            f"{partial}，全省{len(weeks)}个县（市、区）中{met}个达到要求，达标率"
            f"{figures.county.share_met:.2f}%"
            + (f"；{len(figures.county.shortfalls)}个未达到要求：" if short else "。")
        ]
        text += [
            f"{_name(figures, group.city)}："
            + "、".join(
                f"{_name(figures, c.county)}（{c.events}场次，差{c.missing}场次）"
                for c in group.counties
            )
            + "。"
            for group in short
        ]
    return CountyEventsOut(
        title=SECTION_TITLES[3],
        text=text,
        per_week=goal.per_full_period,
        required=required,
        in_progress=in_progress,
        counties=len(weeks),
        met=met,
        share_met=float(figures.county.share_met),
        short=short,
    )


def highlights(figures: Figures) -> HighlightsOut:
    per_city = figures.definition.briefing.cases_per_city
    cases = [
        HighlightCaseOut(
            id=case.id or 0,
            city=case.city_code,
            city_name=figures.names.get(case.city_code),
            county=case.county_code,
            county_name=figures.names.get(case.county_code) if case.county_code else None,
            title=case.title,
            activity=case.activity,
            activity_zh=figures.definition.vocabularies.label("case_activities", case.activity),
            text=case.text,
            received_at=case.first_received_at,
        )
        for case in figures.cases
    ]
    adopted = figures.selection == "adopted"
    chosen = "经省厅采用的" if adopted else "各市本周报送的"
    text = (
        f"本期选编{chosen}特色亮点案例，每市至多{per_city}个。"
        if cases
        else ("本周暂无经省厅采用的特色亮点案例。" if adopted else "本周各市暂未报送特色亮点案例。")
    )
    return HighlightsOut(
        title=SECTION_TITLES[4],
        text=[text],
        selection="adopted_per_city" if adopted else "latest_per_city",
        per_city=per_city,
        cases=cases,
    )
