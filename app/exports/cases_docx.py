"""附件3 一周特色亮点工作: the week's highlight cases as a Word document, grouped by city."""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.exceptions import UnrecognizedImageError
from docx.shared import Cm, Pt, RGBColor

TITLE = "一周特色亮点工作"
URGENT_TITLE = "重要舆情和突发事件"
URGENT_MARK = "【重要舆情/突发事件】"
PICTURE_WIDTH = Cm(14)
ACTIVITY_LABELS = {
    "visit": "就业访民情",
    "warmth": "节日送温暖",
    "jobs_nearby": "送岗到身边",
    "village_projects": "项目进乡村",
    "cross_region": "省内外对接",
}


@dataclass(frozen=True)
class Picture:
    filename: str
    data: bytes


@dataclass(frozen=True)
class CaseEntry:
    title: str
    county: str | None
    activity: str
    text: str
    urgent: bool
    pictures: Sequence[Picture] = field(default_factory=tuple)
    other_files: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class CityCases:
    city: str
    cases: Sequence[CaseEntry]


def build_cases_docx(
    campaign_name: str,
    period_label: str,
    cities: Sequence[CityCases],
    *,
    title: str = TITLE,
    none_text: str = "（本周未报送）",
) -> bytes:
    document = Document()
    heading = document.add_heading(title, level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = document.add_paragraph(f"{campaign_name}　{period_label}")
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for city in cities:
        document.add_heading(city.city, level=1)
        if not city.cases:
            document.add_paragraph(none_text)
        for case in city.cases:
            _add_case(document, case)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _add_case(document: DocumentObject, case: CaseEntry) -> None:
    title = document.add_heading(level=2)
    if case.urgent:
        mark = title.add_run(URGENT_MARK)
        mark.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    title.add_run(case.title)
    facts = [f"活动：{ACTIVITY_LABELS.get(case.activity, case.activity)}"]
    if case.county:
        facts.insert(0, f"县（市、区）：{case.county}")
    meta = document.add_paragraph("　".join(facts))
    meta.runs[0].font.size = Pt(10)
    for paragraph in case.text.splitlines():
        if paragraph.strip():
            document.add_paragraph(paragraph.strip())
    listed = list(case.other_files)
    for picture in case.pictures:
        try:
            document.add_picture(io.BytesIO(picture.data), width=PICTURE_WIDTH)
        except (UnrecognizedImageError, ValueError):
            listed.append(picture.filename)  # e.g. WebP, which Word documents cannot embed
    if listed:
        document.add_paragraph("附件：" + "、".join(listed))
