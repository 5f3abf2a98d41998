"""Contacts: validation, revisions, and masking of personal data by role."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.records_helpers import CONTACT, NANJING, SUZHOU, Auth, city_url

CONTACTS = city_url(NANJING, "contacts")


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


def test_submit_normalise_and_revise(client: TestClient, nanjing: dict[str, str]) -> None:
    assert client.get(CONTACTS, headers=nanjing).status_code == 404
    created = client.put(CONTACTS, json=CONTACT, headers=nanjing)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "created" and body["revision"] == 1 and body["masked"] is False
    assert body["phone"] == "025-83201234" and body["email"] == "jiuye@nanjing.gov.cn"

    same = client.put(CONTACTS, json=CONTACT | {"phone": "(025) 83201234"}, headers=nanjing)
    assert same.status_code == 200 and same.json()["status"] == "unchanged"

    changed = client.put(CONTACTS, json=CONTACT | {"phone": "+86 139 1234 5678"}, headers=nanjing)
    assert changed.json()["status"] == "updated" and changed.json()["revision"] == 2
    assert changed.json()["phone"] == "13912345678"
    assert changed.json()["first_received_at"] == body["first_received_at"]

    history = client.get(CONTACTS + "/revisions", headers=nanjing).json()
    assert [h["revision"] for h in history] == [1, 2]
    assert history[1]["changes"] == [
        {"field": "phone", "previous": "025-83201234", "current": "13912345678"}
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "83201234"}, "phone"),
        ({"email": "jiuye@"}, "email"),
        ({"email": "not an email"}, "email"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"phone": None}, "phone"),
        ({"fax": "025-83201235"}, "fax"),
    ],
)
def test_invalid_contacts(
    client: TestClient, nanjing: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    response = client.put(CONTACTS, json=CONTACT | changes, headers=nanjing)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("role", "city", "status", "masked"),
    [
        ("reporter", NANJING, 200, False),
        ("admin", None, 200, False),
        ("viewer", None, 200, True),
        ("reporter", SUZHOU, 403, None),
    ],
)
def test_personal_data_is_masked_for_viewers(
    client: TestClient,
    nanjing: dict[str, str],
    auth: Auth,
    role: str,
    city: str | None,
    status: int,
    masked: bool | None,
) -> None:
    client.put(CONTACTS, json=CONTACT, headers=nanjing)
    client.put(CONTACTS, json=CONTACT | {"phone": "13912345678"}, headers=nanjing)
    headers = auth(role, city)
    response = client.get(CONTACTS, headers=headers)
    history = client.get(CONTACTS + "/revisions", headers=headers)
    assert response.status_code == status and history.status_code == status
    if status != 200:
        assert "1391234" not in response.text and "jiuye" not in response.text
        return
    contact = response.json()
    assert contact["masked"] is masked and contact["name"] == "王敏"
    if masked:
        assert contact["phone"] == "139****5678" and contact["email"] == "j***@nanjing.gov.cn"
        assert "13912345678" not in history.text and "83201234" not in history.text
        assert "jiuye@" not in history.text
        assert history.json()[0]["data"]["phone"] == "025-****1234"
    else:
        assert contact["phone"] == "13912345678" and contact["email"] == "jiuye@nanjing.gov.cn"
        assert history.json()[0]["data"]["phone"] == "025-83201234"


@pytest.mark.parametrize(
    ("role", "city", "status"),
    [
        ("reporter", NANJING, 201),
        ("admin", None, 201),
        ("viewer", None, 403),
        ("reporter", SUZHOU, 403),
    ],
)
def test_who_may_write(
    client: TestClient, auth: Auth, role: str, city: str | None, status: int
) -> None:
    assert client.put(CONTACTS, json=CONTACT, headers=auth(role, city)).status_code == status
    assert client.put(CONTACTS, json=CONTACT).status_code == 401


def test_backdated_contacts(client: TestClient, nanjing: dict[str, str], auth: Auth) -> None:
    claimed = {"received_at": "2024-01-26T09:00:00+08:00"}
    assert client.put(CONTACTS, json=CONTACT | claimed, headers=nanjing).status_code == 403
    loaded = client.put(CONTACTS, json=CONTACT | claimed, headers=auth("admin")).json()
    assert loaded["backdated"] is True and loaded["received_at"] == "2024-01-26T01:00:00Z"
    assert loaded["first_received_at"] == "2024-01-26T01:00:00Z"


def test_unknown_city_or_campaign(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    assert (
        client.put(city_url("320102", "contacts"), json=CONTACT, headers=admin).status_code == 404
    )
    other = CONTACTS.replace("js-2024", "zz-2030")
    assert client.put(other, json=CONTACT, headers=admin).status_code == 404
