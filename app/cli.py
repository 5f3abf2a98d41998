"""`python -m app …`: serve, migrate, seed, manage clients, write the OpenAPI document."""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.auth.models import Role
from app.auth.service import create_client, disable_client, list_clients
from app.campaigns.definition import DefinitionError
from app.campaigns.loading import load_campaigns
from app.core.db import create_db_engine, session_scope
from app.core.errors import ServiceError
from app.core.migrations import upgrade_to_head
from app.core.settings import Settings, get_settings

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def prepare_database(settings: Settings) -> Engine:
    """Migrate to head, then load reference regions and campaign definitions (idempotent)."""
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        campaigns = load_campaigns(session)
    print(
        f"database ready; campaigns updated: {', '.join(campaigns) or 'none'}",
        file=sys.stderr,
    )
    return engine


def openapi_document() -> str:
    from app.main import create_app

    document = create_app().openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from app.core.observability import configure_logging

    configure_logging(settings.log_level)
    engine = prepare_database(settings)
    if settings.worker_in_serve:
        from app.worker.loop import start_worker_thread

        # In this (parent) process: one worker whatever the number of server processes.
        start_worker_thread(settings)
    base = f"http://{args.host}:{args.port}"
    print(
        f"Spring Breeze reporting service on {base} ({args.workers} worker process"
        f"{'es' if args.workers > 1 else ''})\n  API docs: {base}/docs  "
        f"(ReDoc: {base}/redoc, OpenAPI: {base}/openapi.json)",
        file=sys.stderr,
    )
    if args.workers > 1 and engine.dialect.name == "sqlite":
        print(
            "warning: several processes share one SQLite file through its busy timeout; "
            "use PostgreSQL (DATABASE_URL) for more than one worker",
            file=sys.stderr,
        )
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "access_log": False,
        # Our own server banner is none at all.
        "server_header": False,
        "timeout_keep_alive": 15,
        # Slow or idle clients cannot hold more connections than this per process.
        "limit_concurrency": settings.max_connections,
    }
    if args.workers == 1:
        from app.main import create_app

        uvicorn.run(create_app(settings, engine), **common)
        return
    engine.dispose()
    # Each worker process builds its own app (engines, pools, memo) from the environment.
    uvicorn.run("app.main:serving_app", factory=True, workers=args.workers, **common)


def _clients(args: argparse.Namespace, settings: Settings) -> None:
    engine = create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        if args.clients_command == "create":
            client, secret = create_client(
                session, name=args.name, role=Role(args.role), city=args.city
            )
            print(
                json.dumps(
                    {
                        "client_id": client.id,
                        "client_secret": secret,
                        "name": client.name,
                        "role": client.role.value,
                        "city": client.city_code,
                    },
                    ensure_ascii=False,
                )
            )
        elif args.clients_command == "list":
            for row in list_clients(session):
                print(
                    json.dumps(
                        {
                            "client_id": row.id,
                            "name": row.name,
                            "role": row.role.value,
                            "city": row.city_code,
                            "created_at": row.created_at.isoformat(),
                            "disabled_at": row.disabled_at and row.disabled_at.isoformat(),
                        },
                        ensure_ascii=False,
                    )
                )
        else:
            client = disable_client(session, args.client_id)
            print(
                json.dumps(
                    {
                        "client_id": client.id,
                        "disabled_at": client.disabled_at and client.disabled_at.isoformat(),
                    }
                )
            )


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from app.bulk.loader import load_events, load_snapshots, read_records
    from app.records.receipt import Receipt

    records = read_records(args.file)
    engine = create_db_engine(settings.sqlalchemy_url)
    actor = f"cli:{args.actor}"
    with tqdm(total=len(records), unit="rows", desc=f"loading {args.kind}", file=sys.stderr) as bar:
        if args.kind == "events":
            if not args.city:
                raise ValueError("--city is required for events")
            claimed = datetime.fromisoformat(args.received_at) if args.received_at else None
            receipt = Receipt(
                actor, (claimed or datetime.now(UTC)).astimezone(UTC), backdated=claimed is not None
            )
            report = load_events(engine, args.campaign, args.city, records, receipt, bar.update)
        else:
            report = load_snapshots(engine, args.campaign, records, actor, bar.update)
    engine.dispose()
    print(
        json.dumps(
            {
                "counts": dict(report.counts),
                "problems": report.problems[:100],
                "more_problems": max(len(report.problems) - 100, 0),
            },
            ensure_ascii=False,
        )
    )
    return 1 if report.problems else 0


def _campaigns(args: argparse.Namespace, settings: Settings) -> None:
    from app.campaigns.calendar import build_periods
    from app.campaigns.loading import load_campaign_file
    from app.campaigns.service import list_definitions

    engine = prepare_database(settings) if args.campaigns_command == "load" else None
    engine = engine or create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        if args.campaigns_command == "load":
            report = load_campaign_file(session, args.file)
            documents = [
                {
                    "campaign": report.campaign,
                    "changed": report.changed,
                    "regions_changed": report.regions_changed,
                }
            ]
        else:
            documents = [
                {
                    "campaign": definition.id,
                    "name": definition.name_zh,
                    "province": definition.province,
                    "start": definition.start.isoformat(),
                    "end": definition.end.isoformat(),
                    "reporting_units": len(definition.reporting_units),
                    "tables": [table.id for table in definition.tables],
                    "periods": len(build_periods(definition)),
                }
                for definition in list_definitions(session)
            ]
    engine.dispose()
    for document in documents:
        print(json.dumps(document, ensure_ascii=False))


def _reminders(args: argparse.Namespace, settings: Settings) -> None:
    from app.reminders.service import notification_document, run_reminders

    at = datetime.fromisoformat(args.at)
    if at.tzinfo is None:
        raise ValueError(f"--at {args.at!r} needs an offset, e.g. 2024-02-23T15:00+08:00")
    engine = create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        sent = run_reminders(session, at, campaign_id=args.campaign)
        documents = [notification_document(row) for row in sent]
    engine.dispose()
    for document in documents:
        print(json.dumps(document, ensure_ascii=False))
    print(f"{len(documents)} notification(s) at {at.isoformat()}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, load reference data, serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (each with its own threads and pools); production runs "
        "several on PostgreSQL",
    )

    commands.add_parser("migrate", help="migrate the database and load reference data")

    clients = commands.add_parser("clients", help="manage API clients")
    client_commands = clients.add_subparsers(dest="clients_command", required=True)
    create = client_commands.add_parser("create", help="create a client; prints its secret once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--city", help="6-digit city code (reporters only)")
    client_commands.add_parser("list", help="list clients (never their secrets)")
    disable = client_commands.add_parser("disable", help="disable a client; its tokens stop")
    disable.add_argument("client_id")

    load = commands.add_parser(
        "load", help="bulk-load events or snapshots from a file, with a progress bar"
    )
    load.add_argument("kind", choices=["events", "snapshots"])
    load.add_argument("file", type=Path, help="JSON Lines, a JSON array, or CSV with a header")
    load.add_argument("--campaign", default="js-2024")
    load.add_argument("--city", help="the city whose events these are (events only)")
    load.add_argument(
        "--received-at",
        help="events only: the original receipt time (ISO "
        "8601 with offset); the revisions are marked backdated",
    )
    load.add_argument("--actor", default="admin", help="recorded as cli:ACTOR")

    campaigns = commands.add_parser("campaigns", help="load and list campaign definitions")
    campaign_commands = campaigns.add_subparsers(dest="campaigns_command", required=True)
    load_campaign = campaign_commands.add_parser(
        "load",
        help="validate a definition file, load the regions file it names, store it (a change "
        "that would orphan stored data is refused); restart servers to serve the change",
    )
    load_campaign.add_argument("file", type=Path)
    campaign_commands.add_parser("list", help="the loaded campaigns, one JSON object each")

    commands.add_parser(
        "worker",
        help="deliver webhooks and e-mail, send reminders (safe as several processes on "
        "PostgreSQL; `serve` runs one inside unless WORKER_IN_SERVE=false)",
    )
    reminders = commands.add_parser("reminders", help="deadline reminders (催报)")
    reminder_commands = reminders.add_subparsers(dest="reminders_command", required=True)
    run = reminder_commands.add_parser(
        "run", help="send what the scheduler would at an instant; prints the notifications"
    )
    run.add_argument(
        "--at", required=True, help="the instant, ISO 8601 with offset (2024-02-23T15:00+08:00)"
    )
    run.add_argument("--campaign", help="one campaign only (default: every campaign)")

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", type=Path, default=OPENAPI_PATH)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        if args.command == "serve":
            _serve(args, settings)
        elif args.command == "migrate":
            prepare_database(settings).dispose()
        elif args.command == "clients":
            _clients(args, settings)
        elif args.command == "load":
            return _load(args, settings)
        elif args.command == "campaigns":
            _campaigns(args, settings)
        elif args.command == "worker":
            from app.worker.loop import run_worker

            run_worker(settings)
        elif args.command == "reminders":
            _reminders(args, settings)
        else:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(openapi_document(), encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
    except (ServiceError, DefinitionError, ValueError) as exc:
        errors = getattr(exc, "errors", [])
        details = "".join(f"\n  {e.field}: {e.message}" for e in errors)
        print(f"error: {exc}{details}", file=sys.stderr)
        return 2
    return 0
