"""The OpenAPI document: FastAPI's, plus the shared Problem schema every error refers to.

The domain adds to the description through `appendix` (the campaigns' indicator tables, from
`app.campaigns.reference`): nothing here imports a domain package."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.problems import Problem, problem_responses
from app.core.routing import COMPONENTS, RAW_BODY_MODELS

API_DESCRIPTION = """
Reporting service for the **2024 Spring Breeze Action** (2024年春风行动).

City HR bureaus push their weekly cumulative statistics (附件1 / 附件2), highlight cases,
recruitment events, contacts and reports; provincial staff and dashboards read computed views.

**Authentication.** OAuth2 client credentials: `POST /api/v1/auth/token` with
`grant_type=client_credentials`, `client_id`, `client_secret` returns a short-lived bearer
token. Send it as `Authorization: Bearer <token>`. Roles: `reporter` (one city, writes and
reads only that city), `viewer` (reads everything), `admin` (also manages deadlines and locks).

**Errors.** Every error is `application/problem+json` (RFC 9457) with an `errors` list naming
each offending field, and the `request_id` also sent in the `X-Request-ID` header.

**Reference data** (regions, campaigns, periods, indicator catalogues) is public.

## The reporting flow

1. Every Friday before close of business (17:30 Asia/Shanghai; a holiday moves the due day to
   the next working day, see `GET /campaigns/{id}/periods`), each city `PUT`s its cumulative
   figures for T1 and T2 to `/campaigns/{id}/cities/{city}/tables/{table}/periods/{period}`
   (or uploads the official xlsx to `…/imports`), and posts at least three highlight cases.
2. A resubmission is a new revision; nothing is overwritten. `Idempotency-Key` makes retries
   safe, `If-Match` protects a correction from a concurrent one.
3. Recruitment events go to the registry (`…/events/batch`), the source of the "3 events per
   county per week" goal; contacts, the stage report and the final summary at their dates.
4. The province reads `/deltas`, `/totals`, `/goals`, `/compliance` and `/quality` (each also
   `as_of` an instant; every city or county code comes with its `city_name` / `county_name`),
   and exports the official tables under `/exports` (the views as CSV too, with `lang=zh`
   in Chinese for people).
""".strip()


def build_openapi(app: FastAPI, appendix: Callable[[], str]) -> dict[str, Any]:
    """Built once per app; `appendix()` is Markdown that follows `API_DESCRIPTION`."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=API_DESCRIPTION + "\n\n" + appendix(),
        routes=app.routes,
        tags=[
            {"name": "auth", "description": "Access tokens (OAuth2 client credentials)"},
            {"name": "reference", "description": "Administrative regions (public)"},
            {"name": "campaigns", "description": "Campaign definitions, periods and deadlines"},
            {
                "name": "snapshots",
                "description": "Weekly T1/T2 statistics: submit, revisions, "
                "imports, templates and period locks",
            },
            {
                "name": "contacts",
                "description": "The city's contact person; phone and e-mail masked for viewers",
            },
            {
                "name": "cases",
                "description": "Weekly highlight cases (附件3) with revisions and attachments; "
                "the province-wide urgent list",
            },
            {
                "name": "events",
                "description": "The recruitment-event registry: upserts by the city system's "
                "id, batches of up to 5,000 with an import summary, filtered listing",
            },
            {
                "name": "documents",
                "description": "Stage progress report, overall summary and other documents, "
                "with attachments",
            },
            {
                "name": "computed",
                "description": "Deltas, province totals, goals, compliance and quality checks, "
                "live or `as_of` an instant; ETag/304 for polling dashboards",
            },
            {
                "name": "exports",
                "description": "附件1/附件2 as xlsx, 附件3 as docx, computed views as CSV",
            },
            {"name": "operations", "description": "Health, readiness and metrics"},
        ],
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for model in RAW_BODY_MODELS.values():
        document = model.model_json_schema(ref_template=COMPONENTS + "{model}")
        for name, definition in document.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = document
    _document_shedding(schema)
    _link_operations(schema)
    app.openapi_schema = schema
    return schema


def _document_shedding(schema: dict[str, Any]) -> None:
    """Any API operation may be refused with 503 and Retry-After when the service is at
    capacity or the database is busy (admission control, bounded queues)."""
    busy = problem_responses(503)[503] | {
        "description": "At capacity or the database is busy: nothing was done; retry after "
        "the number of seconds in `Retry-After`",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    }
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("503", busy)


# What a client (or a stateful fuzzer) can do next with what a write answered: OpenAPI links
# from a producing operation's success to the operations that read or change the record.
_SAME_CITY = {"campaign": "$request.path.campaign", "city": "$request.path.city"}
OPERATION_LINKS: dict[str, tuple[tuple[str, ...], dict[str, str], tuple[str, ...]]] = {
    # producer operationId: (its success statuses, parameters, linked operationIds)
    "create_case": (
        ("201",),
        _SAME_CITY | {"case_id": "$response.body#/id"},
        (
            "read_case",
            "update_case",
            "case_revisions",
            "list_highlight_case_attachments",
            "upload_highlight_case_attachment",
        ),
    ),
    "upload_highlight_case_attachment": (
        ("201",),
        _SAME_CITY | {"case_id": "$request.path.case_id", "attachment_id": "$response.body#/id"},
        ("download_highlight_case_attachment",),
    ),
    "submit_document": (
        ("201",),
        _SAME_CITY | {"document_id": "$response.body#/id"},
        ("read_document", "list_document_attachments", "upload_document_attachment"),
    ),
    "upload_document_attachment": (
        ("201",),
        _SAME_CITY
        | {"document_id": "$request.path.document_id", "attachment_id": "$response.body#/id"},
        ("download_document_attachment",),
    ),
    "put_event": (
        ("200", "201"),
        _SAME_CITY | {"external_id": "$request.path.external_id"},
        ("read_event", "event_revisions"),
    ),
    "put_snapshot": (
        ("200",),
        _SAME_CITY
        | {
            "table": "$request.path.table",
            "period": "$request.path.period",
        },
        ("get_snapshot", "snapshot_revisions"),
    ),
    "put_contact": (("200", "201"), _SAME_CITY, ("read_contact", "contact_revisions")),
    "start_export_job": (
        ("202",),
        {"campaign": "$request.path.campaign", "job_id": "$response.body#/id"},
        ("read_export_job", "read_export_job_file"),
    ),
    "lock_period": (
        ("200",),
        {"campaign": "$request.path.campaign", "period": "$request.path.period"},
        ("unlock_period",),
    ),
    "put_due_override": (
        ("200",),
        {"campaign": "$request.path.campaign", "item": "$request.path.item"},
        ("delete_due_override",),
    ),
}


def _link_operations(schema: dict[str, Any]) -> None:
    operations = {
        operation["operationId"]: operation
        for path_item in schema.get("paths", {}).values()
        for operation in path_item.values()
        if "operationId" in operation
    }
    for producer, (statuses, parameters, targets) in OPERATION_LINKS.items():
        for status in statuses:
            response = operations[producer]["responses"][status]
            response["links"] = {
                target: {
                    "operationId": target,
                    "parameters": {
                        name: value
                        for name, value in parameters.items()
                        if name in _path_parameters(operations[target])
                    },
                }
                for target in targets
            }


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
