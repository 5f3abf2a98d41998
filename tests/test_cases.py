"""Highlight cases: submit, revise, list with filters, the urgent list, roles."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.records_helpers import (
    CAMPAIGN,
    GUSU,
    JIANGNING,
    NANJING,
    SUZHOU,
    XUANWU,
    Auth,
    case_body,
    city_url,
    role_matrix,
)

CASES = city_url(NANJING, "cases")


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> Any:
    response = client.post(CASES, json=case_body(**changes), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_submit_read_and_revise(client: TestClient, nanjing: dict[str, str]) -> None:
    response = client.post(CASES, json=case_body(), headers=nanjing)
    assert response.status_code == 201
    case = response.json()
    assert case["revision"] == 1 and case["urgent"] is False and case["attachments"] == []
    assert case["county"] == JIANGNING and case["period"] == "W03"
    assert case["submitted_by"] == case["created_by"] and not case["backdated"]
    assert response.headers["location"].endswith(f"/cases/{case['id']}")
    assert response.headers["etag"] == case["etag"]

    read = client.get(f"{CASES}/{case['id']}", headers=nanjing)
    assert read.json() == case and read.headers["etag"] == case["etag"]

    patch = client.patch(
        f"{CASES}/{case['id']}",
        json={"title": "江宁区直播带岗（更正）", "county": None},
        headers=nanjing | {"If-Match": case["etag"]},
    )
    assert patch.status_code == 200
    revised = patch.json()
    assert revised["revision"] == 2 and revised["county"] is None
    assert revised["text"] == case["text"] and revised["created_at"] == case["created_at"]

    stale = client.patch(
        f"{CASES}/{case['id']}", json={"urgent": True}, headers=nanjing | {"If-Match": case["etag"]}
    )
    assert stale.status_code == 412 and stale.json()["current_etag"] == revised["etag"]

    same = client.patch(f"{CASES}/{case['id']}", json={"county": None}, headers=nanjing)
    assert same.json()["revision"] == 2

    history = client.get(f"{CASES}/{case['id']}/revisions", headers=nanjing).json()
    assert [h["revision"] for h in history] == [1, 2]
    assert history[0]["data"]["title"] == "江宁区直播带岗专场"
    assert {c["field"]: (c["previous"], c["current"]) for c in history[1]["changes"]} == {
        "title": ("江宁区直播带岗专场", "江宁区直播带岗（更正）"),
        "county": (JIANGNING, None),
    }
    later = client.get(f"{CASES}/{case['id']}/revisions?after=1", headers=nanjing).json()
    assert [h["revision"] for h in later] == [2] and later[0]["changes"] == history[1]["changes"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (case_body(county=GUSU), "county", "not_in_city"),
        (case_body(county=NANJING), "county", "not_in_city"),
        (case_body(period="W13"), "period", "unknown_period"),
        (case_body(period="week3"), "period", "string_pattern_mismatch"),
        (case_body(activity="party"), "activity", "not_in_vocabulary"),
        (case_body(activity="Visit"), "activity", "string_pattern_mismatch"),
        (case_body(title="   "), "title", "value_error"),
        (case_body(text="x" * 10_001), "text", "string_too_long"),
        (case_body(text="bad\x00byte"), "text", "value_error"),
        (case_body(urgent="sometimes"), "urgent", "bool_parsing"),
        (case_body(colour="red"), "colour", "extra_forbidden"),
    ],
)
def test_invalid_cases_are_refused(
    client: TestClient, nanjing: dict[str, str], body: dict[str, Any], field: str, code: str
) -> None:
    response = client.post(CASES, json=body, headers=nanjing)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert client.get(CASES, headers=nanjing).json()["items"] == []


def test_patch_refuses_nulls_and_bad_values(client: TestClient, nanjing: dict[str, str]) -> None:
    case = create(client, nanjing)
    url = f"{CASES}/{case['id']}"
    nulls = client.patch(url, json={"title": None, "urgent": None}, headers=nanjing)
    assert nulls.status_code == 422
    assert {e["field"] for e in nulls.json()["errors"]} == {"title", "urgent"}
    foreign = client.patch(url, json={"county": GUSU}, headers=nanjing)
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "county"
    assert client.get(url, headers=nanjing).json()["revision"] == 1


def test_filters_and_pagination(client: TestClient, nanjing: dict[str, str]) -> None:
    made = [
        create(client, nanjing, period="W02", county=XUANWU, activity="visit"),
        create(client, nanjing, period="W03", county=JIANGNING, activity="warmth", urgent=True),
        create(client, nanjing, period="W03", county=None, activity="visit"),
        create(client, nanjing, period="W03", county=XUANWU, activity="visit"),
        create(client, nanjing, period="W04", county=XUANWU, activity="cross_region"),
    ]
    ids = [case["id"] for case in made]

    def listed(**params: Any) -> list[int]:
        response = client.get(CASES, params=params, headers=nanjing)
        assert response.status_code == 200, response.text
        return [case["id"] for case in response.json()["items"]]

    assert listed() == ids
    assert listed(period="W03") == ids[1:4]
    assert listed(county=XUANWU) == [ids[0], ids[3], ids[4]]
    assert listed(activity="visit", period="W03") == [ids[2], ids[3]]
    assert listed(urgent=True) == [ids[1]]
    assert listed(urgent=False, county=XUANWU, period="W02") == [ids[0]]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(CASES, params=params, headers=nanjing).json()
        seen += [case["id"] for case in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    bad = client.get(CASES, params={"cursor": "garbage!"}, headers=nanjing)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


def test_urgent_cases_are_listed_province_wide_at_once(client: TestClient, auth: Auth) -> None:
    nanjing, suzhou, viewer = auth("reporter", NANJING), auth("reporter", SUZHOU), auth("viewer")
    urgent_url = f"{CAMPAIGN}/urgent"
    quiet = create(client, nanjing)
    loud = create(client, nanjing, urgent=True, title="江宁区突发用工纠纷")
    response = client.post(
        city_url(SUZHOU, "cases"), json=case_body(county=GUSU, urgent=True), headers=suzhou
    )
    assert response.status_code == 201
    elsewhere = response.json()

    listed = client.get(urgent_url, headers=viewer).json()
    assert [c["id"] for c in listed["items"]] == [elsewhere["id"], loud["id"]]
    assert [c["city"] for c in listed["items"]] == [SUZHOU, NANJING]
    only = client.get(urgent_url, params={"city": NANJING}, headers=viewer).json()
    assert [c["id"] for c in only["items"]] == [loud["id"]]

    client.patch(f"{CASES}/{quiet['id']}", json={"urgent": True}, headers=nanjing)
    first = client.get(urgent_url, params={"limit": 1}, headers=auth("admin")).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = client.get(
        urgent_url, params={"limit": 5, "cursor": first["next_cursor"]}, headers=viewer
    ).json()
    assert len(first["items"]) + len(rest["items"]) == 3 and rest["next_cursor"] is None

    assert client.get(urgent_url, headers=nanjing).status_code == 403
    assert client.get(urgent_url).status_code == 401
    assert (
        client.get(f"{CAMPAIGN.replace('js-2024', 'xx-1999')}/urgent", headers=viewer).status_code
        == 404
    )


def test_received_at_and_idempotency(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    claimed = "2024-02-09T16:00:00+08:00"
    refused = client.post(CASES, json=case_body(received_at=claimed), headers=nanjing)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "received_at"
    loaded = client.post(CASES, json=case_body(received_at=claimed), headers=auth("admin"))
    assert loaded.status_code == 201
    assert loaded.json()["backdated"] is True
    assert loaded.json()["received_at"] == "2024-02-09T08:00:00Z"

    key = {"Idempotency-Key": "nj-case-0001"}
    first = client.post(CASES, json=case_body(), headers=nanjing | key)
    again = client.post(CASES, json=case_body(), headers=nanjing | key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post(CASES, json=case_body(title="另一个"), headers=nanjing | key)
    assert other.status_code == 422
    assert len(client.get(CASES, headers=nanjing).json()["items"]) == 2


def test_a_locked_period_refuses_new_cases(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    lock = client.put(
        f"{CAMPAIGN}/periods/W03/lock", json={"reason": "已汇总"}, headers=auth("admin")
    )
    assert lock.status_code == 200
    assert client.post(CASES, json=case_body(), headers=nanjing).status_code == 423
    moved = create(client, nanjing, period="W04")
    into_locked = client.patch(f"{CASES}/{moved['id']}", json={"period": "W03"}, headers=nanjing)
    assert into_locked.status_code == 423


def test_other_cities_cases_are_out_of_reach(client: TestClient, auth: Auth) -> None:
    nanjing, suzhou = auth("reporter", NANJING), auth("reporter", SUZHOU)
    case = create(client, nanjing)
    # by its own city's address: 403; under the caller's city: 404 (the id reveals nothing)
    assert client.get(f"{CASES}/{case['id']}", headers=suzhou).status_code == 403
    foreign = city_url(SUZHOU, "cases", case["id"])
    for response in (
        client.get(foreign, headers=suzhou),
        client.patch(foreign, json={"urgent": True}, headers=suzhou),
        client.get(foreign + "/revisions", headers=suzhou),
    ):
        assert response.status_code == 404
        assert "江宁" not in response.text
    assert client.get(CASES, headers=suzhou).status_code == 403
    assert client.post(CASES, json=case_body(), headers=suzhou).status_code == 403


@role_matrix()
def test_roles(
    client: TestClient, auth: Auth, role: str, city: str | None, read: int, write: int
) -> None:
    case = create(client, auth("reporter", NANJING))
    headers = auth(role, city)
    assert client.get(CASES, headers=headers).status_code == read
    assert client.get(f"{CASES}/{case['id']}", headers=headers).status_code == read
    assert client.get(f"{CASES}/{case['id']}/revisions", headers=headers).status_code == read
    assert client.post(CASES, json=case_body(), headers=headers).status_code == write
    patched = client.patch(f"{CASES}/{case['id']}", json={"urgent": True}, headers=headers)
    assert patched.status_code == (200 if write == 201 else write)
    assert client.get(CASES).status_code == 401


def test_case_lists_answer_304_while_unchanged(client: TestClient, auth: Auth) -> None:
    """The dashboard re-asks the city's cases and the urgent list on every case event; the
    bytes are sent only when they changed."""
    nanjing, viewer = auth("reporter", NANJING), auth("viewer")
    client.post(city_url(NANJING, "cases"), json=case_body(urgent=True), headers=nanjing)
    for url, headers in ((city_url(NANJING, "cases"), nanjing), (CAMPAIGN + "/urgent", viewer)):
        first = client.get(url, headers=headers)
        assert first.status_code == 200 and first.json()["items"]
        etag = first.headers["etag"]
        again = client.get(url, headers=headers | {"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        client.post(city_url(NANJING, "cases"), json=case_body(urgent=True), headers=nanjing)
        changed = client.get(url, headers=headers | {"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
