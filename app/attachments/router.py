"""Attachment routes, made once for every kind of record that can carry files.

`attachment_router(...)` builds upload, list and download routes under a record's address,
e.g. `/{campaign}/cities/{city}/cases/{case_id}/attachments`, for the record's router (with
the `/api/v1/campaigns` prefix) to include; the record's package passes how to find the
record, so a file is reachable exactly when its record is.
"""

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.attachments import service
from app.attachments.models import OwnerType
from app.attachments.naming import content_disposition
from app.attachments.schemas import ACCEPTED, AttachmentOut, attachment_out
from app.attachments.sniff import FILE_TYPES
from app.attachments.storage import StorageDep
from app.attachments.upload import UploadLimits, receive_file
from app.auth.dependencies import CityReaderDep, CityWriterDep
from app.core.deps import SessionDep, SettingsDep
from app.core.params import MAX_ID, CampaignId, RowId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.settings import MAX_UPLOAD_BYTES_LIMIT, MIB

UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "file": {
                        "type": "string",
                        "contentMediaType": "application/octet-stream",
                        "description": f"One file: {ACCEPTED}. Its type is decided by its "
                        "content; per-kind size limits apply (see the service settings).",
                    }
                },
            }
        }
    },
}
DOWNLOAD_CONTENT = {
    filetype.media_type: {"schema": {"type": "string", "contentMediaType": filetype.media_type}}
    for filetype in FILE_TYPES
}


def attachment_router(
    *,
    owner_type: OwnerType,
    collection: str,
    id_param: str,
    label: str,
    resolve: service.OwnerResolver,
    tags: list[str | Enum],
) -> APIRouter:
    router = APIRouter(
        route_class=ServiceRoute, tags=tags
    )  # included by the record's router, under its prefix
    base = f"/{{campaign}}/cities/{{city}}/{collection}/{{{id_param}}}/attachments"
    slug = label.replace(" ", "_")  # in operation ids
    RecordIdPath = Annotated[  # noqa: N806 (a type alias made per router)
        int, Path(alias=id_param, ge=1, le=MAX_ID, description=f"The {label}'s id")
    ]

    def prepare(
        session: Session, campaign: str, city: str, record_id: int, maximum: int
    ) -> service.Owner:
        owner = resolve(session, campaign, city, record_id)
        service.ensure_capacity(session, owner, maximum)
        # Nothing is written yet: end the transaction so that no database lock (SQLite's
        # write lock in particular) is held while the file streams in.
        session.commit()
        return owner

    @router.post(
        base,
        name=f"upload_{slug}_attachment",
        status_code=201,
        # each kind's own limit is enforced as the file streams in
        max_body_size=MAX_UPLOAD_BYTES_LIMIT + MIB,
        summary=f"Attach a file to a {label}",
        description=f"multipart/form-data with one field `file`. Accepted: {ACCEPTED}, decided "
        "by the file's content (its signature and structure), never by its name or declared "
        "type; truncated files are refused. Limits per kind: pictures, video and documents "
        "each have their own maximum size. The file streams to storage and its SHA-256 is "
        "recorded; a refused upload leaves nothing behind.",
        response_model=AttachmentOut,
        responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
        openapi_extra={"requestBody": UPLOAD_BODY},
    )
    async def upload_attachment(
        request: Request,
        response: Response,
        session: SessionDep,
        settings: SettingsDep,
        storage: StorageDep,
        access: CityWriterDep,
        campaign: CampaignId,
        record_id: RecordIdPath,
    ) -> AttachmentOut:
        maximum = settings.max_attachments_per_record
        owner = await run_in_threadpool(prepare, session, campaign, access.city, record_id, maximum)
        received = await receive_file(request, storage, UploadLimits.from_settings(settings))
        row = await run_in_threadpool(
            service.record_upload,
            session,
            storage,
            owner,
            received,
            actor=access.principal.client_id,
            maximum=maximum,
        )
        out = attachment_out(row)
        response.headers["Location"] = out.url
        return out

    @router.get(
        base,
        name=f"list_{slug}_attachments",
        summary=f"The files attached to a {label}",
        description="In upload order; at most the configured number of files per record.",
        response_model=list[AttachmentOut],
        responses=problem_responses(401, 403, 404, 422),
    )
    def list_attachments(
        session: SessionDep, access: CityReaderDep, campaign: CampaignId, record_id: RecordIdPath
    ) -> list[AttachmentOut]:
        owner = resolve(session, campaign, access.city, record_id)
        return [attachment_out(row) for row in service.list_attachments(session, owner)]

    @router.get(
        base + "/{attachment_id}",
        name=f"download_{slug}_attachment",
        summary=f"Download a file attached to a {label}",
        description="The bytes as uploaded, with the content type decided at upload, "
        "`Content-Disposition: attachment` with the file name, and the SHA-256 as ETag.",
        response_class=StreamingResponse,
        responses={
            200: {"description": "The file", "content": DOWNLOAD_CONTENT},
            **problem_responses(401, 403, 404, 422),
        },
    )
    def download_attachment(
        session: SessionDep,
        storage: StorageDep,
        access: CityReaderDep,
        campaign: CampaignId,
        record_id: RecordIdPath,
        attachment_id: RowId,
    ) -> StreamingResponse:
        owner = resolve(session, campaign, access.city, record_id)
        row = service.get_attachment(session, owner, attachment_id)
        if not storage.exists(row.storage_key):
            raise RuntimeError(f"attachment {row.id}: {row.storage_key} is missing from storage")
        return StreamingResponse(
            storage.read(row.storage_key),
            media_type=row.media_type,
            headers={
                "Content-Disposition": content_disposition(row.filename),
                "Content-Length": str(row.size_bytes),
                "ETag": f'"{row.sha256}"',
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-cache",
            },
        )

    return router
