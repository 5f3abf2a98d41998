"""附件1 / 附件2 as the province files them: one city's sheet, or the province sheet (one row
per city in official code order, then 合计) followed by one sheet per city."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.campaigns.definition import CampaignDefinition, Table
from app.computed.totals import IndicatorTotal
from app.reporting.spreadsheets import SheetSpec, build_table_workbook

TOTAL_LABEL = "合计"


@dataclass(frozen=True)
class CityColumn:
    code: str
    name: str


def city_values(totals: Sequence[IndicatorTotal], city: str) -> dict[str, Decimal]:
    """One city's cumulative values at the period (carried forward, as in the totals)."""
    return {
        total.indicator: value.value
        for total in totals
        for value in total.cities
        if value.city == city
    }


def city_workbook(
    definition: CampaignDefinition,
    table: Table,
    city: CityColumn,
    totals: Sequence[IndicatorTotal],
    report_date: str,
) -> bytes:
    return build_table_workbook([_city_sheet(definition, table, city, totals, report_date)])


def province_workbook(
    definition: CampaignDefinition,
    table: Table,
    province_name: str,
    cities: Sequence[CityColumn],
    totals: Sequence[IndicatorTotal],
    report_date: str,
) -> bytes:
    rows: list[tuple[str, Mapping[str, Decimal]]] = [
        (city.name, city_values(totals, city.code)) for city in cities
    ]
    rows.append((TOTAL_LABEL, {t.indicator: t.total for t in totals if t.total is not None}))
    province = SheetSpec(
        title=f"{table.attachment} 全省",
        table=table,
        campaign_name=definition.name_zh,
        unit_name=province_name,
        report_date=report_date,
        rows=rows,
    )
    return build_table_workbook(
        [province, *(_city_sheet(definition, table, city, totals, report_date) for city in cities)]
    )


def _city_sheet(
    definition: CampaignDefinition,
    table: Table,
    city: CityColumn,
    totals: Sequence[IndicatorTotal],
    report_date: str,
) -> SheetSpec:
    return SheetSpec(
        title=city.name,
        table=table,
        campaign_name=definition.name_zh,
        unit_name=city.name,
        report_date=report_date,
        values=city_values(totals, city.code),
    )
