"""Another province's campaign from files alone (issue 15, SPEC 11): `campaigns load FILE`
loads its definition and the regions file it names; it runs through intake, computed views
and exports; a new version that would orphan stored data is refused."""

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.campaigns.definition import DefinitionError
from app.campaigns.loading import load_campaign_file, load_campaigns
from app.campaigns.models import Campaign
from app.cli import main
from app.core.settings import get_settings

Auth = Callable[..., dict[str, str]]
DEFINITION = Path(__file__).parent / "campaigns" / "ah-2025.yaml"
CAMPAIGN = "/api/v1/campaigns/ah-2025"
HEFEI, WUHU = "340100", "340200"


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_campaigns_load_and_list(cli_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaigns", "load", str(DEFINITION)]) == 0
    loaded = json.loads(capsys.readouterr().out)
    assert loaded == {"campaign": "ah-2025", "changed": True, "regions_changed": 8}
    assert main(["campaigns", "load", str(DEFINITION)]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False

    assert main(["campaigns", "list"]) == 0
    listed = {row["campaign"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(listed) == {"js-2024", "ah-2025"}
    assert listed["ah-2025"] | {"periods": 0} == {
        "campaign": "ah-2025",
        "name": "2025年安徽春风行动（测试）",
        "province": "340000",
        "start": "2025-02-06",
        "end": "2025-03-20",
        "reporting_units": 2,
        "tables": ["hiring"],
        "periods": 0,
    }
    assert listed["ah-2025"]["periods"] == 5  # ten-day periods from 6 Feb to 20 Mar 2025


def test_a_broken_definition_is_explained_with_its_path(
    cli_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    document["tables"][0]["indicators"][1]["type"] = "text"
    broken = tmp_path / "ah-2025.yaml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    (tmp_path / "anhui-divisions.csv").write_bytes(
        (DEFINITION.parent / "anhui-divisions.csv").read_bytes()
    )
    assert main(["campaigns", "load", str(broken)]) == 2
    assert "tables.0.indicators.1.type" in capsys.readouterr().err


def test_another_province_runs_end_to_end(client: TestClient, session: Session, auth: Auth) -> None:
    report = load_campaign_file(session, DEFINITION)
    assert (report.campaign, report.changed) == ("ah-2025", True)
    session.commit()
    hefei, viewer = auth("reporter", HEFEI), auth("viewer")

    periods = client.get(CAMPAIGN + "/periods", headers=viewer).json()
    assert [p["id"] for p in periods] == ["P01", "P02", "P03", "P04", "P05"]
    assert [p["end"] for p in periods[:2]] == ["2025-02-15", "2025-02-25"]  # ten days each
    assert periods[1]["due"] == "2025-02-25T16:00:00+08:00"

    url = CAMPAIGN + f"/cities/{HEFEI}/tables/hiring/periods/P02"
    refused = client.put(
        url, json={"values": {"postings": 10, "postings_online": 12}}, headers=hefei
    )
    assert refused.status_code == 422
    assert "线上岗位 不应超过 归集岗位数" in refused.text
    put = client.put(
        url, json={"values": {"postings": 1200, "postings_online": 300, "fairs": 4}}, headers=hefei
    )
    assert put.status_code == 200, put.text
    other_city = CAMPAIGN + f"/cities/{WUHU}/tables/hiring/periods/P02"
    assert (
        client.put(other_city, json={"values": {"postings": 1}}, headers=hefei).status_code == 403
    )
    js_table = CAMPAIGN + f"/cities/{HEFEI}/tables/t1/periods/P02"
    assert (
        client.put(js_table, json={"values": {"fairs_total": 1}}, headers=hefei).status_code == 404
    )

    totals = client.get(CAMPAIGN + "/totals", params={"period": "P02"}, headers=viewer).json()
    postings = next(t for t in totals["items"] if t["indicator"] == "postings")
    assert postings["total"] == 1200 and postings["missing_names"] == ["芜湖市"]
    goals = client.get(CAMPAIGN + "/goals", headers=viewer).json()
    assert (goals["postings"]["target"], goals["postings"]["actual"]) == (50000, 1200)
    # its deliverable `summary` is satisfied by a document of kind final_summary
    summary = {"kind": "final_summary", "title": "活动总结", "text": "一、总体情况……"}
    filed = client.post(CAMPAIGN + f"/cities/{HEFEI}/documents", json=summary, headers=hefei)
    assert filed.status_code == 201, filed.text
    compliance = client.get(CAMPAIGN + "/compliance", headers=viewer).json()
    items = {(i["city"], i["deliverable"], i["period"]): i["status"] for i in compliance["items"]}
    assert items[(HEFEI, "hiring", "P02")] == "late"  # received now, due in 2025
    assert items[(WUHU, "hiring", "P02")] == "missing"
    assert items[(HEFEI, "summary", None)] == "late"  # received now, due in 2025
    assert items[(WUHU, "summary", None)] == "missing"
    assert {deliverable for _, deliverable, _ in items} == {"contacts", "hiring", "summary"}

    workbook = client.get(
        CAMPAIGN + "/exports/hiring.xlsx", params={"period": "P02"}, headers=viewer
    )
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "合肥市" in cells and "芜湖市" in cells and 1200 in cells


def test_a_change_that_would_orphan_stored_data_is_refused(
    client: TestClient, session: Session, auth: Auth, tmp_path: Path
) -> None:
    load_campaign_file(session, DEFINITION)
    session.commit()
    url = CAMPAIGN + f"/cities/{HEFEI}/tables/hiring/periods/P02"
    values = {"postings": 1200, "fairs": 4}
    hefei = auth("reporter", HEFEI)
    assert client.put(url, json={"values": values}, headers=hefei).is_success
    case = {"period": "P02", "title": "专场招聘会", "text": "……", "activity": "job_fair"}
    assert client.post(CAMPAIGN + f"/cities/{HEFEI}/cases", json=case, headers=hefei).is_success

    document = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    (tmp_path / "anhui-divisions.csv").write_bytes(
        (DEFINITION.parent / "anhui-divisions.csv").read_bytes()
    )
    changed = tmp_path / "ah-2025.yaml"

    def load(**changes: object) -> None:
        changed.write_text(yaml.safe_dump(document | changes, allow_unicode=True), encoding="utf-8")
        load_campaign_file(session, changed)

    indicators = document["tables"][0]["indicators"]
    table = document["tables"][0] | {"indicators": [i for i in indicators if i["key"] != "fairs"]}
    with pytest.raises(DefinitionError, match=r"indicator hiring\.fairs"):
        load(tables=[table])
    with pytest.raises(DefinitionError, match=f"reporting unit {HEFEI}"):
        load(reporting_units=[WUHU])
    with pytest.raises(DefinitionError, match="period P02"):
        load(end="2025-02-06")
    vocabularies = document["vocabularies"]
    training_only = [a for a in vocabularies["case_activities"] if a["id"] != "job_fair"]
    with pytest.raises(DefinitionError, match="case activity job_fair"):
        load(vocabularies=vocabularies | {"case_activities": training_only})
    load(name_zh="2025年安徽春风行动", reporting_units=[HEFEI])  # Wuhu stored nothing


def test_a_definition_stored_by_an_older_version_is_replaced(session: Session) -> None:
    """Upgrading: the stored copy was written before deliverables named their `source`; the
    shipped file replaces it (the orphan check reads the records, not the old copy)."""
    row = session.get(Campaign, "js-2024")
    assert row is not None
    old = dict(row.definition)
    old["deliverables"] = [
        {k: v for k, v in d.items() if k not in ("source", "document_kind")}
        for d in old["deliverables"]
    ]
    row.definition, row.definition_sha256 = old, "written-by-an-older-version"
    session.add(row)
    session.flush()
    assert load_campaigns(session) == ["js-2024"]
    assert row.definition["deliverables"][0]["source"] == "contacts"
