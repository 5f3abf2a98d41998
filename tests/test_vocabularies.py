"""Vocabularies in the definition (issue 15, item 3): a campaign's document kinds, case
activities and event categories are its own, published at `…/vocabularies` and checked on
every write; js-2024 states the Spring Breeze words, the test province has others."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.campaigns.definition import DefinitionError, parse_definition
from app.campaigns.loading import load_campaign_file
from app.campaigns.vocabularies import Vocabularies
from tests.records_helpers import DOCUMENT, NANJING, Auth, case_body, city_url, event_body

JS = "/api/v1/campaigns/js-2024"
AH = "/api/v1/campaigns/ah-2025"
ROOT = Path(__file__).resolve().parents[1]
JS_DEFINITION = ROOT / "app/campaigns/definitions/js-2024.yaml"
AH_DEFINITION = ROOT / "tests/campaigns/ah-2025.yaml"
HEFEI, LUYANG = "340100", "340103"  # 合肥市 and its 庐阳区
JS_WORDS = Vocabularies()  # the defaults, which js-2024 states explicitly


@pytest.fixture
def anhui(session: Session) -> None:
    load_campaign_file(session, AH_DEFINITION)
    session.commit()


def ids(terms: list[dict[str, Any]]) -> list[str]:
    return [term["id"] for term in terms]


def assert_refused(response: Response, field: str, allowed: list[str]) -> None:
    """422 problem naming `field`, with every allowed id in its message."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = [e for e in response.json()["errors"] if e["field"] == field]
    assert [e["code"] for e in errors] == ["not_in_vocabulary"], response.text
    assert all(term in errors[0]["message"] for term in allowed), errors[0]["message"]
    assert "/vocabularies" in errors[0]["message"]


def ah_case(**changes: Any) -> dict[str, Any]:
    return {
        "period": "P02",
        "title": "庐阳区春风行动专场招聘会",
        "text": "2月20日举办专场招聘会，进场求职者1200人次。",
        "county": LUYANG,
        "activity": "job_fair",
    } | changes


def ah_event(**changes: Any) -> dict[str, Any]:
    day = {"start_date": "2025-02-20", "end_date": "2025-02-20"}
    return event_body(county=LUYANG, category="migrant_workers", **day) | changes


def test_js_2024_states_the_spring_breeze_words() -> None:
    raw = yaml.safe_load(JS_DEFINITION.read_text(encoding="utf-8"))
    assert set(raw["vocabularies"]) == {"document_kinds", "case_activities", "event_categories"}
    assert parse_definition(raw, "js-2024.yaml").vocabularies == JS_WORDS
    labels = {t.id: t.name_zh for t in JS_WORDS.case_activities}
    assert labels == {
        "visit": "就业访民情",
        "warmth": "节日送温暖",
        "jobs_nearby": "送岗到身边",
        "village_projects": "项目进乡村",
        "cross_region": "省内外对接",
    }


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda v: v["document_kinds"].pop(1),
            "deliverable summary: document_kind 'final_summary' is not among "
            "vocabularies.document_kinds",
        ),
        (
            lambda v: v["case_activities"].append(v["case_activities"][0]),
            r"repeated ids \['job_fair'\]",
        ),
        (
            lambda v: v["event_categories"].append({"id": "x" * 17, "name_zh": "长"}),
            "ids of at most 16 characters",
        ),
        (lambda v: v["event_categories"].clear(), "vocabularies.event_categories"),
        (lambda v: v["case_activities"][0].update(id="Job-Fair"), "case_activities.0.id"),
        (lambda v: v["document_kinds"][0].update(name_zh=""), "document_kinds.0.name_zh"),
    ],
)
def test_a_broken_vocabulary_is_refused_on_load(mutate: Any, expected: str) -> None:
    raw = yaml.safe_load(AH_DEFINITION.read_text(encoding="utf-8"))
    mutate(raw["vocabularies"])
    with pytest.raises(DefinitionError, match=expected):
        parse_definition(raw, "ah-2025.yaml")


def test_the_lookup_answers_each_campaigns_own_lists(
    client: TestClient, auth: Auth, anhui: None
) -> None:
    js = client.get(JS + "/vocabularies", headers=auth("reporter", NANJING))
    assert js.status_code == 200, js.text
    assert js.json() == {"campaign": "js-2024", **JS_WORDS.model_dump(mode="json")}
    assert js.json()["event_categories"][0] == {
        "id": "graduates",
        "name_zh": "高校毕业生专场",
        "name_en": "Graduates",
    }
    for role in ("viewer", "reviewer", "admin"):
        assert client.get(JS + "/vocabularies", headers=auth(role)).json() == js.json()

    ah = client.get(AH + "/vocabularies", headers=auth("reporter", HEFEI)).json()
    assert ah["campaign"] == "ah-2025"
    assert ids(ah["document_kinds"]) == ["stage_report", "final_summary"]
    assert ids(ah["case_activities"]) == ["job_fair", "skills_training"]
    assert ids(ah["event_categories"]) == ["migrant_workers", "other"]
    assert ah["case_activities"][0] == {
        "id": "job_fair",
        "name_zh": "专场招聘会",
        "name_en": "Job fairs",
    }


def test_the_lookup_needs_a_signed_in_client_and_a_campaign(client: TestClient, auth: Auth) -> None:
    assert client.get(JS + "/vocabularies").status_code == 401
    missing = client.get("/api/v1/campaigns/js-1999/vocabularies", headers=auth("viewer"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_unknown_terms_are_refused_naming_the_field(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", NANJING)
    cases, documents = city_url(NANJING, "cases"), city_url(NANJING, "documents")
    activities = JS_WORDS.ids("case_activities")

    refused = client.post(cases, json=case_body(activity="job_fair"), headers=nanjing)
    assert_refused(refused, "activity", activities)
    case = client.post(cases, json=case_body(), headers=nanjing).json()
    patched = client.patch(f"{cases}/{case['id']}", json={"activity": "party"}, headers=nanjing)
    assert_refused(patched, "activity", activities)
    assert client.get(f"{cases}/{case['id']}", headers=nanjing).json()["revision"] == 1

    kind = client.post(documents, json=DOCUMENT | {"kind": "weekly"}, headers=nanjing)
    assert_refused(kind, "kind", JS_WORDS.ids("document_kinds"))

    event = city_url(NANJING, "events", "NJ-VOCAB")
    category = client.put(event, json=event_body(category="migrant_workers"), headers=nanjing)
    assert_refused(category, "category", JS_WORDS.ids("event_categories"))
    assert client.get(event, headers=nanjing).status_code == 404

    assert [i["id"] for i in client.get(cases, headers=nanjing).json()["items"]] == [case["id"]]
    assert client.get(documents, headers=nanjing).json()["items"] == []


def test_a_batch_rejects_the_items_of_an_unknown_category(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", NANJING)
    batch = city_url(NANJING, "events", "batch")
    items = [
        event_body(external_id="NJ-V1", category="livestream"),
        event_body(external_id="NJ-V2", category="migrant_workers"),
        event_body(external_id="NJ-V3"),
    ]
    summary = client.post(batch, json={"items": items}, headers=nanjing).json()
    assert [item["status"] for item in summary["items"]] == ["created", "rejected", "created"]
    (error,) = summary["items"][1]["errors"]
    assert (error["field"], error["code"]) == ("items.1.category", "not_in_vocabulary")
    assert all(term in error["message"] for term in JS_WORDS.ids("event_categories"))

    atomic = client.post(
        batch,
        params={"atomic": "true"},
        json={"items": [event_body(external_id="NJ-V4", category="party")]},
        headers=nanjing,
    )
    assert_refused(atomic, "items.0.category", JS_WORDS.ids("event_categories"))


def test_list_filters_take_the_campaigns_ids(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", NANJING)
    for path, name, known, unknown in (
        ("cases", "activity", "visit", "party"),
        ("documents", "kind", "other", "weekly"),
        ("events", "category", "gig_market", "party"),
    ):
        url = city_url(NANJING, path)
        assert client.get(url, params={name: known}, headers=nanjing).status_code == 200
        refused = client.get(url, params={name: unknown}, headers=nanjing)
        assert_refused(refused, f"query.{name}", [known])


def test_a_record_with_any_id_of_the_vocabulary_reads_back(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", NANJING)
    cases, documents = city_url(NANJING, "cases"), city_url(NANJING, "documents")
    for activity in JS_WORDS.ids("case_activities"):
        created = client.post(cases, json=case_body(activity=activity), headers=nanjing)
        assert created.status_code == 201, created.text
        read = client.get(f"{cases}/{created.json()['id']}", headers=nanjing).json()
        assert read["activity"] == activity
        listed = client.get(cases, params={"activity": activity}, headers=nanjing).json()
        assert [case["id"] for case in listed["items"]] == [read["id"]]
    for kind in JS_WORDS.ids("document_kinds"):
        created = client.post(documents, json=DOCUMENT | {"kind": kind}, headers=nanjing)
        assert created.status_code == 201, created.text
        read = client.get(f"{documents}/{created.json()['id']}", headers=nanjing).json()
        assert read["kind"] == kind
    for category in JS_WORDS.ids("event_categories"):
        url = city_url(NANJING, "events", f"NJ-{category}")
        stored = client.put(url, json=event_body(category=category), headers=nanjing)
        assert stored.status_code == 201, stored.text
        assert client.get(url, headers=nanjing).json()["category"] == category
        listed = client.get(
            city_url(NANJING, "events"), params={"category": category}, headers=nanjing
        )
        assert [e["external_id"] for e in listed.json()["items"]] == [f"NJ-{category}"]


def test_another_campaigns_cities_write_its_words_and_not_jiangsus(
    client: TestClient, auth: Auth, anhui: None
) -> None:
    hefei = auth("reporter", HEFEI)
    cases = f"{AH}/cities/{HEFEI}/cases"
    documents = f"{AH}/cities/{HEFEI}/documents"
    events = f"{AH}/cities/{HEFEI}/events"

    for activity in ("job_fair", "skills_training"):
        created = client.post(cases, json=ah_case(activity=activity), headers=hefei)
        assert created.status_code == 201, created.text
        assert client.get(created.headers["location"], headers=hefei).json()["activity"] == activity
    assert_refused(
        client.post(cases, json=ah_case(activity="visit"), headers=hefei),
        "activity",
        ["job_fair", "skills_training"],
    )
    listed = client.get(cases, params={"activity": "skills_training"}, headers=hefei).json()
    assert [case["activity"] for case in listed["items"]] == ["skills_training"]
    assert_refused(
        client.get(cases, params={"activity": "visit"}, headers=hefei),
        "query.activity",
        ["job_fair", "skills_training"],
    )

    stage = client.post(documents, json=DOCUMENT | {"kind": "stage_report"}, headers=hefei)
    assert stage.status_code == 201, stage.text
    assert_refused(
        client.post(documents, json=DOCUMENT | {"kind": "other"}, headers=hefei),
        "kind",
        ["stage_report", "final_summary"],
    )

    migrant = client.put(f"{events}/AH-1", json=ah_event(), headers=hefei)
    assert migrant.status_code == 201, migrant.text
    assert migrant.json()["category"] == "migrant_workers"
    unnamed = {k: v for k, v in ah_event().items() if k != "category"}
    defaulted = client.put(f"{events}/AH-2", json=unnamed, headers=hefei)
    assert defaulted.status_code == 201 and defaulted.json()["category"] == "other"
    assert_refused(
        client.put(f"{events}/AH-3", json=ah_event(category="graduates"), headers=hefei),
        "category",
        ["migrant_workers", "other"],
    )
    summary = client.post(
        f"{events}/batch",
        json={
            "items": [
                ah_event(external_id="AH-4"),
                ah_event(external_id="AH-5", category="returnees"),
            ]
        },
        headers=hefei,
    ).json()
    assert [item["status"] for item in summary["items"]] == ["created", "rejected"]
    assert summary["items"][1]["errors"][0]["field"] == "items.1.category"
