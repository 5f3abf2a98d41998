"""The province's 附件1/附件2 workbook (issue 12): where each row's figures come from, the
week's increase, and the notice's printed format.

At W05 (ends 2024-02-23): Nanjing reported W02 and W05 (W05 without 发放宣传资料, which is
carried from W02), Wuxi reported only W03 (carried forward), the other 11 cities nothing.
"""

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl.worksheet.worksheet import Worksheet

from app.campaigns.definition import DefinitionError, parse_definition

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
SNAPSHOT = CAMPAIGN + "/cities/{city}/tables/{table}/periods/{period}"
IMPORTS = CAMPAIGN + "/cities/{city}/tables/t1/imports"
DEFINITION_FILE = Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"
FILINGS: list[tuple[str, str, dict[str, float], str]] = [
    (
        "320100",
        "W02",
        {
            "publicity_materials": 100,
            "fairs_total": 20,
            "fairs_online": 8,
            "fairs_offline": 12,
            "postings_total": 5000,
            "recruitment_funds": 10.5,
        },
        "2024-02-02T12:00:00+08:00",
    ),
    (
        "320200",
        "W03",
        {"fairs_total": 10, "postings_total": 2000, "recruitment_funds": 1.2345},
        "2024-02-09T12:00:00+08:00",
    ),
    (
        "320100",
        "W05",
        {
            "fairs_total": 35,
            "fairs_online": 15,
            "fairs_offline": 20,
            "postings_total": 8200,
            "recruitment_funds": 12.3456,
        },
        "2024-02-23T12:00:00+08:00",
    ),
]
# Rows of the province sheet: the total first, then the cities in code order.
TOTAL, NANJING, WUXI, XUZHOU = 7, 8, 9, 10
T1_STATUS, T1_COMPLETENESS = "T", "U"  # after 项目 (A) and the 18 indicators (B..S)
T1_NOTE = (
    "备注：1、统计数据为累计数，时间节点为1月25日起至报送日，由各设区市统一扎口报送；\n"
    "2、用于稳就业的资金均可计入发放就业补贴金额，不限于就业补助资金支出。"
)
T2_NOTE = "备注：统计数据为累计数，时间节点为1月25日起至报送日，由各设区市统一扎口报送。"


@pytest.fixture
def admin(client: TestClient, auth: Auth) -> dict[str, str]:
    headers = auth("admin")
    for city, period, values, received_at in FILINGS:
        response = client.put(
            SNAPSHOT.format(city=city, table="t1", period=period),
            json={"values": values, "received_at": received_at},
            headers=headers,
        )
        assert response.status_code == 200, response.text
    return headers


def export(
    client: TestClient, headers: dict[str, str], table: str = "t1", **params: str
) -> openpyxl.Workbook:
    response = client.get(
        f"{CAMPAIGN}/exports/{table}.xlsx", params={"period": "W05", **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return openpyxl.load_workbook(io.BytesIO(response.content))


def province_sheet(book: openpyxl.Workbook) -> Worksheet:
    sheet = book.worksheets[0]
    assert isinstance(sheet, Worksheet)
    return sheet


def columns(sheet: Worksheet) -> dict[int, str]:
    """序号 -> column letter, read from the 序号 row."""
    seq_row = next(row for row in sheet.iter_rows() if row[0].value == "序号")
    return {cell.value: cell.column_letter for cell in seq_row[1:] if isinstance(cell.value, int)}


def by_key(client: TestClient, headers: dict[str, str], table: str) -> dict[str, int]:
    catalogue = client.get(f"{CAMPAIGN}/tables/{table}", headers=headers).json()
    return {i["key"]: i["seq"] for i in catalogue["indicators"]}


def totals(client: TestClient, headers: dict[str, str], period: str, **params: str) -> Any:
    response = client.get(
        CAMPAIGN + "/totals", params={"table": "t1", "period": period, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {i["indicator"]: i["total"] for i in response.json()["items"]}


def merged(sheet: Worksheet) -> set[str]:
    return {str(cell_range) for cell_range in sheet.merged_cells.ranges}


def test_the_province_total_comes_first_and_equals_totals(
    client: TestClient, admin: dict[str, str]
) -> None:
    sheet = province_sheet(export(client, admin))
    labels = [sheet.cell(row, 1).value for row in range(TOTAL, TOTAL + 14)]
    assert labels[:3] == ["全省合计", "南京市", "无锡市"] and len(set(labels)) == 14
    assert "含1/13市" in str(sheet[f"{T1_STATUS}{TOTAL}"].value)
    where = columns(sheet)
    api = totals(client, admin, "W05")
    for key, seq in by_key(client, admin, "t1").items():
        shown = sheet[f"{where[seq]}{TOTAL}"].value
        assert shown == (pytest.approx(api[key]) if api[key] is not None else None), key
    assert api["fairs_total"] == 45 and api["publicity_materials"] == 100


def test_the_total_follows_as_of(client: TestClient, admin: dict[str, str]) -> None:
    """Before Nanjing's W05 report arrived, nobody had W05 figures."""
    as_of = "2024-02-20T00:00:00+08:00"
    sheet = province_sheet(export(client, admin, as_of=as_of))
    assert "含0/13市" in str(sheet[f"{T1_STATUS}{TOTAL}"].value)
    fairs = columns(sheet)[2]
    assert (
        sheet[f"{fairs}{TOTAL}"].value
        == totals(client, admin, "W05", as_of=as_of)["fairs_total"]
        == 30
    )
    assert sheet[f"{T1_STATUS}{NANJING}"].value == "沿用2月2日数据"


def test_carried_figures_say_which_week_they_come_from(
    client: TestClient, admin: dict[str, str]
) -> None:
    sheet = province_sheet(export(client, admin))
    where = columns(sheet)
    assert sheet[f"{T1_STATUS}{NANJING}"].value == "本周报送"
    assert sheet[f"{T1_STATUS}{WUXI}"].value == "沿用2月9日数据"
    wuxi_fairs = sheet[f"{where[2]}{WUXI}"]
    assert wuxi_fairs.value == 10
    assert wuxi_fairs.comment is not None and "W03（2月9日）" in wuxi_fairs.comment.text
    # Nanjing reported W05, but not 发放宣传资料: that one cell is W02's
    assert sheet[f"{where[2]}{NANJING}"].comment is None
    publicity = sheet[f"{where[1]}{NANJING}"]
    assert publicity.value == 100
    assert publicity.comment is not None and "W02（2月2日）" in publicity.comment.text
    # reported/expected indicators of the report behind each row, as in /compliance
    assert sheet[f"{T1_COMPLETENESS}{NANJING}"].value == "5/18"
    assert sheet[f"{T1_COMPLETENESS}{WUXI}"].value == "3/18"
    compliance = client.get(
        CAMPAIGN + "/compliance",
        params={"period": "W05", "city": "320100", "at": "2024-02-24T00:00:00+08:00"},
        headers=admin,
    ).json()
    t1 = next(i for i in compliance["items"] if i["deliverable"] == "t1")
    assert (t1["indicators_reported"], t1["indicators_expected"]) == (5, 18)


def test_cities_without_any_report_are_marked_not_reported(
    client: TestClient, admin: dict[str, str]
) -> None:
    sheet = province_sheet(export(client, admin))
    assert sheet.cell(XUZHOU, 1).value == "徐州市"
    assert sheet.cell(XUZHOU, 2).value == "未报" and f"B{XUZHOU}:S{XUZHOU}" in merged(sheet)
    assert sheet[f"{T1_STATUS}{XUZHOU}"].value == "未报"
    assert sheet[f"{T1_COMPLETENESS}{XUZHOU}"].value == "0/18"
    explanation = next(
        str(cell.value) for cell in sheet["A"] if str(cell.value).startswith("说明：")
    )
    assert "无锡市未报本周数据，沿用" in explanation and "徐州市、常州市" in explanation
    # each city's own sheet stays blank (it must re-import), but says so
    xuzhou = export(client, admin)["徐州市"]
    assert isinstance(xuzhou, Worksheet)
    assert all(cell.value is None for cell in xuzhou[7][1:19])
    assert xuzhou[f"{T1_STATUS}7"].value == "未报"


def test_the_weekly_increase_is_the_deltas(client: TestClient, admin: dict[str, str]) -> None:
    sheet = province_sheet(export(client, admin, values="increase"))
    assert sheet["A2"].value == "春风行动专项活动开展情况统计表（本周新增）"
    where = columns(sheet)
    seqs = by_key(client, admin, "t1")
    deltas = client.get(CAMPAIGN + "/deltas", params={"table": "t1"}, headers=admin).json()
    this_week = {
        (d["city"], d["indicator"]): d["delta"] for d in deltas["items"] if d["period"] == "W05"
    }
    cumulative = client.get(
        CAMPAIGN + "/totals", params={"table": "t1", "period": "W05"}, headers=admin
    ).json()
    has_value = {(c["city"], i["indicator"]) for i in cumulative["items"] for c in i["cities"]}
    assert sheet.cell(XUZHOU, 2).value == "未报"
    for row, city in ((NANJING, "320100"), (WUXI, "320200")):
        for key, seq in seqs.items():
            expected = this_week.get((city, key), 0 if (city, key) in has_value else None)
            shown = sheet[f"{where[seq]}{row}"].value
            assert shown == (None if expected is None else pytest.approx(expected)), (city, key)
    assert this_week[("320100", "fairs_total")] == 15
    # the cities add up to the change of the province total since the week before
    now, before = totals(client, admin, "W05"), totals(client, admin, "W04")
    for key, seq in seqs.items():
        change = None if now[key] is None else now[key] - (before[key] or 0)
        shown = sheet[f"{where[seq]}{TOTAL}"].value
        assert shown == (None if change is None else pytest.approx(change)), key
    # what each figure spans is said where it is not one plain week
    gap = sheet[f"{where[2]}{NANJING}"].comment
    assert gap is not None and "W02（2月2日）" in gap.text and "3周" in gap.text
    carried = sheet[f"{where[2]}{WUXI}"]
    assert carried.value == 0
    assert carried.comment is not None and "本周新增计为0" in carried.comment.text
    assert sheet[f"{T1_STATUS}{WUXI}"].value == "沿用2月9日数据"


def test_the_notices_format(client: TestClient, admin: dict[str, str]) -> None:
    sheet = province_sheet(export(client, admin))
    assert sheet["A1"].value == "附件1"
    assert sheet["A2"].value == "春风行动专项活动开展情况统计表"
    assert sheet["A3"].value == "填报单位：江苏省"
    assert any(c.value == "填报日期：2024年2月23日" for c in sheet[3])
    notes = [str(c.value) for c in sheet["A"] if str(c.value).startswith("备注")]
    assert notes == [T1_NOTE]
    funds = sheet[f"{columns(sheet)[17]}{TOTAL}"]
    assert funds.number_format == "0.00"
    assert funds.value == pytest.approx(13.5801)  # shown 13.58, stored in full
    assert sheet[f"B{TOTAL}"].number_format == "0"
    setup = sheet.page_setup
    assert setup.orientation == "landscape" and str(setup.paperSize) == "9"
    fit = sheet.sheet_properties.pageSetUpPr
    assert setup.fitToWidth == 1 and fit is not None and fit.fitToPage
    for row in (4, 5):
        for cell in sheet[row]:
            text = str(cell.value or "")
            for line in (line for line in text.split("\n") if "（" in line):
                # a bracketed part (the unit) is a line of its own: no bracket left alone
                assert line.startswith("（") and line.endswith("）"), text
    assert sheet["C4"].value == "举办各类招聘活动\n（场次）"


def test_t2_has_the_point_to_point_group_header(client: TestClient, admin: dict[str, str]) -> None:
    client.put(
        SNAPSHOT.format(city="320100", table="t2", period="W05"),
        json={"values": {"p2p_bus_trips": 3, "p2p_bus_passengers": 120}},
        headers=admin,
    ).raise_for_status()
    sheet = province_sheet(export(client, admin, "t2"))
    assert (sheet["A1"].value, sheet["A2"].value) == (
        "附件2",
        "南北劳务协作及东西部劳务协作进展情况统计表",
    )
    where = columns(sheet)
    first, last = where[13], where[18]
    assert sheet[f"{first}4"].value == "“点对点”服务保障"
    assert f"{first}4:{last}4" in merged(sheet)
    assert sheet[f"{first}5"].value == "“点对点”包车\n（车次）"
    assert sheet[f"{where[19]}4"].value == "合计运输人数\n（人）"
    assert sheet[f"{where[15]}5"].value == "专列\n（包车厢）\n（列次）"
    assert [str(c.value) for c in sheet["A"] if str(c.value).startswith("备注")] == [T2_NOTE]
    assert sheet[f"{first}{TOTAL}"].value == 3


def test_a_carried_city_file_reimports_and_the_increase_file_is_refused(
    client: TestClient, admin: dict[str, str], auth: Auth
) -> None:
    wuxi = auth("reporter", "320200")
    response = client.get(
        CAMPAIGN + "/exports/t1.xlsx", params={"period": "W05", "city": "320200"}, headers=wuxi
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet["A1"].value == "附件1" and sheet["A3"].value == "填报单位：无锡市"
    assert sheet[f"{T1_STATUS}7"].value == "沿用2月9日数据"
    imported = client.post(
        IMPORTS.format(city="320200"),
        params={"period": "W06"},
        headers=wuxi,
        files={"file": ("wuxi.xlsx", response.content, "application/x")},
    )
    assert imported.status_code == 200, imported.text
    stored = client.get(SNAPSHOT.format(city="320200", table="t1", period="W06"), headers=wuxi)
    assert stored.json()["values"] == FILINGS[1][2]

    increase = client.get(
        CAMPAIGN + "/exports/t1.xlsx",
        params={"period": "W05", "city": "320200", "values": "increase"},
        headers=wuxi,
    )
    assert increase.status_code == 200
    assert "increase" in increase.headers["content-disposition"]
    refused = client.post(
        IMPORTS.format(city="320200"),
        params={"period": "W07"},
        headers=wuxi,
        files={"file": ("wuxi.xlsx", increase.content, "application/x")},
    )
    assert refused.status_code == 422 and "本周新增" in refused.text


def test_an_unknown_values_choice_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get(CAMPAIGN + "/exports/t1.xlsx", params={"values": "weekly"}, headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("groups", "problem"),
    [
        ([{"label_zh": "x", "first": 2, "last": 4}], "其中"),
        ([{"label_zh": "x", "first": 19, "last": 21}], "within"),
        (
            [
                {"label_zh": "x", "first": 12, "last": 13},
                {"label_zh": "y", "first": 13, "last": 14},
            ],
            "overlaps",
        ),
    ],
)
def test_column_groups_are_checked_when_the_definition_loads(
    groups: list[dict[str, object]], problem: str
) -> None:
    raw = yaml.safe_load(DEFINITION_FILE.read_text(encoding="utf-8"))
    raw["tables"][0]["column_groups"] = groups
    with pytest.raises(DefinitionError, match=problem):
        parse_definition(raw, "js-2024.yaml")


def test_definition_carries_the_notices_notes() -> None:
    raw = yaml.safe_load(DEFINITION_FILE.read_text(encoding="utf-8"))
    definition = parse_definition(raw, "js-2024.yaml")
    assert [f"备注：{t.note_zh}" for t in definition.tables] == [T1_NOTE, T2_NOTE]
