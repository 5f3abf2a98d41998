import io
import re
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from app.campaigns.definition import read_definition_file
from app.reporting import spreadsheets
from app.reporting.spreadsheets import (
    SheetSpec,
    SpreadsheetError,
    ValueRow,
    build_table_workbook,
    build_template,
    parse_csv,
    parse_xlsx,
)
from app.reporting.validation import normalize_values

DEFINITION = read_definition_file(
    Path(__file__).resolve().parent.parent / "app" / "campaigns" / "definitions" / "js-2024.yaml"
)
T1 = DEFINITION.tables[0]
T2 = DEFINITION.tables[1]
CAMPAIGN = DEFINITION.name_zh

Value = str | int | float | Decimal | None

T1_VALUES = {
    "publicity_materials": Decimal(52000),
    "fairs_total": Decimal(10),
    "fairs_online": Decimal(4),
    "fairs_offline": Decimal(6),
    "postings_total": Decimal(10**15),
    "postings_online": Decimal(0),
    "employment_intents": Decimal(300),
    "recruitment_funds": Decimal("1234.5678"),
    "employment_subsidies": Decimal("0.0001"),
}


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def workbook_bytes(rows: Sequence[Sequence[Value]], *, first_row: int = 1) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.worksheets[0]
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(first_row + offset, column, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def t1_rows(values: Sequence[Value]) -> list[list[Value]]:
    """A minimal hand-made T1: 序号 row, then one value row."""
    return [["序号", *range(1, 19)], ["数值", *values]]


def parse_error(data: bytes, **limits: int) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        parse_xlsx(data, T1, **limits)
    return caught.value


def parse_t1(raw_values: Sequence[Value]) -> dict[str, object]:
    return parse_xlsx(workbook_bytes(t1_rows(raw_values)), T1).raw


# --- writing ---------------------------------------------------------------------------


def test_template_has_the_official_layout() -> None:
    sheet = load(build_template(T1, CAMPAIGN)).worksheets[0]

    assert sheet.title == "附件1"
    assert sheet["A1"].value == "附件1"
    assert sheet["A2"].value == "春风行动专项活动开展情况统计表"
    assert sheet["A3"].value == "填报单位："
    assert str(sheet["J3"].value).startswith("填报日期：")
    assert sheet["A4"].value == "项目"
    assert sheet["B4"].value == "发放宣传资料\n（份）"
    assert sheet["C4"].value == "举办各类招聘活动\n（场次）"
    assert sheet["D4"].value == "其中："
    assert sheet["D5"].value == "线上招聘\n（场次）"
    assert sheet["J5"].value == "劳务品牌专场招聘岗位\n（个）"
    assert sheet["R4"].value == "用于开展各类招聘活动使用资金数量\n（万元）"
    assert [cell.value for cell in sheet[6]] == ["序号", *range(1, 19)]
    assert sheet["A7"].value == "数值"
    assert all(cell.value is None for cell in sheet[7][1:])
    assert sheet["A8"].value == (
        "备注：1、统计数据为累计数，时间节点为1月25日起至报送日，由各设区市统一扎口报送；\n"
        "2、用于稳就业的资金均可计入发放就业补贴金额，不限于就业补助资金支出。"
    )
    merged = {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    assert {"A2:S2", "A4:A5", "B4:B5", "C4:C5", "D4:F4", "H4:J4", "S4:S5", "A8:S8"} <= merged
    assert "D4:D5" not in merged
    assert sheet.max_column == 19  # a blank template has no 数据情况/填报指标 columns


def test_a_table_without_its_own_note_gets_a_generated_one() -> None:
    table = T1.model_copy(update={"note_zh": None})
    sheet = load(build_template(table, CAMPAIGN)).worksheets[0]

    assert str(sheet["A8"].value).startswith(f"备注：1、统计数据为累计数，自{CAMPAIGN}开始")
    assert "用于稳就业的资金" in str(sheet["A8"].value)


def test_template_prints_on_a4_landscape() -> None:
    sheet = load(build_template(T1, CAMPAIGN)).worksheets[0]

    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    fit = sheet.sheet_properties.pageSetUpPr
    assert fit is not None and fit.fitToPage
    assert sheet.print_title_rows == "$4:$6"  # the header repeats on every page


def test_template_number_formats_and_borders() -> None:
    sheet = load(build_template(T1, CAMPAIGN)).worksheets[0]

    assert sheet["B7"].number_format == "0"
    assert sheet["R7"].number_format == "0.00"  # 万元, printed with 2 decimals
    assert sheet["S7"].number_format == "0.00"
    assert sheet["E5"].border.left.style == "thin"
    assert sheet["B4"].alignment.wrap_text


def test_lone_part_column_sits_under_its_own_heading() -> None:
    sheet = load(build_template(T2, CAMPAIGN)).worksheets[0]

    assert sheet["B4"].value == "举办东西部劳务协作专场招聘\n（场次）"
    assert sheet["C4"].value == "其中："
    assert sheet["C5"].value == "面向陕西、青海\n（场次）"
    assert [cell.value for cell in sheet[6]] == ["序号", *range(1, 21)]


def test_grouped_columns_sit_under_their_group_heading() -> None:
    sheet = load(build_template(T2, CAMPAIGN)).worksheets[0]

    assert sheet["N4"].value == "“点对点”服务保障"
    assert [sheet.cell(5, column).value for column in (14, 19)] == [
        "“点对点”包车\n（车次）",
        "包机运输人数\n（人）",
    ]
    merged = {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    assert "N4:S4" in merged and "T4:T5" in merged
    assert sheet["A8"].value == (
        "备注：统计数据为累计数，时间节点为1月25日起至报送日，由各设区市统一扎口报送。"
    )


def test_values_are_numbers_and_not_reported_cells_are_empty() -> None:
    spec = SheetSpec("南京", T1, CAMPAIGN, "南京市", "2024年2月2日", T1_VALUES)

    sheet = load(build_table_workbook([spec])).worksheets[0]

    assert sheet["A3"].value == "填报单位：南京市"
    assert sheet["J3"].value == "填报日期：2024年2月2日"
    assert sheet["A7"].value == "南京市"
    assert sheet["C7"].value == 10
    assert isinstance(sheet["C7"].value, int)
    assert sheet["R7"].value == pytest.approx(1234.5678)
    assert sheet["E7"].value == 6
    assert sheet["F7"].value is None
    assert sheet["H7"].value == 0


def test_status_columns_comments_and_placeholders_do_not_change_what_is_read() -> None:
    row = ValueRow(
        "南京市",
        T1_VALUES,
        status="沿用2月9日数据",
        completeness="9/18",
        comments={"fairs_total": "沿用W03（2月9日）报送数据"},
    )
    data = build_table_workbook([SheetSpec("南京", T1, CAMPAIGN, "南京市", rows=[row])])
    sheet = load(data).worksheets[0]

    assert (sheet["T4"].value, sheet["U4"].value) == ("数据情况", "填报指标\n（已填/应填）")
    assert (sheet["T7"].value, sheet["U7"].value) == ("沿用2月9日数据", "9/18")
    assert sheet["T6"].value is None  # no 序号: not a column of the table
    assert sheet["C7"].comment is not None and "W03" in sheet["C7"].comment.text
    assert normalize_values(T1, parse_xlsx(data, T1).raw)[0] == T1_VALUES

    empty = ValueRow("徐州市", {}, status="未报", completeness="0/18", placeholder="未报")
    sheet = load(build_table_workbook([SheetSpec("x", T1, CAMPAIGN, rows=[empty])])).worksheets[0]
    assert sheet["B7"].value == "未报"
    assert "B7:S7" in {str(cell_range) for cell_range in sheet.merged_cells.ranges}


def test_the_weekly_increase_variant_is_never_read_as_cumulative() -> None:
    spec = SheetSpec("南京", T1, CAMPAIGN, "南京市", values=T1_VALUES, weekly_increase=True)
    data = build_table_workbook([spec])

    assert load(data).worksheets[0]["A2"].value == "春风行动专项活动开展情况统计表（本周新增）"
    error = parse_error(data)
    assert error.cell == "A2" and "本周新增" in error.message


def test_unknown_value_keys_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ew_fairs"):
        build_table_workbook([SheetSpec("x", T1, CAMPAIGN, values={"ew_fairs": Decimal(1)})])


def test_a_workbook_needs_a_sheet() -> None:
    with pytest.raises(ValueError, match="at least one sheet"):
        build_table_workbook([])


# --- reading back ----------------------------------------------------------------------


def test_round_trip_gives_the_same_decimals() -> None:
    spec = SheetSpec("南京 t1", T1, CAMPAIGN, "南京市", "2024-02-02", T1_VALUES)

    parsed = parse_xlsx(build_table_workbook([spec]), T1)

    values, violations = normalize_values(T1, parsed.raw)
    assert violations == []
    assert values == T1_VALUES
    assert {key: str(value) for key, value in values.items()} == {
        key: str(value) for key, value in T1_VALUES.items()
    }
    assert parsed.unit_name == "南京市"
    assert parsed.report_date == "2024-02-02"


def test_round_trip_of_every_table_in_one_workbook() -> None:
    t2_values = {indicator.key: Decimal(indicator.seq * 7) for indicator in T2.indicators}
    specs = [
        SheetSpec("t1", T1, CAMPAIGN, "苏州市", None, T1_VALUES),
        SheetSpec("t2", T2, CAMPAIGN, "苏州市", None, t2_values),
    ]
    data = build_table_workbook(specs)

    assert normalize_values(T1, parse_xlsx(data, T1).raw)[0] == T1_VALUES
    assert normalize_values(T2, parse_xlsx(data, T2).raw)[0] == t2_values


def test_blank_template_parses_to_nothing_reported() -> None:
    parsed = parse_xlsx(build_template(T1, CAMPAIGN), T1)

    assert parsed.raw == {}
    assert parsed.unit_name is None
    assert parsed.report_date is None


def test_two_block_layout_like_the_notice() -> None:
    rows: list[list[Value]] = [
        ["春风行动专项活动开展情况统计表"],
        ["填报单位：", "苏州市", None, None, "填报日期：2024年2月2日"],
        ["项目", "发放宣传资料 (份)", "举办各类 招聘活动 (场次)", "其中："],
        [],
        ["序  号", *range(1, 10)],
        [],
        [None, *range(101, 110)],
        ["项目", "达成就业 意向人数 (人)"],
        ["序号", *range(10, 19)],
        ["数值", 110, 111, None, " 113 ", 114, 115, 116, 117.5, "0.25"],
        ["备注：1、统计数据为累计数"],
    ]

    parsed = parse_xlsx(workbook_bytes(rows, first_row=4), T1)

    expected: dict[str, object] = {
        indicator.key: 100 + indicator.seq for indicator in T1.indicators if indicator.seq <= 16
    }
    del expected["startup_mentoring"]
    expected["startup_sites_offered"] = Decimal(113)
    expected["recruitment_funds"] = Decimal("117.5")
    expected["employment_subsidies"] = Decimal("0.25")
    assert parsed.raw == expected
    assert parsed.unit_name == "苏州市"
    assert parsed.report_date == "2024年2月2日"


def test_block_without_a_value_row_is_not_reported() -> None:
    rows: list[list[Value]] = [
        ["序号", *range(1, 10)],
        ["项目"],
        ["序号", *range(10, 19)],
        ["数值", 1],
    ]

    assert parse_xlsx(workbook_bytes(rows), T1).raw == {"employment_intents": 1}


def test_missing_seq_columns_are_absent() -> None:
    rows: list[list[Value]] = [["序号", 2, None, 17], ["数值", 10, 99, Decimal("0.5")]]

    raw = parse_xlsx(workbook_bytes(rows), T1).raw

    assert raw == {"fairs_total": 10, "recruitment_funds": Decimal("0.5")}


def test_float_noise_is_cut_at_excel_precision() -> None:
    raw = parse_t1([None] * 16 + [0.1 + 0.2])

    assert raw == {"recruitment_funds": Decimal("0.3")}


def test_date_cell_next_to_its_label() -> None:
    rows: list[list[Value]] = [
        ["填报日期：", "2024-02-02"],
        ["填报单位: 无锡市"],
        *t1_rows([1]),
    ]

    parsed = parse_xlsx(workbook_bytes(rows), T1)

    assert parsed.report_date == "2024-02-02"
    assert parsed.unit_name == "无锡市"


def test_sheet_is_chosen_by_the_table_title() -> None:
    specs = [
        SheetSpec("t2", T2, CAMPAIGN, values={"ew_fairs": Decimal(3)}),
        SheetSpec("t1", T1, CAMPAIGN, values={"fairs_total": Decimal(5)}),
    ]

    assert parse_xlsx(build_table_workbook(specs), T1).raw == {"fairs_total": 5}


def test_formula_with_a_saved_result_is_read() -> None:
    data = workbook_bytes([["序号", 1, 2], ["数值", "=1+2", 4]])

    # The formula's cached value, as Excel would save it (openpyxl writes an empty <v>).
    patched = rewrite_sheet(data, lambda xml: re.sub(r"<v\s*/>|<v></v>", "<v>3</v>", xml))

    assert parse_xlsx(patched, T1).raw == {"publicity_materials": 3, "fairs_total": 4}


def rewrite_sheet(data: bytes, change: Callable[[str], str]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content.decode()).encode()
            target.writestr(item, content)
    return buffer.getvalue()


# --- reading errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"key,value\nfairs_total,3\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        b"PK\x05\x06" + bytes(18),
    ],
    ids=["empty", "csv", "xls", "empty-zip"],
)
def test_not_an_xlsx_workbook(data: bytes) -> None:
    error = parse_error(data)

    assert error.message == "not an .xlsx workbook"
    assert error.cell is None


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")

    assert parse_error(buffer.getvalue()).message == "not an .xlsx workbook"


def test_corrupt_sheet_xml() -> None:
    data = rewrite_sheet(workbook_bytes(t1_rows([1])), lambda xml: xml[: len(xml) // 2])

    assert parse_error(data).message == "not an .xlsx workbook"


def test_unpacked_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1000)

    assert "more than 1000" in str(parse_error(build_template(T1, CAMPAIGN)))


def test_no_seq_row() -> None:
    error = parse_error(workbook_bytes([["项目", "发放宣传资料"], ["数值", 1]]))

    assert error.cell is None
    assert "序号" in error.message


@pytest.mark.parametrize(
    ("seq_row", "cell"),
    [
        (["序号", 1, "二", 3], "C1"),
        (["序号", 1, 2.5], "C1"),
        (["序号", 1, True], "C1"),
        (["序号", 0], "B1"),
        (["序号", 1, 2, 19], "D1"),
    ],
)
def test_bad_seq_cells_are_named(seq_row: list[Value], cell: str) -> None:
    error = parse_error(workbook_bytes([seq_row, ["数值", 1, 2, 3]]))

    assert error.cell == cell
    assert str(error).startswith(f"{cell}: 序号")


def test_duplicate_seq_is_named_even_across_blocks() -> None:
    rows: list[list[Value]] = [["序号", 1, 2], ["数值", 1, 2], ["序号", 3, 2], ["数值", 3, 4]]

    error = parse_error(workbook_bytes(rows))

    assert error.cell == "C3"
    assert "C1" in error.message


def test_text_in_a_number_cell_is_named() -> None:
    error = parse_error(workbook_bytes(t1_rows([1, 2, "十二"])))

    assert str(error) == "D2: '十二' is not a number"
    assert error.cell == "D2"


@pytest.mark.parametrize("value", [True, "1e3", "NaN", "12个", "1,000", "#DIV/0!"])
def test_non_numbers_are_rejected(value: Value) -> None:
    error = parse_error(workbook_bytes(t1_rows([value])))

    assert error.cell == "B2"
    assert error.message.endswith("is not a number")


def test_numbers_typed_as_text_are_read() -> None:
    assert parse_t1(["12", " 3.50 ", "", "  "]) == {
        "publicity_materials": Decimal(12),
        "fairs_total": Decimal("3.50"),
    }


def test_formula_without_a_saved_result_is_named() -> None:
    error = parse_error(workbook_bytes(t1_rows([1, "=B2*2"])))

    assert error.cell == "C2"
    assert "formula" in error.message


def test_too_many_rows_names_the_cell() -> None:
    filler: list[list[Value]] = [["x"] for _ in range(10)]
    rows = t1_rows([1]) + filler

    error = parse_error(workbook_bytes(rows), max_rows=5)

    assert error.cell == "A6"
    assert "5 rows" in error.message


def test_too_many_columns_names_the_cell() -> None:
    error = parse_error(workbook_bytes(t1_rows([1, 2, 3, 4, 5])), max_columns=4)

    assert error.cell == "E1"


def test_content_within_the_limits_is_fine() -> None:
    rows: list[list[Value]] = [["序号", 1, 2], ["数值", 1, 2]]

    assert parse_xlsx(workbook_bytes(rows), T1, max_rows=2, max_columns=3).raw == {
        "publicity_materials": 1,
        "fairs_total": 2,
    }


# --- CSV -------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_csv(bom: bytes) -> None:
    data = bom + b"key,value\r\nfairs_total,10\r\nrecruitment_funds, 1.2500 \r\n"

    parsed = parse_csv(data, T1)

    assert parsed.raw == {"fairs_total": Decimal(10), "recruitment_funds": Decimal("1.25")}
    assert parsed.unit_name is None
    assert parsed.report_date is None


def test_csv_blank_values_are_absent_and_unknown_keys_pass_through() -> None:
    data = b"key,value\nfairs_total,\n\nno_such_key,3,,\nfairs_online\n"

    assert parse_csv(data, T1).raw == {"no_such_key": Decimal(3)}


@pytest.mark.parametrize(
    ("data", "cell", "message"),
    [
        (b"key,value\nfairs_total,ten\n", "row 2", "'ten' is not a number"),
        (b"key,value\nfairs_total,1\nfairs_total,2\n", "row 3", "duplicate key 'fairs_total'"),
        (b"key,value\n,1\n", "row 2", "the key is empty"),
        (b"key,value\nfairs_total,1,2\n", "row 2", "expected two columns, key and value"),
        (b"k,v\nfairs_total,1\n", "row 1", "the header must be exactly key,value"),
        (b"", "row 1", "the header must be exactly key,value"),
        (b"key,value\n" + b"a,1\n" * 3, "row 4", "more than 2 rows"),
    ],
)
def test_csv_errors(data: bytes, cell: str, message: str) -> None:
    with pytest.raises(SpreadsheetError) as caught:
        parse_csv(data, T1, max_rows=2)

    assert caught.value.cell == cell
    assert caught.value.message == message
    assert str(caught.value) == f"{cell}: {message}"


def test_csv_must_be_utf8() -> None:
    with pytest.raises(SpreadsheetError, match="UTF-8"):
        parse_csv("key,value\n发放宣传资料,1\n".encode("gbk"), T1)


def test_csv_syntax_error() -> None:
    with pytest.raises(SpreadsheetError, match="not a valid CSV"):
        parse_csv(b"key,value\nfairs_total," + b"1" * 200_000 + b"\n", T1)
