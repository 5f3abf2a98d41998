"""Word documents in 公文 format (GB/T 9704-2012), shared by 附件3 (cases.docx) and the 简报.

Page: A4, margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm, lines at a fixed 28 pt
(22 lines of 3号 type on the 225 mm type area), page numbers "— 1 —" in 4号 宋体 at the foot.
Type: title 2号 方正小标宋简体; body 3号 仿宋_GB2312 indented two characters; headings
一、 in 黑体, （一） in 楷体_GB2312, 1. in bold 仿宋_GB2312; tables in 4号. Black only.

Fonts. Each run names its face in `w:rFonts/@w:eastAsia` — what Word, WPS and LibreOffice
use for Chinese text; python-docx's `font.name` sets only the Latin slots, which get the same
face so that digits match. The 公文 faces are not on every machine: Windows has 仿宋, 楷体,
黑体 and 宋体 (FangSong, KaiTi, SimHei, SimSun) but neither the _GB2312 faces nor
方正小标宋简体, which come with WPS or a 方正 licence; Linux desktops have Noto CJK. So each
face has a fallback list, most similar design first, then Noto CJK SC (Linux's usual CJK
faces, package fonts-noto-cjk). The document's font table declares the first
fallback as the face's `w:altName`, which Word and WPS substitute for a missing face, and the
GB2312 character set, which a word processor matches when that one is missing too;
LibreOffice maps missing faces through its replacement table (Tools ▸ Options ▸ Fonts) or
fontconfig, where the rest of the list is what to configure.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.exceptions import UnrecognizedImageError
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Length, Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Mm(37), Mm(35), Mm(28), Mm(26)
LINE_PITCH = Pt(28)
BLACK = RGBColor(0, 0, 0)
# Chinese numerals for 公文 heading numbers (一、 （一）).
NUMERALS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Face:
    name: str  # as Word and WPS name the 公文 face
    fallbacks: tuple[str, ...]  # most similar first


XIAOBIAOSONG = Face("方正小标宋简体", ("华文中宋", "SimSun", "Noto Serif CJK SC"))
FANGSONG = Face("仿宋_GB2312", ("FangSong", "Noto Serif CJK SC"))
KAITI = Face("楷体_GB2312", ("KaiTi", "AR PL UKai CN", "Noto Serif CJK SC"))
HEITI = Face("黑体", ("SimHei", "Noto Sans CJK SC"))
SONGTI = Face("宋体", ("SimSun", "Noto Serif CJK SC"))
FACES = (XIAOBIAOSONG, FANGSONG, KAITI, HEITI, SONGTI)


@dataclass(frozen=True)
class Type:
    """A paragraph style of the document: its name, face, size and weight."""

    style: str
    face: Face
    size: Length
    bold: bool = False


TITLE = Type("公文标题", XIAOBIAOSONG, Pt(22))  # 2号
SUBTITLE = Type("公文副标题", KAITI, Pt(16))
BODY = Type("公文正文", FANGSONG, Pt(16))  # 3号
HEADING_1 = Type("公文一级标题", HEITI, Pt(16))
HEADING_2 = Type("公文二级标题", KAITI, Pt(16))
HEADING_3 = Type("公文三级标题", FANGSONG, Pt(16), bold=True)
TABLE_HEAD = Type("公文表头", HEITI, Pt(14))  # 4号
TABLE_BODY = Type("公文表格", FANGSONG, Pt(14))
PAGE_NUMBER = Type("公文页码", SONGTI, Pt(14))
TYPES = (TITLE, SUBTITLE, BODY, HEADING_1, HEADING_2, HEADING_3, TABLE_HEAD, TABLE_BODY)
HEADINGS = {1: HEADING_1, 2: HEADING_2, 3: HEADING_3}


def chinese_numeral(n: int) -> str:
    """As 公文 heading numbers write them: 一, 十, 十一, 二十三, 一百零五; from 1000 on, digits."""
    if n < 1:
        raise ValueError(f"{n} is not a heading number")
    if n >= 1000:
        return str(n)
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    words = NUMERALS[hundreds] + "百" if hundreds else ""
    if tens:
        words += (NUMERALS[tens] if tens > 1 or hundreds else "") + "十"
    elif hundreds and ones:
        words += "零"
    return words + (NUMERALS[ones] if ones else "")


def month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def span_label(start: date, end: date) -> str:
    """A period as people write it: 1月27日—2月2日 (never the internal code W02)."""
    return month_day(start) if start == end else f"{month_day(start)}—{month_day(end)}"


def instant_label(instant: datetime, zone: tzinfo) -> str:
    local = instant.astimezone(zone)
    return f"{local.year}年{month_day(local)}{local.hour}时{local.minute:02d}分"


def duration_label(seconds: int) -> str:
    """How late, in the largest units that matter: 2天3小时, 5小时20分钟, 12分钟."""
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天" + (f"{hours}小时" if hours else "")
    if hours:
        return f"{hours}小时" + (f"{minutes}分钟" if minutes else "")
    return f"{max(minutes, 1)}分钟"


class OfficialDocument:
    """A 公文 being written: page set up, styles defined; add paragraphs in reading order."""

    def __init__(self, title: str) -> None:
        self.document = Document()
        self.document.core_properties.title = title
        section = self.document.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
        section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
        for kind in TYPES:
            self._define(kind)
        self._page_numbers()
        _declare_fallbacks(self.document)
        _chinese_by_default(self.document)

    def _define(self, kind: Type) -> None:
        style = self.document.styles.add_style(kind.style, WD_STYLE_TYPE.PARAGRAPH)
        assert isinstance(style, ParagraphStyle)
        style.base_style = self.document.styles["Normal"]
        style.quick_style = True
        style.font.size = kind.size
        style.font.bold = kind.bold
        style.font.color.rgb = BLACK
        _name_face(style.element.get_or_add_rPr(), kind.face)
        layout = style.paragraph_format
        layout.space_before = layout.space_after = Pt(0)
        layout.line_spacing = LINE_PITCH
        layout.widow_control = True
        if kind in (BODY, HEADING_1, HEADING_2, HEADING_3):
            layout.first_line_indent = kind.size * 2  # two characters
        if kind in (TITLE, SUBTITLE):
            layout.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if kind is TITLE:
            layout.line_spacing = Pt(36)
            layout.space_after = LINE_PITCH  # a blank line under the title
        if kind in (HEADING_1, HEADING_2):
            layout.keep_with_next = True

    def _page_numbers(self) -> None:
        footer = self.document.sections[0].footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(footer, "— ", PAGE_NUMBER)
        # python-docx has no API for fields: the number is a PAGE field around a run.
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        footer._p.append(field)
        field.append(_run(footer, "1", PAGE_NUMBER)._r)
        _run(footer, " —", PAGE_NUMBER)

    def paragraph(self, text: str = "", kind: Type = BODY) -> Paragraph:
        paragraph = self.document.add_paragraph(style=kind.style)
        if text:
            _run(paragraph, text, kind)
        return paragraph

    def title(self, text: str) -> Paragraph:
        return self.paragraph(text, TITLE)

    def subtitle(self, text: str) -> Paragraph:
        return self.paragraph(text, SUBTITLE)

    def heading(self, text: str, level: int = 1) -> Paragraph:
        return self.paragraph(text, HEADINGS[level])

    def text(self, text: str) -> list[Paragraph]:
        """Running text: one indented paragraph per non-blank line."""
        return [self.paragraph(line.strip()) for line in text.splitlines() if line.strip()]

    def add(
        self, paragraph: Paragraph, text: str, kind: Type = BODY, *, bold: bool = False
    ) -> None:
        """More text in a paragraph, e.g. a bold lead-in before plain text."""
        _run(paragraph, text, kind, bold=bold or kind.bold)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
        table: Table = self.document.add_table(rows=1 + len(rows), cols=len(header))
        table.style = self.document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for row, (cells, kind) in zip(
            table.rows, [(header, TABLE_HEAD), *((r, TABLE_BODY) for r in rows)], strict=True
        ):
            for cell, value in zip(row.cells, cells, strict=True):
                paragraph = cell.paragraphs[0]
                paragraph.style = self.document.styles[kind.style]
                paragraph.paragraph_format.line_spacing = 1.0
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _run(paragraph, value, kind)
        return table

    def picture(self, data: bytes, width: Length) -> bool:
        """A picture centred on its own line; False for a format Word cannot embed (WebP)."""
        try:
            self.document.add_picture(io.BytesIO(data), width=width)
        except (UnrecognizedImageError, ValueError):
            return False
        self.document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        return True

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.document.save(buffer)
        return buffer.getvalue()


def _run(paragraph: Paragraph, text: str, kind: Type, *, bold: bool | None = None) -> Run:
    """A run that names its face and size itself, so that it reads the same pasted elsewhere."""
    run = paragraph.add_run(text)
    run.font.size = kind.size
    run.font.bold = kind.bold if bold is None else bold
    run.font.color.rgb = BLACK
    _name_face(run._r.get_or_add_rPr(), kind.face)
    return run


def _name_face(properties: CT_RPr, face: Face) -> None:
    fonts = properties.get_or_add_rFonts()
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{slot}"), face.name)
    # Theme fonts would win over the names.
    for slot in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{slot}"), None)


def _declare_fallbacks(document: DocumentObject) -> None:
    """Each 公文 face in the font table, with its first fallback as `w:altName` and the
    GB2312 character set (python-docx has no API for the font table)."""
    part = document.part.part_related_by(RT.FONT_TABLE)
    table = parse_xml(part.blob)
    for face in FACES:
        table.append(
            parse_xml(
                f'<w:font {nsdecls("w")} w:name="{face.name}">'
                f'<w:altName w:val="{face.fallbacks[0]}"/><w:charset w:val="86"/>'
                '<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
            )
        )
    part._blob = serialize_part_xml(table)


def _chinese_by_default(document: DocumentObject) -> None:
    """East Asian text is Chinese (python-docx's template says en-US): Word then sets quotes
    and punctuation in the Chinese face, full width."""
    for lang in document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang"):
        lang.set(qn("w:eastAsia"), "zh-CN")
