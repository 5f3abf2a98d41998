"""Exports: the official tables as xlsx (with an exact round trip), 附件3 as docx, CSV."""

import csv
import io
from collections.abc import Callable
from typing import Any

import docx
import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.samples import png

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
SNAPSHOT = CAMPAIGN + "/cities/{city}/tables/t1/periods/{period}"
NANJING_W02 = {
    "publicity_materials": 12000,
    "fairs_total": 35,
    "fairs_online": 20,
    "fairs_offline": 15,
    "postings_total": 8200,
    "recruitment_funds": 12.5,
    "employment_subsidies": 300.1234,
}


@pytest.fixture
def filed(client: TestClient, auth: Auth) -> dict[str, str]:
    admin = auth("admin")
    filings = (
        ("320100", "W02", NANJING_W02, "2024-02-02T12:00:00+08:00"),
        ("320200", "W01", {"fairs_total": 4, "postings_total": 900}, "2024-01-26T12:00:00+08:00"),
    )
    for city, period, values, received_at in filings:
        response = client.put(
            SNAPSHOT.format(city=city, period=period),
            json={"values": values, "received_at": received_at},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    return admin


def workbook(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content))


def test_a_city_file_round_trips_exactly(
    client: TestClient, filed: dict[str, str], auth: Auth
) -> None:
    nanjing = auth("reporter", "320100")
    exported = client.get(
        CAMPAIGN + "/exports/t1.xlsx", params={"period": "W02", "city": "320100"}, headers=nanjing
    )
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    sheet = workbook(exported.content).active
    cells = {c.coordinate: c for row in sheet.iter_rows() for c in row}
    assert cells["A1"].value == "附件1"
    assert cells["A2"].value == "春风行动专项活动开展情况统计表"
    assert cells["A3"].value == "填报单位：南京市"
    assert cells["K3"].value == "填报日期：2024年2月2日"
    assert [cells[f"{col}6"].value for col in "ABCD"] == ["序号", 1, 2, 3]
    assert cells["B7"].value == 12000 and cells["B7"].number_format == "0"
    # 万元 shown with 2 decimals, stored in full
    assert cells["S7"].value == pytest.approx(300.1234) and cells["S7"].number_format == "0.00"
    assert cells["E7"].value == 15 and cells["F7"].value is None  # F: not reported
    assert (cells["T7"].value, cells["U7"].value) == ("本周报送", "7/18")
    assert "D4:F4" in {str(r) for r in sheet.merged_cells.ranges}  # 其中 over 3..5

    reimported = client.post(
        CAMPAIGN + "/cities/320100/tables/t1/imports",
        params={"period": "W03"},
        headers=nanjing,
        files={"file": ("back.xlsx", exported.content, "application/x")},
    )
    assert reimported.status_code == 200, reimported.text
    again = client.get(SNAPSHOT.format(city="320100", period="W03"), headers=nanjing).json()
    assert again["values"] == NANJING_W02


def test_the_province_file_has_every_city_and_a_total(
    client: TestClient, filed: dict[str, str]
) -> None:
    exported = client.get(CAMPAIGN + "/exports/t1.xlsx", params={"period": "W02"}, headers=filed)
    book = workbook(exported.content)
    assert len(book.sheetnames) == 14 and book.sheetnames[1] == "南京市"
    province = book.worksheets[0]
    labels = [province.cell(row, 1).value for row in range(7, 21)]
    assert labels[0] == "全省合计" and labels[1] == "南京市" and labels[2] == "无锡市"
    assert labels[-1] == "宿迁市"
    totals = client.get(
        CAMPAIGN + "/totals", params={"table": "t1", "period": "W02"}, headers=filed
    ).json()
    api_total = {i["indicator"]: i["total"] for i in totals["items"]}
    assert province.cell(7, 3).value == api_total["fairs_total"] == 39
    assert province.cell(7, 7).value == api_total["postings_total"] == 9100
    assert province["T7"].value == "含1/13市本周数据"
    assert province.cell(9, 3).value == 4  # Wuxi carried forward from W01 …
    assert province["T9"].value == "沿用1月26日数据"  # … and says so
    assert province.cell(10, 2).value == "未报"  # Xuzhou never reported: 未报, not 0
    assert province.cell(10, 3).value is None


def test_the_province_file_is_not_for_reporters(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", "320100")
    assert client.get(CAMPAIGN + "/exports/t1.xlsx", headers=nanjing).status_code == 403
    other = client.get(CAMPAIGN + "/exports/t1.xlsx", params={"city": "320200"}, headers=nanjing)
    assert other.status_code == 403


def test_csv_exports_have_a_bom_and_stable_columns(
    client: TestClient, filed: dict[str, str]
) -> None:
    response = client.get(CAMPAIGN + "/exports/deltas.csv", headers=filed)
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "city",
        "city_name",
        "table",
        "indicator",
        "period",
        "cumulative",
        "delta",
        "previous_period",
        "gap",
        "negative",
        "revision",
    ]
    w02 = ["320100", "南京市", "t1", "fairs_total", "W02", "35", "35", "", "True", "False", "1"]
    assert w02 in rows
    compliance = client.get(
        CAMPAIGN + "/exports/compliance.csv",
        headers=filed,
        params={"at": "2024-02-03T00:00:00+08:00", "period": "W02"},
    )
    table = list(csv.DictReader(io.StringIO(compliance.content.decode("utf-8-sig"))))
    assert {r["status"] for r in table if r["deliverable"] == "t1"} == {"on_time", "missing"}
    totals = client.get(
        CAMPAIGN + "/exports/totals.csv", headers=filed, params={"table": "t1", "period": "W02"}
    )
    lines = list(csv.DictReader(io.StringIO(totals.content.decode("utf-8-sig"))))
    total = next(r for r in lines if r["indicator"] == "fairs_total" and r["city"] == "total")
    assert total["value"] == "39"
    weeks = client.get(
        CAMPAIGN + "/exports/county-weeks.csv",
        headers=filed,
        params={"at": "2024-02-03T00:00:00+08:00", "city": "320100"},
    )
    assert (
        weeks.content.decode("utf-8-sig").splitlines()[0]
        == "county,county_name,city,city_name,period,events,required,met,in_progress"
    )
    assert client.get(CAMPAIGN + "/exports/nothing.csv", headers=filed).status_code == 422


def test_weekly_cases_as_a_word_document(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    cases = CAMPAIGN + "/cities/320100/cases"
    first = client.post(
        cases,
        headers=admin,
        json={
            "period": "W03",
            "title": "直播带岗专场",
            "text": "第一段。\n第二段。",
            "county": "320117",
            "activity": "jobs_nearby",
        },
    )
    assert first.status_code == 201, first.text
    uploaded = client.post(
        f"{cases}/{first.json()['id']}/attachments",
        headers=admin,
        files={"file": ("现场.png", png(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    urgent = client.post(
        cases,
        headers=admin,
        json={
            "period": "W03",
            "title": "企业欠薪舆情",
            "text": "已妥善处置。",
            "activity": "visit",
            "urgent": True,
        },
    )
    assert urgent.status_code == 201

    response = client.get(CAMPAIGN + "/exports/cases.docx", params={"period": "W03"}, headers=admin)
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.content))
    texts = [p.text for p in document.paragraphs]
    # cities numbered in official order, each marked when short of the weekly cases
    assert (
        "一、南京市（本周报送1个，少于3个）" in texts
        and "二、无锡市（本周报送0个，少于3个）" in texts
    )
    assert "（一）直播带岗专场" in texts
    assert "县（市、区）：溧水区　活动：送岗到身边" in texts
    assert "第二段。" in texts
    assert len(document.inline_shapes) == 1
    # urgent reports are a track of their own: not in the 亮点 compilation (issue 12) …
    assert not any("企业欠薪舆情" in text for text in texts)
    # … but in a document of their own, for the province
    separate = client.get(
        CAMPAIGN + "/exports/urgent.docx", params={"period": "W03"}, headers=admin
    )
    assert separate.status_code == 200
    urgent_texts = [p.text for p in docx.Document(io.BytesIO(separate.content)).paragraphs]
    assert "重要舆情和突发事件" in urgent_texts
    assert "（一）企业欠薪舆情" in urgent_texts and "一、南京市" in urgent_texts
    assert not any("直播带岗专场" in text for text in urgent_texts)
    assert (
        client.get(
            CAMPAIGN + "/exports/urgent.docx", headers=auth("reporter", "320100")
        ).status_code
        == 403
    )
    mine = client.get(
        CAMPAIGN + "/exports/cases.docx",
        params={"period": "W03", "city": "320100"},
        headers=auth("reporter", "320100"),
    )
    assert mine.status_code == 200


def test_an_export_job_reports_its_state_and_serves_the_file(
    client: TestClient, filed: dict[str, str], auth: Auth
) -> None:
    started = client.post(
        CAMPAIGN + "/exports/jobs", headers=filed, json={"kind": "t1.xlsx", "period": "W02"}
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == job["status_url"]
    assert job["params"] == {"period": "W02"}
    status = client.get(job["status_url"], headers=filed).json()
    assert (status["state"], status["percent"]) == ("done", 100)
    assert status["filename"] == "js-2024-t1-W02.xlsx"
    file = client.get(job["file_url"], headers=filed)
    direct = client.get(CAMPAIGN + "/exports/t1.xlsx", params={"period": "W02"}, headers=filed)
    first, second = workbook(file.content), workbook(direct.content)
    assert first.sheetnames == second.sheetnames
    assert [[c.value for c in row] for row in first.worksheets[0].iter_rows()] == [
        [c.value for c in row] for row in second.worksheets[0].iter_rows()
    ]


def test_an_export_job_can_build_the_weekly_increase_file(
    client: TestClient, filed: dict[str, str]
) -> None:
    """The 本周新增 variant was only reachable directly, not as a background job."""
    started = client.post(
        CAMPAIGN + "/exports/jobs",
        headers=filed,
        json={"kind": "t1.xlsx", "period": "W02", "values": "increase"},
    )
    assert started.status_code == 202, started.text
    file = client.get(started.json()["file_url"], headers=filed)
    assert workbook(file.content).worksheets[0]["A2"].value.endswith("（本周新增）")


def test_export_jobs_follow_the_access_rules(
    client: TestClient, filed: dict[str, str], auth: Auth
) -> None:
    nanjing = auth("reporter", "320100")
    refused = client.post(
        CAMPAIGN + "/exports/jobs", headers=nanjing, json={"kind": "cases.docx", "period": "W02"}
    )
    assert refused.status_code == 403
    own = client.post(
        CAMPAIGN + "/exports/jobs",
        headers=nanjing,
        json={"kind": "cases.docx", "period": "W02", "city": "320100"},
    ).json()
    assert client.get(own["status_url"], headers=nanjing).json()["state"] == "done"
    other_reporter = auth("reporter", "320100")
    assert client.get(own["status_url"], headers=other_reporter).status_code == 404
    failed = client.post(
        CAMPAIGN + "/exports/jobs", headers=filed, json={"kind": "t1.xlsx", "period": "W13"}
    ).json()
    status = client.get(failed["status_url"], headers=filed).json()
    assert status["state"] == "failed" and "W13" in status["error"]
    not_ready = client.get(failed["file_url"], headers=filed)
    assert not_ready.status_code == 409
    bad_kind = client.post(CAMPAIGN + "/exports/jobs", headers=filed, json={"kind": "x.pdf"})
    assert bad_kind.status_code == 422
