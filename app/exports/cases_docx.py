"""附件3 一周特色亮点工作: the week's highlight cases as a 公文, grouped by city.

Laid out like the notice's 附件3: the title, the campaign and the week's dates under it, then
each city (一、南京市) with its cases (（一）title), each case's county and activity, its text
in indented paragraphs, its pictures and the names of its other files. A city that filed
fewer than the required cases is marked at its name: 南京市（本周报送2个，少于3个）.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from docx.shared import Cm

from app.exports.official_docx import OfficialDocument, chinese_numeral

TITLE = "一周特色亮点工作"  # when the campaign names no weekly cases deliverable
URGENT_TITLE = "重要舆情和突发事件"
PICTURE_WIDTH = Cm(14)  # within the 15.6 cm type area


@dataclass(frozen=True)
class Picture:
    filename: str
    data: bytes


@dataclass(frozen=True)
class CaseEntry:
    title: str
    county: str | None
    activity: str  # its label in the campaign's vocabulary
    text: str
    pictures: Sequence[Picture] = field(default_factory=tuple)
    other_files: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class CityCases:
    city: str
    cases: Sequence[CaseEntry]


def shortfall_note(count: int, required: int | None, cycle: str = "周") -> str:
    """The mark at a city's name when its period has fewer cases than required; `cycle` is
    what the campaign calls a period (周, 旬, 期)."""
    if required is None or count >= required:
        return ""
    return f"（本{cycle}报送{count}个，少于{required}个）"


def build_cases_docx(
    title: str,
    campaign_name: str,
    period_label: str,
    cities: Sequence[CityCases],
    *,
    required: int | None,
    none_text: str = "无。",
    cycle: str = "周",
) -> bytes:
    """`required`: the cases a city owes per week (None: no requirement, e.g. urgent reports)."""
    document = OfficialDocument(title)
    document.title(title)
    document.subtitle(f"（{campaign_name}　{period_label}）")
    for number, city in enumerate(cities, 1):
        note = shortfall_note(len(city.cases), required, cycle)
        document.heading(f"{chinese_numeral(number)}、{city.city}{note}", 1)
        if not city.cases and not note:
            document.paragraph(none_text)
        for case_number, case in enumerate(city.cases, 1):
            _add_case(document, case_number, case)
    return document.to_bytes()


def _add_case(document: OfficialDocument, number: int, case: CaseEntry) -> None:
    document.heading(f"（{chinese_numeral(number)}）{case.title}", 2)
    facts = [f"活动：{case.activity}"]
    if case.county:
        facts.insert(0, f"县（市、区）：{case.county}")
    document.paragraph("　".join(facts))
    document.text(case.text)
    listed = list(case.other_files)
    for picture in case.pictures:
        if not document.picture(picture.data, PICTURE_WIDTH):
            listed.append(picture.filename)  # e.g. WebP, which Word documents cannot embed
    if listed:
        document.paragraph("附件：" + "、".join(listed))
