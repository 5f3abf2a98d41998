"""公文-format Word documents (GB/T 9704): the shared page and type, and 附件3 cases.docx."""

import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import docx
import pytest
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.run import Run
from fastapi.testclient import TestClient

from app.exports.official_docx import chinese_numeral, duration_label, span_label

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
NANJING, WUXI, SUZHOU = "320100", "320200", "320500"
OFFICIAL_FACES = {"方正小标宋简体", "仿宋_GB2312", "楷体_GB2312", "黑体", "宋体"}
# Internal period codes (W05) never reach a document for people.
PERIOD_CODE = re.compile(r"W\d{2}")


def read_docx(content: bytes) -> Document:
    return docx.Document(io.BytesIO(content))


def east_asian_face(run: Run) -> str | None:
    properties = run._r.rPr
    fonts = None if properties is None else properties.rFonts
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def every_run(document: Document) -> list[Run]:
    runs = [run for paragraph in document.paragraphs for run in paragraph.runs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                runs += [run for paragraph in cell.paragraphs for run in paragraph.runs]
    return runs


def every_text(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs] + [
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    ]


def assert_official_format(document: Document, title: str) -> None:
    """A4 with 公文 margins, 公文 faces named on every run, black text, no period codes."""
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(m.mm) for m in margins if m is not None] == [37, 35, 28, 26]

    heading = document.paragraphs[0]
    assert heading.text == title
    assert {east_asian_face(r) for r in heading.runs} == {"方正小标宋简体"}
    assert {r.font.size for r in heading.runs} == {Pt(22)}
    body = next(
        p for p in document.paragraphs if p.style is not None and p.style.name == "公文正文"
    )
    assert {east_asian_face(r) for r in body.runs} == {"仿宋_GB2312"}
    assert {r.font.size for r in body.runs} == {Pt(16)}
    first_level = next(p for p in document.paragraphs if re.match("[一二三四五]、", p.text))
    assert {east_asian_face(r) for r in first_level.runs} == {"黑体"}

    runs = every_run(document)
    assert runs and {east_asian_face(r) for r in runs} <= OFFICIAL_FACES
    assert {str(r.font.color.rgb) for r in runs} == {"000000"}
    assert not [t for t in every_text(document) if PERIOD_CODE.search(t)]
    # the fallbacks of faces a machine may not have, in the font table
    fonts = document.part.part_related_by(RT.FONT_TABLE).blob.decode()
    assert 'w:name="仿宋_GB2312"><w:altName w:val="FangSong"/>' in fonts


def test_heading_numbers_dates_and_durations() -> None:
    assert [chinese_numeral(n) for n in (1, 10, 13, 20, 99, 105, 110)] == [
        "一",
        "十",
        "十三",
        "二十",
        "九十九",
        "一百零五",
        "一百一十",
    ]
    assert span_label(date(2024, 1, 27), date(2024, 2, 2)) == "1月27日—2月2日"
    assert duration_label(59_400) == "16小时30分钟"
    assert duration_label(2 * 86400 + 3600) == "2天1小时"
    assert duration_label(30) == "1分钟"


def add_case(client: TestClient, headers: dict[str, str], city: str, **body: Any) -> None:
    case = {"period": "W05", "text": "第一段。\n第二段。", "activity": "jobs_nearby"} | body
    response = client.post(f"{CAMPAIGN}/cities/{city}/cases", json=case, headers=headers)
    assert response.status_code == 201, response.text


@pytest.fixture
def admin(auth: Auth) -> dict[str, str]:
    return auth("admin")


def test_cases_docx_is_a_gongwen_and_marks_cities_short_of_cases(
    client: TestClient, admin: dict[str, str], auth: Auth
) -> None:
    for title in ("直播带岗进社区", "返乡人员专场招聘"):
        add_case(client, admin, NANJING, title=title, county="320115")
    add_case(client, admin, NANJING, title="企业欠薪舆情", activity="visit", urgent=True)
    for n in range(3):
        add_case(client, admin, SUZHOU, title=f"苏州案例{n + 1}", activity="cross_region")

    response = client.get(
        CAMPAIGN + "/exports/cases.docx", params={"period": "W05"}, headers=auth("viewer")
    )
    assert response.status_code == 200, response.text
    document = read_docx(response.content)
    assert_official_format(document, "一周特色亮点工作")
    texts = [p.text for p in document.paragraphs]
    assert texts[1] == "（2024年春风行动　2月17日—2月23日）"
    # an urgent report never counts toward the weekly cases
    assert "一、南京市（本周报送2个，少于3个）" in texts
    assert "二、无锡市（本周报送0个，少于3个）" in texts
    assert "五、苏州市" in texts
    assert texts.index("（一）直播带岗进社区") < texts.index("（二）返乡人员专场招聘")
    assert "县（市、区）：江宁区　活动：送岗到身边" in texts
    assert not any("企业欠薪舆情" in text for text in texts)
    second_level = document.paragraphs[texts.index("（一）直播带岗进社区")]
    assert {east_asian_face(r) for r in second_level.runs} == {"楷体_GB2312"}
    body = document.paragraphs[texts.index("第一段。")]
    assert body.style is not None
    assert body.style.paragraph_format.first_line_indent == Pt(32)  # two characters

    urgent = read_docx(
        client.get(
            CAMPAIGN + "/exports/urgent.docx", params={"period": "W05"}, headers=admin
        ).content
    )
    assert_official_format(urgent, "重要舆情和突发事件")
    urgent_texts = [p.text for p in urgent.paragraphs]
    assert "一、南京市" in urgent_texts and "（一）企业欠薪舆情" in urgent_texts
    assert not any("少于" in text for text in urgent_texts)
