"""Benchmark: computed views at national scale.

333 reporting cities, 2,844 counties, 12 periods, both tables every week and ~1,000,000
recruitment events, loaded through the service's own write functions; then totals, goals
and compliance are timed (p50/p95) in-process and over HTTP, next to a hand-written SQL
query computing the same province totals.

    .venv/bin/python -m bench.national_views [--database sqlite|postgresql|both]
        [--events-per-county-week 29] [--requests 30] [--url DATABASE_URL]

With --url the season is loaded into that database once and reused by later runs.
"""

import argparse
import asyncio
import csv
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine, text

from app.auth.models import Role
from app.campaigns.calendar import build_periods
from app.campaigns.service import DEFINITIONS_DIR, get_definition, load_campaigns
from app.computed import memo
from app.core.db import create_db_engine, session_scope
from app.core.migrations import upgrade_to_head
from app.events.service import ingest
from app.main import create_app
from app.records.receipt import Receipt
from app.records.scope import resolve_scope
from app.regions.service import load_regions
from app.reporting import snapshots
from bench.common import (
    bench_settings,
    database,
    live_server,
    percentile,
    postgres_available,
    token_for,
)
from bench.snapshot_put import t1_values

CAMPAIGN = "cn-2024"
CITIES = 333
COUNTIES = 2844
BATCH = 5000


def city_codes() -> list[str]:
    return [f"{400100 + 100 * n}" for n in range(CITIES)]


def county_codes(cities: list[str]) -> dict[str, list[str]]:
    """2,844 counties spread over the cities (8 or 9 each)."""
    per_city = {city: [] for city in cities}  # type: dict[str, list[str]]
    for n in range(COUNTIES):
        city = cities[n % CITIES]
        per_city[city].append(f"{int(city) + len(per_city[city]) + 1}")
    return per_city


def write_regions(path: Path, counties: dict[str, list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code", "kind"])
        writer.writerow(["400000", "全国（基准测试）", "province", "", "province"])
        for city, codes in counties.items():
            writer.writerow([city, f"城市{city}", "city", "400000", "prefecture_city"])
            writer.writerows([c, f"县{c}", "county", city, "county"] for c in codes)


def write_definition(directory: Path, cities: list[str]) -> None:
    document = yaml.safe_load((DEFINITIONS_DIR / "js-2024.yaml").read_text(encoding="utf-8"))
    document.update(
        id=CAMPAIGN, name_zh="全国春风行动（基准测试）", province="400000", reporting_units=cities
    )
    (directory / f"{CAMPAIGN}.yaml").write_text(
        yaml.safe_dump(document, allow_unicode=True), encoding="utf-8"
    )


def t2_values(n: int) -> dict[str, Any]:
    bus, train, flight = 40 + n, 30 + n, 2 + n
    return {
        "ew_fairs": 10 + n,
        "ew_fairs_sx_qh": 4,
        "ew_postings": 500 + n,
        "ew_postings_sx_qh": 90,
        "ew_agreements": 3,
        "ew_agreements_sx_qh": 1,
        "ew_bases": 2,
        "ew_bases_sx_qh": 1,
        "ns_fairs": 6 + n,
        "ns_postings": 300 + n,
        "ns_agreements": 2,
        "ns_bases": 1,
        "p2p_bus_trips": 5,
        "p2p_bus_passengers": bus,
        "p2p_train_trips": 2,
        "p2p_train_passengers": train,
        "p2p_flight_trips": 1,
        "p2p_flight_passengers": flight,
        "p2p_passengers_total": bus + train + flight,
        "p2p_passengers_sx_qh": 20,
    }


def load_season(engine: Engine, events_per_county_week: int) -> tuple[int, float]:
    """Both tables for every city and week, then the events; returns (events, seconds)."""
    started = time.perf_counter()
    for session in session_scope(engine):
        definition = get_definition(session, CAMPAIGN)
    periods = build_periods(definition)
    for index, city in enumerate(definition.reporting_units):
        for session in session_scope(engine):
            for period in periods:
                for table, values in (
                    ("t1", t1_values(period.index * 10 + index % 7)),
                    ("t2", t2_values(period.index)),
                ):
                    key = snapshots.SnapshotKey(CAMPAIGN, city, table, period.id)
                    target = snapshots.resolve_target(session, definition, key)
                    received = period.due - timedelta(hours=1 + index % 5)
                    snapshots.submit_snapshot(
                        session,
                        definition,
                        target,
                        snapshots.Submission(
                            raw=values,
                            note=None,
                            source="api",
                            submitted_by="bench",
                            received_at=received.astimezone(UTC),
                        ),
                    )
    events = 0
    for city in definition.reporting_units:
        for session in session_scope(engine):
            scope = resolve_scope(session, CAMPAIGN, city)
        items = [
            {
                "external_id": f"{county}-{period.id}-{n}",
                "county": county,
                "name": f"招聘会 {n}",
                "start_date": (period.start + timedelta(days=n % period.days)).isoformat(),
                "end_date": (period.start + timedelta(days=n % period.days)).isoformat(),
                "mode": "online" if n % 3 else "offline",
            }
            for county in sorted(scope.counties)
            for period in periods
            for n in range(events_per_county_week)
        ]
        for offset in range(0, len(items), BATCH):
            for session in session_scope(engine):
                ingest(
                    session,
                    scope,
                    items[offset : offset + BATCH],
                    Receipt("bench", datetime(2024, 4, 8, tzinfo=UTC)),
                    atomic=True,
                )
        events += len(items)
    return events, time.perf_counter() - started


VIEWS = {
    "totals": f"/api/v1/campaigns/{CAMPAIGN}/totals?table=t1&period=W12",
    "goals": f"/api/v1/campaigns/{CAMPAIGN}/goals?at=2024-04-08T12:00:00%2B08:00",
    "compliance": f"/api/v1/campaigns/{CAMPAIGN}/compliance?at=2024-04-11T00:00:00%2B08:00",
}


def hand_written_totals(engine: Engine) -> Callable[[], object]:
    values = (
        "jsonb_each_text(h.current_values)"
        if engine.dialect.name == "postgresql"
        else "json_each(h.current_values)"
    )
    number = "j.value::numeric" if engine.dialect.name == "postgresql" else "CAST(j.value AS REAL)"
    query = text(f"""
        WITH v AS (
            SELECT h.city_code, h.period_id, j.key AS indicator, {number} AS value
            FROM snapshot_head h, {values} j
            WHERE h.campaign_id = :campaign AND h.table_id = 't1'
              AND h.current_revision > 0 AND h.period_id <= :period),
        ranked AS (
            SELECT indicator, value, row_number() OVER (
                PARTITION BY city_code, indicator ORDER BY period_id DESC) AS rank
            FROM v)
        SELECT indicator, sum(value) FROM ranked WHERE rank = 1 GROUP BY indicator""")  # noqa: S608 (fixed fragments chosen by dialect)

    def run() -> object:
        with engine.connect() as connection:
            return connection.execute(query, {"campaign": CAMPAIGN, "period": "W12"}).all()

    return run


def timed(call: Callable[[], object], requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(samples), "p95": percentile(samples, 0.95)}


def in_process(
    app: Any, headers: dict[str, str], path: str, requests: int, memoized: bool
) -> dict[str, float]:
    samples: list[float] = []

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        # The app's lifespan runs, as under uvicorn (ASGITransport alone skips it).
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            await client.get(path, headers=headers)  # warm-up: statement caches, imports
            for _ in range(requests):
                if not memoized:
                    memo.clear()
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text

    asyncio.run(run())
    return {"p50": statistics.median(samples), "p95": percentile(samples, 0.95)}


def over_http(
    base: str, headers: dict[str, str], path: str, requests: int, writer: dict[str, str] | None
) -> dict[str, float]:
    """GET timings; with `writer`, each GET follows a snapshot PUT (not timed), so every
    answer is computed afresh from current data, as while cities are pushing."""
    snapshot = f"/api/v1/campaigns/{CAMPAIGN}/cities/{city_codes()[0]}/tables/t1/periods/W12"
    samples = []
    with httpx.Client(base_url=base, timeout=120) as client:
        client.get(path, headers=headers).raise_for_status()
        for n in range(requests):
            if writer is not None:
                client.put(
                    snapshot, headers=writer, json={"values": t1_values(1000 + n)}
                ).raise_for_status()
            started = time.perf_counter()
            client.get(path, headers=headers).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(samples), "p95": percentile(samples, 0.95)}


def already_loaded(engine: Engine) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM campaign WHERE id = :id"), {"id": CAMPAIGN}
        ).scalar_one()
    return bool(found)


def load(kind: str, engine: Engine, events_per_county_week: int) -> None:
    if already_loaded(engine):
        print(f"{kind}: reusing the season already loaded")
        return
    workdir = Path(tempfile.mkdtemp())
    try:
        cities = city_codes()
        write_regions(workdir / "regions.csv", county_codes(cities))
        write_definition(workdir, cities)
        for session in session_scope(engine):
            load_regions(session, workdir / "regions.csv")
            load_campaigns(session, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    events, seconds = load_season(engine, events_per_county_week)
    if engine.dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would gather within a minute of such a load.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(
        f"{kind}: loaded {CITIES} cities × 2 tables × 12 weeks and {events:,} events "
        f"in {seconds:.0f} s"
    )


def run(kind: str, url: str, events_per_county_week: int, requests: int) -> None:
    settings = bench_settings(url)
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        load(kind, engine, events_per_county_week)
        headers = {"Authorization": f"Bearer {token_for(settings, Role.viewer, None)}"}
        app = create_app(settings, engine)
        hand = timed(hand_written_totals(engine), requests)
        print(
            f"  hand-written SQL province totals: p50 {hand['p50']:.1f} ms, "
            f"p95 {hand['p95']:.1f} ms"
        )
        for name, path in VIEWS.items():
            cold = in_process(app, headers, path, requests, memoized=False)
            warm = in_process(app, headers, path, requests, memoized=True)
            print(
                f"  {name:10s} in-process: computed p50 {cold['p50']:.0f} ms / p95 "
                f"{cold['p95']:.0f} ms; served (memo) p50 {warm['p50']:.1f} ms / p95 "
                f"{warm['p95']:.1f} ms"
            )
        writer = {"Authorization": f"Bearer {token_for(settings, Role.admin, None)}"}
        with live_server(settings) as base:
            for name, path in VIEWS.items():
                fresh = over_http(base, headers, path, requests, writer)
                served = over_http(base, headers, path, requests, None)
                print(
                    f"  {name:10s} HTTP: after a write p50 {fresh['p50']:.1f} ms / p95 "
                    f"{fresh['p95']:.1f} ms; unchanged data p50 {served['p50']:.1f} ms / p95 "
                    f"{served['p95']:.1f} ms"
                )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events-per-county-week", type=int, default=29)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--url", help="a database to load once and reuse (kind from the URL)")
    args = parser.parse_args()
    if args.url:
        kind = "postgresql" if args.url.startswith("postgresql") else "sqlite"
        run(kind, args.url, args.events_per_county_week, args.requests)
        return
    for kind in ["sqlite", "postgresql"] if args.database == "both" else [args.database]:
        if kind == "postgresql" and not postgres_available():
            print("postgresql: not reachable, skipped")
            continue
        with database(kind) as url:
            run(kind, url, args.events_per_county_week, args.requests)


if __name__ == "__main__":
    main()
