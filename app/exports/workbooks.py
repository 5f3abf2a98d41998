"""附件1 / 附件2 as the province files them: one city's sheet, or the province sheet (全省合计
first, then one row per city in official code order) followed by one sheet per city.

Every row says where its figures come from, because a carried-forward figure looks current
otherwise: this period's report (本周报送), an earlier one carried forward (沿用2月9日数据,
with a comment on each carried cell naming its period), or none at all (未报). Both the
cumulative figures (as in `/totals`) and the week's increase (as in `/deltas`) are shown
the same way.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition, Table
from app.computed.deltas import Delta
from app.computed.totals import CityValue, IndicatorTotal
from app.reporting.spreadsheets import SheetSpec, ValueRow, build_table_workbook, date_zh

TOTAL_LABEL = "全省合计"
NOT_REPORTED = "未报"


@dataclass(frozen=True)
class CityColumn:
    code: str
    name: str


@dataclass(frozen=True)
class TableFigures:
    """What the computed views say about one table at one period."""

    period: Period
    periods: Sequence[Period]  # the campaign's, to name where carried figures come from
    totals: Sequence[IndicatorTotal]  # cumulative, carried forward: `/totals`
    # (city, period) -> (reported, expected) indicators of that snapshot, as in `/compliance`
    completeness: Mapping[tuple[str, str], tuple[int, int]]
    # The period's deltas (`/deltas`): given, the sheets show the week's increase instead.
    increases: Sequence[Delta] | None = None
    label: str = "周"  # what the campaign calls a period: 本周, 本旬, 本期

    @property
    def weekly_increase(self) -> bool:
        return self.increases is not None

    @property
    def reported(self) -> str:
        """The status of a city that reported this period (本周报送)."""
        return f"本{self.label}报送"


def city_workbook(
    definition: CampaignDefinition, table: Table, city: CityColumn, figures: TableFigures
) -> bytes:
    return build_table_workbook([_city_sheet(definition, table, city, figures)])


def province_workbook(
    definition: CampaignDefinition,
    table: Table,
    province_name: str,
    cities: Sequence[CityColumn],
    figures: TableFigures,
) -> bytes:
    rows = [_city_row(table, city, figures, placeholder=NOT_REPORTED) for city in cities]
    reporting = [c for c, row in zip(cities, rows, strict=True) if row.status == figures.reported]
    carried = [
        c
        for c, row in zip(cities, rows, strict=True)
        if row.status not in (figures.reported, NOT_REPORTED)
    ]
    missing = [c for c, row in zip(cities, rows, strict=True) if row.status == NOT_REPORTED]
    coverage = f"含{len(reporting)}/{len(cities)}市本{figures.label}数据"
    total = ValueRow(TOTAL_LABEL, _total_values(figures, rows), status=coverage)
    province = SheetSpec(
        title=f"{table.attachment} 全省"
        + (f" 本{figures.label}新增" if figures.weekly_increase else ""),
        table=table,
        campaign_name=definition.name_zh,
        unit_name=province_name,
        report_date=date_zh(figures.period.end),
        rows=[total, *rows],
        weekly_increase=figures.weekly_increase,
        explanations=_explanations(figures, coverage, carried, missing),
    )
    return build_table_workbook(
        [province, *(_city_sheet(definition, table, city, figures) for city in cities)]
    )


def _city_sheet(
    definition: CampaignDefinition, table: Table, city: CityColumn, figures: TableFigures
) -> SheetSpec:
    # No 未报 text in the value cells: a city's own file must re-import as it is.
    return SheetSpec(
        title=city.name,
        table=table,
        campaign_name=definition.name_zh,
        unit_name=city.name,
        report_date=date_zh(figures.period.end),
        rows=[_city_row(table, city, figures, placeholder=None)],
        weekly_increase=figures.weekly_increase,
    )


def _city_row(
    table: Table, city: CityColumn, figures: TableFigures, *, placeholder: str | None
) -> ValueRow:
    found = {
        total.indicator: value
        for total in figures.totals
        for value in total.cities
        if value.city == city.code
    }
    order = {p.id: p.index for p in figures.periods}
    source = max((v.period for v in found.values()), key=order.__getitem__, default=None)
    expected = len(table.indicators)
    if source is not None:
        reported, expected = figures.completeness.get((city.code, source), (0, expected))
    else:
        reported = 0
    if source is None:
        status = NOT_REPORTED
    elif source == figures.period.id:
        status = figures.reported
    else:
        status = f"沿用{_month_day(_end(figures, source))}数据"
    if figures.increases is None:
        values = {key: value.value for key, value in found.items()}
        comments = {
            key: f"沿用{_named(figures, value.period)}报送数据"
            for key, value in found.items()
            if value.stale
        }
    else:
        values, comments = _increases(city.code, found, figures, figures.increases)
    return ValueRow(
        label=city.name,
        values=values,
        status=status,
        completeness=f"{reported}/{expected}",
        comments=comments,
        placeholder=placeholder,
    )


def _increases(
    city: str, found: Mapping[str, CityValue], figures: TableFigures, deltas: Sequence[Delta]
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """The week's increase of each figure: its delta when reported this period, else 0 (the
    carried value minus itself), so that the cities add up to the change of `/totals`."""
    mine = {d.indicator: d for d in deltas if d.city == city}
    values: dict[str, Decimal] = {}
    comments: dict[str, str] = {}
    for key, value in found.items():
        delta = mine.get(key)
        values[key] = delta.delta if delta is not None else Decimal(0)
        if delta is None:
            since = _named(figures, value.period)
            comments[key] = f"本期未报此项，沿用{since}累计数，本{figures.label}新增计为0"
        elif note := _delta_note(figures, delta):
            comments[key] = note
    return values, comments


def _delta_note(figures: TableFigures, delta: Delta) -> str | None:
    notes = []
    if delta.gap and delta.previous_period is None:
        notes.append(f"首次报送：本{figures.label}新增即自活动开始的累计数")
    elif delta.gap and delta.previous_period is not None:
        order = {p.id: p.index for p in figures.periods}
        periods = order[delta.period] - order[delta.previous_period]
        since = _named(figures, delta.previous_period)
        notes.append(f"上次报送为{since}：为{periods}{figures.label}的增量")
    if delta.negative:
        notes.append("累计数低于上次报送（更正），增量为负")
    return "；".join(notes) or None


def _total_values(figures: TableFigures, rows: Sequence[ValueRow]) -> dict[str, Decimal]:
    if figures.increases is None:
        return {t.indicator: t.total for t in figures.totals if t.total is not None}
    keys = {key for row in rows for key in row.values}
    return {key: sum((row.values.get(key, Decimal(0)) for row in rows), Decimal(0)) for key in keys}


def _explanations(
    figures: TableFigures,
    coverage: str,
    carried: Sequence[CityColumn],
    missing: Sequence[CityColumn],
) -> list[str]:
    day = _month_day(figures.period.end)
    if figures.weekly_increase:
        lines = [
            f"本表为本{figures.label}新增数：各市截至{day}的累计数减去其上次报送的累计数（首次报送的市为其"
            f"累计数）；{TOTAL_LABEL}为各市之和，{coverage}。"
        ]
    else:
        lines = [f"{TOTAL_LABEL}为各市截至{day}的最新累计数之和，{coverage}。"]
    if carried:
        zero = f"，本{figures.label}新增计为0" if figures.weekly_increase else ""
        lines.append(
            f"{_names(carried)}未报本{figures.label}数据，沿用最近一次报送的累计数{zero}"
            "（见“数据情况”列和单元格批注）。"
        )
    if missing:
        lines.append(f"{_names(missing)}未报。")
    return lines


def _names(cities: Sequence[CityColumn]) -> str:
    return "、".join(c.name for c in cities)


def _end(figures: TableFigures, period: str) -> date:
    return next(p.end for p in figures.periods if p.id == period)


def _named(figures: TableFigures, period: str) -> str:
    """W03（2月9日）: a period and the day it ends."""
    return f"{period}（{_month_day(_end(figures, period))}）"


def _month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"
