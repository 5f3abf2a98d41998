"""Hostile and sloppy input (issue 11): every attack gets a fast 4xx that names the field,
the server stays healthy, nothing is stored, and errors carry their request id."""

import io
import json
import logging
import time
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.observability import _RequestContextFilter
from app.regions import router as regions_router
from tests.records_helpers import NANJING, Auth, case_body, city_url, event_body

CAMPAIGN = "/api/v1/campaigns/js-2024"


@pytest.mark.parametrize(
    "path",
    [
        "cases/{case}/revisions",
        "events/NJ-2024-000123/revisions",
        "contacts/revisions",
    ],
)
def test_revision_cursors_at_the_top_of_the_integer_range(
    client: TestClient, auth: Auth, path: str
) -> None:
    """PostgreSQL answered 500 "integer out of range" for after=2147483646&limit=100."""
    nanjing = auth("reporter", NANJING)
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    client.put(
        city_url(NANJING, "events", "NJ-2024-000123"),
        json={k: v for k, v in event_body().items() if k != "external_id"},
        headers=nanjing,
    ).raise_for_status()
    client.put(
        city_url(NANJING, "contacts"),
        json={"name": "王敏", "phone": "13812345678", "email": "a@b.cn"},
        headers=nanjing,
    ).raise_for_status()
    url = city_url(NANJING, path.format(case=case["id"]))
    top = client.get(url, params={"after": 2**31 - 2, "limit": 100}, headers=nanjing)
    assert top.status_code == 200, top.text
    assert top.json() == []
    beyond = client.get(url, params={"after": 2**31, "limit": 100}, headers=nanjing)
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["field"] == "query.after"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2024-02-23", "2024-02-23T17:30:00"])
@pytest.mark.parametrize("path", ["/totals", "/goals?at=", "/compliance"])
def test_instants_must_be_iso_8601_with_an_offset(
    client: TestClient, auth: Auth, value: str, path: str
) -> None:
    name = "at" if "at=" in path else "as_of"
    response = client.get(
        CAMPAIGN + path.split("?")[0], params={name: value}, headers=auth("viewer")
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == f"query.{name}"
    assert "ISO 8601" in error["message"]


def test_a_timestamp_number_is_refused_in_bodies_too(client: TestClient, auth: Auth) -> None:
    response = client.put(
        f"{CAMPAIGN}/cities/{NANJING}/tables/t1/periods/W01",
        json={"values": {"fairs_total": 1}, "received_at": 1706000000},
        headers=auth("admin"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "received_at"


@pytest.mark.parametrize("value", ["0001-01-01T00:04:00+01:00", "9999-12-31T23:00:00-12:00"])
def test_an_instant_outside_what_can_be_stored_is_named_so(
    client: TestClient, auth: Auth, value: str
) -> None:
    """Found by the stateful fuzz: ISO 8601 and a JSON Schema date-time, but outside years
    1-9999 in UTC. A 422 with its own code (the contract cannot state the rule), not a
    generic error saying the wrong end."""
    response = client.put(
        f"{CAMPAIGN}/due-overrides/W04", json={"due": value, "reason": "x"}, headers=auth("admin")
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["field"], error["code"]) == ("due", "not_storable")


def test_iso_instants_with_offsets_are_accepted(client: TestClient, auth: Auth) -> None:
    for value in ("2024-03-01T10:00:00+08:00", "2024-03-01T02:00:00Z", "2024-03-01T10:00+0800"):
        response = client.get(f"{CAMPAIGN}/totals", params={"as_of": value}, headers=auth("viewer"))
        assert response.status_code == 200, (value, response.text)


def test_an_unexpected_error_is_a_500_problem_with_its_request_id_logged_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("storage is not writable")

    monkeypatch.setattr(regions_router, "list_regions", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/regions")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    request_id = response.headers["x-request-id"]
    assert request_id and response.json()["request_id"] == request_id
    assert "storage is not writable" not in response.text  # no internals to the client
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert tracebacks[0].request_id == request_id  # type: ignore[attr-defined]


def test_log_lines_carry_no_ansi_colour_copy() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "Started", None, None)
    record.color_message = "\x1b[32mStarted\x1b[0m"
    _RequestContextFilter().filter(record)
    assert not hasattr(record, "color_message")
    assert json.dumps(record.__dict__, default=str).count("\\u001b") == 0


SNAPSHOT = f"{CAMPAIGN}/cities/{NANJING}/tables/t1/periods/W01"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"values": {"fairs_total": 3}}'.encode("utf-16"), "not_utf8"),
        (b'{"values": {"fairs_total": 3, "fairs_total": 5}}', "duplicate_key"),
        (b'{"values": {"fairs_total": 3}, "values": {"fairs_total": 5}}', "duplicate_key"),
        (b'{"values": {"fairs_total": NaN}}', "invalid_number"),
        (b'{"values": {"fairs_total": 3}', "json_invalid"),
    ],
)
def test_bodies_must_be_strict_utf8_json(
    client: TestClient, auth: Auth, body: bytes, code: str
) -> None:
    nanjing = auth("reporter", NANJING)
    response = client.put(
        SNAPSHOT, content=body, headers=nanjing | {"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == code
    assert response.json()["errors"][0]["field"] == "body"
    assert client.get(SNAPSHOT, headers=nanjing).status_code == 404  # nothing stored


def test_a_utf8_body_with_a_byte_order_mark_is_fine(client: TestClient, auth: Auth) -> None:
    response = client.put(
        SNAPSHOT,
        content=b"\xef\xbb\xbf" + b'{"values": {"fairs_total": 3}}',
        headers=auth("reporter", NANJING) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_json_bodies_are_capped_before_parsing(client: TestClient, auth: Auth) -> None:
    nanjing = auth("reporter", NANJING)
    huge = b'{"values": {"fairs_total": 3}, "note": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.put(
        SNAPSHOT, content=huge, headers=nanjing | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    # a 5,000-event batch is larger than that and has its own, higher bound
    items = [event_body(external_id=f"NJ-BIG-{n:05d}") for n in range(3000)]
    batch = client.post(
        city_url(NANJING, "events", "batch"), json={"items": items}, headers=nanjing
    )
    assert len(json.dumps({"items": items})) > 1024 * 1024
    assert batch.status_code == 200, batch.text[:500]


def test_a_large_input_is_never_echoed_in_a_problem(client: TestClient, auth: Auth) -> None:
    key = "k" * 500_000
    response = client.put(
        SNAPSHOT,
        content=json.dumps({"values": {"fairs_total": 3}, key: 1}),
        headers=auth("reporter", NANJING) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert len(response.content) < 5_000


def deflated_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_compression_bomb_docx_is_refused_and_nothing_kept(
    client: TestClient, auth: Auth
) -> None:
    nanjing = auth("reporter", NANJING)
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    bomb = deflated_zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/document.xml": b"<w:document>" + b"a" * (24 * 1024 * 1024) + b"</w:document>",
        }
    )
    assert len(bomb) < 100_000
    url = city_url(NANJING, "cases", case["id"], "attachments")
    started = time.monotonic()
    response = client.post(url, files={"file": ("report.docx", bomb)}, headers=nanjing)
    assert time.monotonic() - started < 2
    assert response.status_code == 422, response.text
    assert "compression bomb" in response.json()["detail"]
    assert client.get(url, headers=nanjing).json() == []


def test_a_workbook_with_a_shared_strings_bomb_is_refused_at_once(
    client: TestClient, auth: Auth
) -> None:
    nanjing = auth("reporter", NANJING)
    template = client.get(f"{CAMPAIGN}/tables/t1/template.xlsx").content
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    strings = b"<si><t>x</t></si>" * 300_000
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main">' + strings + b"</sst>"
    )
    bomb = deflated_zip(members)
    started = time.monotonic()
    response = client.post(
        f"{CAMPAIGN}/cities/{NANJING}/tables/t1/imports",
        params={"period": "W02"},
        files={"file": ("t1.xlsx", bomb)},
        headers=nanjing,
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 422, response.text
    assert "the workbook is refused" in response.json()["detail"]
    snapshot = client.get(f"{CAMPAIGN}/cities/{NANJING}/tables/t1/periods/W02", headers=nanjing)
    assert snapshot.status_code == 404
