"""Export jobs: a long export runs after the request, reporting its state and percent; the
file is kept in the attachment storage and downloaded when done."""

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from app.attachments.storage import Storage, new_key
from app.auth.models import Role
from app.auth.policy import Principal
from app.campaigns.service import get_definition
from app.core.errors import Conflict, NotFound, ServiceError
from app.core.types import UTCDateTime, utc_now
from app.exports import service

logger = logging.getLogger("app.exports.jobs")

JobKind = Literal["t1.xlsx", "t2.xlsx", "cases.docx"]
JobState = Literal["queued", "running", "done", "failed"]
SessionFactory = Callable[[], Iterator[Session]]


class ExportJob(SQLModel, table=True):
    __tablename__ = "export_job"
    # Jobs are not campaign data: writing them must not invalidate the computed views.
    __campaign_data__ = False

    id: str = Field(primary_key=True, max_length=32)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    kind: str = Field(max_length=16)
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    requested_by: str = Field(max_length=64)
    state: str = Field(default="queued", max_length=16)
    percent: int = Field(default=0)
    error: str | None = Field(default=None, max_length=2000)
    filename: str | None = Field(default=None, max_length=255)
    media_type: str | None = Field(default=None, max_length=100)
    storage_key: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def create_job(
    session: Session, campaign: str, kind: JobKind, params: dict[str, Any], principal: Principal
) -> ExportJob:
    """A queued job of a campaign that exists, for a reader of what it exports."""
    get_definition(session, campaign)
    service.check_reader(principal, params.get("city"))
    job = ExportJob(
        id=uuid.uuid4().hex,
        campaign_id=campaign,
        kind=kind,
        params=params,
        requested_by=principal.client_id,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, campaign: str, job_id: str, principal: Principal) -> ExportJob:
    """Reporters see their own jobs; viewers and administrators every job."""
    job = session.get(ExportJob, job_id)
    if (
        job is None
        or job.campaign_id != campaign
        or (principal.role is Role.reporter and job.requested_by != principal.client_id)
    ):
        raise NotFound(f"no export job {job_id!r}")
    return job


def require_done(job: ExportJob) -> ExportJob:
    if job.state != "done" or job.storage_key is None:
        raise Conflict(
            f"export job {job.id} is {job.state} ({job.percent} %)",
            extra={"state": job.state, "percent": job.percent},
        )
    return job


def job_file(
    session: Session, storage: Storage, campaign: str, job_id: str, principal: Principal
) -> service.StreamedFile:
    """The file of a finished job, read from the storage as it is sent."""
    job = require_done(get_job(session, campaign, job_id, principal))
    assert job.storage_key is not None and job.filename and job.media_type
    return service.StreamedFile(storage.read(job.storage_key), job.media_type, job.filename)


def _update(sessions: SessionFactory, job_id: str, **changes: Any) -> None:
    for session in sessions():
        job = session.get_one(ExportJob, job_id)
        for name, value in changes.items():
            setattr(job, name, value)
        session.add(job)


def run_job(sessions: SessionFactory, storage: Storage, job_id: str) -> None:
    """Build the file and keep it. The state is committed at each step (queued, running,
    done or failed), so a client polling the job sees it move; the build itself is one read
    transaction, so its percent moves from 1 to 100 when the file is stored."""
    _update(sessions, job_id, state="running", percent=1)
    try:
        for session in sessions():
            job = session.get_one(ExportJob, job_id)
            export = _build(session, storage, job.campaign_id, job.kind, dict(job.params))
        key = new_key()
        staged = storage.stage()
        try:
            staged.write(export.body)
            staged.commit(key)
        except BaseException:
            staged.discard()
            raise
        _update(
            sessions,
            job_id,
            state="done",
            percent=100,
            filename=export.filename,
            media_type=export.media_type,
            storage_key=key,
            finished_at=utc_now(),
        )
    except ServiceError as exc:
        _update(sessions, job_id, state="failed", error=exc.detail, finished_at=utc_now())
    except Exception:
        logger.exception("export job failed", extra={"job_id": job_id})
        _update(
            sessions,
            job_id,
            state="failed",
            error="unexpected error; see the logs",
            finished_at=utc_now(),
        )


def _build(
    session: Session, storage: Storage, campaign: str, kind: str, params: dict[str, Any]
) -> service.ExportFile:
    if kind == "cases.docx":
        return service.cases_export(
            session,
            storage,
            campaign,
            period=params.get("period"),
            city=params.get("city"),
            adopted_only=params.get("cases") == "adopted",
        )
    as_of = params.get("as_of")
    return service.table_export(
        session,
        campaign,
        kind.removesuffix(".xlsx"),
        period=params.get("period"),
        city=params.get("city"),
        as_of=datetime.fromisoformat(as_of) if as_of else None,
        values=params.get("values", "cumulative"),
    )
