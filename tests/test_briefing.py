"""The weekly briefing (简报, SPEC 9): every figure equals the computed views' answer for the
same period and instants, in the JSON and in the Word document read back."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.test_official_docx import assert_official_format, east_asian_face, read_docx

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
NANJING, WUXI, XUZHOU, SUZHOU = "320100", "320200", "320300", "320500"
XUANWU, JIANGNING = "320102", "320115"
AT = "2024-02-26T09:00:00+08:00"  # W05 (02-17..02-23, due 02-23 17:30) has ended
ON_TIME, LATE = "2024-02-23T12:00:00+08:00", "2024-02-24T10:00:00+08:00"
# (city, table, period, values, received_at)
SEASON: list[tuple[str, str, str, dict[str, int], str]] = [
    (XUZHOU, "t1", "W03", {"postings_total": 5000, "fairs_total": 30}, "2024-02-09T12:00:00+08:00"),
    (
        NANJING,
        "t1",
        "W04",
        {"postings_total": 10000, "fairs_total": 50, "employment_intents": 800},
        "2024-02-18T12:00:00+08:00",
    ),
    (WUXI, "t1", "W04", {"postings_total": 8000, "fairs_total": 40}, "2024-02-18T12:00:00+08:00"),
    (
        NANJING,
        "t1",
        "W05",
        {
            "postings_total": 16000,
            "fairs_total": 80,
            "employment_intents": 1200,
            "workers_delivered": 500,
        },
        ON_TIME,
    ),
    (WUXI, "t1", "W05", {"postings_total": 9000, "fairs_total": 45}, LATE),
    (SUZHOU, "t1", "W05", {"postings_total": 20000, "fairs_total": 60}, ON_TIME),
    (NANJING, "t2", "W05", {"p2p_passengers_total": 120}, ON_TIME),
    (WUXI, "t2", "W04", {"p2p_passengers_total": 50}, "2024-02-18T12:00:00+08:00"),
]
KEY_INDICATORS = [
    ("t1", "postings_total"),
    ("t1", "fairs_total"),
    ("t1", "employment_intents"),
    ("t1", "workers_delivered"),
    ("t2", "p2p_passengers_total"),
]


@pytest.fixture
def filed(client: TestClient, auth: Auth) -> dict[str, str]:
    """A few weeks of four cities, cases and recruitment events, loaded by an administrator."""
    admin = auth("admin")
    for city, table, period, values, received_at in SEASON:
        response = client.put(
            f"{CAMPAIGN}/cities/{city}/tables/{table}/periods/{period}",
            json={"values": values, "received_at": received_at},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    cases: list[tuple[str, str, bool, str]] = [
        (NANJING, "直播带岗进社区", False, "2024-02-20T10:00:00+08:00"),
        (NANJING, "返乡人员专场招聘", False, "2024-02-21T10:00:00+08:00"),
        (NANJING, "企业欠薪舆情", True, "2024-02-22T10:00:00+08:00"),
        *((SUZHOU, f"苏州案例{n}", False, f"2024-02-2{n}T10:00:00+08:00") for n in (1, 2, 3)),
    ]
    for city, title, urgent, received_at in cases:
        response = client.post(
            f"{CAMPAIGN}/cities/{city}/cases",
            json={
                "period": "W05",
                "title": title,
                "text": f"{title}：第一段。\n第二段。",
                "activity": "jobs_nearby",
                "urgent": urgent,
                "received_at": received_at,
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
    events = [(XUANWU, f"2024-02-{day}") for day in (17, 19, 21)] + [(JIANGNING, "2024-02-20")]
    response = client.post(
        f"{CAMPAIGN}/cities/{NANJING}/events/batch",
        json={
            "items": [
                {
                    "external_id": f"NJ-{n}",
                    "county": county,
                    "name": "招聘会",
                    "start_date": day,
                    "end_date": day,
                    "mode": "offline",
                }
                for n, (county, day) in enumerate(events)
            ]
        },
        headers=admin,
    )
    assert response.status_code == 200, response.text
    return admin


def get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = client.get(CAMPAIGN + path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_briefing_equals_the_computed_views(
    client: TestClient, filed: dict[str, str], auth: Auth
) -> None:
    reader = auth("reporter", XUZHOU)  # everyone sees the computed views
    briefing = get(client, reader, "/briefing", period="W05", at=AT)
    assert list(briefing)[-5:] == [
        "overall",
        "cities",
        "submissions",
        "county_events",
        "highlights",
    ]
    assert [briefing[s]["title"] for s in list(briefing)[-5:]] == [
        "总体进展",
        "各市情况",
        "报送情况",
        "县区招聘活动",
        "亮点案例",
    ]
    assert briefing["period_label"] == "2月17日—2月23日"

    # 总体进展: /totals of the period and of the one before, /deltas, /goals at the period's end
    now = {
        (i["table"], i["indicator"]): i
        for i in get(client, reader, "/totals", period="W05")["items"]
    }
    before = {
        (i["table"], i["indicator"]): i
        for i in get(client, reader, "/totals", period="W04")["items"]
    }
    deltas = get(client, reader, "/deltas")["items"]
    overall = briefing["overall"]
    assert [(i["table"], i["indicator"]) for i in overall["indicators"]] == KEY_INDICATORS
    for item in overall["indicators"]:
        key = (item["table"], item["indicator"])
        assert item["cumulative"] == now[key]["total"]
        assert item["previous"] == before[key]["total"]
        week = [
            d["delta"]
            for d in deltas
            if (d["table"], d["indicator"]) == key and d["period"] == "W05"
        ]
        assert (
            item["increase"] == (now[key]["total"] or 0) - (before[key]["total"] or 0) == sum(week)
        )
        assert (item["stale"], item["missing"]) == (
            len(now[key]["stale"]),
            len(now[key]["missing"]),
        )
    postings = overall["indicators"][0]
    assert (postings["cumulative"], postings["increase"]) == (50000, 50000 - 23000)

    assert overall["progress_at"] == "2024-02-23T23:59:59+08:00"
    goals = get(client, reader, "/goals", at=overall["progress_at"])["postings"]
    progress = overall["postings"]
    for field in (
        "target",
        "actual",
        "percent",
        "expected_by_at",
        "on_track",
        "basis_period",
        "weekly_rate",
        "projected_final",
        "projected_reach_date",
        "reached_on",
    ):
        assert progress[field] == goals[field], field
    assert progress["caveat"] == goals["coverage"]["caveat"]
    assert [progress[k] for k in ("reporting", "stale", "missing")] == [
        len(goals["coverage"][k]) for k in ("reporting", "stale", "missing")
    ]
    # 时序进度 at the end of W05: 30 of the campaign's 75 days
    assert overall["time_progress"] == {
        "day": "2024-02-23",
        "elapsed_days": 30,
        "total_days": 75,
        "percent": 40.0,
    }
    assert goals["expected_by_at"] == round(goals["target"] * 30 / 75)

    # 各市情况: ranked as /goals?city= ranks, increases as /deltas
    rows = {row["city"]: row for row in briefing["cities"]["rows"]}
    assert len(rows) == 13
    for city in (NANJING, WUXI, XUZHOU, SUZHOU, "321300"):
        mine = get(client, reader, "/goals", at=overall["progress_at"], city=city)["city_postings"]
        row = rows[city]
        assert (row["postings"], row["rank"], row["share_percent"]) == (
            mine["actual"],
            mine["rank"],
            mine["share_percent"],
        )
    assert [r["city"] for r in briefing["cities"]["rows"][:4]] == [SUZHOU, NANJING, WUXI, XUZHOU]
    assert rows[XUZHOU]["stale"] and rows[XUZHOU]["increase"] is None
    by_city = {
        d["city"]: d
        for d in deltas
        if (d["table"], d["indicator"], d["period"]) == ("t1", "postings_total", "W05")
    }
    for city, delta in by_city.items():
        assert (rows[city]["increase"], rows[city]["gap"]) == (delta["delta"], delta["gap"])
    assert briefing["cities"]["by_increase"] == [SUZHOU, NANJING, WUXI]
    assert rows[SUZHOU]["gap"] and rows[SUZHOU]["increase_since"] is None

    # 报送情况: /compliance judged at `at`, the items due in W05
    compliance = get(client, reader, "/compliance", at=AT)["items"]
    for item in briefing["submissions"]["deliverables"]:
        judged = [
            j
            for j in compliance
            if j["deliverable"] == item["deliverable"] and j["period"] == item["period"]
        ]
        for status in ("on_time", "missing", "not_due"):
            assert [c["city"] for c in item[status]] == [
                j["city"] for j in judged if j["status"] == status
            ]
        assert [(c["city"], c["late_by_seconds"]) for c in item["late"]] == [
            (j["city"], j["late_by_seconds"]) for j in judged if j["status"] == "late"
        ]
    t1 = next(d for d in briefing["submissions"]["deliverables"] if d["deliverable"] == "t1")
    assert t1["period"] == "W05" and [c["city"] for c in t1["late"]] == [WUXI]
    assert t1["late"][0]["late_by_seconds"] == 16 * 3600 + 30 * 60
    assert XUZHOU in [c["city"] for c in t1["missing"]]
    # on-time rates: the items due up to W05 (its weeks, and the contacts due in W01)
    for city in (NANJING, WUXI, XUZHOU):
        due = [
            j["status"]
            for j in compliance
            if j["city"] == city
            and j["status"] != "not_due"
            and (j["period"] or "W01") <= "W05"
            and j["deliverable"] not in ("stage_report", "final_summary")
        ]
        row = rows[city]
        assert [row["due"], row["on_time"], row["late"], row["missing"]] == [
            len(due),
            due.count("on_time"),
            due.count("late"),
            due.count("missing"),
        ]
    # Xuzhou: its W03 T1 on time, of the contacts and 5 weeks × (t1, t2, cases)
    assert rows[WUXI]["late"] == 1 and rows[XUZHOU]["on_time_percent"] == 6.25

    # 县区招聘活动: /goals?period=W05 at `at`
    county_goal = get(client, reader, "/goals", period="W05", at=AT)["county_events"]
    section = briefing["county_events"]
    assert not section["in_progress"] and section["required"] == 3
    assert section["share_met"] == county_goal["share_met"]
    assert (section["counties"], section["met"]) == (
        county_goal["county_weeks"],
        county_goal["met"],
    )
    short = {
        (c["county"], c["events"], c["missing"]) for g in section["short"] for c in g["counties"]
    }
    assert short == {(s["county"], s["events"], s["missing"]) for s in county_goal["shortfalls"]}
    nanjing = next(g for g in section["short"] if g["city"] == NANJING)
    assert (JIANGNING, 1, 2) in {
        (c["county"], c["events"], c["missing"]) for c in nanjing["counties"]
    }
    assert XUANWU not in {c["county"] for c in nanjing["counties"]}  # 3 events: met

    # 亮点案例: no adoption yet, so the latest non-urgent cases, two per city
    highlights = briefing["highlights"]
    assert highlights["selection"] == "latest_per_city" and highlights["per_city"] == 2
    assert [(c["city"], c["title"]) for c in highlights["cases"]] == [
        (NANJING, "返乡人员专场招聘"),
        (NANJING, "直播带岗进社区"),
        (SUZHOU, "苏州案例3"),
        (SUZHOU, "苏州案例2"),
    ]


def test_as_of_and_at_move_the_briefing_like_the_views(
    client: TestClient, filed: dict[str, str]
) -> None:
    """Before Wuxi's late W05 arrived (as_of), and judged before the due instant (at)."""
    as_of = "2024-02-23T20:00:00+08:00"
    briefing = get(client, filed, "/briefing", period="W05", at=AT, as_of=as_of)
    totals = get(client, filed, "/totals", period="W05", as_of=as_of)["items"]
    postings = next(i for i in totals if i["indicator"] == "postings_total")
    assert (
        briefing["overall"]["indicators"][0]["cumulative"]
        == postings["total"]
        == 16000 + 8000 + 5000 + 20000
    )
    t1 = next(d for d in briefing["submissions"]["deliverables"] if d["deliverable"] == "t1")
    assert WUXI in [c["city"] for c in t1["missing"]]

    early = get(client, filed, "/briefing", period="W05", at="2024-02-22T09:00:00+08:00")
    assert early["overall"]["progress_at"] == "2024-02-22T09:00:00+08:00"
    assert early["county_events"]["in_progress"] and early["county_events"]["short"] == []
    goals = get(client, filed, "/goals", at="2024-02-22T09:00:00+08:00")["postings"]
    assert early["overall"]["postings"]["expected_by_at"] == goals["expected_by_at"]
    t1 = next(d for d in early["submissions"]["deliverables"] if d["deliverable"] == "t1")
    assert len(t1["not_due"]) == 13  # nothing received by then counts yet

    assert get(client, filed, "/briefing", at=AT)["period"] == "W06"  # the latest started
    unknown = {"period": "W13"}
    refused = client.get(CAMPAIGN + "/briefing", params=unknown, headers=filed)
    as_goals = client.get(CAMPAIGN + "/goals", params=unknown, headers=filed)
    assert refused.status_code == as_goals.status_code == 404
    assert client.get(CAMPAIGN + "/briefing").status_code == 401


def _number_after(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return float(found.group(1))


def test_the_briefing_document_reads_back_the_same_numbers(
    client: TestClient, filed: dict[str, str], auth: Auth
) -> None:
    viewer = auth("viewer")
    response = client.get(
        CAMPAIGN + "/exports/briefing.docx", params={"period": "W05", "at": AT}, headers=viewer
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="js-2024-briefing-W05.docx"'
    )
    document = read_docx(response.content)
    assert_official_format(document, "2024年春风行动工作简报")
    texts = [p.text for p in document.paragraphs]
    assert texts[1] == "（2月17日—2月23日）"
    headings = ["一、总体进展", "二、各市情况", "三、报送情况", "四、县区招聘活动", "五、亮点案例"]
    positions = [texts.index(h) for h in headings]
    assert positions == sorted(positions)
    assert {east_asian_face(r) for r in document.paragraphs[positions[0]].runs} == {"黑体"}

    totals = get(client, viewer, "/totals", period="W05")["items"]
    before = get(client, viewer, "/totals", period="W04")["items"]
    goals = get(client, viewer, "/goals", at="2024-02-23T23:59:59+08:00")["postings"]
    overall = "\n".join(texts[positions[0] : positions[1]])
    for now, then in zip(totals, before, strict=True):
        if (now["table"], now["indicator"]) not in KEY_INDICATORS:
            continue
        name, unit = now["name_zh"], now["unit_zh"]
        assert _number_after(f"{name}(\\d+){unit}", overall) == now["total"]
        increase = _number_after(f"{name}\\d+{unit}，本周新增(\\d+){unit}", overall)
        assert increase == now["total"] - (then["total"] or 0)
    assert _number_after(r"筹集发布岗位信息数(\d+)个，完成", overall) == goals["actual"]
    assert _number_after(r"目标任务的([\d.]+)%", overall) == goals["percent"]
    assert _number_after(r"时序进度([\d.]+)%", overall) == 40.0
    assert _number_after(r"按时序应完成(\d+)个", overall) == goals["expected_by_at"]
    assert _number_after(r"每周新增(\d+)个", overall) == goals["weekly_rate"]

    # the ranking table: the cities in the order and with the figures of /totals
    table = document.tables[0]
    header = [cell.text for cell in table.rows[0].cells]
    assert header[:3] == ["排名", "设区市", "筹集发布岗位信息数（个）"]
    body = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    postings = next(i for i in totals if i["indicator"] == "postings_total")
    ranked = sorted(postings["cities"], key=lambda c: -c["value"])
    assert [row[1] for row in body[: len(ranked)]] == [c["city_name"] for c in ranked]
    assert [float(row[2]) for row in body[: len(ranked)]] == [c["value"] for c in ranked]
    assert [row[0] for row in body[: len(ranked)]] == ["1", "2", "3", "4"]
    assert len(body) == 13 and body[-1][2] == "未报送"

    submissions = "\n".join(texts[positions[2] : positions[3]])
    assert "无锡市逾期16小时30分钟" in submissions
    counties = "\n".join(texts[positions[3] : positions[4]])
    assert "江宁区（1场次，差2场次）" in counties
    cases = texts[positions[4] :]
    assert "（一）南京市：返乡人员专场招聘" in cases
    assert not any("企业欠薪舆情" in text for text in cases)
