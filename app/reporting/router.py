"""Snapshot intake: PUT a city's table for a period, read it back, import files."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Header, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from app.auth.dependencies import CityReaderDep, CityWriterDep
from app.auth.policy import Principal, receipt_time
from app.campaigns.definition import Table
from app.campaigns.service import get_definition, get_table
from app.core.deps import ReadSessionDep, SessionDep, SettingsDep, short_read
from app.core.instants import Instant
from app.core.numbers import json_number
from app.core.params import SNAPSHOT_PATH, CampaignId, PeriodPath, PeriodQuery, TableId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.settings import MAX_IMPORT_BYTES_LIMIT, MIB
from app.core.text import Multiline
from app.core.types import utc_now
from app.idempotency.header import IdempotencyKey
from app.idempotency.service import StoredResponse, answer_once
from app.regions.service import names_of
from app.reporting import snapshots
from app.reporting.imports import check_whose, read_upload
from app.reporting.schemas import (
    ImportResult,
    SnapshotIn,
    SnapshotOut,
    SnapshotRevisionOut,
    SnapshotWriteResult,
    ValueChange,
    json_values,
    snapshot_out,
)
from app.reporting.snapshots import SnapshotKey, Submission, WriteOutcome, etag_of
from app.reporting.spreadsheets import build_template
from app.review.service import snapshot_review

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["snapshots"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _write_result(key: SnapshotKey, outcome: WriteOutcome, dry_run: bool) -> dict[str, Any]:
    return SnapshotWriteResult(
        status=outcome.status,
        dry_run=dry_run,
        campaign=key.campaign_id,
        city=key.city,
        table=key.table_id,
        period=key.period_id,
        revision=outcome.revision_number,
        received_at=outcome.received_at,
        values=json_values(outcome.values),
        warnings=[snapshots.violation_document(v) for v in outcome.warnings],
    ).model_dump(mode="json")


def _submit(
    request: Request,
    session: SessionDep,
    principal: Principal,
    key: SnapshotKey,
    submission: Submission,
    *,
    strict: bool,
    dry_run: bool,
    if_match: str | None,
    idempotency_key: str | None,
    fingerprint_body: Any,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """The one write path shared by JSON submissions and file imports."""
    definition = get_definition(session, key.campaign_id)
    target = snapshots.resolve_target(session, definition, key)

    def produce() -> StoredResponse:
        outcome = snapshots.submit_snapshot(
            session,
            definition,
            target,
            submission,
            strict=strict,
            dry_run=dry_run,
            if_match=if_match,
        )
        body = _write_result(key, outcome, dry_run) | (extra or {})
        headers = {"ETag": outcome.etag} if outcome.etag else {}
        return StoredResponse(200, body, headers)

    response = answer_once(
        request,
        session,
        principal.client_id,
        idempotency_key,
        fingerprint_body,
        produce,
        store=not dry_run,
    )
    # Committed here, in the worker thread that did the writing, rather than by the session
    # dependency in a thread hop of its own; a failed commit still becomes an error response.
    session.commit()
    return response


@router.put(
    SNAPSHOT_PATH,
    summary="Submit a city's cumulative figures for one table and period",
    description="Validates against the campaign's rules and stores a new revision when the "
    "values changed (`unchanged` otherwise). Errors list every violation at once; warnings "
    "(sum rules, decreases) are stored and returned, or refused with `strict=true`. "
    "`dry_run=true` validates without storing. Send `Idempotency-Key` to make retries safe "
    "and `If-Match` with the ETag you read to avoid overwriting someone else's correction. "
    "A locked period, or a snapshot a reviewer approved, refuses the write with 423 until it "
    "is unlocked or reopened; a new revision of a returned snapshot puts it back to "
    "`submitted` for review.",
    response_model=SnapshotWriteResult,
    responses=problem_responses(401, 403, 404, 412, 422, 423),
)
def put_snapshot(
    request: Request,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodPath,
    body: Annotated[SnapshotIn, Body()],
    strict: bool = False,
    dry_run: bool = False,
    idempotency_key: IdempotencyKey = None,
    if_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    received_at, backdated = receipt_time(access.principal, body.received_at)
    key = SnapshotKey(campaign, access.city, table, period)
    submission = Submission(
        raw=body.values,
        note=body.note,
        source="api",
        submitted_by=access.principal.client_id,
        received_at=received_at,
        backdated=backdated,
    )
    return _submit(
        request,
        session,
        access.principal,
        key,
        submission,
        strict=strict,
        dry_run=dry_run,
        if_match=if_match,
        idempotency_key=idempotency_key,
        fingerprint_body=body.model_dump(mode="json"),
    )


@router.get(
    SNAPSHOT_PATH,
    summary="The current snapshot (or the one current at `as_of`), with its review state",
    response_model=SnapshotOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_snapshot(
    response: Response,
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodPath,
    as_of: Instant | None = None,
) -> dict[str, Any]:
    key = SnapshotKey(campaign, access.city, table, period)
    snapshots.resolve_target(session, get_definition(session, campaign), key)
    found = (
        snapshots.revision_as_of(session, key, as_of)
        if as_of
        else snapshots.current_revision(session, key)
    )
    revision = snapshots.require_revision(found, key)
    response.headers["ETag"] = etag_of(revision)
    return snapshot_out(revision) | {"review": snapshot_review(session, key)}


@router.get(
    SNAPSHOT_PATH + "/revisions",
    name="snapshot_revisions",
    summary="Every revision of a snapshot, with who, when, note and what changed",
    response_model=list[SnapshotRevisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def get_revisions(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodPath,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[dict[str, Any]]:
    key = SnapshotKey(campaign, access.city, table, period)
    snapshots.resolve_target(session, get_definition(session, campaign), key)
    return [
        snapshot_out(row)
        | {
            "changes": [
                ValueChange(key=k, previous=_number(before), current=_number(after))
                for k, before, after in changes
            ]
        }
        for row, changes in snapshots.history(session, key, limit=limit, offset=offset)
    ]


def _number(text: str | None) -> int | float | None:
    return None if text is None else json_number(Decimal(text))


@router.post(
    "/{campaign}/cities/{city}/tables/{table}/imports",
    # the configured MAX_IMPORT_BYTES is enforced as the file is read
    max_body_size=MAX_IMPORT_BYTES_LIMIT + MIB,
    summary="Import the official xlsx table (or a key,value CSV) for one period",
    description="The file goes through exactly the same validation and revision path as a "
    "JSON submission. xlsx: the official layout of the template (columns found by 序号). "
    "CSV: UTF-8 with a `key,value` header. Nothing is stored when anything is wrong.",
    response_model=ImportResult,
    responses=problem_responses(401, 403, 404, 412, 413, 415, 422, 423),
)
async def import_snapshot(
    request: Request,
    session: SessionDep,
    read_session: ReadSessionDep,
    settings: SettingsDep,
    access: CityWriterDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodQuery,
    file: Annotated[UploadFile, File(description="The filled-in .xlsx or .csv")],
    strict: bool = False,
    dry_run: bool = False,
    note: Annotated[str | None, Query(max_length=2000), Multiline] = None,
    idempotency_key: IdempotencyKey = None,
    if_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    # The campaign and table first (an unknown one is a 404 at once), in a worker thread and
    # without holding any database lock while the file arrives and is parsed.
    def table_and_cities(session: Session) -> tuple[Table, dict[str, str]]:
        definition = get_definition(session, campaign)
        return get_table(definition, table), names_of(session, definition.reporting_units)

    found, cities = await short_read(read_session, table_and_cities)
    parsed = await read_upload(file, found, settings)
    check_whose(parsed.sheet, access.city, cities)
    key = SnapshotKey(campaign, access.city, table, period)
    submission = Submission(
        raw=parsed.sheet.raw,
        note=note,
        source=parsed.format,
        submitted_by=access.principal.client_id,
        received_at=utc_now(),
    )
    source = {
        "format": parsed.format,
        "filename": file.filename,
        "unit_name": parsed.sheet.unit_name,
        "report_date": parsed.sheet.report_date,
        "values_read": len(parsed.sheet.raw),
    }
    return await run_in_threadpool(
        _submit,
        request,
        session,
        access.principal,
        key,
        submission,
        strict=strict,
        dry_run=dry_run,
        if_match=if_match,
        idempotency_key=idempotency_key,
        fingerprint_body={"sha256": parsed.sha256},
        extra={"source": source},
    )


@router.get(
    "/{campaign}/tables/{table}/template.xlsx",
    summary="A blank official template of a table (附件1 / 附件2)",
    description="Public. Fill in the 数值 row and upload it to the imports endpoint.",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(404, 422),
    },
)
def get_template(session: SessionDep, campaign: CampaignId, table: TableId) -> Response:
    definition = get_definition(session, campaign)
    found = get_table(definition, table)
    filename = f"{definition.id}-{found.id}-template.xlsx"
    return Response(
        build_template(found, definition.name_zh),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
