"""The recruitment-event registry: upserts, batches with mixed errors and replays, atomic
batches, filters and cursor pagination, roles."""

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.events.schemas import EventItem
from app.events.validation import fingerprint
from tests.records_helpers import (
    CAMPAIGN,
    GUSU,
    JIANGNING,
    NANJING,
    SUZHOU,
    XUANWU,
    Auth,
    city_url,
    event_body,
    role_matrix,
)

EVENTS = city_url(NANJING, "events")
BATCH = EVENTS + "/batch"


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


def item(external_id: str, **changes: Any) -> dict[str, Any]:
    return {"external_id": external_id, **event_body(**changes)}


def test_upsert_one_event(client: TestClient, nanjing: dict[str, str]) -> None:
    url = f"{EVENTS}/NJ-0001"
    created = client.put(url, json=event_body(), headers=nanjing)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "created" and body["revision"] == 1
    assert body["period"] == "W05" and body["city"] == NANJING and body["external_id"] == "NJ-0001"
    assert body["postings_offered"] == 3200 and body["first_received_at"] == body["received_at"]

    again = client.put(url, json=event_body(), headers=nanjing)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["revision"] == 1

    moved = client.put(
        url, json=event_body(start_date="2024-02-16", end_date="2024-02-17"), headers=nanjing
    )
    assert moved.json()["status"] == "updated" and moved.json()["revision"] == 2
    assert moved.json()["period"] == "W04"
    assert moved.json()["first_received_at"] == body["first_received_at"]

    read = client.get(url, headers=nanjing).json()
    assert read["start_date"] == "2024-02-16" and read["revision"] == 2
    history = client.get(url + "/revisions", headers=nanjing).json()
    assert [h["revision"] for h in history] == [1, 2]
    assert {c["field"] for c in history[1]["changes"]} == {"start_date", "end_date"}

    with_id = client.put(url, json=event_body(external_id="NJ-0001"), headers=nanjing)
    assert with_id.status_code == 200
    mismatch = client.put(url, json=event_body(external_id="NJ-0002"), headers=nanjing)
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "external_id"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"county": GUSU}, "county", "not_in_city"),
        ({"county": NANJING}, "county", "not_in_city"),
        ({"start_date": "2024-01-24", "end_date": "2024-01-25"}, "start_date", "outside_campaign"),
        ({"end_date": "2024-04-09"}, "end_date", "outside_campaign"),
        ({"end_date": "2024-02-17"}, "end_date", "before_start"),
        ({"mode": "hybrid"}, "mode", "enum"),
        ({"category": "party"}, "category", "not_in_vocabulary"),
        ({"category": "x" * 17}, "category", "string_too_long"),
        ({"attendees": -1}, "attendees", "greater_than_equal"),
        ({"employers": 2.5}, "employers", "int_type"),
        ({"intents": "12"}, "intents", "int_type"),
        ({"labor_brand": "yes"}, "labor_brand", "bool_type"),
        ({"name": ""}, "name", "string_too_short"),
        ({"start_date": "18/02/2024"}, "start_date", "date_from_datetime_parsing"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_invalid_events_are_refused(
    client: TestClient, nanjing: dict[str, str], changes: dict[str, Any], field: str, code: str
) -> None:
    response = client.put(f"{EVENTS}/NJ-BAD", json=event_body(**changes), headers=nanjing)
    assert response.status_code == 422, response.text
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert client.get(f"{EVENTS}/NJ-BAD", headers=nanjing).status_code == 404


def test_a_whole_number_written_with_a_fraction_is_a_count(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    """JSON Schema counts 86.0 as an integer, so the contract promised it; the service
    refused it (found by fuzzing with positive-data acceptance). "86" stays refused."""
    stored = client.put(f"{EVENTS}/NJ-FLOAT", json=event_body(employers=86.0), headers=nanjing)
    assert stored.status_code == 201, stored.text
    assert stored.json()["employers"] == 86
    text = client.put(f"{EVENTS}/NJ-TEXT", json=event_body(employers="86"), headers=nanjing)
    assert text.status_code == 422


def test_reserved_and_malformed_ids(client: TestClient, nanjing: dict[str, str]) -> None:
    assert client.put(f"{EVENTS}/batch", json=event_body(), headers=nanjing).status_code == 422
    assert client.put(f"{EVENTS}/-bad", json=event_body(), headers=nanjing).status_code == 422
    assert client.put(f"{EVENTS}/{'x' * 65}", json=event_body(), headers=nanjing).status_code == 422


def test_batch_with_mixed_errors_and_replays(client: TestClient, nanjing: dict[str, str]) -> None:
    items: list[Any] = [
        item("NJ-1"),
        item("NJ-2", county=GUSU),
        item(
            "NJ-3",
            mode="offline",
            category="graduates",
            start_date="2024-03-01",
            end_date="2024-03-01",
        ),
        {k: v for k, v in item("NJ-4").items() if k != "name"},
        item("NJ-5", end_date="2024-02-01", county=GUSU),
        item("NJ-1", name="重复"),
        {"external_id": 12345},
        item("NJ-6", county=XUANWU, mode="online", labor_brand=True),
    ]
    response = client.post(BATCH, json={"items": items}, headers=nanjing)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["status"] == "WARNING" and summary["atomic"] is False
    assert summary["stats"] == {
        "total": 8, "created": 3, "updated": 0, "unchanged": 0, "rejected": 5, "ignored": 0
    }  # fmt: skip
    by_index = {line["index"]: line for line in summary["items"]}
    assert [by_index[i]["status"] for i in range(8)] == [
        "created", "rejected", "created", "rejected", "rejected", "rejected", "rejected", "created"
    ]  # fmt: skip
    errors = {(e["field"], e["code"]) for line in summary["items"] for e in line["errors"]}
    assert {
        ("items.1.county", "not_in_city"),
        ("items.3.name", "missing"),
        ("items.4.county", "not_in_city"),
        ("items.4.end_date", "before_start"),
        ("items.5.external_id", "duplicate_in_batch"),
        ("items.6.external_id", "string_type"),
    } <= errors
    assert by_index[5]["external_id"] == "NJ-1" and by_index[6]["external_id"] is None

    replay = client.post(BATCH, json={"items": items}, headers=nanjing).json()
    assert replay["stats"]["created"] == 0 and replay["stats"]["unchanged"] == 3
    assert replay["stats"]["rejected"] == 5
    assert [line["revision"] for line in replay["items"] if line["status"] == "unchanged"] == [
        1,
        1,
        1,
    ]

    items[0] = item("NJ-1", attendees=6000)
    items[1] = item("NJ-2")
    corrected = client.post(BATCH, json={"items": items}, headers=nanjing).json()
    assert corrected["items"][0]["status"] == "updated" and corrected["items"][0]["revision"] == 2
    assert corrected["items"][1]["status"] == "created"
    listed = client.get(EVENTS, headers=nanjing).json()["items"]
    assert sorted(e["external_id"] for e in listed) == ["NJ-1", "NJ-2", "NJ-3", "NJ-6"]


def test_atomic_batches(client: TestClient, nanjing: dict[str, str]) -> None:
    items = [item("NJ-A1"), item("NJ-A2", county=GUSU), item("NJ-A3")]
    refused = client.post(BATCH + "?atomic=true", json={"items": items}, headers=nanjing)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["items.1.county"]
    assert problem["summary"]["status"] == "ERROR"
    assert (
        problem["summary"]["stats"]["ignored"] == 2 and problem["summary"]["stats"]["rejected"] == 1
    )
    assert client.get(EVENTS, headers=nanjing).json()["items"] == []

    items[1] = item("NJ-A2")
    accepted = client.post(BATCH + "?atomic=true", json={"items": items}, headers=nanjing)
    assert accepted.status_code == 200 and accepted.json()["stats"]["created"] == 3


def test_all_rejected_is_an_error_summary(client: TestClient, nanjing: dict[str, str]) -> None:
    response = client.post(BATCH, json={"items": [item("X", county=GUSU)]}, headers=nanjing)
    assert response.status_code == 200 and response.json()["status"] == "ERROR"


def test_batch_size_and_shape(client: TestClient, nanjing: dict[str, str]) -> None:
    assert client.post(BATCH, json={"items": []}, headers=nanjing).status_code == 422
    too_many = {"items": [item(f"NJ-{i}") for i in range(5001)]}
    response = client.post(BATCH, json=too_many, headers=nanjing)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "items"
    not_objects = client.post(BATCH, json={"items": [item("NJ-0"), "x", 7]}, headers=nanjing)
    assert not_objects.status_code == 422
    assert [(e["field"], e["code"]) for e in not_objects.json()["errors"]] == [
        ("items.1", "dict_type"),
        ("items.2", "dict_type"),
    ]
    full = client.post(
        BATCH, json={"items": [item(f"NJ-{i}") for i in range(5000)]}, headers=nanjing
    )
    assert full.status_code == 200 and full.json()["stats"]["created"] == 5000


def test_a_locked_period_refuses_its_events(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    lock = client.put(
        f"{CAMPAIGN}/periods/W05/lock",
        json={"reason": "核查", "city": NANJING},
        headers=auth("admin"),
    )
    assert lock.status_code == 200
    assert client.put(f"{EVENTS}/NJ-L", json=event_body(), headers=nanjing).status_code == 423
    batch = client.post(
        BATCH,
        json={
            "items": [item("NJ-L"), item("NJ-M", start_date="2024-03-01", end_date="2024-03-01")]
        },
        headers=nanjing,
    ).json()
    assert [line["status"] for line in batch["items"]] == ["rejected", "created"]
    assert batch["items"][0]["errors"][0]["code"] == "period_locked"


def test_filters_and_pagination(client: TestClient, nanjing: dict[str, str]) -> None:
    items = [
        item(f"NJ-{i:03d}", county=XUANWU if i % 2 else JIANGNING,
             mode="online" if i % 3 == 0 else "offline",
             category="livestream" if i % 5 == 0 else "other",
             labor_brand=i % 7 == 0,
             start_date=f"2024-02-{10 + i % 15:02d}", end_date=f"2024-02-{10 + i % 15:02d}")
        for i in range(40)
    ]  # fmt: skip
    assert (
        client.post(BATCH, json={"items": items}, headers=nanjing).json()["stats"]["created"] == 40
    )

    def listed(**params: Any) -> list[dict[str, Any]]:
        found, cursor = [], None
        while True:
            page = client.get(
                EVENTS,
                params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})},
                headers=nanjing,
            )
            assert page.status_code == 200, page.text
            found += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return found

    everything = listed()
    assert len(everything) == 40 and len({e["external_id"] for e in everything}) == 40
    assert [(e["start_date"], e["external_id"]) for e in everything] == sorted(
        (e["start_date"], e["external_id"]) for e in everything
    )
    assert {e["county"] for e in listed(county=XUANWU)} == {XUANWU}
    assert len(listed(county=XUANWU)) == 20
    assert len(listed(mode="online")) == 14
    assert len(listed(category="livestream")) == 8
    assert len(listed(labor_brand=True)) == 6
    w04 = listed(period="W04")
    assert w04 and all("2024-02-10" <= e["start_date"] <= "2024-02-16" for e in w04)
    ranged = listed(start_from="2024-02-12", start_to="2024-02-13")
    assert ranged and {e["start_date"] for e in ranged} == {"2024-02-12", "2024-02-13"}
    combined = listed(county=JIANGNING, mode="offline", period="W05")
    assert all(
        e["county"] == JIANGNING and e["mode"] == "offline" and e["period"] == "W05"
        for e in combined
    )
    assert client.get(EVENTS, params={"cursor": "AAAA"}, headers=nanjing).status_code == 422
    assert client.get(EVENTS, params={"limit": 1001}, headers=nanjing).status_code == 422


def test_received_at_is_for_administrators(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    claimed = "2024-02-18T20:00:00+08:00"
    body = {"items": [item("NJ-R")], "received_at": claimed}
    assert client.post(BATCH, json=body, headers=nanjing).status_code == 403
    admin = client.post(BATCH, json=body, headers=auth("admin"))
    assert admin.status_code == 200
    event = client.get(f"{EVENTS}/NJ-R", headers=nanjing).json()
    assert event["backdated"] is True and event["received_at"] == "2024-02-18T12:00:00Z"


def test_other_cities_events_are_out_of_reach(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    suzhou = auth("reporter", SUZHOU)
    client.put(f"{EVENTS}/NJ-S", json=event_body(), headers=nanjing)
    assert client.get(f"{EVENTS}/NJ-S", headers=suzhou).status_code == 403
    assert client.get(city_url(SUZHOU, "events", "NJ-S"), headers=suzhou).status_code == 404
    # the same external id in another city is another event
    assert (
        client.put(
            city_url(SUZHOU, "events", "NJ-S"), json=event_body(county=GUSU), headers=suzhou
        ).status_code
        == 201
    )
    assert (
        client.get(city_url(SUZHOU, "events"), headers=suzhou).json()["items"][0]["county"] == GUSU
    )
    assert client.get(f"{EVENTS}/NJ-S", headers=nanjing).json()["county"] == JIANGNING


@role_matrix(200)
def test_roles(
    client: TestClient, auth: Auth, role: str, city: str | None, read: int, write: int
) -> None:
    client.put(f"{EVENTS}/NJ-R1", json=event_body(), headers=auth("reporter", NANJING))
    headers = auth(role, city)
    assert client.get(EVENTS, headers=headers).status_code == read
    assert client.get(f"{EVENTS}/NJ-R1", headers=headers).status_code == read
    assert client.get(f"{EVENTS}/NJ-R1/revisions", headers=headers).status_code == read
    assert client.put(f"{EVENTS}/NJ-R1", json=event_body(), headers=headers).status_code == write
    assert client.post(BATCH, json={"items": [item("NJ-R2")]}, headers=headers).status_code == write
    assert client.get(EVENTS).status_code == 401


def test_an_events_fingerprint_is_that_of_its_content_json() -> None:
    """Stored fingerprints decide `unchanged` on a replay: the fast path computes exactly
    what earlier versions stored."""
    for body in (item("NJ-1"), item("NJ-2", venue=None, attendees=None, labor_brand=True)):
        event = EventItem.model_validate(body)
        content = event.model_dump_json(exclude={"external_id"}).encode()
        assert fingerprint(event) == hashlib.sha256(content).hexdigest()
