"""Property-based contract check that reaches the application: every operation, fuzzed
in-process as an administrator and as a city reporter, with its path parameters pinned to
records that exist (campaign, city, table, period, a case, a document, an event, an export
job), never answers 5xx and always answers with what the OpenAPI document promises —
status codes, bodies, content types and headers — refuses requests without a token,
refuses schema-invalid input, and answers methods it does not offer with 405.
At least 80 % of the operations must succeed (2xx) at least once, so the run shows that the
fuzzing got past the door."""

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.records_helpers import DOCUMENT, NANJING, case_body, city_url, event_body
from tests.samples import png

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    ignored_auth,
    negative_data_rejection,
    unsupported_method,
]
EXAMPLES_PER_OPERATION = 12
REQUIRED_SUCCESS_SHARE = 0.8

Auth = Callable[..., dict[str, str]]


def existing_records(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """Records the pinned path parameters point at, created through the API."""
    snapshot = client.put(
        city_url(NANJING, "tables/t1/periods/W03"),
        json={"values": {"fairs_total": 12, "fairs_online": 5}},
        headers=admin,
    )
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=admin).json()
    attachment = client.post(
        city_url(NANJING, "cases", case["id"], "attachments"),
        files={"file": ("现场.png", png())},
        headers=admin,
    ).json()
    document = client.post(city_url(NANJING, "documents"), json=DOCUMENT, headers=admin).json()
    event = client.put(
        city_url(NANJING, "events", "NJ-2024-000123"), json=event_body(), headers=admin
    )
    job = client.post(
        "/api/v1/campaigns/js-2024/exports/jobs", json={"kind": "t1.xlsx"}, headers=admin
    ).json()
    assert snapshot.status_code == 200 and event.status_code in (200, 201)
    return {
        "campaign": "js-2024",
        "city": NANJING,
        "code": NANJING,
        "table": "t1",
        "period": "W03",
        "case_id": case["id"],
        "attachment_id": attachment["id"],
        "document_id": document["id"],
        "external_id": "NJ-2024-000123",
        "job_id": job["id"],
    }


def test_every_operation_honours_its_contract(app: FastAPI, client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    pinned = existing_records(client, admin)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the OpenAPI document has invalid operations"
    assert len(operations) >= 50

    succeeded: set[str] = set()
    for headers in (admin, auth("reporter", NANJING)):
        for operation in operations:
            fuzz(operation, headers, pinned, succeeded)

    share = len(succeeded) / len(operations)
    never = sorted({o.label for o in operations} - succeeded)
    assert share >= REQUIRED_SUCCESS_SHARE, f"{share:.0%} succeeded; never: {never}"


def fuzz(
    operation: Any, headers: dict[str, str], pinned: dict[str, Any], succeeded: set[str]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Any]) -> None:
        for name in case.path_parameters or {}:
            if name in pinned:
                case.path_parameters[name] = pinned[name]
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if 200 <= response.status_code < 300:
            succeeded.add(operation.label)

    check()
