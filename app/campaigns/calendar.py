"""Reporting periods and due instants: pure functions of a definition and a work calendar."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

from app.campaigns.definition import WEEKDAYS, CampaignDefinition, PeriodRules

IsWorkday = Callable[[date], bool]
# Plenty for a year's holidays; stops a broken calendar from looping forever.
MAX_SHIFT_DAYS = 31


@lru_cache(maxsize=4096)
def official_workday(day: date) -> bool:
    """The Chinese official working-day calendar, make-up working days included."""
    return bool(chinese_calendar.is_workday(day))


@dataclass(frozen=True)
class Period:
    id: str
    index: int
    start: date
    end: date
    nominal_days: int  # its cycle's length: more than `days` when the campaign cuts it short
    due: datetime
    due_day_shifted_from: date | None
    due_overridden: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def due_day(day: date, rule: str, is_workday: IsWorkday) -> date:
    if rule == "none":
        return day
    shifted = day
    for _ in range(MAX_SHIFT_DAYS):
        if is_workday(shifted):
            return shifted
        shifted += timedelta(days=1)
    raise ValueError(f"no working day within {MAX_SHIFT_DAYS} days after {day}")


def due_instant(
    day: date, definition: CampaignDefinition, is_workday: IsWorkday
) -> tuple[datetime, date | None]:
    """Close of business on the (possibly shifted) due day, and the original day if shifted."""
    shifted = due_day(day, definition.holiday_rule, is_workday)
    instant = datetime.combine(shifted, definition.close_of_business, tzinfo=definition.zone)
    return instant, (day if shifted != day else None)


def period_bounds(definition: CampaignDefinition) -> list[tuple[date, date, int]]:
    """Each period's first and last day, and its length had the campaign's dates not cut it."""
    rules = definition.periods
    bounds = []
    start = definition.start
    while start <= definition.end:
        first, last = _cycle_around(rules, definition.start, start)
        bounds.append((start, min(last, definition.end), (last - first).days + 1))
        start = last + timedelta(days=1)
    return bounds


def _cycle_around(rules: PeriodRules, campaign_start: date, day: date) -> tuple[date, date]:
    """The whole cycle period (first and last day) that `day` falls in."""
    if rules.week_ends_on is not None:
        last = day + timedelta(days=(WEEKDAYS.index(rules.week_ends_on) - day.weekday()) % 7)
        return last - timedelta(days=6), last
    if rules.every_days is not None:
        index = (day - campaign_start).days // rules.every_days
        first = campaign_start + timedelta(days=index * rules.every_days)
        return first, first + timedelta(days=rules.every_days - 1)
    # 旬: the 1st–10th, the 11th–20th, the 21st to the month's end.
    first_day = min((day.day - 1) // 10, 2) * 10 + 1
    first = day.replace(day=first_day)
    if first_day < 21:
        return first, first + timedelta(days=9)
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, next_month - timedelta(days=1)


def build_periods(
    definition: CampaignDefinition,
    is_workday: IsWorkday = official_workday,
    overrides: Mapping[str, datetime] | None = None,
) -> list[Period]:
    """W01, W02, … (P01, … for other cycles) with their due instants; `overrides` maps a
    period id to a due instant."""
    overrides = overrides or {}
    bounds = period_bounds(definition)
    periods = []
    for index, (start, end, nominal_days) in enumerate(bounds, start=1):
        period_id = f"{definition.periods.prefix}{index:02d}"
        nominal = end
        linked = definition.periods.last_period_due_with
        if index == len(bounds) and linked is not None:
            nominal = deliverable_due_date(definition, linked)
        due, shifted_from = due_instant(nominal, definition, is_workday)
        override = overrides.get(period_id)
        periods.append(
            Period(
                id=period_id,
                index=index,
                start=start,
                end=end,
                nominal_days=nominal_days,
                due=override or due,
                due_day_shifted_from=shifted_from,
                due_overridden=override is not None,
            )
        )
    return periods


def deliverable_due_date(definition: CampaignDefinition, deliverable_id: str) -> date:
    for deliverable in definition.deliverables:
        if deliverable.id == deliverable_id and deliverable.due is not None:
            return deliverable.due
    raise KeyError(deliverable_id)


def period_of_day(periods: list[Period], day: date) -> Period | None:
    return next((p for p in periods if p.start <= day <= p.end), None)


@dataclass(frozen=True)
class Deadline:
    """One deliverable instance: a one-off item, or a weekly item for one period."""

    deliverable: str
    period: str | None
    due: datetime
    due_overridden: bool


def build_deadlines(
    definition: CampaignDefinition,
    periods: list[Period],
    is_workday: IsWorkday = official_workday,
    overrides: Mapping[str, datetime] | None = None,
) -> list[Deadline]:
    """Every deliverable instance. A period's override moves all of that period's items."""
    overrides = overrides or {}
    deadlines: list[Deadline] = []
    for deliverable in definition.deliverables:
        if deliverable.schedule == "weekly":
            deadlines.extend(
                Deadline(deliverable.id, p.id, p.due, p.due_overridden) for p in periods
            )
            continue
        assert deliverable.due is not None
        due, _ = due_instant(deliverable.due, definition, is_workday)
        override = overrides.get(deliverable.id)
        deadlines.append(Deadline(deliverable.id, None, override or due, override is not None))
    return deadlines
