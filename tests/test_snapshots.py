"""Weekly statistics intake: validation, revisions, replay safety, locks and roles."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.changes import change_token, data_version, mark_changed

Auth = Callable[..., dict[str, str]]
BASE = "/api/v1/campaigns/js-2024/cities/{city}/tables/{table}/periods/{period}"

T1_W02 = {
    "publicity_materials": 12000,
    "fairs_total": 35,
    "fairs_online": 20,
    "fairs_offline": 15,
    "fairs_labor_brand": 3,
    "postings_total": 8200,
    "postings_online": 5000,
    "postings_offline": 3200,
    "recruitment_funds": 12.5,
}


def url(period: str = "W02", city: str = "320100", table: str = "t1") -> str:
    return BASE.format(city=city, table=table, period=period)


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", "320100")


def put(
    client: TestClient,
    headers: dict[str, str],
    values: dict[str, Any],
    period: str = "W02",
    **kwargs: Any,
) -> Any:
    extra_headers = kwargs.pop("extra_headers", {})
    return client.put(
        url(period, **kwargs.pop("at", {})),
        json={"values": values, **kwargs},
        headers=headers | extra_headers,
    )


def test_accept_read_back_and_resubmit(client: TestClient, nanjing: dict[str, str]) -> None:
    first = put(client, nanjing, T1_W02, note="首次报送")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "accepted" and body["revision"] == 1 and body["warnings"] == []
    assert body["values"] == T1_W02
    etag = first.headers["etag"]

    current = client.get(url(), headers=nanjing)
    assert current.status_code == 200
    assert current.headers["etag"] == etag
    assert current.json()["values"] == T1_W02 and current.json()["note"] == "首次报送"
    assert current.json()["submitted_by"].startswith("reporter-320100-")

    again = put(client, nanjing, T1_W02)
    assert again.json()["status"] == "unchanged" and again.json()["revision"] == 1

    corrected = put(client, nanjing, T1_W02 | {"publicity_materials": 12500})
    assert corrected.json()["status"] == "accepted" and corrected.json()["revision"] == 2
    assert corrected.headers["etag"] != etag


def test_a_stored_revision_bumps_the_campaigns_data_version(
    client: TestClient, nanjing: dict[str, str], session: Session
) -> None:
    before = data_version(session, "js-2024")
    assert put(client, nanjing, T1_W02).json()["status"] == "accepted"
    assert data_version(session, "js-2024") == before + 1
    assert put(client, nanjing, T1_W02).json()["status"] == "unchanged"
    changed = {"values": T1_W02 | {"fairs_labor_brand": 4}}
    assert client.put(url() + "?dry_run=true", json=changed, headers=nanjing).status_code == 200
    assert data_version(session, "js-2024") == before + 1


def test_a_write_redone_after_a_rollback_gets_a_new_change_token(session: Session) -> None:
    """Same counter value, different data: the memo and ETags must not mistake one for the
    other."""
    before = change_token(session, "js-2024")
    savepoint = session.begin_nested()
    mark_changed(session, "js-2024")
    undone = change_token(session, "js-2024")
    savepoint.rollback()
    assert change_token(session, "js-2024") == before
    mark_changed(session, "js-2024")
    redone = change_token(session, "js-2024")
    assert redone.split("-")[0] == undone.split("-")[0] and redone != undone


def test_every_error_is_reported_at_once_and_nothing_is_stored(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    bad = {
        "fairs_total": 10,
        "fairs_online": 12,
        "publicity_materials": -1,
        "postings_total": 3.5,
        "recruitment_funds": 1.23456,
        "mystery": 1,
        "employment_intents": "many",
        "startups_supported": True,
    }
    response = put(client, nanjing, bad)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    rules = {e["rule"] for e in errors}
    assert rules >= {
        "part_exceeds_total",
        "negative",
        "not_integer",
        "too_many_decimals",
        "unknown_key",
        "not_a_number",
    }
    exceeds = next(e for e in errors if e["rule"] == "part_exceeds_total")
    assert exceeds["keys"] == ["fairs_online", "fairs_total"]
    assert exceeds["values"] == {"fairs_online": "12", "fairs_total": "10"}
    assert exceeds["message_zh"] and exceeds["message"] and exceeds["severity"] == "error"
    assert {e["field"] for e in errors} >= {"values.publicity_materials", "values.mystery"}
    assert client.get(url(), headers=nanjing).status_code == 404


def test_sum_rules_warn_and_strict_refuses(client: TestClient, nanjing: dict[str, str]) -> None:
    uneven = {"fairs_total": 30, "fairs_online": 10, "fairs_offline": 10}
    strict = client.put(url() + "?strict=true", json={"values": uneven}, headers=nanjing)
    assert strict.status_code == 422
    assert [e["rule"] for e in strict.json()["errors"]] == ["t1.fairs_split"]
    assert client.get(url(), headers=nanjing).status_code == 404

    lenient = put(client, nanjing, uneven)
    assert lenient.json()["status"] == "accepted_with_warnings"
    assert [w["rule"] for w in lenient.json()["warnings"]] == ["t1.fairs_split"]
    stored = client.get(url(), headers=nanjing).json()
    assert [w["rule"] for w in stored["warnings"]] == ["t1.fairs_split"]


def test_missing_keys_are_not_reported_not_zero(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    partial = put(client, nanjing, {"fairs_total": 30, "fairs_online": 10})
    assert partial.json()["status"] == "accepted"
    assert client.get(url(), headers=nanjing).json()["values"] == {
        "fairs_total": 30,
        "fairs_online": 10,
    }


def test_a_decrease_against_an_earlier_period_is_flagged(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    assert put(client, nanjing, {"postings_total": 9000}, period="W02").status_code == 200
    assert put(client, nanjing, {"employment_intents": 5}, period="W03").status_code == 200
    lower = put(client, nanjing, {"postings_total": 8000, "employment_intents": 4}, period="W05")
    assert lower.json()["status"] == "accepted_with_warnings"
    decreases = {
        w["keys"][0]: w["values"] for w in lower.json()["warnings"] if w["rule"] == "decrease"
    }
    assert set(decreases) == {"postings_total", "employment_intents"}
    strict = client.put(
        url("W05") + "?strict=true", json={"values": {"postings_total": 7000}}, headers=nanjing
    )
    assert strict.status_code == 422


def test_dry_run_validates_without_storing(client: TestClient, nanjing: dict[str, str]) -> None:
    dry = client.put(url() + "?dry_run=true", json={"values": T1_W02}, headers=nanjing)
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True and dry.json()["status"] == "accepted"
    assert dry.json()["revision"] == 1 and "etag" not in dry.headers
    assert client.get(url(), headers=nanjing).status_code == 404
    bad = client.put(url() + "?dry_run=true", json={"values": {"fairs_total": -1}}, headers=nanjing)
    assert bad.status_code == 422


def test_history_and_as_of(client: TestClient, nanjing: dict[str, str]) -> None:
    first = put(client, nanjing, {"fairs_total": 10}, note="one").json()
    put(client, nanjing, {"fairs_total": 12, "fairs_online": 5}, note="two")
    put(client, nanjing, {"fairs_online": 5}, note="three")
    history = client.get(url() + "/revisions", headers=nanjing).json()
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert [h["note"] for h in history] == ["one", "two", "three"]
    assert history[1]["changes"] == [
        {"key": "fairs_online", "previous": None, "current": 5},
        {"key": "fairs_total", "previous": 10, "current": 12},
    ]
    assert history[2]["changes"] == [{"key": "fairs_total", "previous": 12, "current": None}]
    page = client.get(url() + "/revisions?offset=2&limit=1", headers=nanjing).json()
    assert [h["revision"] for h in page] == [3] and page[0]["changes"] == history[2]["changes"]

    as_of_first = client.get(url(), params={"as_of": first["received_at"]}, headers=nanjing)
    assert as_of_first.json()["revision"] == 1
    before = client.get(url(), params={"as_of": "2024-01-01T00:00:00+08:00"}, headers=nanjing)
    assert before.status_code == 404
    naive = client.get(url(), params={"as_of": "2024-01-01T00:00:00"}, headers=nanjing)
    assert naive.status_code == 422


def test_idempotency_key_replays_and_refuses_a_different_body(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    key = {"Idempotency-Key": "nj-2024-W02-t1-0001"}
    first = put(client, nanjing, T1_W02, extra_headers=key)
    replay = put(client, nanjing, T1_W02, extra_headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == first.headers["etag"]
    assert len(client.get(url() + "/revisions", headers=nanjing).json()) == 1

    other = put(client, nanjing, T1_W02 | {"fairs_total": 36}, extra_headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "key_reused"

    admin = auth("admin")
    own_scope = put(client, admin, T1_W02 | {"fairs_total": 36}, extra_headers=key)
    assert own_scope.status_code == 200 and own_scope.json()["revision"] == 2


def test_if_match_protects_against_lost_updates(
    client: TestClient, nanjing: dict[str, str]
) -> None:
    stale_on_create = put(client, nanjing, T1_W02, extra_headers={"If-Match": '"r1-x"'})
    assert stale_on_create.status_code == 412
    etag = put(client, nanjing, T1_W02).headers["etag"]
    ok = put(client, nanjing, T1_W02 | {"fairs_total": 40}, extra_headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["revision"] == 2
    stale = put(client, nanjing, T1_W02 | {"fairs_total": 41}, extra_headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == ok.headers["etag"]


def test_locked_periods_refuse_writes_but_allow_reads(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    admin = auth("admin")
    assert put(client, nanjing, T1_W02).status_code == 200
    lock_url = "/api/v1/campaigns/js-2024/periods/W02/lock"
    assert client.put(lock_url, json={"reason": "x"}, headers=nanjing).status_code == 403
    locked = client.put(lock_url, json={"reason": "已汇总"}, headers=admin)
    assert locked.status_code == 200 and locked.json()["locked"] is True

    refused = put(client, nanjing, T1_W02 | {"fairs_total": 40})
    assert refused.status_code == 423
    assert "已汇总" in refused.json()["detail"]
    assert put(client, admin, T1_W02 | {"fairs_total": 40}).status_code == 423
    assert client.get(url(), headers=nanjing).status_code == 200
    assert [
        lock["period"]
        for lock in client.get("/api/v1/campaigns/js-2024/locks", headers=nanjing).json()
    ] == ["W02"]

    assert client.delete(lock_url, headers=admin).status_code == 200
    assert put(client, nanjing, T1_W02 | {"fairs_total": 40}).status_code == 200

    one_city = client.put(lock_url, json={"reason": "核查", "city": "320100"}, headers=admin)
    assert one_city.status_code == 200
    assert put(client, nanjing, T1_W02 | {"fairs_total": 41}).status_code == 423
    suzhou = auth("reporter", "320500")
    assert put(client, suzhou, T1_W02, at={"city": "320500"}).status_code == 200


@pytest.mark.parametrize(
    ("role", "city", "write", "read"),
    [
        ("reporter", "320100", 200, 200),
        ("reporter", "320200", 403, 403),
        ("viewer", None, 403, 200),
        ("admin", None, 200, 200),
    ],
)
def test_roles_on_snapshot_routes(
    client: TestClient, auth: Auth, role: str, city: str | None, write: int, read: int
) -> None:
    put(client, auth("reporter", "320100"), {"fairs_total": 1}, period="W03")
    headers = auth(role, city)
    assert put(client, headers, {"fairs_total": 2}).status_code == write
    assert client.get(url("W03"), headers=headers).status_code == read
    assert client.get(url("W03") + "/revisions", headers=headers).status_code == read
    assert client.put(url(), json={"values": {}}).status_code == 401


def test_received_at_is_for_administrators_only(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    claimed = "2024-02-02T17:00:00+08:00"
    refused = put(client, nanjing, T1_W02, received_at=claimed)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "received_at"
    loaded = put(client, auth("admin"), T1_W02, received_at=claimed)
    assert loaded.status_code == 200
    stored = client.get(url(), headers=nanjing).json()
    assert stored["backdated"] is True
    assert stored["received_at"] == "2024-02-02T09:00:00Z"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (url("W13"), 404),
        (url(table="t9"), 404),
        (url(city="320102"), 404),
        (url(period="week2"), 422),
    ],
)
def test_unknown_addresses(client: TestClient, auth: Auth, path: str, status: int) -> None:
    response = client.put(path, json={"values": {"fairs_total": 1}}, headers=auth("admin"))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_body_shape_errors_are_problems(client: TestClient, nanjing: dict[str, str]) -> None:
    response = client.put(url(), json={"valeus": {}}, headers=nanjing)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"values", "valeus"}


def test_control_characters_in_text_are_refused_not_stored(
    client: TestClient, nanjing: dict[str, str], auth: Auth
) -> None:
    response = put(client, nanjing, T1_W02, note="bad\x00note")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "note"
    lock = client.put(
        "/api/v1/campaigns/js-2024/periods/W02/lock",
        json={"reason": "x\x00"},
        headers=auth("admin"),
    )
    assert lock.status_code == 422
