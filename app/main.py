"""The FastAPI application: wiring only; the domain lives in the packages beside this one."""

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from app.attachments.storage import storage_for
from app.auth.grant import SignInGuard
from app.auth.router import router as auth_router
from app.briefing.router import router as briefing_router
from app.campaigns.reference import indicator_reference
from app.campaigns.router import router as campaigns_router
from app.cases.router import router as cases_router
from app.computed.remembered import RememberedViews
from app.computed.router import router as computed_router
from app.contacts.router import router as contacts_router
from app.core.admission import AdmissionControl
from app.core.changes import install_change_tracking
from app.core.db import (
    create_db_engine,
    create_probe_engine,
    create_read_engine,
    session_scope,
)
from app.core.docs import install_docs
from app.core.headers import SecurityHeaders
from app.core.limits import BodyIdleTimeout
from app.core.observability import RequestContextMiddleware
from app.core.openapi import build_openapi
from app.core.problems import UnexpectedErrors, install_problem_handlers
from app.core.settings import Settings, get_settings
from app.dashboard.router import router as dashboard_router
from app.documents.router import router as documents_router
from app.events.import_process import EventImports
from app.events.router import router as events_router
from app.exports.router import router as exports_router
from app.locks.router import router as locks_router
from app.ops.router import router as ops_router
from app.regions.router import router as regions_router
from app.reminders.router import router as reminders_router
from app.reporting.router import router as reporting_router
from app.review.router import router as review_router
from app.stream.router import router as stream_router
from app.webhooks.router import router as webhooks_router

VERSION = "0.1.0"
GIL_SWITCH_SECONDS = 0.0001
# Office files and PDFs are compressed already: gzip would spend CPU for nothing.
ALREADY_COMPRESSED = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/pdf",
    "application/octet-stream",
)
logger = logging.getLogger("app")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Requests' blocking work runs in this many threads, as many as the database pools hold
    # connections: a thread never waits for a connection another thread's request holds.
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
    swept = await anyio.to_thread.run_sync(
        storage_for(settings).sweep_staged, settings.abandoned_upload_seconds
    )
    if swept:
        logger.info("removed %d abandoned staged uploads", swept)
    if settings.app_env != "test":
        # A worker thread busy in Python (a 5,000-event batch, a fresh computation) holds
        # the GIL for up to this long before the event loop or a reader's thread gets it
        # back; the default 5 ms, paid at every handoff, multiplies short requests' latency.
        # Measured (bench/burst.py, memo-served reads during events batches, p95 against
        # idle): 0.5 ms 4.5-5.9×, 0.1 ms 2.7-3.5×. A thread alone is never interrupted.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        # Everything alive after start-up lives as long as the process: moved out of the
        # collector's generations, it is no longer rescanned by every full collection
        # (bulk requests allocate enough to trigger many). Tests build hundreds of apps
        # in one process and skip this.
        gc.freeze()
    imports: EventImports | None = app.state.event_imports
    if imports is not None and settings.app_env != "test":
        imports.start()
    yield
    if imports is not None:
        await anyio.to_thread.run_sync(imports.close)
    # Pools this app opened itself are closed with it; an engine handed in is its caller's.
    for opened in app.state.opened_engines:
        opened.dispose()


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Spring Breeze reporting service",
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
        # Short, stable operation ids for generated clients: the handler's name.
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.sign_in_guard = SignInGuard()
    connections, wait = settings.worker_threads, settings.pool_wait_seconds
    app.state.engine = engine or create_db_engine(
        settings.sqlalchemy_url, connections=connections, pool_wait_seconds=wait
    )
    read_engine = create_read_engine(
        app.state.engine, connections=connections, pool_wait_seconds=wait
    )
    app.state.read_engine = read_engine
    app.state.opened_engines = [] if engine is not None else [app.state.engine]
    if read_engine is not app.state.engine:
        app.state.opened_engines.append(read_engine)
    app.state.probe_engine = create_probe_engine(read_engine)
    if app.state.probe_engine is not read_engine:
        app.state.opened_engines.append(app.state.probe_engine)
    # Event batches in processes of their own (or in the request's thread).
    imports_apart = settings.event_import_processes > 0
    app.state.event_imports = EventImports(settings) if imports_apart else None
    # Export jobs run after their request, in units of work of their own.
    app.state.job_sessions = lambda: session_scope(app.state.engine)
    # Reads outside a route's own session: polled views computed again outside their route
    # (app.computed.remembered), the caller's client now and then (app.auth.dependencies).
    app.state.read_sessions = lambda: session_scope(app.state.read_engine)

    install_problem_handlers(app)
    install_change_tracking()
    for router in (
        computed_router,
        auth_router,
        regions_router,
        campaigns_router,
        reporting_router,
        locks_router,
        review_router,
        contacts_router,
        cases_router,
        events_router,
        documents_router,
        briefing_router,
        exports_router,
        webhooks_router,
        reminders_router,
        stream_router,
        ops_router,
        dashboard_router,
    ):
        app.include_router(router)
    install_docs(app)
    app.openapi = lambda: build_openapi(app, indicator_reference)  # type: ignore[method-assign]

    # Innermost: inside admission control, logging, compression and CORS like any route.
    app.add_middleware(RememberedViews, settings=settings)
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
    app.add_middleware(BodyIdleTimeout, seconds=settings.body_idle_timeout_seconds)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=6,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, *ALREADY_COMPRESSED),
    )
    app.add_middleware(AdmissionControl, max_in_flight=settings.max_in_flight)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeaders)
    return app


def serving_app() -> FastAPI:
    """One worker process of `python -m app serve --workers N` (a uvicorn app factory)."""
    from app.core.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


app = create_app()
