"""Documents: submitted with the server's receipt time, listed by kind, roles."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.records_helpers import DOCUMENT, NANJING, SUZHOU, Auth, city_url, role_matrix

DOCUMENTS = city_url(NANJING, "documents")


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


def submit(client: TestClient, headers: dict[str, str], **changes: Any) -> Any:
    response = client.post(DOCUMENTS, json=DOCUMENT | changes, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_submission_time_is_the_servers(client: TestClient, nanjing: dict[str, str]) -> None:
    before = datetime.now(UTC)
    response = client.post(DOCUMENTS, json=DOCUMENT, headers=nanjing)
    assert response.status_code == 201
    document = response.json()
    received = datetime.fromisoformat(document["received_at"])
    assert before - timedelta(seconds=1) <= received <= datetime.now(UTC)
    assert document["backdated"] is False and document["kind"] == "stage_report"
    assert response.headers["location"].endswith(f"/documents/{document['id']}")
    assert client.get(f"{DOCUMENTS}/{document['id']}", headers=nanjing).json() == document

    claimed = DOCUMENT | {"received_at": "2024-02-29T10:00:00+08:00"}
    assert client.post(DOCUMENTS, json=claimed, headers=nanjing).status_code == 403


def test_list_by_kind_with_pagination(client: TestClient, nanjing: dict[str, str]) -> None:
    made = [
        submit(client, nanjing, kind="stage_report"),
        submit(client, nanjing, kind="other", title="活动安排"),
        submit(client, nanjing, kind="final_summary", title="整体活动总结"),
        submit(client, nanjing, kind="stage_report", title="阶段性进展情况（修订）"),
    ]
    listed = client.get(DOCUMENTS, params={"kind": "stage_report"}, headers=nanjing).json()
    assert [d["id"] for d in listed["items"]] == [made[0]["id"], made[3]["id"]]
    page = client.get(DOCUMENTS, params={"limit": 3}, headers=nanjing).json()
    rest = client.get(
        DOCUMENTS, params={"limit": 3, "cursor": page["next_cursor"]}, headers=nanjing
    ).json()
    assert [d["id"] for d in page["items"] + rest["items"]] == [d["id"] for d in made]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "weekly"}, "kind"),
        ({"text": ""}, "text"),
        ({"text": "\x00"}, "text"),
        ({"title": "a\nb"}, "title"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_documents(
    client: TestClient, nanjing: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    response = client.post(DOCUMENTS, json=DOCUMENT | changes, headers=nanjing)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


def test_other_cities_documents_are_out_of_reach(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    suzhou = auth("reporter", SUZHOU)
    document = submit(client, nanjing)
    assert client.get(f"{DOCUMENTS}/{document['id']}", headers=suzhou).status_code == 403
    foreign = client.get(city_url(SUZHOU, "documents", document["id"]), headers=suzhou)
    assert foreign.status_code == 404 and "进展" not in foreign.text


@role_matrix()
def test_roles(
    client: TestClient, auth: Auth, role: str, city: str | None, read: int, write: int
) -> None:
    document = submit(client, auth("reporter", NANJING))
    headers = auth(role, city)
    assert client.get(DOCUMENTS, headers=headers).status_code == read
    assert client.get(f"{DOCUMENTS}/{document['id']}", headers=headers).status_code == read
    assert client.post(DOCUMENTS, json=DOCUMENT, headers=headers).status_code == write
    assert client.get(DOCUMENTS).status_code == 401
