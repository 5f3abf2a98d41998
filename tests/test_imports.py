"""Excel and CSV import: the same validation and revision path as JSON, nothing stored on error."""

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.campaigns.definition import Table, read_definition_file
from app.reporting.spreadsheets import SheetSpec, build_table_workbook, parse_xlsx

Auth = Callable[..., dict[str, str]]
DEFINITION = read_definition_file(
    Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"
)
T1: Table = DEFINITION.tables[0]
IMPORTS = "/api/v1/campaigns/js-2024/cities/{city}/tables/t1/imports"
SNAPSHOT = "/api/v1/campaigns/js-2024/cities/320100/tables/t1/periods/{period}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VALUES = {
    "publicity_materials": Decimal(5000),
    "fairs_total": Decimal(12),
    "fairs_online": Decimal(7),
    "fairs_offline": Decimal(5),
    "recruitment_funds": Decimal("3.1415"),
}


def workbook(values: dict[str, Decimal]) -> bytes:
    return build_table_workbook(
        [
            SheetSpec(
                title="附件1",
                table=T1,
                campaign_name="2024年春风行动",
                unit_name="南京市人社局",
                report_date="2024-02-02",
                values=values,
            )
        ]
    )


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    *,
    name: str = "t1.xlsx",
    period: str = "W02",
    city: str = "320100",
    **params: str,
) -> httpx.Response:
    response: httpx.Response = client.post(
        IMPORTS.format(city=city),
        params={"period": period, **params},
        files={"file": (name, data, XLSX)},
        headers=headers,
    )
    return response


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", "320100")


def test_the_template_is_the_official_layout(client: TestClient) -> None:
    response = client.get("/api/v1/campaigns/js-2024/tables/t1/template.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    texts = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "春风行动专项活动开展情况统计表" in texts and "序号" in texts
    assert any(t.startswith("填报单位") for t in texts)
    assert parse_xlsx(response.content, T1).raw == {}


def test_an_xlsx_import_creates_a_revision(client: TestClient, nanjing: dict[str, str]) -> None:
    response = upload(client, nanjing, workbook(VALUES))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "accepted" and body["revision"] == 1
    assert body["source"] == {
        "format": "xlsx",
        "filename": "t1.xlsx",
        "unit_name": "南京市人社局",
        "report_date": "2024-02-02",
        "values_read": 5,
    }
    stored = client.get(SNAPSHOT.format(period="W02"), headers=nanjing).json()
    assert stored["source"] == "xlsx"
    assert stored["values"] == {k: float(v) if v % 1 else int(v) for k, v in VALUES.items()}
    again = upload(client, nanjing, workbook(VALUES))
    assert again.json()["status"] == "unchanged"


def test_a_csv_import_and_a_dry_run(client: TestClient, nanjing: dict[str, str]) -> None:
    csv = "\ufeffkey,value\nfairs_total,9\nfairs_online,4\nfairs_offline,5\n".encode()
    dry = upload(client, nanjing, csv, name="t1.csv", dry_run="true")
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert client.get(SNAPSHOT.format(period="W02"), headers=nanjing).status_code == 404
    real = upload(client, nanjing, csv, name="t1.csv")
    assert real.json()["source"]["format"] == "csv" and real.json()["revision"] == 1


def test_rule_violations_in_a_file_are_refused_like_json(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    response = upload(
        client, nanjing, workbook({"fairs_total": Decimal(3), "fairs_online": Decimal(8)})
    )
    assert response.status_code == 422
    assert [e["rule"] for e in response.json()["errors"]] == ["part_exceeds_total"]
    assert client.get(SNAPSHOT.format(period="W02"), headers=nanjing).status_code == 404


def test_text_in_a_number_cell_names_the_cell(client: TestClient, nanjing: dict[str, str]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook(VALUES)))
    sheet = book.active
    assert sheet is not None
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == 12)
    cell.value = "十二"
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, nanjing, buffer.getvalue())
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["cell"] == cell.coordinate and cell.coordinate in error["message"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, 415),
        (b"PK\x03\x04 truncated", 422),
        (b"", 422),
        (b"key,value\nfairs_total,twelve\n", 422),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    client: TestClient, nanjing: dict[str, str], data: bytes, status: int
) -> None:
    response = upload(client, nanjing, data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(SNAPSHOT.format(period="W02"), headers=nanjing).status_code == 404


def test_an_oversized_file_is_refused(
    app: FastAPI, client: TestClient, nanjing: dict[str, str]
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_import_bytes": 2048})
    response = upload(client, nanjing, workbook(VALUES))
    assert response.status_code == 413


def test_imports_follow_the_city_rules(client: TestClient, auth: Auth) -> None:
    data = workbook(VALUES)
    assert upload(client, auth("reporter", "320200"), data).status_code == 403
    assert upload(client, auth("viewer"), data).status_code == 403
    assert upload(client, auth("admin"), data).status_code == 200
    missing_period = client.post(
        IMPORTS.format(city="320100"),
        headers=auth("admin"),
        files={"file": ("t1.xlsx", data, XLSX)},
    )
    assert missing_period.status_code == 422
    assert missing_period.json()["errors"][0]["field"] == "query.period"


def test_another_citys_sheet_is_refused_naming_the_cells(client: TestClient, auth: Auth) -> None:
    """Issue 12: Nanjing's sheet posted to Wuxi's address was stored as Wuxi's data."""
    wuxi = auth("reporter", "320200")
    response = upload(client, wuxi, workbook(VALUES), city="320200")
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"wrong_city"}
    assert any(e["cell"] == "A3" and "南京市" in e["message"] for e in errors)  # 填报单位
    assert (
        client.get(
            SNAPSHOT.replace("320100", "320200").format(period="W02"), headers=wuxi
        ).status_code
        == 404
    )
    assert upload(client, auth("reporter", "320100"), workbook(VALUES)).status_code == 200


def test_the_province_workbook_is_refused(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    for city in ("320100", "320200"):
        client.put(
            SNAPSHOT.replace("320100", city).format(period="W01"),
            json={"values": {"fairs_total": 3}},
            headers=admin,
        ).raise_for_status()
    province = client.get(
        "/api/v1/campaigns/js-2024/exports/t1.xlsx", params={"period": "W01"}, headers=admin
    )
    assert province.status_code == 200
    response = upload(client, auth("reporter", "320200"), province.content, city="320200")
    assert response.status_code == 422, response.text
    assert "province" in response.text


def test_every_bad_cell_is_reported_at_once(client: TestClient, nanjing: dict[str, str]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook(VALUES)))
    sheet = book.active
    assert sheet is not None
    value_row = next(row for row in sheet.iter_rows() if any(c.value == 5000 for c in row))
    bad = [c for c in value_row if c.value in (12, 7, 5)]
    assert len(bad) == 3
    for cell in bad:
        cell.value = "很多"
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, nanjing, buffer.getvalue())
    assert response.status_code == 422
    cells = {e["cell"] for e in response.json()["errors"]}
    assert cells == {c.coordinate for c in bad}
