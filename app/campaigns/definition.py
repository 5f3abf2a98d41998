"""The campaign definition file: its schema and its validation.

A campaign (dates, reporting units, tables, rules, goals, deliverables) is data. Loading a
file either yields a `CampaignDefinition` or fails naming the bad field.
"""

import re
from datetime import date, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.campaigns.vocabularies import Vocabularies

MAX_PERIODS = 99
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

# A local wall-clock time written "HH:MM" (JSON Schema's `time` format would demand an offset).
LocalTime = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "examples": ["17:30"]}
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueType(StrEnum):
    integer = "integer"
    decimal = "decimal"


class Indicator(Strict):
    seq: int = Field(ge=1, description="序号: the column number in the official table")
    key: str = Field(pattern=KEY_PATTERN)
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    type: ValueType
    decimals: int = Field(default=0, ge=0, le=8)
    parent: str | None = Field(default=None, description="The total this 其中 column is part of")
    note_zh: str | None = None

    @model_validator(mode="after")
    def _decimals_match_type(self) -> "Indicator":
        if self.type is ValueType.integer and self.decimals:
            raise ValueError("an integer indicator has no decimals")
        return self


class ColumnGroup(Strict):
    """A printed header over several columns, e.g. 附件2's “点对点”服务保障 over 13–18."""

    label_zh: str
    first: int = Field(ge=1, description="序号 of the first column under the header")
    last: int = Field(ge=1, description="序号 of the last column under the header")


class Table(Strict):
    id: str = Field(pattern=KEY_PATTERN)
    attachment: str
    title_zh: str
    title_en: str
    indicators: list[Indicator] = Field(min_length=1)
    note_zh: str | None = Field(
        default=None, description="备注 printed under the table, verbatim (without “备注：”)"
    )
    column_groups: list[ColumnGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Table":
        keys = [i.key for i in self.indicators]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate indicator keys in table {self.id}")
        seqs = [i.seq for i in self.indicators]
        if seqs != list(range(1, len(seqs) + 1)):
            raise ValueError(f"table {self.id}: seq must run 1..{len(seqs)} in order")
        for indicator in self.indicators:
            if indicator.parent is not None and indicator.parent not in keys:
                raise ValueError(
                    f"table {self.id}: {indicator.key}.parent {indicator.parent!r} is not a key"
                )
            if indicator.parent == indicator.key:
                raise ValueError(f"table {self.id}: {indicator.key} cannot be its own parent")
        self._check_groups()
        return self

    def _check_groups(self) -> None:
        taken: set[int] = set()
        for group in self.column_groups:
            columns = set(range(group.first, group.last + 1))
            if not columns or group.last > len(self.indicators):
                raise ValueError(
                    f"table {self.id}: column group {group.label_zh!r} must span 序号 "
                    f"first..last within 1..{len(self.indicators)}"
                )
            if columns & taken:
                raise ValueError(f"table {self.id}: column group {group.label_zh!r} overlaps")
            taken |= columns
            # Both sit in the header's upper row, so a group cannot hold a 其中 column.
            if any(self.indicators[seq - 1].parent for seq in columns):
                raise ValueError(
                    f"table {self.id}: column group {group.label_zh!r} holds a 其中 column"
                )

    def column_group(self, indicator: Indicator) -> ColumnGroup | None:
        return next((g for g in self.column_groups if g.first <= indicator.seq <= g.last), None)

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)


class Operator(StrEnum):
    eq = "eq"
    le = "le"
    ge = "ge"
    implies = "implies"  # sum(left) > 0 requires sum(right) > 0


class Severity(StrEnum):
    error = "error"
    warning = "warning"


class Rule(Strict):
    """sum(left) <operator> sum(right), DHIS2-style."""

    id: str
    table: str
    left: list[str] = Field(min_length=1)
    operator: Operator
    right: list[str] = Field(min_length=1)
    severity: Severity
    message_zh: str
    message_en: str


class Term(Strict):
    """`factor` × one indicator of one table, a term of a cross-table rule's side."""

    table: str
    key: str
    factor: int = Field(default=1, ge=1)


class CrossRule(Strict):
    """sum(left) <operator> sum(right) over indicators of the tables of one city and period.

    Always a warning: the tables come from different offices, so one cannot refuse the other.
    An id may repeat for variants of one check (x_trips: bus, train, flight).
    """

    id: str
    left: list[Term] = Field(min_length=1)
    operator: Operator
    right: list[Term] = Field(min_length=1)
    message_zh: str
    message_en: str

    @property
    def terms(self) -> list[Term]:
        return self.left + self.right

    @property
    def tables(self) -> set[str]:
        return {term.table for term in self.terms}


class PostingsGoal(Strict):
    table: str
    indicator: str
    target: int = Field(gt=0)


class CountyEventsGoal(Strict):
    """Recruitment events each county must hold: per week (weekly cycles) or per period."""

    per_week: int | None = Field(default=None, gt=0, description="Weekly cycles only")
    per_period: int | None = Field(default=None, gt=0, description="Any cycle")
    modes: list[Literal["online", "offline"]] = Field(min_length=1)
    partial_weeks: Literal["prorate_ceil", "full"] = Field(
        description="A period the campaign's dates cut short: its share of the requirement "
        "rounded up, or the whole requirement"
    )

    @model_validator(mode="after")
    def _one_rate(self) -> "CountyEventsGoal":
        if (self.per_week is None) == (self.per_period is None):
            raise ValueError("give exactly one of per_week and per_period")
        return self

    @property
    def per_full_period(self) -> int:
        """Events a county needs in a period of full length."""
        return self.per_week or self.per_period or 0


class Goals(Strict):
    postings: PostingsGoal
    county_events: CountyEventsGoal


class IndicatorRef(Strict):
    table: str
    key: str


class Quality(Strict):
    """The /quality view's cross-check of a table against the recruitment-event registry."""

    events_indicator: IndicatorRef = Field(
        description="The table column that counts the recruitment events the city held; "
        "compared per week with the events it registered"
    )


class Briefing(Strict):
    """The weekly briefing (简报, SPEC 9)."""

    indicators: list[IndicatorRef] = Field(
        default_factory=list,
        description="The key indicators of 总体进展, in this order; the postings goal's "
        "indicator is always among them (first, when not listed)",
    )
    cases_per_city: int = Field(
        default=2, ge=1, le=20, description="亮点案例: at most this many cases per city"
    )


# Weeks, days, hours, minutes and seconds only: a year or a month has no fixed length.
_OFFSET = re.compile(
    r"(?P<sign>[-+])?P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
MAX_REMINDER_OFFSET = timedelta(days=31)
OFFSET_TEXT_LENGTH = 32  # the notification's column
# A notification stores the deliverable's id in 32 characters.
REMINDED_ID_LENGTH = 32


def parse_offset(text: str) -> timedelta:
    """An ISO 8601 duration relative to a due instant (`-PT2H30M`: 2 h 30 min before it)."""
    match = _OFFSET.fullmatch(text)
    if match is None or text.endswith(("P", "T")) or len(text) > OFFSET_TEXT_LENGTH:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration of weeks, days, hours, minutes and "
            "seconds, e.g. -PT2H30M (before the due instant) or PT1H (after it)"
        )
    parts = {name: int(value or 0) for name, value in match.groupdict().items() if name != "sign"}
    try:
        offset = timedelta(**parts)
    except OverflowError:
        offset = timedelta.max
    if offset > MAX_REMINDER_OFFSET:
        raise ValueError(
            f"{text!r} is more than {MAX_REMINDER_OFFSET.days} days from the due instant"
        )
    return -offset if match["sign"] == "-" else offset


def _reminder_offset(text: str) -> str:
    parse_offset(text)
    return text  # as written: shown to people and part of each notification's key


ReminderOffset = Annotated[
    str,
    AfterValidator(_reminder_offset),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": OFFSET_TEXT_LENGTH,
            "pattern": r"^[-+]?P(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
            "examples": ["-PT2H30M", "PT1H"],
        }
    ),
]


DeliverableSource = Literal["table", "cases", "contacts", "document"]


class Deliverable(Strict):
    id: str = Field(pattern=KEY_PATTERN)
    name_zh: str
    name_en: str
    schedule: Literal["once", "weekly"]
    due: date | None = None
    source: DeliverableSource = Field(
        description="What satisfies it: a snapshot of `table`; `min_count` highlight cases of "
        "the period (urgent reports never count); the city's contacts; a document of "
        "`document_kind`"
    )
    table: str | None = None
    document_kind: str | None = Field(default=None, pattern=KEY_PATTERN)
    min_count: int = Field(default=1, ge=1)
    reminders: list[ReminderOffset] = Field(
        default_factory=list,
        description="Reminders (催报) to the cities that have not delivered, as ISO 8601 "
        "durations from each due instant: negative before it (deadline.reminder), zero or "
        "positive after it (deadline.missed)",
    )

    @model_validator(mode="after")
    def _source_is_complete(self) -> "Deliverable":
        if (self.source == "table") != (self.table is not None):
            raise ValueError(f"deliverable {self.id}: `table` goes with source: table, only")
        if (self.source == "document") != (self.document_kind is not None):
            raise ValueError(
                f"deliverable {self.id}: `document_kind` goes with source: document, only"
            )
        if self.min_count != 1 and self.source != "cases":
            raise ValueError(f"deliverable {self.id}: `min_count` is for source: cases")
        return self

    @model_validator(mode="after")
    def _due_matches_schedule(self) -> "Deliverable":
        if self.schedule == "once" and self.due is None:
            raise ValueError(f"deliverable {self.id}: a one-off deliverable needs `due`")
        if self.schedule == "weekly" and self.due is not None:
            raise ValueError(f"deliverable {self.id}: a weekly deliverable is due per period")
        return self

    @model_validator(mode="after")
    def _distinct_reminders(self) -> "Deliverable":
        offsets = [parse_offset(text) for text in self.reminders]
        if len(set(offsets)) != len(offsets):
            raise ValueError(f"deliverable {self.id}: two reminders at the same offset")
        if self.reminders and len(self.id) > REMINDED_ID_LENGTH:
            raise ValueError(
                f"deliverable {self.id}: an id of more than {REMINDED_ID_LENGTH} characters "
                "cannot have reminders"
            )
        return self

    @property
    def reminder_offsets(self) -> list[tuple[str, timedelta]]:
        """(text as written, duration) of each reminder, earliest first."""
        return sorted(((text, parse_offset(text)) for text in self.reminders), key=lambda o: o[1])


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


class PeriodRules(Strict):
    """The reporting cycle: exactly one of `week_ends_on`, `every_days` and `dekads`. A period
    is due on its last day (shifted by the holiday rule)."""

    week_ends_on: Weekday | None = Field(
        default=None, description="Weeks ending on this day (the first may be shorter)"
    )
    every_days: int | None = Field(
        default=None, ge=1, le=31, description="Periods of this many days from the start"
    )
    dekads: bool = Field(
        default=False, description="旬: the 1st–10th, 11th–20th and 21st–end of each month"
    )
    id_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Z]$",
        description="The letter of the period ids (W01, W02, …): W for weeks, P otherwise",
    )
    label_zh: str | None = Field(
        default=None,
        max_length=4,
        description="What documents call a period (本周, 本旬, 本期): 周, 旬 or 期 by cycle",
    )
    last_period_due_with: str | None = Field(
        default=None, description="A one-off deliverable whose due date the last period shares"
    )

    @model_validator(mode="after")
    def _one_cycle(self) -> "PeriodRules":
        given = [self.week_ends_on is not None, self.every_days is not None, self.dekads]
        if sum(given) != 1:
            raise ValueError("give exactly one of week_ends_on, every_days and dekads: true")
        return self

    def most_periods(self, start: date, end: date) -> int:
        """An upper bound of the periods from start to end (ids have two digits)."""
        shortest = 7 if self.weekly else self.every_days or 8
        return (end - start).days // shortest + 2

    @property
    def weekly(self) -> bool:
        return self.week_ends_on is not None

    @property
    def prefix(self) -> str:
        return self.id_prefix or ("W" if self.weekly else "P")

    @property
    def label(self) -> str:
        return self.label_zh or ("周" if self.weekly else "旬" if self.dekads else "期")


class CampaignDefinition(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")
    name_zh: str
    name_en: str
    theme_zh: str | None = None
    province: str = Field(pattern=r"^\d{6}$")
    regions: str | None = Field(
        default=None,
        description="The regions file (GB/T 2260 codes; columns code, name, level, "
        "parent_code, kind), relative to this definition; loaded with it. Without one, the "
        "reporting units must be regions loaded already",
    )
    start: date
    end: date
    timezone: str
    close_of_business: LocalTime
    holiday_rule: Literal["next_working_day", "none"]
    periods: PeriodRules
    reporting_units: list[str] = Field(min_length=1)
    tables: list[Table] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    cross_rules: list[CrossRule] = Field(
        default_factory=list,
        description="Plausibility warnings across the tables of one city and period",
    )
    goals: Goals
    deliverables: list[Deliverable]
    quality: Quality | None = None
    briefing: Briefing = Field(default_factory=Briefing)
    vocabularies: Vocabularies = Field(
        default_factory=Vocabularies,
        description="Document kinds, case activities and event categories its cities use",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("reporting_units")
    @classmethod
    def _unit_codes(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not (len(code) == 6 and code.isdigit())]
        if bad:
            raise ValueError(f"reporting units must be 6-digit codes: {bad}")
        if len(set(value)) != len(value):
            raise ValueError("duplicate reporting units")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> "CampaignDefinition":
        if self.end < self.start:
            raise ValueError("end is before start")
        tables = {t.id: t for t in self.tables}
        if len(tables) != len(self.tables):
            raise ValueError("duplicate table ids")
        for rule in self.rules:
            table = tables.get(rule.table)
            if table is None:
                raise ValueError(f"rule {rule.id}: unknown table {rule.table!r}")
            unknown = [k for k in rule.left + rule.right if table.indicator(k) is None]
            if unknown:
                raise ValueError(f"rule {rule.id}: unknown indicators {unknown}")
        self._check_cross_rules(tables)
        goal = self.goals.postings
        if goal.table not in tables or tables[goal.table].indicator(goal.indicator) is None:
            raise ValueError(f"goals.postings: unknown indicator {goal.table}.{goal.indicator}")
        for ref in self.briefing.indicators:
            if ref.table not in tables or tables[ref.table].indicator(ref.key) is None:
                raise ValueError(f"briefing.indicators: unknown indicator {ref.table}.{ref.key}")
        if self.quality is not None:
            ref = self.quality.events_indicator
            if ref.table not in tables or tables[ref.table].indicator(ref.key) is None:
                raise ValueError(
                    f"quality.events_indicator: unknown indicator {ref.table}.{ref.key}"
                )
        deliverables = {d.id: d for d in self.deliverables}
        kinds = self.vocabularies.ids("document_kinds")
        for deliverable in self.deliverables:
            if deliverable.table is not None and deliverable.table not in tables:
                raise ValueError(f"deliverable {deliverable.id}: unknown table")
            if deliverable.document_kind is not None and deliverable.document_kind not in kinds:
                raise ValueError(
                    f"deliverable {deliverable.id}: document_kind {deliverable.document_kind!r} "
                    f"is not among vocabularies.document_kinds {kinds}"
                )
        if self.periods.most_periods(self.start, self.end) > MAX_PERIODS:
            raise ValueError(f"periods: more than {MAX_PERIODS} periods between start and end")
        if self.goals.county_events.per_week is not None and not self.periods.weekly:
            raise ValueError(
                "goals.county_events.per_week needs weekly periods; use per_period instead"
            )
        if self.periods.last_period_due_with is not None:
            other = deliverables.get(self.periods.last_period_due_with)
            if other is None or other.due is None:
                raise ValueError("periods.last_period_due_with must name a one-off deliverable")
        return self

    def _check_cross_rules(self, tables: dict[str, Table]) -> None:
        # /quality tells stored warnings of the table rules from cross ones by id.
        clashing = {r.id for r in self.rules} & {r.id for r in self.cross_rules}
        if clashing:
            raise ValueError(f"cross_rules: ids {sorted(clashing)} are table rule ids too")
        for rule in self.cross_rules:
            unknown = [
                f"{term.table}.{term.key}"
                for term in rule.terms
                if term.table not in tables or tables[term.table].indicator(term.key) is None
            ]
            if unknown:
                raise ValueError(f"cross rule {rule.id}: unknown indicators {unknown}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the file and the field."""


def parse_definition(raw: object, source: str) -> CampaignDefinition:
    try:
        return CampaignDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise DefinitionError(f"{source}: {problems}") from exc


def read_definition_file(path: Path) -> CampaignDefinition:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path.name}: not valid YAML: {exc}") from exc
    return parse_definition(raw, path.name)
