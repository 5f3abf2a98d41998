"""Bulk ingest of recruitment events: the service over HTTP against plain SQLAlchemy Core.

    .venv/bin/python -m bench.events_ingest [--events 100000] [--batch 5000] [--no-postgres]

For each database kind (SQLite, and PostgreSQL when reachable) two fresh databases are
migrated and seeded. Into the first, a real server (`python -m app serve`, uvicorn) on
loopback receives the events as `POST …/events/batch` requests of `--batch` items from one
keep-alive HTTP client, authenticated as a city reporter: JSON parsing, authorization,
per-item validation, the upsert and the import summary all count. Into the second, the same
rows go straight into the `recruitment_event` table with SQLAlchemy Core `executemany`, one
transaction per batch, through the service's own engine settings (WAL and BEGIN IMMEDIATE
on SQLite). Request bodies and rows are prepared before the clocks start. Prints events/s
for both and the ratio; the target is >= 30 % of raw on SQLite.
"""

import argparse
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert
from sqlmodel import select

from app.auth.models import Role
from app.campaigns.service import campaign_periods, get_definition
from app.core.db import create_db_engine, session_scope
from app.core.settings import Settings
from app.events.models import RecruitmentEvent
from app.events.schemas import EventItem
from app.events.validation import fingerprint
from app.regions.models import Region
from bench.common import database, live_server, postgres_available, prepared, token_for

CAMPAIGN, CITY = "js-2024", "320100"
CATEGORIES = ("graduates", "veterans", "returnees", "gig_market", "livestream", "other")


@dataclass(frozen=True)
class Result:
    backend: str
    events: int
    service_seconds: float
    raw_seconds: float

    def line(self) -> str:
        service, raw = self.events / self.service_seconds, self.events / self.raw_seconds
        return (
            f"{self.backend:<10} {self.events:>8} events  "
            f"service {service:>9,.0f} events/s ({self.service_seconds:6.2f} s)  "
            f"raw {raw:>9,.0f} events/s ({self.raw_seconds:6.2f} s)  "
            f"ratio {service / raw:6.1%}"
        )


def make_events(
    count: int, counties: list[str], seed: int = 2024, first: int = 0
) -> list[dict[str, Any]]:
    """`count` events numbered from `first`."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    events = []
    for n in range(first, first + count):
        start = date(2024, 1, 25) + timedelta(days=rng.randrange(75))
        end = min(start + timedelta(days=rng.choice((0, 0, 0, 1, 2))), date(2024, 4, 8))
        events.append(
            {
                "external_id": f"NJ-2024-{n:07d}",
                "county": rng.choice(counties),
                "name": f"春风行动专场招聘会 第{n}场",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "mode": rng.choice(("online", "offline")),
                "labor_brand": rng.random() < 0.1,
                "category": rng.choice(CATEGORIES),
                "venue": "人力资源市场" if rng.random() < 0.7 else None,
                "organizer": "区人社局",
                "employers": rng.randrange(5, 300),
                "postings_offered": rng.randrange(50, 5000),
                "attendees": rng.randrange(100, 9000),
                "intents": rng.randrange(0, 800),
            }
        )
    return events


def counties_of(engine: Engine) -> list[str]:
    for session in session_scope(engine):
        return sorted(session.exec(select(Region.code).where(Region.parent_code == CITY)))
    raise AssertionError("unreachable")


def raw_rows(engine: Engine, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the service stores for these events, built before the clock starts."""
    for session in session_scope(engine):
        periods = campaign_periods(session, get_definition(session, CAMPAIGN))
    now = datetime.now(UTC)
    rows = []
    for event in events:
        item = EventItem.model_validate(event)
        period = next(p.id for p in periods if p.start <= item.start_date <= p.end)
        rows.append(
            {
                "campaign_id": CAMPAIGN,
                "city_code": CITY,
                "external_id": item.external_id,
                "county_code": item.county,
                "name": item.name,
                "start_date": item.start_date,
                "end_date": item.end_date,
                "period_id": period,
                "mode": item.mode.value,
                "labor_brand": item.labor_brand,
                "category": item.category,
                "venue": item.venue,
                "organizer": item.organizer,
                "employers": item.employers,
                "postings_offered": item.postings_offered,
                "attendees": item.attendees,
                "intents": item.intents,
                "revision": 1,
                "content_sha256": fingerprint(item),
                "first_received_at": now,
                "submitted_by": "bench",
                "received_at": now,
                "backdated": False,
            }
        )
    return rows


def time_raw(engine: Engine, rows: list[dict[str, Any]], batch: int) -> float:
    started = time.perf_counter()
    for offset in range(0, len(rows), batch):
        with engine.begin() as connection:
            connection.execute(insert(RecruitmentEvent), rows[offset : offset + batch])
    return time.perf_counter() - started


def time_service(settings: Settings, events: list[dict[str, Any]], batch: int) -> float:
    bodies = [
        json.dumps({"items": events[offset : offset + batch]}, ensure_ascii=False).encode()
        for offset in range(0, len(events), batch)
    ]
    headers = {
        "Authorization": f"Bearer {token_for(settings, Role.reporter, CITY)}",
        "Content-Type": "application/json",
    }
    with live_server(settings) as base, httpx.Client(timeout=300) as http:
        url = f"{base}/api/v1/campaigns/{CAMPAIGN}/cities/{CITY}/events/batch"
        http.get(base + "/healthz")  # open the keep-alive connection
        created, started = 0, time.perf_counter()
        for body in bodies:
            response = http.post(url, content=body, headers=headers)
            response.raise_for_status()
            created += response.json()["stats"]["created"]
        elapsed = time.perf_counter() - started
    if created != len(events):
        raise RuntimeError(f"the service created {created} of {len(events)} events")
    return elapsed


def run(kind: str, events: int, batch: int) -> Result:
    with database(kind) as service_url, database(kind) as raw_url:
        service_settings, raw_settings = prepared(service_url), prepared(raw_url)
        raw_engine = create_db_engine(raw_settings.sqlalchemy_url)
        generated = make_events(events, counties_of(raw_engine))
        rows = raw_rows(raw_engine, generated)
        service_seconds = time_service(service_settings, generated, batch)
        raw_seconds = time_raw(raw_engine, rows, batch)
        raw_engine.dispose()
    return Result(kind, events, service_seconds, raw_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(run("sqlite", args.events, args.batch).line(), flush=True)
    if args.no_postgres:
        return
    if not postgres_available():
        print("PostgreSQL not reachable (TEST_POSTGRES_DSN): skipped")
        return
    print(run("postgresql", args.events, args.batch).line())


if __name__ == "__main__":
    main()
