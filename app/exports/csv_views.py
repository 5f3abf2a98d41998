"""The computed views as CSV rows: for machines (`en`: stable keys and codes, ISO instants) or
for people (`zh`: the official table's words and units, names, 是/否, local times, official
order)."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from sqlmodel import Session

from app.campaigns.definition import CampaignDefinition, Indicator, Table
from app.campaigns.service import get_definition, get_period
from app.computed import views
from app.computed.compliance import Judgement, Status
from app.computed.deltas import Delta
from app.computed.goals import CountyWeek
from app.computed.names import named
from app.computed.totals import IndicatorTotal
from app.core.types import utc_now
from app.exports.csv import csv_lines
from app.exports.service import CSV, StreamedFile

CsvView = Literal["deltas", "totals", "compliance", "county-weeks"]
Lang = Literal["en", "zh"]
Header = Sequence[str]
Rows = Iterable[Sequence[object]]

STATUS_ZH: Mapping[Status, str] = {
    "on_time": "按时",
    "late": "逾期",
    "missing": "未报",
    "not_due": "未到期",
}

Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    en: str | None  # None: a column of the Chinese file only
    zh: str
    value: Callable[[Row], object]
    zh_value: Callable[[Row], object] | None = None  # what people read instead of `value`


def _cell(value: object, lang: Lang, zone: tzinfo) -> object:
    if isinstance(value, datetime):
        if lang == "en":
            return value.isoformat()
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if lang == "zh" and isinstance(value, bool):
        return "是" if value else "否"
    return value


def _table(
    columns: Sequence[Column[Row]], rows: Iterable[Row], lang: Lang, zone: tzinfo
) -> tuple[Header, Rows]:
    chosen = [c for c in columns if lang == "zh" or c.en is not None]
    header = [c.zh if lang == "zh" else c.en or "" for c in chosen]
    getters = [(c.zh_value or c.value) if lang == "zh" else c.value for c in chosen]
    return header, ([_cell(get(row), lang, zone) for get in getters] for row in rows)


class _Official:
    """The official table's order and words: tables, indicators (序号) and cities."""

    def __init__(self, definition: CampaignDefinition) -> None:
        self._tables = {t.id: (n, t) for n, t in enumerate(definition.tables)}
        self._cities = {code: n for n, code in enumerate(definition.reporting_units)}

    def table(self, table_id: str) -> Table:
        return self._tables[table_id][1]

    def indicator(self, table_id: str, key: str) -> Indicator:
        found = self.table(table_id).indicator(key)
        assert found is not None
        return found

    def city_order(self, city: str) -> tuple[int, str]:
        return self._cities.get(city, len(self._cities)), city

    def indicator_order(self, table_id: str, key: str) -> tuple[int, int]:
        return self._tables[table_id][0], self.indicator(table_id, key).seq


def label(indicator: Indicator) -> str:
    """举办各类招聘活动（场次）: the Chinese name with its unit."""
    return f"{indicator.name_zh}（{indicator.unit_zh}）"


def csv_export(
    session: Session,
    campaign: str,
    view: CsvView,
    *,
    lang: Lang,
    table: str | None,
    city: str | None,
    period: str | None,
    as_of: datetime | None,
    at: datetime | None,
) -> StreamedFile:
    """A computed view as a CSV file, judged at `at` (default now), streamed row by row."""
    definition = get_definition(session, campaign)
    scope = views.scope_of(session, definition)
    judged_at = at or utc_now()
    if period is not None:
        get_period(scope.periods, period)
    official = _Official(definition)
    zone = definition.zone
    if view == "deltas":
        deltas = [
            d
            for d in views.deltas_view(
                session, scope, table=table, city=city, indicator=None, as_of=as_of
            )
            if period is None or d.period == period
        ]
        named(session, deltas)
        if lang == "zh":
            order = scope.order
            deltas.sort(
                key=lambda d: (
                    official.indicator_order(d.table, d.indicator),
                    official.city_order(d.city),
                    order[d.period],
                )
            )
        header, rows = _table(_delta_columns(official), deltas, lang, zone)
    elif view == "totals":
        chosen = views.chosen_period(scope, period, as_of or judged_at).id
        totals = views.totals_view(session, scope, table=table, period=chosen, as_of=as_of)
        named(session, (value for _, total in totals for value in total.cities))
        header, rows = _table(_TOTAL_COLUMNS, _total_rows(chosen, totals, official), lang, zone)
    elif view == "compliance":
        judgements = views.compliance_view(
            session, scope, at=judged_at, as_of=as_of, city=city, period=period
        )
        named(session, judgements)
        header, rows = _table(_compliance_columns(definition), judgements, lang, zone)
    else:
        weeks = views.goals_view(
            session, scope, at=judged_at, as_of=as_of, city=city, period=period
        ).weeks
        named(session, weeks)
        header, rows = _table(_WEEK_COLUMNS, weeks, lang, zone)
    return StreamedFile(csv_lines(header, rows), CSV, f"{definition.id}-{view}.csv")


def _delta_columns(official: _Official) -> list[Column[Delta]]:
    return [
        Column("city", "市代码", lambda d: d.city),
        Column("city_name", "市", lambda d: d.city_name),
        Column("table", "表", lambda d: d.table, lambda d: official.table(d.table).attachment),
        Column(None, "序号", lambda d: official.indicator(d.table, d.indicator).seq),
        Column(
            "indicator",
            "指标",
            lambda d: d.indicator,
            lambda d: label(official.indicator(d.table, d.indicator)),
        ),
        Column("period", "周期", lambda d: d.period),
        Column("cumulative", "累计数", lambda d: d.cumulative),
        Column("delta", "本期增量", lambda d: d.delta),
        Column("previous_period", "上次填报周期", lambda d: d.previous_period),
        Column("gap", "跨多期", lambda d: d.gap),
        Column("negative", "减少", lambda d: d.negative),
        Column("revision", "修订版本", lambda d: d.revision),
    ]


@dataclass(frozen=True)
class _TotalRow:
    period: str
    table: Table
    indicator: Indicator
    city: str | None  # None: the province total
    city_name: str | None
    value: Decimal
    value_period: str
    stale: bool


def _total_rows(
    period: str, totals: Sequence[tuple[Table, IndicatorTotal]], official: _Official
) -> Iterator[_TotalRow]:
    """Per indicator: one row per city that has a value, then the province total."""
    for table, total in totals:
        indicator = official.indicator(table.id, total.indicator)
        for value in total.cities:
            yield _TotalRow(
                period,
                table,
                indicator,
                value.city,
                value.city_name,
                value.value,
                value.period,
                value.stale,
            )
        if total.total is not None:
            yield _TotalRow(period, table, indicator, None, None, total.total, period, False)


_TOTAL_COLUMNS: list[Column[_TotalRow]] = [
    Column("period", "周期", lambda r: r.period),
    Column("table", "表", lambda r: r.table.id, lambda r: r.table.attachment),
    Column(None, "序号", lambda r: r.indicator.seq),
    Column("indicator", "指标", lambda r: r.indicator.key, lambda r: label(r.indicator)),
    Column("city", "市代码", lambda r: r.city or "total", lambda r: r.city),
    Column("city_name", "市", lambda r: r.city_name, lambda r: r.city_name or "合计"),
    Column("value", "累计数", lambda r: r.value),
    Column("value_period", "数据所属周期", lambda r: r.value_period),
    Column("stale", "沿用前期数据", lambda r: r.stale),
]


def _compliance_columns(definition: CampaignDefinition) -> list[Column[Judgement]]:
    deliverables = {d.id: d.name_zh for d in definition.deliverables}
    return [
        Column("city", "市代码", lambda j: j["city"]),
        Column("city_name", "市", lambda j: j.get("city_name")),
        Column(
            "deliverable",
            "报送事项",
            lambda j: j["deliverable"],
            lambda j: deliverables[j["deliverable"]],
        ),
        Column("period", "周期", lambda j: j["period"]),
        Column("due", "截止时间", lambda j: j["due"]),
        Column("received_at", "收到时间", lambda j: j["received_at"]),
        Column("status", "状态", lambda j: j["status"], lambda j: STATUS_ZH[j["status"]]),
        Column("late_by_seconds", "逾期时长（秒）", lambda j: j["late_by_seconds"]),
        Column("indicators_reported", "已填指标（项）", lambda j: j["indicators_reported"]),
        Column("indicators_expected", "应填指标（项）", lambda j: j["indicators_expected"]),
    ]


_WEEK_COLUMNS: list[Column[CountyWeek]] = [
    Column("county", "县（市、区）代码", lambda w: w["county"]),
    Column("county_name", "县（市、区）", lambda w: w.get("county_name")),
    Column("city", "市代码", lambda w: w["city"]),
    Column("city_name", "市", lambda w: w.get("city_name")),
    Column("period", "周期", lambda w: w["period"]),
    Column("events", "招聘活动（场次）", lambda w: w["events"]),
    Column("required", "应办招聘活动（场次）", lambda w: w["required"]),
    Column("met", "达标", lambda w: w["met"]),
    Column("in_progress", "本周进行中", lambda w: w["in_progress"]),
]
