"""Goals, compliance and quality over the API, from records loaded at known receipt times."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.records_helpers import recruitment_event

Auth = Callable[..., dict[str, str]]
CAMPAIGN = "/api/v1/campaigns/js-2024"
CITY = CAMPAIGN + "/cities/{city}"


def load(
    client: TestClient, admin: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> None:
    response = client.request(method, path, json=body, headers=admin)
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def records(client: TestClient, auth: Auth) -> dict[str, str]:
    admin = auth("admin")
    nanjing = CITY.format(city="320100")
    # contacts on time for Nanjing, late (by 1 s) for Wuxi
    load(
        client,
        admin,
        "PUT",
        nanjing + "/contacts",
        {
            "name": "王敏",
            "phone": "025-83201234",
            "email": "jiuye@nanjing.gov.cn",
            "received_at": "2024-01-26T17:30:00+08:00",
        },
    )
    load(
        client,
        admin,
        "PUT",
        CITY.format(city="320200") + "/contacts",
        {
            "name": "李强",
            "phone": "13812345678",
            "email": "a@wuxi.gov.cn",
            "received_at": "2024-01-26T17:30:01+08:00",
        },
    )
    # T1 W04 for Nanjing on the Sunday make-up day, before the shifted due time
    load(
        client,
        admin,
        "PUT",
        nanjing + "/tables/t1/periods/W04",
        {
            "values": {"fairs_total": 6, "postings_total": 120_000},
            "received_at": "2024-02-18T17:00:00+08:00",
        },
    )
    load(
        client,
        admin,
        "PUT",
        nanjing + "/tables/t1/periods/W03",
        {
            "values": {"fairs_total": 2, "postings_total": 60_000},
            "received_at": "2024-02-09T18:30:00+08:00",
        },
    )
    # three cases for W03: the third arrives after the due time
    for hour in ("10:00", "12:00", "18:00"):
        load(
            client,
            admin,
            "POST",
            nanjing + "/cases",
            {
                "period": "W03",
                "title": f"案例 {hour}",
                "text": "招聘活动",
                "activity": "visit",
                "received_at": f"2024-02-09T{hour}:00+08:00",
            },
        )
    load(
        client,
        admin,
        "POST",
        nanjing + "/documents",
        {
            "kind": "stage_report",
            "title": "阶段性进展",
            "text": "……",
            "received_at": "2024-02-28T09:00:00+08:00",
        },
    )
    # events: Xuanwu (320102) gets 3 in W04, 1 in W01; Qinhuai (320104) 2 in W04
    items = [recruitment_event("320102", "2024-02-12", n) for n in range(3)]
    items += [recruitment_event("320102", "2024-01-25", 9, "online")]
    items += [recruitment_event("320104", "2024-02-14", n) for n in range(2)]
    load(
        client,
        admin,
        "POST",
        nanjing + "/events/batch",
        {"items": items, "received_at": "2024-02-16T12:00:00+08:00"},
    )
    return admin


def test_compliance_statuses(client: TestClient, records: dict[str, str], auth: Auth) -> None:
    response = client.get(
        CAMPAIGN + "/compliance",
        headers=auth("reporter", "320300"),
        params={"at": "2024-02-20T00:00:00+08:00"},
    )
    assert response.status_code == 200
    body = response.json()
    items = {(i["city"], i["deliverable"], i["period"]): i for i in body["items"]}
    assert items[("320100", "contacts", None)]["status"] == "on_time"
    late = items[("320200", "contacts", None)]
    assert (late["status"], late["late_by_seconds"]) == ("late", 1)
    assert items[("320300", "contacts", None)]["status"] == "missing"
    assert items[("320100", "t1", "W04")]["status"] == "on_time"
    assert items[("320100", "t1", "W04")]["due"] == "2024-02-18T17:30:00+08:00"
    assert (
        items[("320100", "t1", "W03")]["status"],
        items[("320100", "t1", "W03")]["late_by_seconds"],
    ) == ("late", 3600)
    cases = items[("320100", "cases", "W03")]
    assert cases["status"] == "late" and cases["received_at"].startswith("2024-02-09T10:00")
    assert items[("320100", "t2", "W04")]["status"] == "missing"
    assert items[("320100", "stage_report", None)]["status"] == "not_due"
    assert items[("320100", "t1", "W05")]["status"] == "not_due"
    assert body["by_city"]["320100"]["on_time"] >= 2
    assert sum(body["by_deliverable"]["contacts"].values()) == 13

    later = client.get(
        CAMPAIGN + "/compliance",
        headers=records,
        params={"at": "2024-03-01T00:00:00+08:00", "city": "320100", "period": "W03"},
    ).json()
    assert {(i["deliverable"], i["status"]) for i in later["items"]} == {
        ("t1", "late"),
        ("t2", "missing"),
        ("cases", "late"),
    }


def test_compliance_as_of_ignores_later_receipts(
    client: TestClient, records: dict[str, str]
) -> None:
    body = client.get(
        CAMPAIGN + "/compliance",
        headers=records,
        params={
            "at": "2024-02-20T00:00:00+08:00",
            "as_of": "2024-02-01T00:00:00+08:00",
            "city": "320100",
        },
    ).json()
    statuses = {(i["deliverable"], i["period"]): i["status"] for i in body["items"]}
    assert statuses[("contacts", None)] == "on_time"
    assert statuses[("t1", "W04")] == "missing"


def test_goals_postings_and_county_weeks(client: TestClient, records: dict[str, str]) -> None:
    response = client.get(
        CAMPAIGN + "/goals",
        headers=records,
        params={"at": "2024-02-20T12:00:00+08:00", "city": "320100"},
    )
    assert response.status_code == 200
    goals = response.json()
    postings = client.get(
        CAMPAIGN + "/goals", headers=records, params={"at": "2024-02-20T12:00:00+08:00"}
    ).json()["postings"]
    assert postings["target"] == 1_000_000 and postings["actual"] == 120_000
    # 120,000 gained over W02..W04 (the last three periods), 21 days: 40,000 a week
    assert postings["basis_period"] == "W04" and postings["weekly_rate"] == 40_000
    assert postings["on_track"] is False
    weeks = {(w["county"], w["period"]): w for w in goals["county_events"]["matrix"]}
    assert (weeks[("320102", "W04")]["events"], weeks[("320102", "W04")]["met"]) == (3, True)
    assert (weeks[("320102", "W01")]["required"], weeks[("320102", "W01")]["met"]) == (1, True)
    assert (weeks[("320104", "W04")]["events"], weeks[("320104", "W04")]["met"]) == (2, False)
    assert {w["period"] for w in goals["county_events"]["matrix"]} == {
        "W01",
        "W02",
        "W03",
        "W04",
        "W05",
    }
    assert goals["county_events"]["county_weeks"] == 11 * 5
    shortfall = next(
        s
        for s in goals["county_events"]["shortfalls"]
        if (s["county"], s["period"]) == ("320104", "W04")
    )
    assert shortfall["missing"] == 1


def test_a_city_is_not_compared_with_the_province_target(client: TestClient, auth: Auth) -> None:
    """Issue 12: `?city=` showed the province's target, pace and projection as if they were
    the city's. A city gets its figure, weekly increases, share of the province and rank."""
    admin = auth("admin")
    filings = [
        ("320100", "W02", 40_000),
        ("320100", "W04", 100_000),  # W03 skipped: the W04 increase spans two weeks
        ("320200", "W04", 150_000),
        ("320300", "W03", 50_000),  # carried forward into W04
        ("320400", "W04", 100_000),
    ]
    for city, period, postings in filings:
        response = client.put(
            CITY.format(city=city) + f"/tables/t1/periods/{period}",
            headers=admin,
            json={"values": {"postings_total": postings}},
        )
        assert response.status_code == 200, response.text
    at = {"at": "2024-02-20T12:00:00+08:00"}
    province = client.get(CAMPAIGN + "/goals", headers=admin, params=at).json()
    assert province["postings"]["actual"] == 400_000 and province["city_postings"] is None

    nanjing = auth("reporter", "320100")
    answer = client.get(CAMPAIGN + "/goals", headers=nanjing, params=at | {"city": "320100"})
    assert answer.status_code == 200
    goals = answer.json()
    assert goals["postings"] is None  # no target, pace or projection for one city
    mine = goals["city_postings"]
    assert mine["city"] == "320100" and mine["basis_period"] == "W04"
    assert (mine["actual"], mine["reported_period"]) == (100_000, "W04")
    assert mine["share_percent"] == 25.0
    assert (mine["rank"], mine["ranked_cities"]) == (2, 4)  # shared with 320400
    assert mine["increases"] == [
        {"period": "W02", "cumulative": 40_000, "increase": 40_000, "since": None, "gap": True},
        {"period": "W04", "cumulative": 100_000, "increase": 60_000, "since": "W02", "gap": True},
    ]
    deltas = client.get(
        CAMPAIGN + "/deltas",
        headers=nanjing,
        params={"city": "320100", "table": "t1", "indicator": "postings_total"},
    ).json()
    assert [i["increase"] for i in mine["increases"]] == [d["delta"] for d in deltas["items"]]

    carried = client.get(CAMPAIGN + "/goals", headers=admin, params=at | {"city": "320300"}).json()[
        "city_postings"
    ]
    assert (carried["actual"], carried["reported_period"], carried["rank"]) == (50_000, "W03", 4)
    silent = client.get(CAMPAIGN + "/goals", headers=admin, params=at | {"city": "320500"}).json()[
        "city_postings"
    ]
    assert silent["actual"] is None and silent["rank"] is None and silent["increases"] == []


def post_w06_case(
    client: TestClient, admin: dict[str, str], *, urgent: bool, received_at: str
) -> None:
    """A highlight case of Nanjing for W06, received at `received_at`."""
    load(
        client,
        admin,
        "POST",
        CITY.format(city="320100") + "/cases",
        {
            "period": "W06",
            "title": f"W06 案例 {received_at}",
            "text": "招聘活动",
            "activity": "visit",
            "urgent": urgent,
            "received_at": received_at,
        },
    )


def test_urgent_reports_do_not_count_as_weekly_cases(client: TestClient, auth: Auth) -> None:
    """Issue 12: 2 normal cases + 1 urgent made W06 `on_time`."""
    admin = auth("admin")
    for n, urgent in enumerate((False, False, True)):
        post_w06_case(client, admin, urgent=urgent, received_at=f"2024-02-29T1{n}:00:00+08:00")
    body = client.get(
        CAMPAIGN + "/compliance",
        headers=admin,
        params={"at": "2024-03-04T12:00:00+08:00", "city": "320100", "period": "W06"},
    ).json()
    cases = next(i for i in body["items"] if i["deliverable"] == "cases")
    assert cases["status"] == "missing"


def test_weekly_cases_count_as_received_at_the_arrival_of_the_third(
    client: TestClient, auth: Auth
) -> None:
    """In arrival order, not the order they were sent in; urgent reports apart; as of an
    instant, only the cases that had arrived by then."""
    admin = auth("admin")
    for hour, urgent in ((10, False), (9, True), (12, False), (11, False), (13, False)):
        post_w06_case(
            client, admin, urgent=urgent, received_at=f"2024-02-28T{hour:02d}:00:00+08:00"
        )

    def cases_judged(**params: str) -> dict[str, Any]:
        body = client.get(
            CAMPAIGN + "/compliance",
            headers=admin,
            params={"at": "2024-03-04T12:00:00+08:00", "city": "320100", "period": "W06"} | params,
        ).json()
        found: dict[str, Any] = next(i for i in body["items"] if i["deliverable"] == "cases")
        return found

    now = cases_judged()
    assert now["status"] == "on_time"
    assert datetime.fromisoformat(now["received_at"]) == datetime.fromisoformat(
        "2024-02-28T12:00:00+08:00"
    )
    assert cases_judged(as_of="2024-02-28T11:30:00+08:00")["status"] == "missing"


def test_goals_state_their_coverage(client: TestClient, auth: Auth) -> None:
    """Issue 12: 2 of 13 cities reporting produced a reach date with no caveat."""
    admin = auth("admin")
    for city in ("320100", "320200"):
        load(
            client,
            admin,
            "PUT",
            CITY.format(city=city) + "/tables/t1/periods/W03",
            {"values": {"postings_total": 50_000}},
        )
    postings = client.get(
        CAMPAIGN + "/goals", headers=admin, params={"at": "2024-02-10T12:00:00+08:00"}
    ).json()["postings"]
    coverage = postings["coverage"]
    assert coverage["cities"] == 13 and coverage["reporting"] == ["320100", "320200"]
    assert len(coverage["missing"]) == 11 and coverage["stale"] == []
    assert coverage["complete"] is False and "2/13" in coverage["caveat"]


def test_compliance_shows_how_complete_each_table_is(client: TestClient, auth: Auth) -> None:
    """Issue 12: a T1 with 4 of 18 indicators counted as received on time without a word."""
    admin = auth("admin")
    load(
        client,
        admin,
        "PUT",
        CITY.format(city="320100") + "/tables/t1/periods/W02",
        {
            "values": {
                "fairs_total": 3,
                "fairs_online": 1,
                "fairs_offline": 2,
                "postings_total": 900,
            },
            "received_at": "2024-02-02T10:00:00+08:00",
        },
    )
    params = {"at": "2024-02-05T12:00:00+08:00", "city": "320100", "period": "W02"}
    for as_of in (None, "2024-02-03T00:00:00+08:00"):
        query = params | ({"as_of": as_of} if as_of else {})
        items = client.get(CAMPAIGN + "/compliance", headers=admin, params=query).json()["items"]
        t1 = next(i for i in items if i["deliverable"] == "t1")
        assert t1["status"] == "on_time"
        assert (t1["indicators_reported"], t1["indicators_expected"]) == (4, 18)
        t2 = next(i for i in items if i["deliverable"] == "t2")
        assert t2["indicators_reported"] is None  # nothing received


def test_a_week_in_progress_is_not_judged(client: TestClient, records: dict[str, str]) -> None:
    """Issue 12: at 2024-02-26 W06 (02-24..03-01) counted every county 0/3 "not met"."""
    goals = client.get(
        CAMPAIGN + "/goals",
        headers=records,
        params={"at": "2024-02-26T12:00:00+08:00", "city": "320100"},
    ).json()["county_events"]
    w06 = [w for w in goals["matrix"] if w["period"] == "W06"]
    assert len(w06) == 11 and all(w["in_progress"] for w in w06)
    assert not any(w["in_progress"] for w in goals["matrix"] if w["period"] != "W06")
    assert goals["in_progress"] == 11
    assert all(s["period"] != "W06" for s in goals["shortfalls"])
    ended = [w for w in goals["matrix"] if not w["in_progress"]]
    met = sum(w["met"] for w in ended)
    assert goals["met"] == met
    assert goals["share_met"] == round(100 * met / len(ended), 2)


def test_goals_as_of_counts_events_as_they_stood(
    client: TestClient, records: dict[str, str]
) -> None:
    nanjing = CITY.format(city="320100")
    moved = recruitment_event("320102", "2024-02-12", 0) | {"county": "320104"}
    load(
        client,
        records,
        "PUT",
        nanjing + "/events/320102-2024-02-12-0",
        {k: v for k, v in moved.items() if k != "external_id"}
        | {"received_at": "2024-02-17T12:00:00+08:00"},
    )
    params = {"at": "2024-02-20T12:00:00+08:00", "city": "320100", "period": "W04"}
    now = client.get(CAMPAIGN + "/goals", headers=records, params=params).json()
    then = client.get(
        CAMPAIGN + "/goals", headers=records, params=params | {"as_of": "2024-02-16T23:00:00+08:00"}
    ).json()
    count = {(w["county"]): w["events"] for w in now["county_events"]["matrix"]}
    count_then = {(w["county"]): w["events"] for w in then["county_events"]["matrix"]}
    assert (count["320102"], count["320104"]) == (2, 3)
    assert (count_then["320102"], count_then["320104"]) == (3, 2)


def test_quality_compares_a_delta_over_a_gap_with_the_events_of_the_same_span(
    client: TestClient, auth: Auth
) -> None:
    """Issue 12: a W04 delta after a skipped W03 covers W03+W04, and was compared with
    W04's registry events only."""
    admin = auth("admin")
    wuxi = CITY.format(city="320200")
    for period, fairs in (("W02", 1), ("W04", 6)):
        load(
            client,
            admin,
            "PUT",
            f"{wuxi}/tables/t1/periods/{period}",
            {"values": {"fairs_total": fairs}},
        )
    days = ["2024-02-05", "2024-02-06", "2024-02-13", "2024-02-14", "2024-02-15"]  # W03, W04
    load(
        client,
        admin,
        "POST",
        wuxi + "/events/batch",
        {"items": [recruitment_event("320205", day, n) for n, day in enumerate(days)]},
    )
    body = client.get(CAMPAIGN + "/quality", headers=admin, params={"city": "320200"}).json()
    checks = {c["period"]: c for c in body["fairs_vs_registry"]}
    assert checks["W04"]["covers"] == ["W03", "W04"]
    assert (checks["W04"]["fairs_delta"], checks["W04"]["events_registered"]) == (5, 5)
    assert checks["W04"]["difference"] == 0
    assert checks["W03"]["fairs_delta"] is None and checks["W03"]["covers"] == ["W03"]


def test_quality_cross_checks_and_open_warnings(
    client: TestClient, records: dict[str, str]
) -> None:
    nanjing = CITY.format(city="320100")
    load(
        client,
        records,
        "PUT",
        nanjing + "/tables/t1/periods/W05",
        {"values": {"fairs_total": 5, "fairs_online": 1, "fairs_offline": 1}},
    )
    body = client.get(CAMPAIGN + "/quality", headers=records, params={"city": "320100"}).json()
    checks = {c["period"]: c for c in body["fairs_vs_registry"]}
    assert checks["W04"] == {
        "city": "320100",
        "city_name": "南京市",
        "period": "W04",
        "fairs_delta": 4,
        "covers": ["W04"],
        "events_registered": 5,
        "difference": -1,
    }
    assert checks["W01"]["fairs_delta"] is None and checks["W01"]["events_registered"] == 1
    rules = {(w["period"], w["rule"]) for w in body["open_warnings"]}
    assert rules == {("W05", "decrease"), ("W05", "t1.fairs_split")}
    assert all(
        w["revisions_url"].endswith("/tables/t1/periods/W05/revisions")
        for w in body["open_warnings"]
    )


def test_the_tally_follows_every_kind_of_event_edit(
    client: TestClient, records: dict[str, str]
) -> None:
    """Goal tracking reads the tally kept by the writes; counting the registry itself (what
    `as_of` does) must give the same answer after events move county, week and mode."""
    nanjing = CITY.format(city="320100")
    edits = [
        recruitment_event("320102", "2024-02-12", 1) | {"county": "320104"},  # another county
        recruitment_event("320102", "2024-02-20", 2)
        | {"external_id": "320102-2024-02-12-2"},  # moved to another week
        recruitment_event("320102", "2024-01-25", 9, "offline"),  # online → offline
        recruitment_event("320105", "2024-02-21", 7, "online"),  # new
    ]
    load(client, records, "POST", nanjing + "/events/batch", {"items": edits})
    params = {"at": "2024-03-01T12:00:00+08:00"}
    tally = client.get(CAMPAIGN + "/goals", headers=records, params=params).json()
    registry = client.get(
        CAMPAIGN + "/goals", headers=records, params=params | {"as_of": "2030-01-01T00:00:00Z"}
    ).json()
    assert tally["county_events"] == registry["county_events"]
    weeks = {(w["county"], w["period"]): w["events"] for w in tally["county_events"]["matrix"]}
    assert (weeks[("320102", "W04")], weeks[("320104", "W04")]) == (1, 3)
    assert (weeks[("320102", "W05")], weeks[("320105", "W05")]) == (1, 1)
    assert weeks[("320102", "W01")] == 1  # the mode changed, the count did not
    quality = client.get(CAMPAIGN + "/quality", headers=records).json()
    quality_then = client.get(
        CAMPAIGN + "/quality", headers=records, params={"as_of": "2030-01-01T00:00:00Z"}
    ).json()
    assert quality["fairs_vs_registry"] == quality_then["fairs_vs_registry"]
