"""The weekly briefing as a 公文 (Word): the JSON answer's sections, text and figures, laid out
for print. Nothing here computes: every number is one of the answer's."""

from app.briefing.schemas import BriefingOut, CitiesOut, HighlightsOut
from app.exports.official_docx import OfficialDocument, chinese_numeral

NONE = "—"


def build_briefing_docx(briefing: BriefingOut) -> bytes:
    document = OfficialDocument(briefing.title)
    document.title(briefing.title)
    document.subtitle(f"（{briefing.period_label}）")
    document.subtitle(briefing.dateline)
    sections = (
        briefing.overall,
        briefing.cities,
        briefing.submissions,
        briefing.county_events,
        briefing.highlights,
    )
    for number, section in enumerate(sections, 1):
        document.heading(f"{chinese_numeral(number)}、{section.title}", 1)
        for paragraph in section.text:
            document.paragraph(paragraph)
        if isinstance(section, CitiesOut):
            _city_table(document, section)
        elif isinstance(section, HighlightsOut):
            _cases(document, section)
    return document.to_bytes()


def _city_table(document: OfficialDocument, cities: CitiesOut) -> None:
    unit = cities.unit_zh
    document.table(
        [
            "排名",
            "设区市",
            f"{cities.name_zh}（{unit}）",
            "占全省（%）",
            f"本周新增（{unit}）",
            "新增排名",
            "按时报送率（%）",
        ],
        [
            [
                NONE if row.rank is None else str(row.rank),
                row.city_name or row.city,
                "未报送" if row.postings is None else str(row.postings),
                NONE if row.share_percent is None else f"{row.share_percent:.2f}",
                "未报送" if row.increase is None else str(row.increase),
                NONE if row.increase_rank is None else str(row.increase_rank),
                NONE if row.on_time_percent is None else f"{row.on_time_percent:.2f}",
            ]
            for row in cities.rows
        ],
    )


def _cases(document: OfficialDocument, highlights: HighlightsOut) -> None:
    for number, case in enumerate(highlights.cases, 1):
        place = case.city_name or case.city
        if case.county_name:
            place += case.county_name
        document.heading(f"（{chinese_numeral(number)}）{place}：{case.title}", 2)
        document.text(case.text)
