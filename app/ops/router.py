"""Liveness, readiness and metrics, for the orchestrator and Prometheus."""

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.deps import SessionDep, SettingsDep
from app.core.errors import Forbidden, Unauthorized
from app.core.migrations import current_revision, head_revision
from app.core.observability import metrics_payload
from app.core.problems import problem_response, problem_responses
from app.core.routing import ServiceRoute

router = APIRouter(route_class=ServiceRoute, tags=["operations"])


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


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="With `METRICS_TOKEN` set: for `Authorization: Bearer <that token>` only. "
    "Without it: for clients on the server's own machine (loopback) only.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(401, 403),
    },
)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    # async: no I/O, answered on the event loop even under load
    expected = settings.metrics_token
    if expected is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {expected.get_secret_value()}".encode()):
            raise Unauthorized("/metrics needs the metrics token", oauth_error=None)
    elif request.client is None or request.client.host not in LOOPBACK:
        raise Forbidden("/metrics is served on loopback only unless METRICS_TOKEN is set")
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
