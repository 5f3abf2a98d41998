"""The official statistics table as an .xlsx sheet (附件1/附件2 of the notice) and as CSV.

Writing follows the notice's printed layout: the 附件 caption, title, 填报单位/填报日期, a two-row
header where 其中 columns sit under a merged "其中：" cell (and grouped columns under their
group's header), a 序号 row numbering the columns, the value rows and the 备注, on A4 landscape.
Exports add two columns after the indicators (数据情况, 填报指标) that have no 序号, so
reading ignores them.
Reading does not rely on row positions: it finds the rows whose column A says 序号, maps each
column to an indicator by that number, and reads the next non-empty row below, so the
notice's two-block layout (序号 1–9, then 10–18) and hand-made copies both parse. Values are
returned raw; judging them is `app.reporting.validation`'s job.
"""

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby, islice

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from app.campaigns.definition import Indicator, Table
from app.core.archives import unpacking_problem

SEQ_LABEL = "序号"
HEADER_LABEL = "项目"
NOTE_LABEL = "备注"
VALUE_LABEL = "数值"
UNIT_LABEL = "填报单位"
DATE_LABEL = "填报日期"
PART_PREFIX = "其中："
EXPLANATION_LABEL = "说明"
STATUS_LABEL = "数据情况"
COMPLETENESS_LABEL = "填报指标\n（已填/应填）"
# Appended to the title of the weekly-increase variant; the importer refuses such a sheet.
INCREASE_SUFFIX = "（本周新增）"
COMMENT_AUTHOR = "数据报送服务"
DISPLAY_DECIMALS = 2
CSV_HEADER = ["key", "value"]
# A real table is a few kilobytes unpacked, a province workbook well under 1 MB. These stop a
# bomb before openpyxl inflates anything: openpyxl reads every shared string when it opens a
# workbook, so 3 million tiny strings in 59 MB of XML cost minutes and gigabytes.
MAX_UNPACKED_BYTES = 16 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 1024 * 1024
MAX_SHEETS = 64

_CAPTION_ROW, _TITLE_ROW, _INFO_ROW, _HEADER_ROW, _SUBHEADER_ROW, _SEQ_ROW, _VALUE_ROW = range(1, 8)
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_MAX_SHOWN = 40
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    InvalidFileException,
    KeyError,
    OSError,
    EOFError,
    RuntimeError,  # zipfile: encrypted members, unsupported compression
    ValueError,
    TypeError,
    SyntaxError,  # xml.etree's ParseError
)
_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTERED = Alignment(horizontal="center", vertical="center", wrap_text=True)

Grid = list[tuple[object, ...]]


class SpreadsheetError(Exception):
    """An upload that cannot be read; `cell` ("D6", or "row 3" in a CSV) says where, and
    `others` holds further (message, cell) problems found in the same pass."""

    def __init__(
        self,
        message: str,
        cell: str | None = None,
        others: Sequence[tuple[str, str | None]] = (),
    ) -> None:
        shown = f"{cell}: {message}" if cell else message
        super().__init__(shown + (f" (and {len(others)} more)" if others else ""))
        self.message = message
        self.cell = cell
        self.others = list(others)

    @property
    def problems(self) -> list[tuple[str, str | None]]:
        return [(self.message, self.cell), *self.others]


@dataclass(frozen=True)
class ParsedSheet:
    raw: dict[str, object]
    unit_name: str | None
    report_date: str | None
    unit_cell: str | None = None  # where 填报单位 was read
    # Column A of each value row with its cell ("南京市", "A6"): whose figures these are.
    row_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ValueRow:
    """One labelled row of figures: a city's own table has one, the province sheet one per
    city after 全省合计."""

    label: str
    values: Mapping[str, Decimal]
    status: str | None = None  # 数据情况: reported this period, carried forward, 未报
    completeness: str | None = None  # 填报指标: reported/expected indicators, "4/18"
    comments: Mapping[str, str] = field(default_factory=dict)  # indicator key -> cell comment
    # Written across the value cells of a row without any value (the province's 未报 rows).
    placeholder: str | None = None


@dataclass(frozen=True)
class SheetSpec:
    title: str
    table: Table
    campaign_name: str
    unit_name: str | None = None
    report_date: str | None = None  # as printed: 2024年2月23日 (see `date_zh`)
    values: Mapping[str, Decimal] | None = None
    # Several value rows (the province sheet); when empty, the sheet has the single row of
    # `values`, labelled with the unit name.
    rows: Sequence[ValueRow] = ()
    weekly_increase: bool = False  # the figures are the period's increase, not cumulative
    explanations: Sequence[str] = ()  # 说明 lines under the 备注

    def value_rows(self) -> Sequence[ValueRow]:
        return self.rows or [ValueRow(self.unit_name or VALUE_LABEL, self.values or {})]

    @property
    def heading(self) -> str:
        return self.table.title_zh + (INCREASE_SUFFIX if self.weekly_increase else "")

    @property
    def status_headers(self) -> Sequence[str]:
        """The columns right of the indicators, on sheets that say where figures come from."""
        rows = self.value_rows()
        if any(r.status is not None or r.completeness is not None for r in rows):
            return [STATUS_LABEL, COMPLETENESS_LABEL]
        return []


def date_zh(day: date) -> str:
    """A date as official documents print it: 2024年2月23日."""
    return f"{day.year}年{day.month}月{day.day}日"


# --- writing ---------------------------------------------------------------------------


def build_table_workbook(sheets: Sequence[SheetSpec]) -> bytes:
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the blank sheet every new Workbook starts with
    for spec in sheets:
        _write_sheet(workbook.create_sheet(spec.title), spec)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def build_template(table: Table, campaign_name: str) -> bytes:
    return build_table_workbook(
        [SheetSpec(title=table.attachment, table=table, campaign_name=campaign_name)]
    )


def _write_sheet(sheet: Worksheet, spec: SheetSpec) -> None:
    table = spec.table
    rows = spec.value_rows()
    used = {key for row in rows for key in (*row.values, *row.comments)}
    unknown = sorted(used - {i.key for i in table.indicators})
    if unknown:
        raise ValueError(f"table {table.id} has no indicators {unknown}")
    last_indicator = len(table.indicators) + 1
    last = last_indicator + len(spec.status_headers)
    _write_heading(sheet, spec, last)
    _write_header(sheet, spec, last_indicator)
    _write_numbers(sheet, spec, last_indicator)
    last_row = _VALUE_ROW + len(rows) - 1
    _write_notes(sheet, spec, last, last_row + 1)
    _set_layout(sheet, last, last_indicator, last_row)


def _write_heading(sheet: Worksheet, spec: SheetSpec, last: int) -> None:
    caption = sheet.cell(_CAPTION_ROW, 1, spec.table.attachment)
    caption.font = Font(bold=True, size=12)
    title = sheet.cell(_TITLE_ROW, 1, spec.heading)
    title.font = Font(bold=True, size=16)
    title.alignment = Alignment(horizontal="center", vertical="center")
    _merge(sheet, _TITLE_ROW, 1, _TITLE_ROW, last)
    middle = max(1, last // 2)
    sheet.cell(_INFO_ROW, 1, f"{UNIT_LABEL}：{spec.unit_name or ''}")
    _merge(sheet, _INFO_ROW, 1, _INFO_ROW, middle)
    report_date = sheet.cell(_INFO_ROW, middle + 1, f"{DATE_LABEL}：{spec.report_date or ''}")
    report_date.alignment = Alignment(horizontal="right")
    _merge(sheet, _INFO_ROW, middle + 1, _INFO_ROW, last)


def _write_header(sheet: Worksheet, spec: SheetSpec, last_indicator: int) -> None:
    table = spec.table
    _whole_header(sheet, 1, HEADER_LABEL)
    families = groupby(table.indicators, key=lambda i: (_upper_header(table, i), i.parent))
    for (upper, _), group in families:
        members = list(group)
        if upper is None:
            for indicator in members:
                _whole_header(sheet, _column(indicator), _header_text(indicator))
            continue
        first, last = _column(members[0]), _column(members[-1])
        _header_cell(sheet, _HEADER_ROW, first, upper)
        _merge(sheet, _HEADER_ROW, first, _HEADER_ROW, last)
        for indicator in members:
            _header_cell(sheet, _SUBHEADER_ROW, _column(indicator), _header_text(indicator))
    for column, text in enumerate(spec.status_headers, start=last_indicator + 1):
        _whole_header(sheet, column, text)


def _upper_header(table: Table, indicator: Indicator) -> str | None:
    """What the header's upper row says over a column it shares with its neighbours."""
    group = table.column_group(indicator)
    if group is not None:
        return group.label_zh
    return PART_PREFIX if indicator.parent is not None else None


def _whole_header(sheet: Worksheet, column: int, text: str) -> None:
    """A header over both header rows."""
    _header_cell(sheet, _HEADER_ROW, column, text)
    _merge(sheet, _HEADER_ROW, column, _SUBHEADER_ROW, column)


def _write_numbers(sheet: Worksheet, spec: SheetSpec, last_indicator: int) -> None:
    _header_cell(sheet, _SEQ_ROW, 1, SEQ_LABEL)
    for indicator in spec.table.indicators:
        _header_cell(sheet, _SEQ_ROW, _column(indicator), indicator.seq)
    for row_number, row in enumerate(spec.value_rows(), start=_VALUE_ROW):
        _header_cell(sheet, row_number, 1, row.label)
        for indicator in spec.table.indicators:
            cell = sheet.cell(row_number, _column(indicator))
            cell.number_format = _number_format(indicator)
            value = row.values.get(indicator.key)
            if value is not None:
                # openpyxl has no Decimal cells; an integral value stays an exact int.
                cell.value = int(value) if value == value.to_integral_value() else float(value)
            if comment := row.comments.get(indicator.key):
                cell.comment = Comment(comment, COMMENT_AUTHOR, width=240, height=80)
        if row.placeholder and not row.values:
            _header_cell(sheet, row_number, 2, row.placeholder)
            _merge(sheet, row_number, 2, row_number, last_indicator)
        if spec.status_headers:
            _header_cell(sheet, row_number, last_indicator + 1, row.status)
            _header_cell(sheet, row_number, last_indicator + 2, row.completeness)


def _number_format(indicator: Indicator) -> str:
    # Official tables print amounts (万元) with 2 decimals; the cell keeps every stored digit,
    # so the figure re-imports exactly.
    shown = min(indicator.decimals, DISPLAY_DECIMALS)
    return "0." + "0" * shown if shown else "0"


def _write_notes(sheet: Worksheet, spec: SheetSpec, last: int, first_row: int) -> None:
    texts = [f"{NOTE_LABEL}：{spec.table.note_zh or _generated_note(spec)}"]
    if spec.explanations:
        texts.append(f"{EXPLANATION_LABEL}：" + "\n".join(spec.explanations))
    for row, text in enumerate(texts, start=first_row):
        cell = sheet.cell(row, 1, text)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        _merge(sheet, row, 1, row, last)
        sheet.row_dimensions[row].height = 18 * (text.count("\n") + 1)


def _generated_note(spec: SheetSpec) -> str:
    """For a table whose definition has no 备注 of its own."""
    lines = [f"1、统计数据为累计数，自{spec.campaign_name}开始之日起累计至填报日期。"]
    lines += [
        f"{number}、{indicator.name_zh}（序号{indicator.seq}）：{indicator.note_zh}"
        for number, indicator in enumerate((i for i in spec.table.indicators if i.note_zh), start=2)
    ]
    return "\n".join(lines)


def _set_layout(sheet: Worksheet, last: int, last_indicator: int, last_row: int) -> None:
    for row in sheet.iter_rows(min_row=_HEADER_ROW, max_row=last_row, max_col=last):
        for cell in row:
            cell.border = _BORDER  # merged cells too, or their outline is broken
    sheet.column_dimensions["A"].width = 14
    for column in range(2, last + 1):
        width = 12 if column <= last_indicator else 16
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.row_dimensions[_TITLE_ROW].height = 32
    sheet.row_dimensions[_HEADER_ROW].height = 30
    sheet.row_dimensions[_SUBHEADER_ROW].height = 75
    setup = sheet.page_setup
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.orientation = "landscape"
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = f"{_HEADER_ROW}:{_SEQ_ROW}"


def _header_cell(sheet: Worksheet, row: int, column: int, value: str | int | None) -> None:
    cell = sheet.cell(row, column, value)
    cell.alignment = _CENTERED


def _header_text(indicator: Indicator) -> str:
    # Every bracketed part (the unit, 专列（包车厢）'s) starts a line of its own, so wrapping a
    # narrow column never strands a bracket at the end or start of a line.
    name = indicator.name_zh.removeprefix(PART_PREFIX).replace("（", "\n（")
    return f"{name}\n（{indicator.unit_zh}）"


def _merge(sheet: Worksheet, top: int, left: int, bottom: int, right: int) -> None:
    if (top, left) != (bottom, right):
        sheet.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)


def _column(indicator: Indicator) -> int:
    return indicator.seq + 1  # column A holds the row labels


# --- reading .xlsx ---------------------------------------------------------------------


def parse_xlsx(
    data: bytes, table: Table, *, max_rows: int = 200, max_columns: int = 100
) -> ParsedSheet:
    """Reads the first sheet titled like `table` (else the first sheet).

    Only the first `max_rows` x `max_columns` cells are read; a value just outside them is
    rejected as too large, anything further out is never looked at.
    """
    _check_archive(data)
    grids = _read_grids(data, data_only=True, max_rows=max_rows, max_columns=max_columns)
    index = _sheet_index(grids, table)
    grid = _within_limits(grids[index], max_rows, max_columns)
    _refuse_increase(grid, table)
    _refuse_several_rows(grid)
    cells = list(_value_cells(grid, table))
    blanks = [(row, column) for _, row, column in cells if _is_blank(_at(grid, row, column))]
    if blanks:
        formulas = _read_grids(data, data_only=False, max_rows=max_rows, max_columns=max_columns)
        _reject_uncached_formulas(formulas[index], blanks)
    raw: dict[str, object] = {}
    problems: list[tuple[str, str | None]] = []
    for key, row, column in cells:
        value = _at(grid, row, column)
        if _is_blank(value):
            continue
        try:
            raw[key] = _cell_number(value, _reference(row, column))
        except SpreadsheetError as exc:  # every bad cell is reported, not only the first
            problems.append((exc.message, exc.cell))
    if problems:
        raise SpreadsheetError(problems[0][0], problems[0][1], problems[1:])
    unit = _labelled_cell(grid, UNIT_LABEL)
    value_rows = sorted({row for _, row, _ in cells})
    return ParsedSheet(
        raw=raw,
        unit_name=unit[0] if unit else None,
        report_date=_labelled(grid, DATE_LABEL),
        unit_cell=unit[1] if unit else None,
        row_labels=tuple(
            (_label(grid[row]), _reference(row, 0)) for row in value_rows if _label(grid[row])
        ),
    )


def _refuse_increase(grid: Grid, table: Table) -> None:
    """The 本周新增 variant holds a week's increases: stored, they would read as cumulative."""
    heading = _compact(table.title_zh + INCREASE_SUFFIX)
    for row_index, row in enumerate(grid):
        for column, value in enumerate(row):
            if _compact(value) == heading:
                raise SpreadsheetError(
                    f"this is the weekly increase table ({INCREASE_SUFFIX}), not cumulative "
                    "figures: upload the cumulative table",
                    _reference(row_index, column),
                )


def _refuse_several_rows(grid: Grid) -> None:
    """One city's table has one value row under its 序号 row; the province sheet has a row
    per city and 合计, and must never be taken for one city's figures."""
    for seq_row in (i for i, row in enumerate(grid) if _label(row) == SEQ_LABEL):
        first = _value_row(grid, seq_row)
        second = _value_row(grid, first) if first is not None else None
        if first is not None and second is not None:
            labels = [_label(grid[first]), _label(grid[second])]
            raise SpreadsheetError(
                f"the sheet has several value rows ({'、'.join(labels)}, …): this looks like "
                "the province workbook; upload one city's own table",
                _reference(second, 0),
            )


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {m.filename: (m.compress_size, m.file_size) for m in archive.infolist()}
    except _UNREADABLE as exc:
        raise SpreadsheetError("not an .xlsx workbook") from exc
    problem = unpacking_problem(members, max_total=MAX_UNPACKED_BYTES)
    shared = sum(size for name, (_, size) in members.items() if name.endswith("sharedStrings.xml"))
    sheets = sum(name.startswith("xl/worksheets/sheet") for name in members)
    if problem is None and shared > MAX_SHARED_STRINGS_BYTES:
        problem = (
            f"its shared strings unpack to {shared} bytes (at most {MAX_SHARED_STRINGS_BYTES})"
        )
    if problem is None and sheets > MAX_SHEETS:
        problem = f"it has {sheets} worksheets (at most {MAX_SHEETS})"
    if problem is not None:
        raise SpreadsheetError(f"the workbook is refused: {problem}")


def _read_grids(data: bytes, *, data_only: bool, max_rows: int, max_columns: int) -> list[Grid]:
    """The cell values of every worksheet, one row and one column beyond the limits."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except _UNREADABLE as exc:
        raise SpreadsheetError("not an .xlsx workbook") from exc
    try:
        return [
            list(
                sheet.iter_rows(
                    min_row=1,
                    max_row=max_rows + 1,
                    min_col=1,
                    max_col=max_columns + 1,
                    values_only=True,
                )
            )
            for sheet in workbook.worksheets
        ]
    except _UNREADABLE as exc:
        raise SpreadsheetError("not an .xlsx workbook") from exc
    finally:
        workbook.close()


def _sheet_index(grids: Sequence[Grid], table: Table) -> int:
    if not grids:
        raise SpreadsheetError("the workbook has no worksheet")
    title = _compact(table.title_zh)
    titled = (
        index
        for index, grid in enumerate(grids)
        if any(_compact(value) == title for row in grid for value in row)
    )
    return next(titled, 0)


def _within_limits(grid: Grid, max_rows: int, max_columns: int) -> Grid:
    for row_index, row in enumerate(grid):
        for column_index, value in enumerate(row):
            if not _is_blank(value) and (row_index >= max_rows or column_index >= max_columns):
                raise SpreadsheetError(
                    f"the sheet is larger than {max_rows} rows x {max_columns} columns",
                    _reference(row_index, column_index),
                )
    return [row[:max_columns] for row in grid[:max_rows]]


def _value_cells(grid: Grid, table: Table) -> Iterator[tuple[str, int, int]]:
    """(indicator key, row, column) of every value cell the 序号 rows point at."""
    seq_rows = [index for index, row in enumerate(grid) if _label(row) == SEQ_LABEL]
    if not seq_rows:
        raise SpreadsheetError(f"no {SEQ_LABEL} row: column A must say {SEQ_LABEL}")
    seen: dict[int, str] = {}
    for seq_row in seq_rows:
        value_row = _value_row(grid, seq_row)
        for column, seq in _seq_columns(grid, seq_row, table, seen):
            if value_row is not None:
                yield table.indicators[seq - 1].key, value_row, column


def _seq_columns(
    grid: Grid, seq_row: int, table: Table, seen: dict[int, str]
) -> Iterator[tuple[int, int]]:
    count = len(table.indicators)
    for column, value in enumerate(grid[seq_row]):
        if column == 0 or _is_blank(value):
            continue
        reference = _reference(seq_row, column)
        seq = _seq_number(value)
        if seq is None or not 1 <= seq <= count:
            raise SpreadsheetError(
                f"{SEQ_LABEL} {_shown(value)} is not a column of table {table.id} (1–{count})",
                reference,
            )
        if seq in seen:
            raise SpreadsheetError(f"{SEQ_LABEL} {seq} appears twice (also {seen[seq]})", reference)
        seen[seq] = reference
        yield column, seq


def _value_row(grid: Grid, seq_row: int) -> int | None:
    """The next non-empty row below a 序号 row, unless that starts another block or the notes."""
    for index in range(seq_row + 1, len(grid)):
        if all(_is_blank(value) for value in grid[index]):
            continue
        label = _label(grid[index])
        if label in (SEQ_LABEL, HEADER_LABEL) or label.startswith(NOTE_LABEL):
            return None
        return index
    return None


def _seq_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _cell_number(value: object, reference: str) -> int | Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        # Excel keeps 15 significant digits; the rest is binary noise (0.1+0.2 is stored as
        # 0.30000000000000004 but shown and meant as 0.3).
        return Decimal(format(value, ".15g"))
    if isinstance(value, str) and (number := number_from_text(value)) is not None:
        return number
    raise SpreadsheetError(f"{_shown(value)} is not a number", reference)


def _reject_uncached_formulas(formulas: Grid, blanks: Sequence[tuple[int, int]]) -> None:
    for row, column in blanks:
        if not _is_blank(_at(formulas, row, column)):
            raise SpreadsheetError(
                "a formula without a saved result: open and save the workbook in Excel "
                "or WPS, or type the number",
                _reference(row, column),
            )


def _labelled(grid: Grid, label: str) -> str | None:
    """The text after `label` ("填报单位：南京市"), or in the next cell when that one is empty."""
    found = _labelled_cell(grid, label)
    return found[0] if found else None


def _labelled_cell(grid: Grid, label: str) -> tuple[str, str] | None:
    """That text, and the cell of the label."""
    for row_index, row in enumerate(grid):
        for column, value in enumerate(row):
            if not (isinstance(value, str) and value.strip().startswith(label)):
                continue
            found = value.strip().removeprefix(label).strip().lstrip("：:").strip()
            if not found:
                found = _next_text(row[column + 1 :])
            if found:
                return found, _reference(row_index, column)
    return None


def _next_text(values: Sequence[object]) -> str:
    value = next((v for v in values if not _is_blank(v)), None)
    if value is None or (isinstance(value, str) and value.strip().startswith("填报")):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _at(grid: Grid, row: int, column: int) -> object:
    """A cell's value; rows of a read-only sheet can be shorter than the widest one."""
    return grid[row][column] if row < len(grid) and column < len(grid[row]) else None


def _label(row: tuple[object, ...]) -> str:
    return _compact(row[0]) if row else ""


def _compact(value: object) -> str:
    """Text without any whitespace, so "序  号" and " 序号\n" both read 序号."""
    return "".join(value.split()) if isinstance(value, str) else ""


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _reference(row_index: int, column_index: int) -> str:
    return f"{get_column_letter(column_index + 1)}{row_index + 1}"


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def number_from_text(text: str) -> Decimal | None:
    """A plain decimal number typed as text ("12", " 3.5 "); no exponents, no NaN."""
    stripped = text.strip()
    return Decimal(stripped) if _NUMBER_TEXT.fullmatch(stripped) else None


# --- reading CSV -----------------------------------------------------------------------


def parse_csv(data: bytes, table: Table, *, max_rows: int = 200) -> ParsedSheet:
    """`key,value` rows; keys are passed through unchecked so validation can name them.

    `table` is not needed to read the file; it keeps the signature of `parse_xlsx`.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError("not UTF-8 text") from exc
    try:
        records = list(islice(csv.reader(io.StringIO(text, newline="")), max_rows + 2))
    except csv.Error as exc:
        raise SpreadsheetError(f"not a valid CSV file: {exc}") from exc
    if len(records) > max_rows + 1:
        raise SpreadsheetError(f"more than {max_rows} rows", f"row {max_rows + 2}")
    if not records or _trimmed(records[0]) != CSV_HEADER:
        raise SpreadsheetError("the header must be exactly key,value", "row 1")
    raw: dict[str, object] = {}
    seen: set[str] = set()
    for number, record in enumerate(records[1:], start=2):
        cells = _trimmed(record)
        if not cells:
            continue
        key, value = _csv_pair(cells, f"row {number}", seen)
        if value:
            parsed = number_from_text(value)
            if parsed is None:
                raise SpreadsheetError(f"{_shown(value)} is not a number", f"row {number}")
            raw[key] = parsed
    return ParsedSheet(raw=raw, unit_name=None, report_date=None)


def _csv_pair(cells: Sequence[str], where: str, seen: set[str]) -> tuple[str, str]:
    if len(cells) > len(CSV_HEADER):
        raise SpreadsheetError("expected two columns, key and value", where)
    key, value = cells[0], cells[1] if len(cells) > 1 else ""
    if not key:
        raise SpreadsheetError("the key is empty", where)
    if key in seen:
        raise SpreadsheetError(f"duplicate key {key!r}", where)
    seen.add(key)
    return key, value


def _trimmed(record: Sequence[str]) -> list[str]:
    """The stripped cells without trailing empty ones (spreadsheet apps pad rows with commas)."""
    cells = [cell.strip() for cell in record]
    while cells and not cells[-1]:
        cells.pop()
    return cells
