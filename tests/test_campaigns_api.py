"""Campaigns as data: definition, periods, catalogue, deadlines and admin overrides."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.test_calendar import SPEC_PERIODS

Auth = Callable[..., dict[str, str]]


def test_campaign_list_and_definition(client: TestClient) -> None:
    listed = client.get("/api/v1/campaigns").json()
    assert [c["id"] for c in listed] == ["js-2024"]
    assert listed[0]["periods"] == 12 and listed[0]["reporting_units"] == 13
    campaign = client.get("/api/v1/campaigns/js-2024").json()
    assert campaign["start"] == "2024-01-25" and campaign["end"] == "2024-04-08"
    assert campaign["timezone"] == "Asia/Shanghai"
    assert campaign["close_of_business"] == "17:30"


def test_periods_endpoint_matches_spec_exactly(client: TestClient) -> None:
    periods = client.get("/api/v1/campaigns/js-2024/periods").json()
    assert [(p["id"], p["start"], p["end"], p["due"]) for p in periods] == [
        (pid, f"{start}", f"{end}", due) for pid, start, end, due in SPEC_PERIODS
    ]


def test_table_catalogue_has_labels_units_and_parents(client: TestClient) -> None:
    t2 = client.get("/api/v1/campaigns/js-2024/tables/t2").json()
    assert t2["attachment"] == "附件2" and len(t2["indicators"]) == 20
    last = t2["indicators"][-1]
    assert last == {
        "seq": 20,
        "key": "p2p_passengers_sx_qh",
        "name_zh": "其中：陕西、青海务工人员",
        "name_en": "of which: workers from Shaanxi and Qinghai",
        "unit_zh": "人",
        "unit_en": "people",
        "type": "integer",
        "decimals": 0,
        "parent": "p2p_passengers_total",
        "note_zh": None,
    }
    assert [r["id"] for r in t2["rules"]] == ["t2.passengers_sum"]


def test_unknown_campaign_and_table_are_404_problems(client: TestClient) -> None:
    for path in ("/api/v1/campaigns/js-1999/periods", "/api/v1/campaigns/js-2024/tables/t9"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404


def test_only_an_admin_overrides_a_due_time(client: TestClient, auth: Auth) -> None:
    body = {"due": "2024-02-19T12:00:00+08:00", "reason": "system outage"}
    path = "/api/v1/campaigns/js-2024/due-overrides/W04"
    assert client.put(path, json=body).status_code == 401
    assert client.put(path, json=body, headers=auth("viewer")).status_code == 403
    assert client.put(path, json=body, headers=auth("reporter", "320100")).status_code == 403

    admin = auth("admin")
    stored = client.put(path, json=body, headers=admin)
    assert stored.status_code == 200, stored.text
    periods = {p["id"]: p for p in client.get("/api/v1/campaigns/js-2024/periods").json()}
    assert periods["W04"]["due"] == "2024-02-19T12:00:00+08:00"
    assert periods["W04"]["due_overridden"] is True
    assert periods["W05"]["due"] == "2024-02-23T17:30:00+08:00"

    assert client.delete(path, headers=admin).status_code == 200
    periods = {p["id"]: p for p in client.get("/api/v1/campaigns/js-2024/periods").json()}
    assert periods["W04"]["due"] == "2024-02-18T17:30:00+08:00"


def test_override_of_a_one_off_deadline_and_bad_items(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    moved = client.put(
        "/api/v1/campaigns/js-2024/due-overrides/stage_report",
        json={"due": "2024-03-01T17:30:00+08:00", "reason": "moved"},
        headers=admin,
    )
    assert moved.status_code == 200
    deadlines = client.get("/api/v1/campaigns/js-2024/deadlines").json()
    stage = next(d for d in deadlines if d["deliverable"] == "stage_report")
    assert stage["due"] == "2024-03-01T17:30:00+08:00" and stage["due_overridden"]

    unknown = client.put(
        "/api/v1/campaigns/js-2024/due-overrides/W13",
        json={"due": "2024-03-01T17:30:00+08:00", "reason": "x"},
        headers=admin,
    )
    assert unknown.status_code == 404  # a path names a resource: an unknown one is not found
    assert unknown.json()["errors"][0]["field"] == "item"
    naive = client.put(
        "/api/v1/campaigns/js-2024/due-overrides/W04",
        json={"due": "2024-03-01T17:30:00", "reason": "x"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "due"
