"""The FastAPI application: wiring only; the domain lives in the packages beside this one."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from app.attachments.storage import storage_for
from app.auth.router import router as auth_router
from app.campaigns.router import router as campaigns_router
from app.cases.router import router as cases_router
from app.computed.router import router as computed_router
from app.contacts.router import router as contacts_router
from app.core.changes import install_change_tracking
from app.core.db import create_db_engine, session_scope
from app.core.docs import install_docs
from app.core.observability import RequestContextMiddleware
from app.core.openapi import build_openapi
from app.core.problems import install_problem_handlers
from app.core.settings import Settings, get_settings
from app.documents.router import router as documents_router
from app.events.router import router as events_router
from app.exports.router import router as exports_router
from app.ops.router import router as ops_router
from app.regions.router import router as regions_router
from app.reporting.router import router as reporting_router

VERSION = "0.1.0"
logger = logging.getLogger("app")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    swept = storage_for(settings).sweep_staged(settings.abandoned_upload_seconds)
    if swept:
        logger.info("removed %d abandoned staged uploads", swept)
    if settings.app_env != "test":
        # Everything alive after start-up lives as long as the process: moved out of the
        # collector's generations, it is no longer rescanned by every full collection
        # (bulk requests allocate enough to trigger many). Tests build hundreds of apps
        # in one process and skip this.
        gc.freeze()
    yield


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Spring Breeze reporting service",
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or create_db_engine(settings.sqlalchemy_url)
    # Export jobs run after their request, in units of work of their own.
    app.state.job_sessions = lambda: session_scope(app.state.engine)

    install_problem_handlers(app)
    install_change_tracking()
    for router in (
        auth_router,
        regions_router,
        campaigns_router,
        reporting_router,
        contacts_router,
        cases_router,
        events_router,
        documents_router,
        computed_router,
        exports_router,
        ops_router,
    ):
        app.include_router(router)
    install_docs(app)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "X-Request-ID", "Location"],
        )
    app.add_middleware(RequestContextMiddleware)
    return app


app = create_app()
