"""Region names beside the codes of every computed view, and the CSVs for people (lang=zh)."""

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from app.regions.service import forget_names
from tests.records_helpers import recruitment_event

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
CITY = CAMPAIGN + "/cities/{city}"
AT = {"at": "2024-02-05T12:00:00+08:00"}  # W01 and W02 have ended, W03 runs

NANJING, XUANWU, QINHUAI = "320100", "320102", "320104"
SUZHOU, GUSU = "320500", "320508"

# (city, period, values, received_at); Nanjing's W02 breaks the online + offline rule
FILINGS: list[tuple[str, str, dict[str, Any], str]] = [
    (NANJING, "W01", {"publicity_materials": 100, "fairs_total": 5}, "2024-01-26T16:00:00+08:00"),
    (
        NANJING,
        "W02",
        {"publicity_materials": 300, "fairs_total": 12, "fairs_online": 1, "fairs_offline": 1},
        "2024-02-02T17:00:00+08:00",
    ),
    (SUZHOU, "W02", {"fairs_total": 9}, "2024-02-02T17:45:30+08:00"),  # 15 min late
]


@pytest.fixture
def filed(client: TestClient, auth: Auth) -> dict[str, str]:
    admin = auth("admin")
    for city, period, values, received_at in FILINGS:
        response = client.put(
            CITY.format(city=city) + f"/tables/t1/periods/{period}",
            headers=admin,
            json={"values": values, "received_at": received_at},
        )
        assert response.status_code == 200, response.text
    # Xuanwu meets W02's 3 events; Gusu holds one, short of it
    batches = {
        NANJING: [recruitment_event(XUANWU, "2024-01-29", n) for n in range(3)],
        SUZHOU: [recruitment_event(GUSU, "2024-01-30", 0)],
    }
    for city, items in batches.items():
        response = client.post(
            CITY.format(city=city) + "/events/batch",
            headers=admin,
            json={"items": items, "received_at": "2024-02-02T12:00:00+08:00"},
        )
        assert response.status_code == 200, response.text
    return admin


def test_deltas_name_each_city(client: TestClient, filed: dict[str, str]) -> None:
    items = client.get(CAMPAIGN + "/deltas", headers=filed).json()["items"]
    assert {(d["city"], d["city_name"]) for d in items} == {
        (NANJING, "南京市"),
        (SUZHOU, "苏州市"),
    }


def test_totals_name_the_breakdown_and_the_lists(client: TestClient, filed: dict[str, str]) -> None:
    body = client.get(
        CAMPAIGN + "/totals", params={"table": "t1", "period": "W02"}, headers=filed
    ).json()
    fairs = next(i for i in body["items"] if i["indicator"] == "fairs_total")
    assert [(c["city"], c["city_name"]) for c in fairs["cities"]] == [
        (NANJING, "南京市"),
        (SUZHOU, "苏州市"),
    ]
    publicity = next(i for i in body["items"] if i["indicator"] == "publicity_materials")
    assert publicity["missing"][:2] == ["320200", "320300"]
    assert publicity["missing_names"][:2] == ["无锡市", "徐州市"]
    assert len(publicity["missing_names"]) == len(publicity["missing"]) == 12
    w03 = client.get(
        CAMPAIGN + "/totals", params={"table": "t1", "period": "W03"}, headers=filed
    ).json()
    fairs = next(i for i in w03["items"] if i["indicator"] == "fairs_total")
    assert (fairs["stale"], fairs["stale_names"]) == ([NANJING, SUZHOU], ["南京市", "苏州市"])


def test_goals_name_counties_cities_and_coverage(client: TestClient, filed: dict[str, str]) -> None:
    body = client.get(CAMPAIGN + "/goals", params=AT, headers=filed).json()
    events = body["county_events"]
    cells = {(w["county"], w["period"]): w for w in events["matrix"]}
    xuanwu = cells[(XUANWU, "W02")]
    assert (xuanwu["county_name"], xuanwu["city"], xuanwu["city_name"]) == (
        "玄武区",
        NANJING,
        "南京市",
    )
    assert xuanwu["events"] == 3 and xuanwu["met"] is True
    assert (cells[(QINHUAI, "W01")]["county_name"], cells[(QINHUAI, "W01")]["city_name"]) == (
        "秦淮区",
        "南京市",
    )
    gusu = next(s for s in events["shortfalls"] if (s["county"], s["period"]) == (GUSU, "W02"))
    assert (gusu["county_name"], gusu["city_name"], gusu["missing"]) == ("姑苏区", "苏州市", 2)
    coverage = body["postings"]["coverage"]
    assert coverage["reporting"] == [] and coverage["reporting_names"] == []
    assert coverage["missing"][0] == NANJING and coverage["missing_names"][0] == "南京市"
    assert len(coverage["missing_names"]) == 13

    one_city = client.get(CAMPAIGN + "/goals", params=AT | {"city": SUZHOU}, headers=filed).json()
    assert {w["county_name"] for w in one_city["county_events"]["matrix"]} >= {"姑苏区", "吴中区"}
    assert {w["city_name"] for w in one_city["county_events"]["matrix"]} == {"苏州市"}
    assert one_city["city_postings"]["city_name"] == "苏州市"


def test_compliance_names_items_and_the_ranking(client: TestClient, filed: dict[str, str]) -> None:
    body = client.get(CAMPAIGN + "/compliance", params=AT, headers=filed).json()
    suzhou = next(
        j
        for j in body["items"]
        if (j["city"], j["deliverable"], j["period"]) == (SUZHOU, "t1", "W02")
    )
    assert (suzhou["city_name"], suzhou["status"]) == ("苏州市", "late")
    assert body["by_city"][NANJING]["city_name"] == "南京市"
    assert body["by_city"]["321300"]["city_name"] == "宿迁市"
    assert {"late", "city_name"} <= set(body["by_city"][SUZHOU])


def test_quality_names_checks_and_warnings(client: TestClient, filed: dict[str, str]) -> None:
    body = client.get(CAMPAIGN + "/quality", headers=filed).json()
    assert {(c["city"], c["city_name"]) for c in body["fairs_vs_registry"]} == {
        (NANJING, "南京市"),
        (SUZHOU, "苏州市"),
    }
    assert [(w["city_name"], w["rule"]) for w in body["open_warnings"]] == [
        ("南京市", "t1.fairs_split")
    ]


@pytest.fixture
def region_queries(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = args[2]
        if "FROM region" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_names_are_read_once_per_process(
    client: TestClient, filed: dict[str, str], region_queries: list[str]
) -> None:
    forget_names()
    first = client.get(CAMPAIGN + "/totals", headers=filed)  # names all 13 cities
    assert first.json()["items"][0]["missing_names"][0] == "无锡市"
    assert len(region_queries) == 1
    again = client.get(CAMPAIGN + "/totals", headers=filed)
    assert again.content == first.content and len(region_queries) == 1  # from the memo
    fresh = client.get(CAMPAIGN + "/deltas", headers=filed)
    assert len(fresh.json()["items"]) == 7 and fresh.json()["items"][0]["city_name"]
    assert len(region_queries) == 1, "names already read are not read again"


def read_csv(client: TestClient, headers: dict[str, str], view: str, **params: str) -> list[Any]:
    response = client.get(f"{CAMPAIGN}/exports/{view}.csv", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_english_csvs_gain_name_columns(client: TestClient, filed: dict[str, str]) -> None:
    totals = read_csv(client, filed, "totals", table="t1", period="W02")
    assert totals[0] == [
        "period",
        "table",
        "indicator",
        "city",
        "city_name",
        "value",
        "value_period",
        "stale",
    ]
    assert ["W02", "t1", "fairs_total", SUZHOU, "苏州市", "9", "W02", "False"] in totals
    assert ["W02", "t1", "fairs_total", "total", "", "21", "W02", "False"] in totals
    compliance = read_csv(client, filed, "compliance", period="W02", **AT)
    assert compliance[0][:2] == ["city", "city_name"]
    late = next(r for r in compliance if r[:4] == [SUZHOU, "苏州市", "t1", "W02"])
    assert late[4:7] == ["2024-02-02T17:30:00+08:00", "2024-02-02T09:45:30+00:00", "late"]


def test_chinese_deltas_csv(client: TestClient, filed: dict[str, str]) -> None:
    rows = read_csv(client, filed, "deltas", lang="zh")
    assert rows[0] == [
        "市代码",
        "市",
        "表",
        "序号",
        "指标",
        "周期",
        "累计数",
        "本期增量",
        "上次填报周期",
        "跨多期",
        "减少",
        "修订版本",
    ]
    # by 序号, then cities in official code order, then periods
    assert [(r[3], r[0], r[5]) for r in rows[1:]] == [
        ("1", NANJING, "W01"),
        ("1", NANJING, "W02"),
        ("2", NANJING, "W01"),
        ("2", NANJING, "W02"),
        ("2", SUZHOU, "W02"),
        ("3", NANJING, "W02"),
        ("4", NANJING, "W02"),
    ]
    assert rows[4] == [
        NANJING,
        "南京市",
        "附件1",
        "2",
        "举办各类招聘活动（场次）",
        "W02",
        "12",
        "7",
        "W01",
        "否",
        "否",
        "1",
    ]
    assert rows[5][1] == "苏州市" and rows[5][9] == "是"  # Suzhou's first report is W02
    assert rows[1][4] == "发放宣传资料（份）"


def test_chinese_totals_compliance_and_county_weeks_csvs(
    client: TestClient, filed: dict[str, str]
) -> None:
    totals = read_csv(client, filed, "totals", table="t1", period="W03", lang="zh")
    assert totals[0] == [
        "周期",
        "表",
        "序号",
        "指标",
        "市代码",
        "市",
        "累计数",
        "数据所属周期",
        "沿用前期数据",
    ]
    assert totals[1:4] == [
        ["W03", "附件1", "1", "发放宣传资料（份）", NANJING, "南京市", "300", "W02", "是"],
        ["W03", "附件1", "1", "发放宣传资料（份）", "", "合计", "300", "W03", "否"],
        ["W03", "附件1", "2", "举办各类招聘活动（场次）", NANJING, "南京市", "12", "W02", "是"],
    ]

    compliance = read_csv(client, filed, "compliance", period="W02", lang="zh", **AT)
    assert compliance[0] == [
        "市代码",
        "市",
        "报送事项",
        "周期",
        "截止时间",
        "收到时间",
        "状态",
        "逾期时长（秒）",
        "已填指标（项）",
        "应填指标（项）",
    ]
    suzhou = [r for r in compliance[1:] if r[0] == SUZHOU]
    assert suzhou[0] == [
        SUZHOU,
        "苏州市",
        "附件1 统计表",
        "W02",
        "2024-02-02 17:30",
        "2024-02-02 17:45",
        "逾期",
        "930",
        "1",
        "18",
    ]
    assert [r[6] for r in suzhou[1:]] == ["未报", "未报"]  # T2 and the week's cases
    assert [r[0] for r in compliance[1:]] == [
        city for city in [f"32{n:02d}00" for n in range(1, 14)] for _ in range(3)
    ]

    weeks = read_csv(client, filed, "county-weeks", period="W02", lang="zh", **AT)
    assert weeks[0] == [
        "县（市、区）代码",
        "县（市、区）",
        "市代码",
        "市",
        "周期",
        "招聘活动（场次）",
        "应办招聘活动（场次）",
        "达标",
        "本周进行中",
    ]
    assert weeks[1] == [XUANWU, "玄武区", NANJING, "南京市", "W02", "3", "3", "是", "否"]
    gusu = next(r for r in weeks if r[0] == GUSU)
    assert gusu[1:] == ["姑苏区", SUZHOU, "苏州市", "W02", "1", "3", "否", "否"]
    assert {r[4] for r in weeks[1:]} == {"W02"}


def test_the_period_filter_of_every_csv(client: TestClient, filed: dict[str, str]) -> None:
    for lang in ("en", "zh"):
        deltas = read_csv(client, filed, "deltas", period="W01", lang=lang)
        period = deltas[0].index("period" if lang == "en" else "周期")
        assert {r[period] for r in deltas[1:]} == {"W01"} and len(deltas) == 3
    compliance = read_csv(client, filed, "compliance", period="W01", **AT)
    assert {r[3] for r in compliance[1:]} == {"W01"}
    weeks = read_csv(client, filed, "county-weeks", period="W01", city=SUZHOU, **AT)
    assert {r[4] for r in weeks[1:]} == {"W01"} and {r[2] for r in weeks[1:]} == {SUZHOU}
    for view in ("deltas", "totals", "compliance", "county-weeks"):
        unknown = client.get(
            f"{CAMPAIGN}/exports/{view}.csv", params={"period": "W13"}, headers=filed
        )
        assert unknown.status_code == 404, view
    bad_lang = client.get(f"{CAMPAIGN}/exports/deltas.csv", params={"lang": "fr"}, headers=filed)
    assert bad_lang.status_code == 422
