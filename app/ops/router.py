"""Liveness, readiness and metrics, for the orchestrator and Prometheus."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.deps import SessionDep
from app.core.migrations import current_revision, head_revision
from app.core.observability import metrics_payload
from app.core.problems import problem_response, problem_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    database: str | None = None
    migration: str | None = None


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
async def healthz() -> Health:
    # async and without I/O: answered on the event loop even when every worker thread is busy
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrated to head",
    response_model=Health,
    responses=problem_responses(503),
)
def readyz(request: Request, session: SessionDep) -> Response:
    try:
        session.execute(text("SELECT 1"))
        revision = current_revision(session.connection())
    except SQLAlchemyError:
        return problem_response(
            request, status=503, title="Service unavailable", detail="the database is not reachable"
        )
    head = head_revision()
    if revision != head:
        return problem_response(
            request,
            status=503,
            title="Service unavailable",
            detail=f"database schema is at {revision}, the code expects {head}: run migrations",
        )
    return JSONResponse(Health(status="ready", database="ok", migration=revision).model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics() -> Response:
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
